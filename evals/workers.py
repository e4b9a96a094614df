"""What runs a case: the agent (an `Investigator` per process) or a baseline, in or out of a pool.

Each pool worker builds its own Investigator once, in the pool's initializer: the graph, the
database connection and the model are per process (DuckDB connections and model clients do not
cross a fork), and `rules` is CPU-bound, so processes, not threads, give the parallelism.

A pool initializer that raises makes `multiprocessing.Pool` respawn workers forever, so a
user-fixable error there (no workspace, a bad model name) is kept and re-raised by the first task,
which reaches the parent as an ordinary exception. Only `SleuthError`s are turned into a failed
case; anything else is a bug and stops the run (resumable: finished cases are kept).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

from agent.report import CaseReport
from tools.errors import SleuthError
from tools.settings import Settings

Investigate = Callable[[str], CaseReport]
Factory = Callable[[Settings, str], tuple[Investigate, Callable[[], None]]]

#: Per-process state of a pool worker.
_worker: dict[str, Any] = {}


def default_factory(settings: Settings, model: str) -> tuple[Investigate, Callable[[], None]]:
    """The investigate function and its cleanup for a model name (baselines need no workspace)."""
    from evals.baseline import BASELINES

    if model in BASELINES:
        return BASELINES[model], lambda: None
    from agent.runner import Investigator

    inv = Investigator(settings, model, record=False)  # an eval must not write into the case store
    return inv.investigate, inv.close


def run_one(investigate: Investigate, alert_id: str) -> tuple[str, str | None, str | None, float]:
    """(alert id, report JSON or None, error or None, seconds) for one case."""
    start = time.perf_counter()
    try:
        report = investigate(alert_id)
    except SleuthError as e:
        return alert_id, None, f"{type(e).__name__}: {e}", time.perf_counter() - start
    return alert_id, report.model_dump_json(), None, time.perf_counter() - start


def init_worker(factory: Factory, settings: Settings, model: str) -> None:
    """Pool initializer: build this process's investigator, or remember why it could not.

    Ctrl-C is the parent's to handle (it stops the pool and keeps every finished case); a worker
    that also caught it would die mid-task with a traceback of its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _worker["investigate"], _worker["close"] = factory(settings, model)
    except SleuthError as e:
        _worker["error"] = e


def worker_task(alert_id: str) -> tuple[str, str | None, str | None, float]:
    """Pool task: investigate one alert in this worker."""
    if "error" in _worker:
        raise _worker["error"]
    return run_one(_worker["investigate"], alert_id)
