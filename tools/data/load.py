"""`sleuth data load DIR`: validate an import-contract folder and swap it in as the workspace.

Nothing half-loaded, ever: the new database is built in a temporary file beside the workspace
(`<home>/.sleuth.duckdb.loading-<pid>`, same directory so the final `os.replace` is atomic), every
check runs before the swap, and on any problem the temporary file is deleted and the current
workspace is left exactly as it was (same bytes, same mtime).

Validation runs inside DuckDB so it scales to 10M+ rows (CSV is read as text, every value
TRY_CAST; see `checks`). Two passes, because row numbers are expensive for CSV:
1. fast: one check scan per file with no row numbers (Parquet has them anyway), then the typed,
   sorted tables are built straight from the files and duplicate keys and account references are
   checked on them. A clean folder is done here.
2. located (only when pass 1 found something): CSV files are staged in file order so every problem
   gets its line number, and all checks run again to report `file:row:column: message`, the first
   20 of them and the count of the rest (row conventions in `tools.data.problems`).

The layout (sorted contract tables, `flows`, `meta`, EVM addresses lower-cased in
`flows.entity`/`counterparty` and `addresses.address_norm`) is described in `tools.data.layout`.
DuckDB runs with a memory limit (3 GB by default) and 2 threads, spilling to a temporary directory
beside the workspace, so a 10M-transaction load stays within about 4 GB of memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tools.data import checks, layout
from tools.data.problems import MAX_SHOWN, Problem, ProblemList
from tools.data.sources import ROW_COLUMN, SourceFile, discover, file_problem, ident, lit, map_columns
from tools.errors import InputInvalid, SleuthError
from tools.schema import TABLES
from tools.settings import Settings

if TYPE_CHECKING:
    import duckdb

Progress = Callable[[str, float], None]
TABLE_ORDER = {t.name: i for i, t in enumerate(TABLES)}


@dataclass
class LoadSummary:
    """What a successful load produced."""

    source: Path
    db_path: Path
    rows: dict[str, int]
    files: dict[str, str]
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0


class WorkspaceBusy(SleuthError):
    """The workspace database is open for writing by another process."""


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class _Loader:
    """One load: a connection to the new database file and the state of the checks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sources: list[SourceFile], progress: Progress) -> None:
        self.con = con
        self.sources = {s.table.name: s for s in sources}
        self.progress = progress
        self.file_problems = ProblemList()

    # -- helpers -------------------------------------------------------------------------------
    def _fetch(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def _run_check(self, out: ProblemList, src_name: str, order: int, sql: str | None) -> int:
        """Run one problem query; add its first rows and its count to `out`; return the count."""
        if sql is None:
            return 0
        import duckdb

        try:
            rows = self._fetch(checks.sampled(sql, MAX_SHOWN))
        except duckdb.Error as e:
            out.add(Problem(src_name, 0, "-", f"cannot check this file: {_first_line(e)}"), order)
            return 1
        if not rows:
            return 0
        out.add_counted([Problem(src_name, r if r is not None else 0, c, m) for r, c, m, _ in rows],
                        rows[0][3], order)
        return rows[0][3]

    # -- file level ----------------------------------------------------------------------------
    def describe(self) -> None:
        """File-level checks and column mapping for every source."""
        import duckdb

        for src in self.sources.values():
            order = TABLE_ORDER[src.table.name]
            problem = file_problem(src)
            if problem is not None:
                self.file_problems.add(problem, order)
                src.usable = False
                continue
            try:
                rows = self._fetch(f"DESCRIBE SELECT * FROM {src.raw_sql()}")
            except duckdb.Error as e:
                self.file_problems.add(Problem(src.name, src.header_row, "-",
                                               f"cannot read the file: {_first_line(e)}"), order)
                src.usable = False
                continue
            types = {r[0]: r[1] for r in rows if r[0] != ROW_COLUMN}
            for p in map_columns(src, types):
                self.file_problems.add(p, order)
            if src.usable:
                self._check_types(src, order)

    def _check_types(self, src: SourceFile, order: int) -> None:
        """A typed (Parquet) column that cannot hold the contract type is one schema problem."""
        for name, source in src.mapping.items():
            col = src.table.column(name)
            assert col is not None
            if not checks.compatible(col.type, src.types[source]):
                hint = " (store ISO 8601 text or a Parquet timestamp)" if col.type == "TIMESTAMP" else ""
                self.file_problems.add(Problem(src.name, src.header_row, name, f"column of type "
                                               f"{src.types[source]} cannot be read as {col.type}{hint}"), order)
                src.usable = False

    # -- value checks --------------------------------------------------------------------------
    def value_checks(self, out: ProblemList) -> None:
        """One scan per usable file; a CSV's malformed lines are file problems."""
        usable = self.usable()
        for i, src in enumerate(usable):
            order = TABLE_ORDER[src.table.name]
            self.progress(f"checking {src.name}", 0.2 * i / len(usable))
            self._run_check(out, src.name, order, checks.value_check_sql(src, src.raw_sql()))
            self.collect_rejects(src)

    def collect_rejects(self, src: SourceFile) -> None:
        """Malformed CSV lines found by the scans so far, reported with their exact lines.

        Rows after a rejected line would be numbered wrongly by a staged copy, so the file's other
        checks stop here and the user fixes the structure first.
        """
        if src.fmt != "csv" or not src.reject_tables:
            return
        existing = {r[0] for r in self._fetch("SELECT table_name FROM duckdb_tables() WHERE temporary")}
        tables = [t for t in src.reject_tables if t in existing]
        src.reject_tables.clear()
        if not tables:
            return
        union = " UNION ALL ".join(f"SELECT line, column_idx, column_name, error_message FROM {t}" for t in tables)
        rows = self._fetch(f"SELECT line, arg_min(column_name, column_idx), arg_min(error_message, column_idx), "
                           f"count(*) OVER () FROM ({union}) GROUP BY line ORDER BY line LIMIT {MAX_SHOWN}")
        if rows:
            problems = [Problem(src.name, int(line), col or "-", f"malformed CSV row: {_first_line(Exception(msg))}")
                        for line, col, msg, _ in rows]
            self.file_problems.add_counted(problems, rows[0][3], TABLE_ORDER[src.table.name])
            src.usable = False

    def usable(self) -> list[SourceFile]:
        return [s for s in self.sources.values() if s.usable]

    # -- cross-row checks ----------------------------------------------------------------------
    def key_and_reference_checks(self, out: ProblemList, rel: Callable[[SourceFile], str]) -> None:
        """Duplicate keys and account references, on relations given by `rel` (with row numbers)."""
        usable = {s.table.name: s for s in self.usable()}
        for src in usable.values():
            if src.table.key:
                self._run_check(out, src.name, TABLE_ORDER[src.table.name],
                                checks.duplicate_sql(src.table, rel(src)))
        alerts, transactions = usable.get("alerts"), usable.get("transactions")
        if alerts is not None and transactions is not None and "txn_ids" in alerts.mapping:
            self._run_check(out, alerts.name, TABLE_ORDER["alerts"],
                            checks.alert_txn_ids_sql(rel(alerts), rel(transactions)))
        accounts = usable.get("accounts")
        if accounts is None:
            return
        for ref in checks.references():
            src = usable.get(ref.table)
            if src is not None:
                self._run_check(out, src.name, TABLE_ORDER[ref.table],
                                checks.reference_sql(ref, rel(src), rel(accounts)))

    def typed_rel(self, src: SourceFile) -> str:
        """The file's rows, typed, with row numbers (located pass)."""
        return f"(SELECT {layout.select_list(src.table, src, with_row=True)} FROM {src.raw_sql()})"

    # -- passes --------------------------------------------------------------------------------
    def fast_pass(self) -> bool:
        """Check and build without row numbers; True when everything is clean and built."""
        if self.file_problems:
            return False
        found = ProblemList()
        self.value_checks(found)
        if found or self.file_problems:
            return False
        self.con.execute("SET preserve_insertion_order = false")
        for i, src in enumerate(self.sources.values()):
            self.progress(f"loading {src.table.name}", 0.2 + 0.5 * i / max(1, len(self.sources)))
            self.con.execute(layout.create_table_sql(src.table, src))
            self.collect_rejects(src)
        if self.file_problems:
            return False
        self.progress("checking keys and references", 0.7)
        self.key_and_reference_checks(found, lambda s: f"(SELECT NULL::BIGINT AS {ident(ROW_COLUMN)}, * "
                                                       f"FROM {ident(s.table.name)})")
        return not found

    def located_pass(self) -> ProblemList:
        """Stage CSVs in file order and rerun every check to report problems with their rows."""
        self.progress("locating problems", 0.5)
        self.con.execute("SET preserve_insertion_order = true")
        for src in self.usable():
            if src.fmt == "csv":
                src.staged = f"staged_{src.table.name}"
                self.con.execute(f"CREATE OR REPLACE TABLE {src.staged} AS SELECT * FROM {src.scan_sql()}")
                self.collect_rejects(src)
        out = ProblemList(list(self.file_problems.samples), self.file_problems.total)
        self.value_checks(out)
        self.key_and_reference_checks(out, self.typed_rel)
        return out

    def finish(self, source: Path) -> dict[str, int]:
        """Empty optional tables, `flows`, `meta`; returns row counts."""
        self.progress("building flows", 0.8)
        for table in TABLES:
            if table.name not in self.sources:
                self.con.execute(layout.create_empty_sql(table))
        self.con.execute(layout.create_flows_sql())
        self.con.execute(layout.create_p2p_sides_sql())
        rows = {t.name: self._count(t.name) for t in TABLES}
        rows["flows"] = self._count("flows")
        rows["p2p_sides"] = self._count("p2p_sides")
        items = {
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source_dir": str(source.resolve()),
            "contract_version": layout.contract_version(),
            **{f"rows.{k}": str(v) for k, v in rows.items()},
            **{f"file.{k}": s.name for k, s in self.sources.items()},
        }
        self.con.execute(layout.meta_sql(items))
        self.con.execute("CHECKPOINT")
        return rows

    def _count(self, table: str) -> int:
        return int(self._fetch(f"SELECT count(*) FROM {ident(table)}")[0][0])


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _settle_wal(db_path: Path) -> None:
    """Fold a leftover write-ahead log into the old database before replacing it.

    A `.wal` beside the database belongs to that file; left there, DuckDB would replay it into the
    new file after the swap. If another process has the database open for writing, refuse.
    """
    if not _wal(db_path).exists():
        return
    import duckdb

    try:
        con = duckdb.connect(str(db_path))
    except duckdb.Error as e:
        raise WorkspaceBusy(f"the workspace {db_path} is in use by another process ({_first_line(e)}); "
                            "close it and load again") from e
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _swap(new: Path, db_path: Path) -> None:
    """Atomically make `new` the workspace database."""
    _settle_wal(db_path)
    with open(new, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(new, db_path)
    fd = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def load_folder(folder: Path, settings: Settings, progress: Progress | None = None,
                memory_limit: str = "3GB", threads: int = 2) -> LoadSummary:
    """Validate `folder` and make it the workspace database; raise InputInvalid listing problems.

    On any problem (or crash) the current workspace is untouched.
    """
    import duckdb

    started = time.perf_counter()
    report = progress or (lambda _stage, _fraction: None)
    folder = Path(folder)
    if not folder.is_dir():
        raise InputInvalid(f"{folder}: no such folder")
    found = discover(folder)
    home = settings.home
    created_home = not home.exists()
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".{settings.db_path.name}.loading-{os.getpid()}"
    spill = home / f".load-spill-{os.getpid()}"
    scratch = [tmp, _wal(tmp), spill]
    for path in scratch:
        _remove(path)
    ok = False
    try:
        report("checking files", 0.0)
        con = duckdb.connect(config={
            "threads": threads,
            "memory_limit": memory_limit,
            "temp_directory": str(spill),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        })
        try:
            con.execute(f"ATTACH {lit(str(tmp))} AS workspace (ROW_GROUP_SIZE {layout.ROW_GROUP_SIZE})")
            con.execute("USE workspace")
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            loader = _Loader(con, found.sources, report)
            for p in found.problems:
                loader.file_problems.add(p, TABLE_ORDER.get(p.file, -1))
            loader.describe()
            try:
                clean = loader.fast_pass()
                problems = None if clean else loader.located_pass()
                if problems is not None and not problems:
                    # pass 1 saw something pass 2 could not locate: say so rather than load it
                    problems = ProblemList()
                    problems.add(Problem(folder.name, 0, "-", "inconsistent input; check the files"))
                rows = loader.finish(folder) if problems is None else {}
            except duckdb.Error as e:
                raise InputInvalid(f"{folder}: {_first_line(e)}; nothing was loaded and the workspace "
                                   "is unchanged") from e
        finally:
            con.close()
        if problems is not None:
            raise InputInvalid(problems.report(str(folder)))
        report("replacing the workspace", 0.95)
        _swap(tmp, settings.db_path)
        ok = True
    finally:
        for path in scratch:
            _remove(path)
        if not ok and created_home:
            with contextlib.suppress(OSError):
                home.rmdir()
    report("done", 1.0)
    return LoadSummary(folder, settings.db_path, rows, {k: s.name for k, s in loader.sources.items()},
                       found.ignored, time.perf_counter() - started)
