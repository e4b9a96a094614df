"""Run the investigation graph for alerts: one place that wires settings, database, model and graph.

`Investigator` keeps the database connection, the compiled graph and the model across alerts, so
batch triage pays those costs once per worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agent.context import InvestigationContext
from agent.report import CaseReport
from tools.errors import SleuthError
from tools.settings import Settings


class Investigator:
    """Investigates alerts with one backend."""

    def __init__(self, settings: Settings, model_name: str | None = None, model: Any | None = None,
                 style: str | None = None, record: bool = True) -> None:
        from agent.graph import build_graph
        from tools.db import Database

        self.settings = settings
        self.model_name = model_name or settings.model
        self.record = record
        self.learned: Any | None = None
        self.model_decides = True
        if model is not None:  # an injected chat model (tests): it reads the learned model's facts, if one is trained
            from agent.learned.store import load_learned

            self.model, self.style = model, style or "router"
            self.learned = load_learned(settings, required=False)
        elif self.model_name == "rules":
            self.model, self.style = None, "rules"
        else:
            from agent.llm.models import build_chat_model

            self.model, info = build_chat_model(self.model_name, settings)
            self.style = info.style
            self.model_name = info.label
            self.fallback_reason = getattr(info, "reason", None)
            self.learned = info.learned
            self.model_decides = info.decides
        # opened after the backend: a backend error (no trained model, a bad endpoint) then leaves no
        # connection behind, and the user sees its one line and nothing else
        self.db = Database.open(settings)
        self.graph = build_graph()

    def context(self) -> InvestigationContext:
        """A fresh per-case context: its ledger and step/token budgets come from the settings in
        `InvestigationContext.__post_init__`, the one place that derives them."""
        return InvestigationContext(
            settings=self.settings, db=self.db,
            model=self.model, model_name=self.model_name, style=self.style,  # type: ignore[arg-type]
            learned=self.learned, model_decides=self.model_decides, record=self.record)

    def investigate(self, alert_id: str) -> CaseReport:
        """Run the whole graph for one alert and return its report."""
        start = time.perf_counter()
        state = self.graph.invoke({"alert_id": alert_id}, context=self.context(), output_keys=["report"])
        report = CaseReport.model_validate(state["report"])
        report.timings_ms["total"] = round((time.perf_counter() - start) * 1000, 2)
        return report

    @contextmanager
    def primed(self, alert_ids: list[str]) -> Iterator[dict[str, float]]:
        """Within: the batch's set-based evidence is computed and held (agent/bulk.py), for a batch
        runner that calls `investigate` case by case (the eval workers; `investigate_many` uses it
        too); yields each part's share of that time per alert, in ms. After, what the cases did not
        take is dropped."""
        from agent.bulk import prefetch, release

        took = prefetch(self.db, self.settings, alert_ids, features=self._reads_features(),
                        k=self.context().playbook_k)
        try:
            yield {f"batch_{part}": round(s * 1000 / max(1, len(alert_ids)), 2) for part, s in took.items()}
        finally:
            release(self.db)

    def investigate_many(self, alert_ids: list[str]) -> Iterator[tuple[str, CaseReport | SleuthError]]:
        """Investigate alerts in order after computing their set-based evidence in one pass. A user
        error (an unknown alert) is yielded in place of its report; bugs raise."""
        with self.primed(alert_ids) as shares:
            for alert_id in alert_ids:
                try:
                    report = self.investigate(alert_id)
                except SleuthError as e:
                    yield alert_id, e
                    continue
                report.timings_ms.update(shares)  # the case's share of its batch's set-based work
                yield alert_id, report

    def _reads_features(self) -> bool:
        """True when the backend or a playbook reads the feature vectors (one alert alone costs the
        feature statement most of a second of planning, so a batch computes them together)."""
        from tools.playbooks.load import load_playbooks

        return self.learned is not None or self.model_name == "learned" or any(
            s.tool == "features" for pb in load_playbooks().playbooks for s in pb.evidence_steps)

    def close(self) -> None:
        """Release the database connection."""
        self.db.close()

    def __enter__(self) -> Investigator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
