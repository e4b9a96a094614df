"""`sleuth eval run`: investigate every labelled case, score it, and write the run log and reports.

A run lives in one folder (`<runs_dir>/<case set>-<model>-<time>/` unless `--out` says otherwise):

- `meta.json`: what the run is (model, case file and its hash, judge) and its sessions;
- `cases.jsonl`: one scored `CaseRecord` a line, the commit log of the batch runner
  (docs/batch-runner.md): each finished batch is appended in one write + fsync, so a crash or
  Ctrl-C loses at most the batches in flight;
- `run.json`, `report.md`, `report.html`, `cases/`: written when every case is done.

Resuming (`--resume`) reads `cases.jsonl`, drops a torn last line (a write cut by a crash),
compacts it to one line per case (dropping, with `--retry-failed`, the cases that failed with a
user-level error such as a model timeout) and runs only the cases not in it; a lock on the folder
stops two processes from working on one run,
so every case is recorded exactly once. A resume must use the same model, judge and case file
(same SHA-256): mixing them would make one run's metrics describe two different things.

Cases run on the batch runner (`agent.batch`: this process, spawned workers or Ray); scoring, the
optional judge and all writes happen in this process, in the order batches arrive.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field, ValidationError

from agent.batch.commitlog import append_batch, compact, locked, read_lines
from agent.batch.engine import check_engine, drive, prepare_index_once
from agent.report import CaseReport
from agent.store import atomic_write
from evals import version
from evals.baseline import BASELINES
from evals.dataset import CaseSet, LabelledCase, load_cases
from evals.log import CaseRecord, CaseSetInfo, CodeVersion, RunLog, Timings, Tokens
from evals.scorers import AGGREGATORS, default_scorers
from evals.scorers.base import Scorer, quantile
from evals.scorers.trace import summarize
from evals.workers import EvalWorker, Factory, default_factory
from tools.errors import InputInvalid, NotFound, WorkspaceMissing
from tools.settings import Settings, for_workers

CASES_FILE = "cases.jsonl"
META_FILE = "meta.json"


@dataclass
class RunOptions:
    """The `eval run` flags."""

    cases: Path
    model: str
    limit: int | None = None
    workers: int = 1
    out: Path | None = None
    resume: bool = False
    judge: str | None = None
    repeats: int = 1
    retry_failed: bool = False
    engine: str = "local"


class Session(BaseModel):
    """One invocation of `eval run` on a run folder (the first run or a resume)."""

    started_at: str
    finished_at: str | None = None
    wall_seconds: float | None = None
    cases_run: int = 0
    workers: int = 1
    code: CodeVersion | None = None  # the code this session ran (a resume may run other code)


class RunMeta(BaseModel):
    """`meta.json`: what a run is, fixed at its start and checked on every resume."""

    run_id: str
    model: str
    case_set: CaseSetInfo
    judge: str | None = None
    judge_model: str | None = None
    repeats: int = 1
    sessions: list[Session] = Field(default_factory=list)


def now_iso() -> str:
    """UTC now, ISO with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def validate_model(model: str) -> None:
    """Reject a model name no backend knows, before any worker starts."""
    if model in ("rules", "learned", "local") or model in BASELINES or (model.startswith("openai:") and len(model) > 7):
        return
    raise InputInvalid(f"unknown --model {model!r}: use rules, learned, local, openai:<model> or {', '.join(BASELINES)}")


def refuse_seen(settings: Settings, alert_ids: list[str]) -> None:
    """A learned model is never scored on a case whose label it was trained on (that measures recall of
    the training set, not judgement): refuse, naming how many and one of them."""
    from agent.learned.store import load_learned

    model = load_learned(settings)
    seen = [a for a in alert_ids if a in model.training_alert_ids]
    if seen:
        raise InputInvalid(f"the learned model {model.model_id} was trained on {len(seen)} of these cases (e.g. "
                           f"{seen[0]}): score cases it has not seen, or use --cv K")


def backend_of(model: str) -> str:
    """The backend part of a model name: 'openai:gpt-4o' -> 'openai', 'local:qwen...' -> 'local'."""
    return model.split(":", 1)[0] if model else "unknown"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "run"


# -- the run folder ---------------------------------------------------------------------------

def _find_latest(settings: Settings, model: str, case_set: CaseSet) -> Path:
    candidates = []
    for meta_path in settings.runs_dir.glob(f"*/{META_FILE}") if settings.runs_dir.exists() else []:
        try:
            meta = RunMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
        except ValidationError:
            continue
        if meta.model == model and meta.case_set.sha256 == case_set.sha256:
            candidates.append((meta_path.stat().st_mtime, meta_path.parent))
    if not candidates:
        raise NotFound(f"no run of {model} on {case_set.path} to resume under {settings.runs_dir}; "
                       "drop --resume to start one, or give its folder with --out")
    return max(candidates)[1]


