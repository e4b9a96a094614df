"""Batch triage of an alert backlog: parallel, resumable, exactly once (docs/batch-runner.md).

Alerts run in batches on the one batch runner (`agent.batch`). The parent process is the only
writer: for each finished batch it writes the case files (one sync for all), their audit lines (one
fsync) and then the batch's results lines (one write, one fsync: the commit). So a crash, `kill -9`
or Ctrl-C loses at most the batches in flight, and a partially written last line is dropped on
resume. On `--resume` the file is compacted first (atomically): finished alerts are kept and
skipped, failed ones are removed and tried again, so every alert ends with exactly one record.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.errors import InputInvalid, SleuthError
from tools.settings import Settings, for_workers

RESULTS = "results.jsonl"


@dataclass
class TriageResult:
    """One alert's outcome as written to the results file."""

    alert_id: str
    status: str
    model: str
    rule_id: str | None = None
    disposition: str | None = None
    typology: str | None = None
    risk_score: int | None = None
    actions: list[str] | None = None
    pending_approval: list[str] | None = None
    claims_checked: int | None = None
    claims_unsupported: int | None = None
    seconds: float = 0.0
    tokens: int = 0
    error: str | None = None


def read_results(path: Path) -> list[dict[str, Any]]:
    """Complete records of a results file; a torn last line (killed mid-write) is ignored."""
    from agent.batch.commitlog import read_records

    return read_records(path)


def select_alerts(settings: Settings, which: str) -> list[tuple[str, str]]:
    """(alert_id, rule_id) for `open`, `all`, or a file of alert ids (one a line, or case JSONL)."""
    from tools.db import Database

    with Database.open(settings) as db:
        rows = db.execute("SELECT alert_id, rule_id FROM alerts ORDER BY created_at, alert_id").rows
        rules = {a: r for a, r in rows}
        status = {}
        if which == "open":
            cols = {c for (c,) in db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'alerts'").rows}
            if "status" in cols:
                status = dict(db.execute("SELECT alert_id, status FROM alerts").rows)
    if which == "all":
        return [(a, r) for a, r in rows]
    if which == "open":
        return [(a, r) for a, r in rows if status.get(a, "open") in (None, "open")]
    path = Path(which)
    if not path.exists():
        raise InputInvalid(f"--alerts must be open, all or a file of alert ids; {which!r} is none of these")
    ids: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                line = json.loads(line)["alert_id"]
            except (json.JSONDecodeError, KeyError) as e:
                raise InputInvalid(f"{path}:{n}: not a case record with an alert_id") from e
        ids.append(line)
    unknown = [a for a in ids if a not in rules]
    if unknown:
        raise InputInvalid(f"{path}: {len(unknown)} unknown alert ids, e.g. {unknown[0]!r}")
    return [(a, rules[a]) for a in dict.fromkeys(ids)]


class TriageWorker:
    """A worker process's investigator: runs a batch of alerts, hands back records and reports.

    It records nothing itself (`record=False`): the parent writes the batch's case files, audit lines
    and results together, so a worker needs only read access to the workspace (as a Ray node does).
    Against a model endpoint (`openai:`) a case mostly waits on the network, so the batch's cases run
    on up to `llm_concurrency` threads, each with its own investigator (connection, model client).
    """

    def __init__(self, settings: Settings, model_name: str) -> None:
        import threading

        from agent.runner import Investigator

        self.settings, self.model_name = settings, model_name
        self.investigator = Investigator(settings, model_name, record=False)
        self.concurrency = settings.llm_concurrency if self.investigator.model_name.startswith("openai:") else 1
        self._local = threading.local()
        self._threads: list[Any] = []

    def run(self, batch: list[tuple[str, str]]) -> Iterator[Finished]:
        """(record, report JSON, audit fields) per alert, in batch order; a user error is a failed
        record (retried on resume); a bug raises (it stops the run)."""
        if self.concurrency > 1 and len(batch) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self.concurrency, len(batch)), thread_name_prefix="case") as pool:
                futures = [pool.submit(self._one, alert_id, rule_id) for alert_id, rule_id in batch]
                for future in futures:
                    yield future.result()
            return
        rules = dict(batch)
        start = time.perf_counter()
        for alert_id, outcome in self.investigator.investigate_many([a for a, _ in batch]):
            yield finished(self.investigator.model_name, alert_id, rules[alert_id], outcome,
                           time.perf_counter() - start)
            start = time.perf_counter()

    def _one(self, alert_id: str, rule_id: str) -> Finished:
        """One case on this thread's investigator."""
        inv = getattr(self._local, "investigator", None)
        if inv is None:
            from agent.runner import Investigator

            inv = self._local.investigator = Investigator(self.settings, self.model_name, record=False)
            self._threads.append(inv)
        start = time.perf_counter()
        try:
            outcome: Any = inv.investigate(alert_id)
        except SleuthError as e:
            outcome = e
        return finished(inv.model_name, alert_id, rule_id, outcome, time.perf_counter() - start)

    def close(self) -> None:
        for inv in [self.investigator, *self._threads]:
            inv.close()


