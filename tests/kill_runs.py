"""The kill -9 tests' harness: `sleuth triage` runs started in their own process groups, killed
with all their workers when the test ends however it ends, and the final run that must finish.

Shared by the local-pool and Ray kill tests so both start, reap and finish runs the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Start = Callable[[list[str], dict[str, str]], "subprocess.Popen[bytes]"]


@contextmanager
def run_groups() -> Iterator[Start]:
    """Yield `start(cmd, env)`: a quiet run in a new session; on exit, kill every group still running."""
    started: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def finish(cmd: list[str], env: dict[str, str], timeout: float) -> None:
    """Run `cmd` to the end (the last resume) and fail the test, with its stderr, unless it exits 0."""
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert final.returncode == 0, final.stderr[-2000:]