def open_meta(opts: RunOptions, settings: Settings, case_set: CaseSet) -> tuple[Path, RunMeta]:
    """The run folder and its meta: new, or the one being resumed (checked for consistency)."""
    if opts.resume:
        run_dir = opts.out or _find_latest(settings, opts.model, case_set)
        meta_path = run_dir / META_FILE
        if not meta_path.exists():
            raise NotFound(f"{run_dir} is not an eval run folder (no {META_FILE}); drop --resume to start one there")
        meta = RunMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
        problems = []
        if meta.model != opts.model:
            problems.append(f"model {meta.model!r}, not {opts.model!r}")
        if meta.case_set.sha256 != case_set.sha256:
            problems.append(f"case file {meta.case_set.path} with another hash (the case file changed)")
        if meta.judge != opts.judge or (opts.judge and meta.repeats != opts.repeats):
            problems.append(f"judge {meta.judge!r} x{meta.repeats}, not {opts.judge!r} x{opts.repeats}")
        if problems:
            raise InputInvalid(f"cannot resume {run_dir}: it was run with {'; '.join(problems)}")
        return run_dir, meta
    run_id = f"{case_set.name}-{_slug(opts.model)}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    run_dir = opts.out or settings.runs_dir / run_id
    if (run_dir / CASES_FILE).exists() and (run_dir / CASES_FILE).stat().st_size > 0:
        raise InputInvalid(f"{run_dir} already holds an eval run; add --resume to finish it, or choose another --out")
    meta = RunMeta(run_id=run_dir.name, model=opts.model, judge=opts.judge, repeats=opts.repeats,
                   case_set=CaseSetInfo(name=case_set.name, path=str(case_set.path), sha256=case_set.sha256,
                                        n_cases=len(case_set), limit=opts.limit))
    return run_dir, meta


def run_lock(run_dir: Path) -> AbstractContextManager[None]:
    """Hold an exclusive lock on the run folder (one writer per run: exactly-once recording)."""
    return locked(run_dir, "sleuth eval run")


def _parse_record(path: Path) -> Callable[[str], CaseRecord]:
    lineno = [0]

    def parse(line: str) -> CaseRecord:
        lineno[0] += 1
        try:
            return CaseRecord.model_validate_json(line)
        except ValidationError as e:
            raise InputInvalid(f"{path}:{lineno[0]}: not a case record ({e.errors()[0]['msg']})") from e
    return parse


def read_records(path: Path) -> list[CaseRecord]:
    """Finished cases of a run, the last line per case; a torn last line is cut off the file."""
    parse = _parse_record(path)
    records: dict[str, CaseRecord] = {}
    for line in read_lines(path, repair=True):
        rec = parse(line)
        records[rec.alert_id] = rec
    return list(records.values())


def resume_records(path: Path, retry_failed: bool) -> dict[str, CaseRecord]:
    """The cases a resume keeps, the log compacted to them (with `--retry-failed`, without failures)."""
    return compact(path, key=lambda r: r.alert_id, redo=lambda r: retry_failed and bool(r.error),
                   parse=_parse_record(path))


def append_records(fh: IO[str], records: list[CaseRecord]) -> None:
    """A batch of finished cases, committed together (one write, one fsync)."""
    append_batch(fh, [r.model_dump_json() for r in records])


# -- scoring and the log ----------------------------------------------------------------------

def score_case(scorers: list[Scorer], label: LabelledCase, report: CaseReport | None, error: str | None,
               seconds: float) -> CaseRecord:
    """A case's record: its input, report, trace summary and every scorer's record."""
    return CaseRecord(alert_id=label.alert_id, label=label, report=report, error=error,
                      trace_summary=summarize(report), scores={s.name: s.score(label, report) for s in scorers},
                      seconds=round(seconds, 4), finished_at=now_iso())


def build_log(meta: RunMeta, records: list[CaseRecord], workers: int) -> RunLog:
    """The run log from the finished records (in case-file order) and the run's meta."""
    reports = [r.report for r in records if r.report is not None]
    backends = Counter(backend_of(r.model) for r in reports)
    backend = backends.most_common(1)[0][0] if backends else backend_of(meta.model)
    notes = []
    if len(backends) > 1:
        notes.append(f"reports came from several backends: {dict(backends)}")
    if backend != backend_of(meta.model):
        notes.append(f"requested {meta.model} but the reports say {backend} (the backend fell back)")
    errors = [r for r in records if r.error]
    if errors:
        notes.append(f"{len(errors)} case(s) failed, scored as wrong; first: {errors[0].alert_id}: {errors[0].error}")
    by_kind: Counter[str] = Counter()
    for rep in reports:
        by_kind.update(rep.tokens)
    total_tokens = sum(by_kind.values())
    seconds = [r.seconds for r in records]
    done_sessions = [s for s in meta.sessions if s.wall_seconds is not None]
    metrics = aggregate_records(records)
    codes = [s.code for s in meta.sessions if s.code is not None and s.cases_run]
    if len({c.describe for c in codes}) > 1:
        notes.append("sessions ran different code: " + ", ".join(str(c.describe) for c in codes))
    return RunLog(
        run_id=meta.run_id, model=meta.model, backend=backend,
        styles=sorted({r.style for r in reports}), models_seen=sorted({r.model for r in reports}),
        prompt_versions=sorted({r.prompt_version for r in reports if r.prompt_version}),
        playbook_versions=sorted({r.playbook_version for r in reports if r.playbook_version}),
        code=codes[0] if codes else version.code_version(), case_set=meta.case_set, judge=meta.judge_model or meta.judge, judge_repeats=meta.repeats,
        timings=Timings(
            started_at=meta.sessions[0].started_at if meta.sessions else "", finished_at=now_iso(),
            wall_seconds=round(sum(s.wall_seconds or 0.0 for s in done_sessions), 3),
            sessions=len([s for s in meta.sessions if s.cases_run]) or 1,
            case_seconds_total=round(sum(seconds), 3),
            case_seconds_mean=sum(seconds) / len(seconds) if seconds else None,
            case_seconds_p95=quantile(seconds, 0.95), workers=workers),
        tokens=Tokens(total=total_tokens, by_kind=dict(by_kind),
                      mean_per_case=total_tokens / len(records) if records else None),
        metrics=metrics, cases=records, notes=notes)


