"""The one place backends are built: `rules`, `learned`, `local` and `openai:<model>`.

Everything else asks `build_chat_model(name, settings)` and gets a LangChain chat model
(or None for `rules`) plus a `ModelInfo` that says which backend actually runs and in
which style the agent must drive it:

- `rules`: no model; the graph uses playbook scorecards and templates.
- `learned`: no chat model; the trained gradient-boosted model of the workspace (`sleuth model
  train`, see agent/learned) decides, within the playbooks' hard-rule floor. A one-line error when
  none is trained. The LLM backends also get it (`ModelInfo.learned`) when one exists: its
  probabilities and top drivers become facts they read.
- `local`: the bundled Qwen2.5-Coder-1.5B behind a loopback llama.cpp server that this
  module starts once per process and reuses; style `router` (constrained next-step
  choice, see router.py). If llama-cpp-python or the model parts are missing, or the
  server will not start, it degrades to `rules` with a logged warning and the reason in
  `ModelInfo.reason`, because `local` is a default and must never make sleuth unusable.
- `openai:<model>`: any OpenAI-compatible endpoint from `OPENAI_BASE_URL` /
  `OPENAI_API_KEY`; style `native` (ordinary tool calling). This one fails loudly on a
  bad configuration: the user asked for that endpoint explicitly.

One server per machine, not per worker: a started server's URL is exported as
`SLEUTH_LOCAL_BASE_URL`, so worker processes spawned afterwards (triage, evals) reuse it
instead of each loading 2 GB and fighting over the same 2 cores; llama.cpp serves one
request at a time anyway. A worker that finds the variable but no live server starts its own.

Quirks of the local server handled here (docs/backends.md): `max_tokens` goes in
`extra_body` (langchain-openai's `max_completion_tokens` is ignored by llama.cpp).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agent.llm.bundled import MODEL_NAME, LocalModelUnavailable, ensure_model
from agent.llm.server import LocalServer, LocalServerError, Speed, llama_cpp_installed
from tools.errors import InputInvalid
from tools.settings import Settings

log = logging.getLogger("sleuth.llm")

Backend = Literal["rules", "learned", "local", "openai"]
Style = Literal["rules", "router", "native"]
DEFAULT_MAX_TOKENS = 1024
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


@dataclass(frozen=True)
class ModelInfo:
    """Which backend really runs (after any fallback) and how the agent should drive it."""

    backend: Backend
    model: str
    style: Style
    base_url: str | None = None
    reason: str | None = None  # why a requested backend fell back to rules
    startup_s: float | None = None  # local server start time, when this call started it
    learned: Any | None = None  # the trained learned model: the learned backend itself, facts for an LLM
    # Whether the chat model makes the case decision in `assess`. The bundled 1.5B model does not:
    # measured on 20 hidden-set alerts it under-called (SAR recall 0.75 against 0.875 for the
    # scorecards, typology macro-F1 0.56 against 0.73, 6 of 18 decisions raised by the policy floor)
    # and its ~10k-token decision prompt took minutes on 2 cores. It does what it does well: choose
    # extra evidence under a grammar and word the narrative from computed facts.
    decides: bool = True
    timeout_s: float | None = None  # one call's time limit (local: scaled by the server's measured speed)

    @property
    def label(self) -> str:
        """The model name a report carries: `rules`, or `<backend>:<model>` (e.g. `local:qwen2.5-...`)."""
        return "rules" if self.backend == "rules" else f"{self.backend}:{self.model}"


SHARED_URL_ENV = "SLEUTH_LOCAL_BASE_URL"
SPEED_ENV = "SLEUTH_LOCAL_SPEED"  # the shared server's measured speed, "prompt_tps,gen_tps"
_server: LocalServer | None = None
_server_lock = threading.Lock()


def _shared_server_url() -> str | None:
    """The URL of a live server started by a parent process, if any."""
    url = os.environ.get(SHARED_URL_ENV)
    if not url or (_server is not None and _server.running()):
        return None
    try:
        return url if httpx.get(url.rstrip("/") + "/models", timeout=2.0).status_code == 200 else None
    except httpx.HTTPError:
        return None


def _local_server(settings: Settings) -> tuple[LocalServer, float | None]:
    """The per-process server (started on first use); restarted if threads or ctx changed."""
    global _server
    with _server_lock:
        if _server is not None and _server.running() and (_server.threads, _server.ctx) == (
            settings.local_threads,
            settings.local_ctx,
        ):
            return _server, None
        if _server is not None:
            _server.stop()
            _server = None
        report = ensure_model()
        server = LocalServer(
            report.path, threads=settings.local_threads, ctx=settings.local_ctx, log_dir=settings.home / "logs",
            prompt_cache_mb=settings.local_prompt_cache_mb,
        )
        server.start()
        _server = server
        os.environ[SHARED_URL_ENV] = server.base_url
        if server.speed is not None:
            os.environ[SPEED_ENV] = server.speed.encode()
        log.info("local model server on %s (started in %.1f s)", server.base_url, server.startup_s or 0.0)
        return server, server.startup_s


def shutdown() -> None:
    """Stop the per-process local server, if any (also done at interpreter exit)."""
    global _server
    with _server_lock:
        if _server is not None:
            if os.environ.get(SHARED_URL_ENV) == _server.base_url:
                del os.environ[SHARED_URL_ENV]
                os.environ.pop(SPEED_ENV, None)
            _server.stop()
            _server = None


def _rules(reason: str | None = None) -> tuple[None, ModelInfo]:
    if reason:
        log.warning("local model unavailable, using rules: %s", reason)
    return None, ModelInfo(backend="rules", model="rules", style="rules", reason=reason)


def local_chat(base_url: str, timeout_s: float, max_tokens: int = DEFAULT_MAX_TOKENS) -> ChatOpenAI:
    """ChatOpenAI for a llama.cpp server: max_tokens in extra_body, no retries, temperature 0."""
    return ChatOpenAI(
        base_url=base_url,
        api_key="local",
        model="local",
        temperature=0,
        timeout=timeout_s,
        max_retries=0,  # a retry after a timeout only doubles the wait on a local CPU server
        extra_body={"max_tokens": max_tokens},
    )


def local_timeout(settings: Settings, speed: Speed | None, max_tokens: int) -> float:
    """One local call's time limit: 1.5 times the slowest request this server can be sent (a full context
    read, `max_tokens` written) at its measured speed, and never below `llm_timeout_s`. A slower machine
    gets a longer limit, so a timeout means a stuck server rather than a slow one (measured before: a
    fixed 120 s failed whole cases on a loaded 2-core host)."""
    if speed is None:
        return settings.llm_timeout_s
    return max(settings.llm_timeout_s, float(round(1.5 * speed.seconds(settings.local_ctx, max_tokens))))


def _build_local(settings: Settings, max_tokens: int) -> tuple[BaseChatModel | None, ModelInfo]:
    startup_s: float | None = None
    if shared := _shared_server_url():
        base_url, speed = shared, Speed.decode(os.environ.get(SPEED_ENV))
    elif not llama_cpp_installed():
        return _rules("the local model runtime (llama-cpp-python) is not installed: run `make local` once "
                      "(it compiles llama.cpp for this CPU, about 6 minutes on 2 cores)")
    else:
        try:
            server, startup_s = _local_server(settings)
        except (LocalModelUnavailable, LocalServerError) as exc:
            return _rules(str(exc))
        base_url, speed = server.base_url, server.speed
    timeout = local_timeout(settings, speed, max_tokens)
    if speed is not None and startup_s is not None:
        log.info("local model reads %.0f and writes %.1f tokens/s: time limit %.0f s a call",
                 speed.prompt_tps, speed.gen_tps, timeout)
    return local_chat(base_url, timeout, max_tokens), ModelInfo(
        backend="local", model=MODEL_NAME, style="router", base_url=base_url, startup_s=startup_s, decides=False,
        timeout_s=timeout)


def _is_loopback(url: str | None) -> bool:
    return bool(url) and (urlparse(url).hostname or "") in _LOOPBACK


def _build_openai(model: str, settings: Settings, max_tokens: int) -> tuple[BaseChatModel, ModelInfo]:
    if not model:
        raise InputInvalid("openai backend needs a model name: --model openai:<model>, e.g. openai:gpt-4o-mini")
    base_url = os.environ.get("OPENAI_BASE_URL") or None
    api_key = os.environ.get("OPENAI_API_KEY") or None
    if api_key is None:
        if not _is_loopback(base_url):
            raise InputInvalid(
                f"--model openai:{model} needs OPENAI_API_KEY (or OPENAI_BASE_URL pointing at a local server)"
            )
        api_key = "local"
    chat = ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=api_key,
        temperature=0,
        timeout=settings.llm_timeout_s,
        max_tokens=max_tokens,
    )
    return chat, ModelInfo(backend="openai", model=model, style="native", base_url=base_url or "https://api.openai.com/v1",
                           timeout_s=settings.llm_timeout_s)


def build_chat_model(
    name: str, settings: Settings, *, max_tokens: int = DEFAULT_MAX_TOKENS, style: Style | None = None
) -> tuple[BaseChatModel | None, ModelInfo]:
    """Build the backend for `name` (rules | learned | local | openai:<model>).

    `style` overrides the backend's default driving style (e.g. `router` for a small model
    behind an OpenAI-compatible endpoint), so evals can measure both styles on one model.
    """
    from agent.learned.store import load_learned

    name = (name or "rules").strip()
    if name == "rules":
        chat, info = _rules()
    elif name == "learned":
        learned = load_learned(settings, required=True)
        return None, ModelInfo(backend="learned", model=learned.model_id, style="rules", learned=learned)
    elif name == "local":
        chat, info = _build_local(settings, max_tokens)
    elif name.startswith("openai:"):
        chat, info = _build_openai(name.removeprefix("openai:").strip(), settings, max_tokens)
    else:
        raise InputInvalid(f"unknown model backend {name!r}: use rules, learned, local or openai:<model>")
    if style is not None and info.backend != "rules":
        info = ModelInfo(**{**info.__dict__, "style": style})
    if chat is not None:
        info = ModelInfo(**{**info.__dict__, "learned": load_learned(settings, required=False)})
    return chat, info
