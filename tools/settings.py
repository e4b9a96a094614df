"""One typed settings object for the whole toolkit.

Precedence: explicit CLI flags (passed as overrides) beat environment variables (`SLEUTH_<FIELD>`),
which beat the defaults below. The workspace is `./.sleuth/` unless `SLEUTH_HOME` says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ReportingThreshold(BaseModel):
    """One reporting threshold of a jurisdiction: a cash (currency transaction) report or a
    travel-rule limit. Amounts are compared in the threshold's own currency: a movement in that
    currency by its native `amount`, any other by `amount_usd / usd_per_unit`."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Short id, e.g. us_ctr.")
    amount: float = Field(gt=0, description="The threshold, in `currency`.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency of the threshold.")
    usd_per_unit: float = Field(1.0, gt=0, description="Reference rate: USD per unit of `currency` (1 for USD).")
    applies_to: str = Field(pattern=r"^(fiat|crypto)$",
                            description="fiat: fiat deposits (cash-like reports); crypto: crypto deposits and "
                                        "withdrawals (travel rule).")


class JurisdictionProfile(BaseModel):
    """The reporting thresholds the feature store measures amounts against (tools/features).

    Structuring is defined relative to a threshold (deposits in the band just below it, none at or
    over it), so the features read thresholds from here instead of a constant: the same code
    serves a 10,000 USD and a 15,000 EUR regime. With several thresholds of one kind, a feature
    takes the threshold the account's activity sits under most (see docs/features.md).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    thresholds: tuple[ReportingThreshold, ...] = Field(min_length=1)
    near_band: float = Field(0.10, gt=0, lt=1, description="Near-threshold band: [T * (1 - near_band), T).")
    aggregation_days: int = Field(14, ge=1, description="Span over which split deposits are aggregated "
                                                        "(most near-threshold deposits in any N days).")

    @field_validator("thresholds")
    @classmethod
    def _unique(cls, v: tuple[ReportingThreshold, ...]) -> tuple[ReportingThreshold, ...]:
        names = [t.name for t in v]
        if len(set(names)) != len(names):
            raise ValueError("threshold names must be unique")
        return v


_T = ReportingThreshold
US_CTR = _T(name="us_ctr", amount=10_000, currency="USD", applies_to="fiat")
EU_CASH = _T(name="eu_cash", amount=15_000, currency="EUR", usd_per_unit=1.08, applies_to="fiat")
US_TRAVEL = _T(name="us_travel", amount=3_000, currency="USD", applies_to="crypto")
FATF_TRAVEL = _T(name="fatf_travel", amount=1_000, currency="USD", applies_to="crypto")
EU_TRAVEL = _T(name="eu_travel", amount=1_000, currency="EUR", usd_per_unit=1.08, applies_to="crypto")
#: Named profiles (`SLEUTH_JURISDICTION`). `global`, the default, holds the thresholds of the
#: regimes an international exchange reports under at once.
JURISDICTIONS: dict[str, JurisdictionProfile] = {
    "us": JurisdictionProfile(name="us", thresholds=(US_CTR, US_TRAVEL)),
    "eu": JurisdictionProfile(name="eu", thresholds=(EU_CASH, EU_TRAVEL)),
    "fatf": JurisdictionProfile(name="fatf", thresholds=(
        _T(name="fatf_occasional", amount=15_000, currency="USD", applies_to="fiat"), FATF_TRAVEL)),
    "global": JurisdictionProfile(name="global", thresholds=(US_CTR, EU_CASH, US_TRAVEL, FATF_TRAVEL, EU_TRAVEL)),
}
del _T


class Settings(BaseModel):
    """Settings shared by the CLI, the tools, the agent and the evals."""

    model_config = ConfigDict(frozen=True)

    home: Path = Field(Path(".sleuth"), description="Workspace directory (database, index, cases, runs).")
    model: str = Field("rules", description="Model backend: rules, learned, local, or openai:<model>.")
    sql_timeout_s: float = Field(5.0, description="Time limit for one guarded SQL query, in seconds.")
    sql_row_cap: int = Field(200, description="Most rows a guarded SQL query returns to its caller.")
    evidence_row_cap: int = Field(50, description="Most rows kept per evidence item in the ledger.")
    max_hops: int = Field(4, description="Default largest hop count for traces and exposure.")
    window_days: int = Field(30, description="Alert window: days before the alert that count as 'recent'.")
    jurisdiction: str = Field("global", description="Reporting-threshold profile of the feature store: "
                                                    "us, eu, fatf or global (tools.settings.JURISDICTIONS).")
    investigate_max_steps: int = Field(6, description="Most tool calls the model may make in investigate.")
    investigate_max_tokens: int = Field(6000, description="Token budget for one case's model calls.")
    llm_timeout_s: float = Field(120.0, description="Time limit for one model call, in seconds; for the local model the least: its limit is scaled up by the speed its server measured at start (docs/backends.md).")
    chat_model_plan: str = Field("fallback", description="When chat asks the model for a plan: 'fallback' (only for "
                                 "wording the rules planner does not recognise) or 'always' (then merged under the "
                                 "rules plan).")
    chat_plan_timeout_s: float = Field(60.0, description="Time limit for the model's chat plan; past it the rules "
                                       "plan answers (recorded in the trace).")
    local_threads: int = Field(2, description="CPU threads for the bundled local model server.")
    local_ctx: int = Field(8192, description="Context window of the bundled local model server.")
    local_prompt_cache_mb: int = Field(1024, ge=0, description="RAM for the local server's prompt cache, so the "
                                       "router's and the narrative's system prefixes are both reused (0: off).")
    workers: int = Field(2, description="Parallel workers for triage and eval runs.")
    llm_concurrency: int = Field(4, ge=1, description="Cases a triage worker runs at once against a model "
                                                      "endpoint (openai:), each waiting on its own calls.")
    db_threads: int = Field(2, description="DuckDB threads per connection. More speed up one large ad-hoc query; batch "
                                           "runs (triage, eval, bench) use 1 per worker and run cases in parallel instead.")
    db_memory_mb: int | None = Field(None, ge=64, description="DuckDB's memory limit per process (its block cache "
                                     "grows to 80% of RAM by default); batch workers get an equal share of 1.5 GB.")
    gather_threads: int = Field(2, description="Threads that run a case's playbook evidence steps in parallel "
                                               "(each on its own cursor); 1 runs them one after another.")
    close_precision_target: float = Field(
        0.99, gt=0, le=1, description="Learned backend: the close precision its close threshold must reach on the "
                                      "held-out (out-of-fold) predictions of its training cases.")
    sar_recall_target: float = Field(
        0.98, gt=0, le=1, description="Learned backend: the share of SARs its close threshold must keep open (sar or "
                                      "escalate) on the held-out predictions of its training cases.")
    learned_model: Path | None = Field(
        None, description="Learned backend: the model folder to use; default the workspace's current model "
                          "($SLEUTH_HOME/models/current).")
    analyst: str = Field(default_factory=lambda: os.environ.get("USER", "analyst"),
                         description="Who approves or rejects actions (recorded in the audit log).")

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, v: str) -> str:
        if v not in JURISDICTIONS:
            raise ValueError(f"unknown jurisdiction {v!r} (known: {', '.join(JURISDICTIONS)})")
        return v

    @property
    def jurisdiction_profile(self) -> JurisdictionProfile:
        """The reporting thresholds the feature store measures against."""
        return JURISDICTIONS[self.jurisdiction]

    @property
    def db_path(self) -> Path:
        """The workspace DuckDB file."""
        return self.home / "sleuth.duckdb"

    @property
    def chroma_dir(self) -> Path:
        """Persistent Chroma directory of the playbook index."""
        return self.home / "chroma"

    @property
    def cases_dir(self) -> Path:
        """The case store: one JSON report and trace per investigated alert."""
        return self.home / "cases"

    @property
    def audit_log(self) -> Path:
        """Append-only JSONL audit log of decisions, actions and approvals."""
        return self.home / "audit.jsonl"

    @property
    def models_dir(self) -> Path:
        """Trained learned-backend models, one folder each, and the `current` pointer."""
        return self.home / "models"

    @property
    def runs_dir(self) -> Path:
        """Eval runs, one folder each."""
        return self.home / "runs"


def _coerce_env(name: str) -> Any | None:
    return os.environ.get(f"SLEUTH_{name.upper()}")


def load_settings(**overrides: Any) -> Settings:
    """Defaults, then `SLEUTH_*` environment variables, then the non-None overrides (CLI flags)."""
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        env = _coerce_env(name)
        if env is not None and env != "":
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


WORKERS_MEMORY_MB = 1536
"""DuckDB memory shared by a batch run's workers: the run's 4 GB budget less the processes' own
(a rules worker holds about 0.8 GB of Python before its first batch: the embedding model and the
small tables; then the batch's held rows and reports). 768 MB each still runs the features
statement of 1,000 alerts at 10M transactions (4.4 s)."""


def for_workers(settings: Settings, workers: int) -> Settings:
    """Settings for one of `workers` batch processes sharing this machine's cores.

    A batch run is parallel across cases and across a case's evidence steps, never inside one of
    its small queries, so DuckDB gets one thread and the gather threads get the worker's share of
    the cores. All-cores-everywhere oversubscribes: 2 triage workers x (2 DuckDB + 2 gather
    threads) on 2 cores made every small query pay for it (measured 17.8 alerts/s against 20.3 for
    one thread each, 500 alerts). A value set explicitly (flag or `SLEUTH_*`) is kept.
    """
    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    memory = max(256, WORKERS_MEMORY_MB // max(1, workers))
    update = {name: value for name, value in (("db_threads", 1), ("gather_threads", share), ("db_memory_mb", memory))
              if name not in settings.model_fields_set}
    return settings.model_copy(update=update) if update else settings


def model_cache_dir() -> Path:
    """Per-user cache of built model files (the assembled local LLM, the exported embedding model):
    `$SLEUTH_MODEL_CACHE`, else `$XDG_CACHE_HOME/sleuth/models`, else `~/.cache/sleuth/models`.
    Outside the workspace, so a rebuilt workspace does not rebuild them."""
    if override := os.environ.get("SLEUTH_MODEL_CACHE"):
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sleuth" / "models"
