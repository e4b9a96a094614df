"""What runs a case: the agent (an `Investigator` per process) or a baseline, on the batch runner.

Each worker process builds its own investigator once (`EvalWorker`); the process pool or Ray, the
handling of start-up errors and of bugs are the batch runner's (`agent.batch.engine`). Only
`SleuthError`s are turned into a failed case; anything else is a bug and stops the run
(resumable: finished cases are kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext

from agent.report import CaseReport
from tools.errors import SleuthError
from tools.settings import Settings

Investigate = Callable[[str], CaseReport]
Factory = Callable[[Settings, str], tuple[Investigate, Callable[[], None]]]

def run_one(investigate: Investigate, alert_id: str) -> tuple[str, str | None, str | None, float]:
    """(alert id, report JSON or None, error or None, seconds) for one case."""
    start = time.perf_counter()
    try:
        report = investigate(alert_id)
    except SleuthError as e:
        return alert_id, None, f"{type(e).__name__}: {e}", time.perf_counter() - start
    return alert_id, report.model_dump_json(), None, time.perf_counter() - start


def default_factory(settings: Settings, model: str) -> tuple[Investigate, Callable[[], None]]:
    """The investigate function and its cleanup for a model name (baselines need no workspace)."""
    from evals.baseline import BASELINES

    if model in BASELINES:
        return BASELINES[model], lambda: None
    from agent.runner import Investigator

    inv = Investigator(settings, model, record=False)  # an eval must not write into the case store
    return inv.investigate, inv.close


class EvalWorker:
    """A batch worker (`agent.batch.engine`) that investigates each case with the factory's backend."""

    def __init__(self, factory: Factory, settings: Settings, model: str) -> None:
        self.investigate, self._close = factory(settings, model)

    def run(self, batch: list[str]) -> Iterator[tuple[str, str | None, str | None, float]]:
        owner = getattr(self.investigate, "__self__", None)  # an Investigator primes the batch's evidence
        with owner.primed(batch) if hasattr(owner, "primed") else nullcontext():
            for alert_id in batch:
                yield run_one(self.investigate, alert_id)

    def close(self) -> None:
        self._close()
