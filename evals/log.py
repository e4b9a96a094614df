"""The versioned run log (`run.json`): everything needed to report, compare and gate a run later.

A run log is the unit QA keeps: it records what ran (model, backend, prompt and playbook versions,
code version, case file and its hash), what it cost (timings, tokens) and, per case, the input,
the agent's full report, a trace summary and every scorer's record. Metrics are stored too, but
they can always be recomputed from the per-case records (`evals.scorers.aggregate_all`), which is
how `eval compare` bootstraps them. Bump `LOG_VERSION` on any incompatible change and keep the
loader able to read the versions before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agent.report import CaseReport
from evals.dataset import LabelledCase
from tools.errors import InputInvalid, NotFound

LOG_VERSION = 1


class CaseRecord(BaseModel):
    """One scored case: one line of `cases.jsonl`, one entry of `RunLog.cases`."""

    alert_id: str = Field(description="Input: the alert the agent investigated (the case's key).")
    label: LabelledCase = Field(description="The labelled case as read from the case file (the truth).")
    report: CaseReport | None = Field(
        None, description="The agent's full CaseReport; None when the case failed (see `error`).")
    error: str | None = Field(
        None, description="Why the case produced no report (a user-fixable error such as an unknown alert).")
    trace_summary: dict[str, Any] = Field(
        default_factory=dict, description="Tool calls by tool, rejected SQL, model calls, tokens, seconds, node times.")
    scores: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Each scorer's per-case record, keyed by scorer name.")
    seconds: float = Field(0.0, description="Wall time of this case as measured by the eval runner (investigate only).")
    finished_at: str = Field("", description="When the case finished (UTC ISO); orders a resumed run's sessions.")


class CaseSetInfo(BaseModel):
    """Which labelled cases the run used."""

    name: str = Field(description="Case-set name: the case file's stem (selects the gate's thresholds).")
    path: str = Field(description="Path of the case file as given.")
    sha256: str = Field(description="SHA-256 of the case file's bytes: two runs compare cleanly only on one hash.")
    n_cases: int = Field(description="Cases in the file.")
    limit: int | None = Field(None, description="--limit: only the first N cases were run.")


class CodeVersion(BaseModel):
    """The code that ran, so a score can be traced to a commit."""

    describe: str | None = Field(None, description="`git describe --always --dirty --tags`, None outside git.")
    commit: str | None = Field(None, description="Full commit hash of HEAD, None outside git.")
    dirty: bool | None = Field(None, description="True when the working tree had uncommitted changes.")
    package: str = Field("", description="Installed version of the sleuth distribution.")


class Timings(BaseModel):
    """Where the time went."""

    started_at: str = Field("", description="When the run's first session started (UTC ISO).")
    finished_at: str = Field("", description="When the log was written (UTC ISO).")
    wall_seconds: float = Field(0.0, description="Wall time summed over the sessions that ran cases (resumes add up).")
    sessions: int = Field(1, description="How many sessions (first run plus resumes) produced the cases.")
    case_seconds_total: float = Field(0.0, description="Sum of per-case investigate times (CPU-seconds-ish with workers).")
    case_seconds_mean: float | None = Field(None, description="Mean seconds per case.")
    case_seconds_p95: float | None = Field(None, description="95th percentile seconds per case.")
    workers: int = Field(1, description="Parallel workers of the last session.")


class Tokens(BaseModel):
    """Model tokens used by the agent (from each report's `tokens`)."""

    total: int = Field(0, description="All tokens over all cases.")
    by_kind: dict[str, int] = Field(default_factory=dict, description="Totals per report token key (per node).")
    mean_per_case: float | None = Field(None, description="Mean tokens per case.")


class RunLog(BaseModel):
    """An eval run: what ran, on what, at what cost, and how it scored."""

    version: int = Field(LOG_VERSION, description="Run-log format version.")
    run_id: str = Field(description="Run folder name: case set, model and start time.")
    model: str = Field(description="--model as requested (rules, local, openai:<m>, escalate-all).")
    backend: str = Field(
        description="Backend that actually ran, from the reports (a `local` run can fall back to `rules`).")
    styles: list[str] = Field(default_factory=list, description="Agent styles seen in the reports (rules/router/native).")
    models_seen: list[str] = Field(default_factory=list, description="Every `report.model` value seen.")
    prompt_versions: list[str] = Field(default_factory=list, description="Prompt version hashes seen in the reports.")
    playbook_versions: list[str] = Field(default_factory=list, description="Playbook version hashes seen in the reports.")
    code: CodeVersion = Field(default_factory=CodeVersion, description="Code version of the harness and agent, as the run's first session "
                             "recorded it at its start (the notes say if a resume ran other code).")
    case_set: CaseSetInfo = Field(description="The case file.")
    judge: str | None = Field(None, description="Judge model (backend:model) when --judge was used.")
    judge_repeats: int = Field(1, description="Judgements per case (--repeats).")
    timings: Timings = Field(default_factory=Timings, description="Timings.")
    tokens: Tokens = Field(default_factory=Tokens, description="Agent tokens.")
    metrics: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Each scorer's aggregate, keyed by scorer name (recomputable from cases).")
    cases: list[CaseRecord] = Field(default_factory=list, description="Every case, in case-file order.")
    notes: list[str] = Field(default_factory=list, description="Warnings worth a reader's attention (fallbacks, errors).")

    def records(self, scorer: str) -> list[dict[str, Any]]:
        """That scorer's per-case records, in case order (cases it did not score are skipped)."""
        return [c.scores[scorer] for c in self.cases if scorer in c.scores]


def run_log_path(run: Path | str) -> Path:
    """`run.json` of a run folder, or the file itself when given one."""
    run = Path(run)
    return run / "run.json" if run.is_dir() else run


def load_run(run: Path | str) -> RunLog:
    """Read a run log (a run folder or its run.json); NotFound/InputInvalid with one clear line."""
    path = run_log_path(run)
    if not path.exists():
        raise NotFound(f"no run log at {path} (is the run finished? `sleuth eval run ... --resume` completes it)")
    try:
        log = RunLog.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputInvalid(f"{path}: not a valid run log ({where}: {first['msg']})") from e
    if log.version > LOG_VERSION:
        raise InputInvalid(f"{path}: run log version {log.version} is newer than this sleuth reads ({LOG_VERSION})")
    return log
