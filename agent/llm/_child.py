"""Entry point of the model-server child: llama_cpp.server that dies with its parent.

`LocalServer` stops the server on exit, on atexit and on SIGTERM, but nothing runs in
the parent after SIGKILL or an OOM kill. A daemon thread here polls the parent pid and
exits the child when the parent is gone, so no 2.4 GB server is ever left orphaned.
(PR_SET_PDEATHSIG was rejected: it fires when the spawning *thread* exits, and sleuth
may start the server from a short-lived worker thread.)

Usage: python -m agent.llm._child PARENT_PID MODULE [server arguments...]
MODULE is `llama_cpp.server`, or a path to a .py file (tests use a tiny stub server).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _watch_parent(parent: int, interval_s: float = 1.0) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(interval_s)


def main() -> None:
    """Start the parent watchdog, then run the server module as `__main__` in this process."""
    parent, module = int(sys.argv[1]), sys.argv[2]
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watchdog").start()
    sys.argv = [module, *sys.argv[3:]]
    if module.endswith(".py"):
        runpy.run_path(module, run_name="__main__")
    else:
        runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
