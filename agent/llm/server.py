"""Start and stop the bundled model's OpenAI-compatible server on loopback.

Why a separate process rather than `llama_cpp.Llama` in-process: the agent talks to every
backend through langchain-openai, so the local model is just another endpoint (the same
code path as vLLM or Ollama), and a 2.4 GB native process can be killed cleanly.

No orphans: the child starts in its own session (so Ctrl-C in the terminal reaches only
sleuth, which then stops it in order), is stopped by process group (terminate, then
kill) on context exit, at interpreter exit and on SIGTERM, and watches its parent pid
itself (`_child.py`) for the cases where the parent cannot clean up (SIGKILL, OOM).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import httpx

from tools.errors import SleuthError

# None = the chat template inside the GGUF (Qwen2.5's own, which renders the tool schemas into
# the system prompt). Measured on the AML router prompt (5 evidence states): it gave 5/5 valid
# and 3/5 sensible picks; `chatml` (tools invisible to the model, only the grammar) gave 5/5
# valid but picked the first option every time (2/5). The stock `chatml-function-calling`
# is unusable (docs/backends.md). Structured output works with either: a named
# tool_choice makes llama.cpp constrain decoding with a grammar built from the JSON schema.
DEFAULT_CHAT_FORMAT: str | None = None
_PORT_RETRIES = 3


class LocalServerError(SleuthError):
    """The local model server could not be started or did not become healthy."""


def llama_cpp_installed() -> bool:
    """True if llama-cpp-python (with its server extra) is importable, without importing it."""
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette"))


def free_port() -> int:
    """An ephemeral loopback port that is free right now (a bind race is retried by start())."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of the server log, for error messages."""
    try:
        with path.open("r", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip()
    except OSError:
        return "(no server log)"


@dataclass(frozen=True)
class Speed:
    """A server's measured tokens per second: prompt reading and generation (docs/backends.md)."""

    prompt_tps: float
    gen_tps: float

    def seconds(self, prompt_tokens: int, new_tokens: int) -> float:
        """How long a request of that size takes on this server."""
        return prompt_tokens / self.prompt_tps + new_tokens / self.gen_tps

    def encode(self) -> str:
        return f"{self.prompt_tps:.2f},{self.gen_tps:.2f}"

    @classmethod
    def decode(cls, text: str | None) -> Speed | None:
        try:
            p, g = (float(x) for x in (text or "").split(","))
        except ValueError:
            return None
        return cls(p, g) if p > 0 and g > 0 else None


# About 130 tokens to read and up to 12 to write: enough to time each phase, about 3 s on 2 cores.
_SPEED_PROMPT = "Inventory: " + ", ".join(f"item {i} in bin {i % 7}" for i in range(18)) + ".\nSummary:"
_SPEED_GEN = "Count from 1 to 50, separated by spaces: 1 2 3"


def measure_speed(base_url: str, timeout_s: float = 180.0) -> Speed | None:
    """Time two short completions (a long prompt and one token; a short prompt and a run of tokens) to
    learn how fast this machine reads and writes; None when the server does not report token counts."""
    url = base_url.rstrip("/") + "/completions"

    def timed(prompt: str, max_tokens: int) -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        r = httpx.post(url, json={"prompt": prompt, "max_tokens": max_tokens, "temperature": 0}, timeout=timeout_s)
        return time.perf_counter() - t0, (r.json().get("usage") or {}) if r.status_code == 200 else {}

    try:
        read_s, read = timed(_SPEED_PROMPT, 1)
        write_s, write = timed(_SPEED_GEN, 12)
    except (httpx.HTTPError, ValueError):
        return None
    prompt_tokens, new_tokens = int(read.get("prompt_tokens", 0)), int(write.get("completion_tokens", 0))
    if prompt_tokens < 50 or new_tokens < 2:
        return None
    prompt_tps = prompt_tokens / read_s
    gen_s = write_s - int(write.get("prompt_tokens", 0)) / prompt_tps
    return Speed(round(prompt_tps, 2), round(new_tokens / max(gen_s, 1e-3), 2))


class LocalServer:
    """Context manager running `llama_cpp.server` for one GGUF on 127.0.0.1:<free port>.

    `start()` returns once `/v1/models` answers; `startup_s` says how long that took.
    """

    _live: set[LocalServer] = set()
    _live_lock = threading.Lock()

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int = 2,
        ctx: int = 8192,
        chat_format: str | None = DEFAULT_CHAT_FORMAT,
        prompt_cache_mb: int = 0,
        log_dir: Path | None = None,
        start_timeout_s: float = 180.0,
        alias: str = "local",
        module: str = "llama_cpp.server",
    ) -> None:
        self.model_path = Path(model_path)
        self.threads, self.ctx, self.chat_format, self.alias = threads, ctx, chat_format, alias
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.gettempdir())
        self.start_timeout_s = start_timeout_s
        self.prompt_cache_mb = prompt_cache_mb
        self.module = module  # tests substitute a stub server script here
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.startup_s: float | None = None
        self.speed: Speed | None = None  # measured once healthy: what the clients' time limits scale with

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (ends in /v1)."""
        if self.port is None:
            raise LocalServerError("the local model server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> LocalServer:
        """Launch the server and wait until it is healthy; retry on a port bind race."""
        if self.running():
            return self
        if self.module == "llama_cpp.server" and not llama_cpp_installed():
            raise LocalServerError("llama-cpp-python[server] is not installed; run: .venv/bin/pip install -e '.[local]'")
        if not self.model_path.is_file():
            raise LocalServerError(f"model file not found: {self.model_path}")
        _install_signal_handlers()
        t0 = time.perf_counter()
        for attempt in range(_PORT_RETRIES):
            self._spawn()
            try:
                self._wait_healthy()
            except LocalServerError:
                tail = log_tail(self.log_path) if self.log_path else ""
                self.stop()
                if "address already in use" in tail.lower() and attempt + 1 < _PORT_RETRIES:
                    continue
                raise
            self.startup_s = time.perf_counter() - t0
            return self
        raise LocalServerError("could not find a free port for the local model server")  # pragma: no cover

    def _spawn(self) -> None:
        self.port = free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"llama-server-{os.getpid()}-{self.port}.log"
        cmd = [
            sys.executable, "-m", "agent.llm._child", str(os.getpid()), self.module,
            "--model", str(self.model_path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--n_ctx", str(self.ctx),
            # The server defaults to logits_all=True: an n_ctx x vocab float32 array (8192 x 151,936 x 4 B
            # = 5 GB at 8k) filled as the context grows, plus the output layer run on every prompt token.
            # Sleuth never asks for logprobs.
            "--logits_all", "false",
        ]  # fmt: skip
        if self.prompt_cache_mb:
            # llama.cpp keeps one prompt's state by default, and a case alternates prompts (router, narrative,
            # the next case's router): a RAM cache of several states lets each reuse its own system prefix
            cmd += ["--cache", "true", "--cache_type", "ram", "--cache_size", str(self.prompt_cache_mb << 20)]
        if self.chat_format:  # None: the GGUF's own Jinja chat template
            cmd += ["--chat_format", self.chat_format]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        with LocalServer._live_lock:
            LocalServer._live.add(self)

    def _wait_healthy(self) -> None:
        assert self.proc is not None and self.log_path is not None
        deadline = time.monotonic() + self.start_timeout_s
        url = f"http://127.0.0.1:{self.port}/v1/models"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                code = self.proc.poll()
                if code is not None:
                    raise LocalServerError(
                        f"local model server exited with code {code} while starting; "
                        f"log {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                try:
                    if client.get(url).status_code == 200:
                        self._probe_completion()
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
        raise LocalServerError(
            f"local model server did not become healthy within {self.start_timeout_s:.0f} s; "
            f"log {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def _probe_completion(self) -> None:
        """Run the speed measurement's completions, which are also the probe: a server can list its model
        and still die on the first forward pass (seen here: llama.cpp compiled with -march=native used
        AMX tiles that this VM's kernel does not grant, and every completion was a segmentation fault).
        Better a clear start-up error than every case failing with a dropped connection."""
        assert self.proc is not None
        self.speed = measure_speed(self.base_url, self.start_timeout_s)
        if self.speed is None:
            time.sleep(0.5)  # a crashed server needs a moment before poll() sees it
        code = self.proc.poll()
        if code is not None:
            why = " (segmentation fault)" if code == -signal.SIGSEGV else ""
            raise LocalServerError(
                f"local model server crashed on its first completion with code {code}{why}: llama-cpp-python "
                f"was probably built for CPU features this machine cannot use; delete ~/.cache/sleuth/wheels/"
                f"llama-cpp-python-* and .venv/.local-installed, then run `make local` (docs/backends.md); "
                f"log {self.log_path}"
            )

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM the process group, wait, then SIGKILL it; always reap the child."""
        proc, self.proc = self.proc, None
        with LocalServer._live_lock:
            LocalServer._live.discard(self)
        if proc is None:
            return
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        if proc.poll() is None:
            proc.wait(timeout=5.0)
        self.port = None


def stop_all() -> None:
    """Stop every server this process started (atexit and the SIGTERM handler call this)."""
    with LocalServer._live_lock:
        servers = list(LocalServer._live)
    for server in servers:
        server.stop()


_handlers_installed = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def _install_signal_handlers() -> None:
    """atexit always; SIGTERM/SIGHUP only if nobody else handles them and we are on the main thread."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _on_sigterm)
