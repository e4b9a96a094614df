"""Shared fixtures.

- `sleuth_home` (autouse): every test gets its own empty workspace directory through `SLEUTH_HOME`,
  so no test reads or writes `./.sleuth` of the checkout.
- `generated_dir` (session): a small synthetic dataset (Parquet) written by `evals.synth.generate`,
  with its labels (`cases.jsonl`, `truth/`) beside it, as the generator writes them.
- `workspace_settings` (session): `Settings` whose home holds that dataset loaded by the real
  loader. Shared by many tests: treat it as read-only (copy it for anything that writes).
- `agent_settings` (session): a copy of that workspace with the playbook index built (what the agent
  needs for retrieval). Shared like `workspace_settings`: tests that record cases copy its home.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.settings import Settings, load_settings

GEN_ACCOUNTS = 300
GEN_DAYS = 90
GEN_SEED = 7


@pytest.fixture(autouse=True)
def sleuth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, per-test workspace directory exported as SLEUTH_HOME."""
    home = tmp_path / "sleuth-home"
    monkeypatch.setenv("SLEUTH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated contract folder (Parquet) with its labels."""
    from evals.synth import generate

    out = tmp_path_factory.mktemp("generated")
    generate(out, GEN_ACCOUNTS, GEN_DAYS, GEN_SEED, "parquet")
    return out


@pytest.fixture(scope="session")
def workspace_settings(generated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a workspace loaded from `generated_dir` (read-only for tests)."""
    from tools.data.load import load_folder

    settings = load_settings(home=tmp_path_factory.mktemp("workspace"))
    load_folder(generated_dir, settings)
    return settings


@pytest.fixture(scope="session")
def agent_settings(workspace_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the workspace with the playbook index (Chroma) built once per session."""
    from tools.playbooks.index import build_index

    home = tmp_path_factory.mktemp("agent-ws") / "home"
    shutil.copytree(workspace_settings.home, home)
    settings = workspace_settings.model_copy(update={"home": home})
    build_index(settings)
    return settings
