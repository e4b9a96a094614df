"""LocalServer lifecycle against a tiny stub server: health wait, errors, no orphans.

The stub stands in for llama_cpp.server (same CLI flags, answers /v1/models), so these
tests run in about a second without the model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from agent.llm.server import LocalServer, LocalServerError

STUB = Path(__file__).with_name("llm_stub_server.py")


@pytest.fixture()
def stub(tmp_path: Path) -> Path:
    """The stub's path; a dummy model file sits in tmp_path, which is also the log dir."""
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    return STUB


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _server(stub: Path, tmp_path: Path, **kw: object) -> LocalServer:
    return LocalServer(tmp_path / "model.gguf", log_dir=tmp_path, module=str(stub), **kw)  # type: ignore[arg-type]


def test_starts_answers_and_leaves_no_process(stub: Path, tmp_path: Path) -> None:
    with _server(stub, tmp_path) as server:
        pid = server.pid
        assert pid is not None and server.running()
        assert httpx.get(server.base_url + "/models").status_code == 200
        assert server.startup_s is not None and server.startup_s < 30
        # timed at start from the server's own token counts: what the clients' time limits scale with
        assert server.speed is not None and server.speed.prompt_tps > 0 and server.speed.gen_tps > 0
    assert _gone(pid)
    with pytest.raises(LocalServerError):
        _ = server.base_url


def test_crash_at_start_reports_log_tail(stub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_MODE", "crash")
    with pytest.raises(LocalServerError, match=r"exited with code 3(.|\n)*failed to load model"):
        _server(stub, tmp_path).start()


def test_crash_on_first_completion_is_a_start_error(stub: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that lists its model but dies generating (a llama.cpp build using CPU features the
    machine lacks) fails at start with a clear reason, and leaves no process."""
    monkeypatch.setenv("STUB_MODE", "segv")
    server = _server(stub, tmp_path)
    with pytest.raises(LocalServerError, match=r"crashed on its first completion with code -11 \(segmentation fault\)"):
        server.start()
    assert not server.running()


def test_health_timeout_kills_the_hung_server(stub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_MODE", "hang")
    server = _server(stub, tmp_path, start_timeout_s=1.5)
    with pytest.raises(LocalServerError, match=r"did not become healthy within 2 s(.|\n)*stub starting"):
        server.start()
    assert not server.running()


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalServerError, match="model file not found"):
        LocalServer(tmp_path / "nope.gguf", module="whatever").start()


def test_server_dies_with_a_killed_parent(stub: Path, tmp_path: Path) -> None:
    """SIGKILL the process that started the server: the child's watchdog must exit it."""
    code = textwrap.dedent(f'''
        from pathlib import Path
        from agent.llm.server import LocalServer
        s = LocalServer(Path({str(tmp_path / "model.gguf")!r}), log_dir=Path({str(tmp_path)!r}), module={str(stub)!r})
        s.start()
        print(s.pid, flush=True)
        import time; time.sleep(600)
    ''')
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not _gone(child)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), "model server outlived its parent"
    finally:
        parent.kill()


def test_sigterm_to_parent_stops_the_server(stub: Path, tmp_path: Path) -> None:
    code = textwrap.dedent(f'''
        from pathlib import Path
        from agent.llm.server import LocalServer
        s = LocalServer(Path({str(tmp_path / "model.gguf")!r}), log_dir=Path({str(tmp_path)!r}), module={str(stub)!r})
        s.start()
        print(s.pid, flush=True)
        import time; time.sleep(600)
    ''')
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        t0 = time.monotonic()
        parent.terminate()
        assert parent.wait(timeout=10) == 128 + 15
        assert _gone(child)
        assert time.monotonic() - t0 < 5  # stopped by the handler, not by the 1 s watchdog poll
    finally:
        parent.kill()


def test_speed_scales_the_local_time_limit() -> None:
    from agent.llm.models import local_timeout
    from agent.llm.server import Speed
    from tools.settings import Settings

    settings = Settings(llm_timeout_s=120, local_ctx=8192)
    fast, slow = Speed(100.0, 20.0), Speed(25.0, 5.0)
    assert local_timeout(settings, fast, 512) == round(1.5 * (8192 / 100 + 512 / 20))
    assert abs(local_timeout(settings, slow, 512) - 4 * local_timeout(settings, fast, 512)) <= 4  # 4x slower machine
    assert local_timeout(settings, Speed(10_000.0, 1_000.0), 512) == 120  # never below the setting
    assert local_timeout(settings, None, 512) == 120  # unmeasured: the setting
    assert Speed.decode(fast.encode()) == fast and Speed.decode("") is None and Speed.decode("0,1") is None
