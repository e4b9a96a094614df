"""Batch triage of an alert backlog: parallel, resumable, exactly once.

The parent process is the only writer of the results file. A worker investigates an alert (its
graph's `record` node writes the case store atomically) and hands back one result; the parent
appends it as a JSON line with flush + fsync before counting it done. So a crash, `kill -9` or
Ctrl-C loses at most the alerts in flight, and a partially written last line is dropped on resume.
On `--resume` the file is compacted first (atomically): finished alerts are kept and skipped,
failed ones are removed and tried again, so every alert ends with exactly one record.
"""

from __future__ import annotations

import gc
import json
import os
import time
import traceback
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
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return records


def compact(path: Path) -> dict[str, dict[str, Any]]:
    """Keep one finished record per alert (the first), drop failures and torn lines, atomically."""
    from agent.store import atomic_write

    done: dict[str, dict[str, Any]] = {}
    for rec in read_results(path):
        if rec.get("status") == "ok" and rec["alert_id"] not in done:
            done[rec["alert_id"]] = rec
    if path.exists():
        atomic_write(path, "".join(json.dumps(r) + "\n" for r in done.values()))
    return done


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


_worker: Any = None


def _init_worker(settings: Settings, model_name: str) -> None:
    global _worker
    from agent.runner import Investigator

    _worker = Investigator(settings, model_name)


def _init_pool_worker(settings: Settings, model_name: str) -> None:
    """Pool worker set-up: exit when the parent dies.

    A parent killed with -9 cannot stop its pool, and the workers would go on investigating every
    alert already queued to them (recording cases nobody counts, competing with the resumed run).
    The parent's sentinel (a pipe multiprocessing keeps for this) becomes readable when it dies.
    """
    import multiprocessing as mp
    import threading
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    assert parent is not None, "a pool worker has a parent"

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    _init_worker(settings, model_name)
    # Garbage collection cost a rules case about 1 ms of its 45: the collector kept re-scanning the
    # start-up's objects (modules, the graph) and ran every 700 allocations. Freeze what start-up
    # made and collect the young generation ten times less often (a case's objects are freed by
    # reference counting; measured: 0.14 instead of 0.98 ms of collection per case).
    gc.freeze()
    gc.set_threshold(7_000, 10, 10)


def _run_one(item: tuple[str, str]) -> dict[str, Any]:
    """Investigate one alert in a worker; any failure becomes a failed record (retried on resume)."""
    alert_id, rule_id = item
    start = time.perf_counter()
    try:
        report = _worker.investigate(alert_id)
    except SleuthError as e:
        return TriageResult(alert_id, "failed", _worker.model_name, rule_id, seconds=time.perf_counter() - start,
                            error=f"{type(e).__name__}: {e}").__dict__
    except Exception as e:  # noqa: BLE001 - batch isolation: one alert's bug must not stop the backlog
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        return TriageResult(alert_id, "failed", _worker.model_name, rule_id, seconds=time.perf_counter() - start,
                            error=f"unexpected {tb}").__dict__
    d = report.decision
    return TriageResult(
        alert_id, "ok", report.model, rule_id, d.disposition, d.typology, d.risk_score,
        [a.action for a in report.actions], [a.action for a in report.actions if a.status == "pending_approval"],
        report.verification.claims_checked, len(report.verification.unsupported),
        round(time.perf_counter() - start, 4), sum(report.tokens.values())).__dict__


def _results_iter(items: list[tuple[str, str]], settings: Settings, model_name: str,
                  workers: int) -> Iterator[dict[str, Any]]:
    settings = for_workers(settings, workers)
    if workers <= 1 or len(items) <= 1:
        _init_worker(settings, model_name)
        try:
            for item in items:
                yield _run_one(item)
        finally:
            _worker.close()
        return
    import multiprocessing as mp

    from tools.playbooks.retrieve import prepare_index

    prepare_index(settings)  # a stale index is rebuilt once here, not by each worker at once
    # spawn, not fork: a parent that has opened the Chroma index (e.g. `sleuth demo` after indexing)
    # hands forked children a client whose runtime threads are gone, and they hang on first retrieval.
    # (A fork server that imports the worker modules once measured no faster: its one core imports
    # while the other idles, where two spawned workers import side by side.)
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_pool_worker, initargs=(settings, model_name)) as pool:
        yield from pool.imap_unordered(_run_one, items, chunksize=1)


def run_triage(settings: Settings, model_name: str, which: str, out_dir: Path, workers: int, resume: bool,
               fresh: bool, on_result: Callable[[dict[str, Any], int, int], None] | None = None) -> dict[str, Any]:
    """Triage the selected alerts; returns counts and the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS
    if path.exists() and not (resume or fresh):
        raise InputInvalid(f"{path} exists: pass --resume to continue it or --fresh to start over")
    if fresh and path.exists():
        path.unlink()
    done = compact(path) if resume else {}
    items = [i for i in select_alerts(settings, which) if i[0] not in done]
    total = len(items) + len(done)
    start = time.perf_counter()
    first_at: float | None = None
    new = 0
    with open(path, "a", encoding="utf-8") as fh:
        for rec in _results_iter(items, settings, model_name, workers):
            first_at = first_at or time.perf_counter()
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            new += 1
            if on_result is not None:
                on_result(rec, len(done) + new, total)
    elapsed = time.perf_counter() - start
    records = read_results(path)
    _write_parquet(records, out_dir / "results.parquet")
    steady = (new - 1) / (start + elapsed - first_at) if first_at is not None and new > 1 else None
    return {"records": records, "new": new, "skipped": len(done), "elapsed_s": elapsed, "path": path,
            "steady_per_s": steady,
            "parquet": out_dir / "results.parquet"}


def _write_parquet(records: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not records:
        return
    table = pa.Table.from_pylist(records)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
