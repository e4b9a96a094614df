"""Find the import-contract files in a folder and describe them, before any row is read.

Only files named after a contract table (`<table>.csv`, `<table>.csv.gz` or `<table>.parquet`) are
ever read. Everything else in the folder, in particular label files such as `cases.jsonl` and
`truth/`, is listed as ignored and never touches the database: ground truth must not reach the
workspace the agent queries.

File-level checks happen here, cheaply and in Python, because DuckDB's own errors for a binary blob
or an empty file are long and confusing; a user should read "binary content, not a CSV file".
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tools.data.problems import Problem
from tools.schema import TABLES, Table

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet",)
HEAD_BYTES = 64 * 1024
ROW_COLUMN = "__sleuth_row"
"""Name of the row-number column the checks carry; unlikely to clash with a user's column."""


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass
class SourceFile:
    """One contract file: where it is, its format, and (once described) its columns."""

    table: Table
    path: Path
    fmt: str  # "csv" or "parquet"
    types: dict[str, str] = field(default_factory=dict)
    """Source column name -> DuckDB type as read (all VARCHAR for CSV)."""
    mapping: dict[str, str] = field(default_factory=dict)
    """Contract column name -> source column name (names match case- and space-insensitively)."""
    extras: list[str] = field(default_factory=list)
    """Source names of the columns outside the contract, kept as they are."""
    usable: bool = True
    """False once a file-level problem makes value checks meaningless."""
    staged: str | None = None
    """Name of a table holding the rows in file order (CSV, only when row numbers are needed)."""
    reject_tables: list[str] = field(default_factory=list)
    """Rejects tables of the CSV scans so far (see `scan_sql`)."""
    delimiter: str | None = None
    """CSV field separator, read from the header line (DuckDB's sniffer can be misled by one bad
    row into reading the whole file as a single column)."""

    @property
    def name(self) -> str:
        """The file name as problems report it."""
        return self.path.name

    @property
    def header_row(self) -> int:
        """The row number problems about the whole file or its header use."""
        return 1 if self.fmt == "csv" else 0

    def scan_sql(self) -> str:
        """A DuckDB table function reading the file; CSV as text so nothing is guessed or lost.

        Every CSV scan is lenient and records malformed lines (wrong number of fields, bad
        quoting), with their line numbers, in a fresh rejects table listed in `reject_tables`,
        instead of failing on the first one. Leniency also keeps the dialect detection of all
        scans of a file the same.
        """
        path = lit(str(self.path))
        if self.fmt == "parquet":
            return f"read_parquet({path}, file_row_number=true)"
        name = f"rejects_{self.table.name}_{len(self.reject_tables)}"
        self.reject_tables.append(name)
        opts = "all_varchar=true, header=true"
        if self.delimiter:
            opts += f", delim={lit(self.delimiter)}"
        opts += f", store_rejects=true, rejects_table={lit(name)}, rejects_scan={lit(name + '_scan')}"
        return f"read_csv({path}, {opts})"

    def raw_sql(self) -> str:
        """The rows with their user-facing row number in `ROW_COLUMN` (NULL when unknown).

        Parquet gives row numbers for free. A CSV scan runs in parallel and has no row number,
        so the fast path leaves it NULL; when a problem must be located the file is first staged
        in file order (`staged`) and the row is `rowid + 2` (the header is line 1).
        """
        if self.fmt == "parquet":
            return (f"(SELECT file_row_number + 1 AS {ROW_COLUMN}, * EXCLUDE (file_row_number) "
                    f"FROM {self.scan_sql()})")
        if self.staged:
            return f"(SELECT rowid + 2 AS {ROW_COLUMN}, * FROM {self.staged})"
        return f"(SELECT NULL::BIGINT AS {ROW_COLUMN}, * FROM {self.scan_sql()})"


@dataclass
class Discovery:
    """What a folder holds: the contract files found, the files ignored, file-level problems."""

    sources: list[SourceFile]
    ignored: list[str]
    problems: list[Problem]


def _candidates(folder: Path, table: str) -> list[tuple[Path, str]]:
    found = []
    for suffix in CSV_SUFFIXES + PARQUET_SUFFIXES:
        path = folder / f"{table}{suffix}"
        if path.exists():
            found.append((path, "parquet" if suffix in PARQUET_SUFFIXES else "csv"))
    return found


def discover(folder: Path) -> Discovery:
    """The contract files in `folder`, one per table, and problems with the set of files."""
    sources: list[SourceFile] = []
    problems: list[Problem] = []
    known: set[str] = set()
    for table in TABLES:
        found = _candidates(folder, table.name)
        known.update(p.name for p, _ in found)
        if not found:
            if table.required:
                problems.append(Problem(table.name, 0, "-", f"required file is missing: expected "
                                        f"{table.name}.csv or {table.name}.parquet in {folder}"))
            continue
        if len(found) > 1:
            names = " and ".join(p.name for p, _ in found)
            problems.append(Problem(found[0][0].name, 0, "-", f"{names} both present; keep only one"))
            continue
        path, fmt = found[0]
        if not path.is_file():
            problems.append(Problem(path.name, 0, "-", "is not a regular file"))
            continue
        sources.append(SourceFile(table, path, fmt))
    ignored = sorted(p.name for p in folder.iterdir() if p.name not in known)
    return Discovery(sources, ignored, problems)


def _read_head(path: Path) -> bytes:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def guess_delimiter(header: str) -> str:
    """The most frequent of `,` `;` tab `|` in the header line (`,` when there is none)."""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def file_problem(src: SourceFile) -> Problem | None:
    """A problem with the file as a whole (empty, binary, not Parquet, header only), if any."""
    where = (src.name, src.header_row, "-")
    if src.path.stat().st_size == 0:
        return Problem(*where, "file is empty")
    if src.fmt == "parquet":
        with src.path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(max(0, src.path.stat().st_size - 4))
            tail = fh.read(4)
        if src.path.stat().st_size < 12 or head != b"PAR1" or tail != b"PAR1":
            return Problem(*where, "not a Parquet file (no PAR1 marker); export it again or use CSV")
        return None
    try:
        head = _read_head(src.path)
    except (OSError, EOFError, zlib.error) as e:
        return Problem(*where, f"cannot read the gzip file: {e}")
    if b"\x00" in head:
        return Problem(*where, "binary content, not a CSV text file")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as e:
        return Problem(*where, f"not UTF-8 text (invalid byte at offset {e.start}); export as UTF-8 CSV")
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if not lines:
        return Problem(*where, "file is empty")
    src.delimiter = guess_delimiter(lines[0].decode("utf-8", errors="replace"))
    if len(lines) == 1 and len(head) < HEAD_BYTES and src.table.required:
        return Problem(src.name, 2, "-", "no data rows (only a header)")
    return None


def map_columns(src: SourceFile, types: dict[str, str]) -> list[Problem]:
    """Match the file's columns to the contract; missing required columns are problems.

    Names match ignoring case and surrounding spaces (`TXN_ID ` is `txn_id`), because exports
    differ in such details and nothing is gained by refusing them.
    """
    src.types = types
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for name in types:
        norm = name.strip().lower()
        if norm in seen:
            problems.append(Problem(src.name, src.header_row, name,
                                    f"duplicate column (same name as {seen[norm]!r})"))
            continue
        seen[norm] = name
        if src.table.column(norm) is not None:
            src.mapping[norm] = name
        else:
            src.extras.append(name)
    for col in src.table.columns:
        if col.required and col.name not in src.mapping:
            problems.append(Problem(src.name, src.header_row, col.name, "missing required column"))
    if problems:
        src.usable = False
    return problems
