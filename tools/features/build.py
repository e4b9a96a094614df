"""`sleuth features build`: the feature vectors of a set of alerts, written to Parquet.

The build opens its own read-only connection with a memory limit (DuckDB spills past it into a
scratch directory beside the output) so a 10M-transaction workspace builds within a few GB, runs
the one feature statement for the selected alerts, and writes the table atomically (a temporary
file renamed into place, so a failed build leaves any previous file as it was). The Parquet
schema metadata records what the vectors mean: the feature-set digest, jurisdiction, window and
build time, so a model trained on one file can tell when another was built differently.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.errors import InputInvalid, WorkspaceMissing
from tools.features.compute import FEATURES, compute_features, statement
from tools.features.query import Query
from tools.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa

MEMORY_LIMIT = "2GB"


def feature_set_digest(query: Query | None = None) -> str:
    """A short digest of the statement (and so of every definition): equal digests, equal features."""
    return hashlib.sha256(statement(query or Query()).encode()).hexdigest()[:16]


def default_output(settings: Settings) -> Path:
    """Where a build goes unless told: `<home>/features/features.parquet`."""
    return settings.home / "features" / "features.parquet"


@dataclass
class BuildSummary:
    """What a build produced, for the CLI and the bench."""

    out: Path | None
    alerts: int
    features: int
    seconds: float
    digest: str
    jurisdiction: str
    window_days: int
    nulls: dict[str, int] = field(default_factory=dict)
    nonzero: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out) if self.out else None, "alerts": self.alerts, "features": self.features,
                "seconds": round(self.seconds, 2), "digest": self.digest, "jurisdiction": self.jurisdiction,
                "window_days": self.window_days, "nulls": self.nulls, "nonzero": self.nonzero}


def open_workspace(settings: Settings, scratch: Path, memory_limit: str = MEMORY_LIMIT) -> Any:
    """A read-only DuckDB connection to the workspace that spills into `scratch`. It runs only the
    code-authored feature statement (never agent or user SQL), so external access stays on: DuckDB
    refuses a temp directory once it is off."""
    import duckdb

    if not settings.db_path.exists():
        raise WorkspaceMissing(f"no workspace database at {settings.db_path}: run `sleuth workspace ensure` "
                               "or `sleuth data load DIR`")
    scratch.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.db_path), read_only=True, config={
        "threads": max(1, settings.db_threads), "memory_limit": memory_limit, "temp_directory": str(scratch),
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
    })
    con.execute("SET enable_progress_bar = false")
    return con


def _stats(table: pa.Table) -> tuple[dict[str, int], dict[str, int]]:
    import pyarrow.compute as pc

    nulls = {f.name: table.column(f.name).null_count for f in FEATURES if table.column(f.name).null_count}
    nonzero = {}
    for f in FEATURES:
        col = table.column(f.name)
        default = 0.0 if f.default is None else f.default
        nonzero[f.name] = int(pc.sum(pc.fill_null(pc.not_equal(col, default), False)).as_py() or 0)
    return nulls, nonzero


def build_features(settings: Settings, alert_ids: list[str] | None, out: Path | None,
                   memory_limit: str = MEMORY_LIMIT) -> tuple[BuildSummary, pa.Table]:
    """Compute the alerts' features (all alerts when None) and write them to `out` (None: don't write)."""
    import pyarrow.parquet as pq

    profile, window = settings.jurisdiction_profile, settings.window_days
    target = Path(out) if out is not None else None
    if target is not None and target.exists() and target.is_dir():
        raise InputInvalid(f"{target} is a directory; give a .parquet file path")
    base = (target.parent if target is not None else settings.home)
    scratch = base / f".features-spill-{os.getpid()}"
    start = time.perf_counter()
    try:
        con = open_workspace(settings, scratch, memory_limit)
        try:
            table = compute_features(con, alert_ids, profile, window_days=window)
        finally:
            con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.perf_counter() - start
    digest = feature_set_digest(Query(profile=profile, window_days=window))
    meta = {"sleuth.features.digest": digest, "sleuth.features.count": str(len(FEATURES)),
            "sleuth.features.jurisdiction": profile.name, "sleuth.features.window_days": str(window),
            "sleuth.features.built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **{k.encode(): v.encode()
                                                                              for k, v in meta.items()}})
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    nulls, nonzero = _stats(table)
    return BuildSummary(target, table.num_rows, len(FEATURES), seconds, digest, profile.name, window,
                        nulls, nonzero), table