def aggregate_records(records: list[CaseRecord]) -> dict[str, dict]:
    """Every scorer's metrics from the records alone (scorer order as registered)."""
    names = {name for r in records for name in r.scores}
    return {name: agg([r.scores[name] for r in records if name in r.scores])
            for name, agg in AGGREGATORS.items() if name in names}


# -- running ----------------------------------------------------------------------------------

OnStart = Callable[[Path, int, int], None]
OnCase = Callable[[CaseRecord], None]
Result = tuple[str, str | None, str | None, float]


def run_eval(opts: RunOptions, settings: Settings, *, factory: Factory = default_factory,
             on_start: OnStart | None = None, on_case: OnCase | None = None) -> tuple[RunLog, Path]:
    """Run (or resume) an eval and write its log and reports; returns the log and the run folder."""
    validate_model(opts.model)
    check_engine(opts.engine)
    if opts.repeats > 1 and not opts.judge:
        raise InputInvalid("--repeats sets how often the --judge scores each narrative; add --judge")
    if opts.limit is not None and opts.limit < 1:
        raise InputInvalid("--limit must be at least 1")
    case_set = load_cases(opts.cases)
    if opts.model not in BASELINES and factory is default_factory and not settings.db_path.exists():
        raise WorkspaceMissing(f"no workspace database at {settings.db_path}: run `sleuth workspace ensure` "
                               "(or `sleuth data load DIR`) first")
    targets = case_set.cases[: opts.limit] if opts.limit else case_set.cases
    if opts.model == "learned":
        refuse_seen(settings, [c.alert_id for c in targets])
    run_dir, meta = open_meta(opts, settings, case_set)
    labels = {c.alert_id: c for c in targets}
    with run_lock(run_dir):
        done = resume_records(run_dir / CASES_FILE, opts.retry_failed)
        todo = [c.alert_id for c in targets if c.alert_id not in done]
        workers = max(1, min(opts.workers, len(todo)))
        if opts.model == "local" or opts.model in BASELINES:
            # local: one llama.cpp server per worker would fight over the same cores and memory;
            # a baseline does no work worth a process.
            workers = 1
        session = Session(started_at=now_iso(), workers=workers, code=version.code_version())
        meta.sessions.append(session)
        atomic_write(run_dir / META_FILE, meta.model_dump_json(indent=1))
        start = time.perf_counter()
        try:
            if todo:
                scorers = default_scorers()
                if opts.judge:
                    from evals.scorers.judge import build_judge

                    judge_scorer, meta.judge_model = build_judge(opts.judge, settings, opts.repeats)
                    scorers.append(judge_scorer)
                if on_start:
                    on_start(run_dir, len(todo), len(targets) - len(todo))
                with open(run_dir / CASES_FILE, "a", encoding="utf-8") as fh:
                    def commit(results: list[Result]) -> None:
                        batch = []
                        for alert_id, report_json, error, seconds in results:
                            report = CaseReport.model_validate_json(report_json) if report_json else None
                            batch.append(score_case(scorers, labels[alert_id], report, error, seconds))
                        append_records(fh, batch)
                        for record in batch:
                            done[record.alert_id] = record
                            session.cases_run += 1
                            if on_case:
                                on_case(record)

                    from agent.triage import batch_size_for

                    worker_settings = for_workers(settings, workers)
                    prepare_index_once(worker_settings, workers, opts.engine)
                    drive(partial(EvalWorker, factory, worker_settings, opts.model), todo, commit,
                          workers=workers, batch_size=batch_size_for(len(todo), workers, opts.model),
                          engine=opts.engine)
            elif on_start:
                on_start(run_dir, 0, len(targets))
        finally:
            session.finished_at = now_iso()
            session.wall_seconds = round(time.perf_counter() - start, 3)
            atomic_write(run_dir / META_FILE, meta.model_dump_json(indent=1))
        log = build_log(meta, [done[c.alert_id] for c in targets], workers)
        from evals.outputs import write_outputs

        write_outputs(log, run_dir)
    return log, run_dir