def finished(model_name: str, alert_id: str, rule_id: str, outcome: Any, seconds: float) -> Finished:
    """A case's (record, report JSON, audit fields): a failed record for a user error."""
    from agent.store import recorded_fields

    if isinstance(outcome, SleuthError):
        return TriageResult(alert_id, "failed", model_name, rule_id, seconds=round(seconds, 4),
                            error=f"{type(outcome).__name__}: {outcome}").__dict__, None, None
    return result_record(outcome, rule_id, seconds), outcome.model_dump_json(indent=1), recorded_fields(outcome)


Finished = tuple[dict[str, Any], str | None, dict[str, Any] | None]


def result_record(report: Any, rule_id: str, seconds: float) -> dict[str, Any]:
    """The results-file record of a finished case."""
    d = report.decision
    return TriageResult(
        report.case_id, "ok", report.model, rule_id, d.disposition, d.typology, d.risk_score,
        [a.action for a in report.actions], [a.action for a in report.actions if a.status == "pending_approval"],
        report.verification.claims_checked, len(report.verification.unsupported),
        round(seconds, 4), sum(report.tokens.values())).__dict__


BULK_BATCH = 1_000
"""Most alerts a rules or learned batch holds: its set-based statements scan `flows` once per batch
(agent/bulk.py), so a batch should be large; but its reports (about 100 KB each) travel to the
parent together, and a kill loses the batches in flight. At 10M transactions 2,000 took 4.5 GB
for the run (parent and 2 workers), 1,000 about 1 GB less for a few percent more CPU."""


def batch_size_for(n: int, workers: int, model_name: str, concurrency: int = 1) -> int:
    """Alerts per batch: two batches per worker (so the last ones finish together), at most
    `BULK_BATCH`; an LLM's cases take seconds each: one a batch, or as many as a worker runs at once
    against an endpoint."""
    if model_name.startswith("openai:"):
        return max(1, concurrency)
    if model_name not in ("rules", "learned"):
        return 1
    return max(1, min(BULK_BATCH, -(-n // (max(1, workers) * 2))))


def run_triage(settings: Settings, model_name: str, which: str, out_dir: Path, workers: int, resume: bool,
               fresh: bool, on_result: Callable[[dict[str, Any], int, int], None] | None = None, *,
               engine: str = "local", batch_size: int | None = None) -> dict[str, Any]:
    """Triage the selected alerts; returns counts and the paths written."""
    from functools import partial

    from agent.batch.commitlog import append_batch, compact, locked
    from agent.batch.engine import check_engine, drive, prepare_index_once
    from agent.store import CaseStore

    check_engine(engine)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS
    with locked(out_dir, "sleuth triage"):
        if path.exists() and not (resume or fresh):
            raise InputInvalid(f"{path} exists: pass --resume to continue it or --fresh to start over")
        if fresh and path.exists():
            path.unlink()
        done = compact(path, key=lambda r: r["alert_id"], redo=lambda r: r.get("status") != "ok") if resume else {}
        items = [i for i in select_alerts(settings, which) if i[0] not in done]
        total = len(items) + len(done)
        start = time.perf_counter()
        first_at: float | None = None
        new = 0
        write_s = 0.0
        store = CaseStore(settings)
        worker_settings = for_workers(settings, workers)
        if items:
            prepare_index_once(worker_settings, workers, engine)
        with open(path, "a", encoding="utf-8") as fh:
            def commit(finished: list[Finished]) -> None:
                nonlocal first_at, new, write_s
                first_at = first_at or time.perf_counter()
                began = time.perf_counter()
                store.save_many([(rec["alert_id"], text, fields) for rec, text, fields in finished if text])
                append_batch(fh, [json.dumps(rec) for rec, _, _ in finished])
                write_s += time.perf_counter() - began
                for rec, _, _ in finished:
                    new += 1
                    if on_result is not None:
                        on_result(rec, len(done) + new, total)

            drive(partial(TriageWorker, worker_settings, model_name), items, commit, workers=workers,
                  batch_size=batch_size or batch_size_for(len(items), workers, model_name, settings.llm_concurrency),
                  engine=engine)
        elapsed = time.perf_counter() - start
        records = read_results(path)
        _write_parquet(records, out_dir / "results.parquet")
    steady = (new - 1) / (start + elapsed - first_at) if first_at is not None and new > 1 else None
    return {"records": records, "new": new, "skipped": len(done), "elapsed_s": elapsed, "path": path,
            "steady_per_s": steady, "parquet": out_dir / "results.parquet", "write_s": write_s}


def _write_parquet(records: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not records:
        return
    table = pa.Table.from_pylist(records)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
