"""The CLI package's two rules: every command module is registered one way, and `sleuth --help` stays light."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import typer

import agent.cli

HELPERS = {"common", "__main__"}
"""Modules of agent/cli/ that hold no commands."""

HEAVY = ("duckdb", "chromadb", "torch", "langgraph", "numpy", "sentence_transformers", "onnxruntime", "sqlglot",
         "matplotlib", "pyarrow", "pydantic")


def test_every_command_module_is_registered_with_an_app() -> None:
    names = {m.name for m in pkgutil.iter_modules(agent.cli.__path__)} - HELPERS
    registered = {m.__name__.rsplit(".", 1)[1] for m in agent.cli.COMMAND_MODULES}
    assert names == registered, "add new command modules to agent.cli.COMMAND_MODULES"
    for module in agent.cli.COMMAND_MODULES:
        assert isinstance(module.app, typer.Typer), module.__name__
        assert module.app.registered_commands, f"{module.__name__} registers no command"


def test_command_names_are_unique_across_modules() -> None:
    top: list[str] = []
    for module in agent.cli.COMMAND_MODULES:
        group = module.app.info.name
        if isinstance(group, str):
            top.append(group)
        else:
            top += [c.name or c.callback.__name__ for c in module.app.registered_commands]
    assert len(top) == len(set(top)), sorted(top)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, agent.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_python_dash_m_runs_the_same_app() -> None:
    out = subprocess.run([sys.executable, "-m", "agent.cli", "bench", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    for command in ("agent", "triage", "data", "tools"):
        assert command in out.stdout
