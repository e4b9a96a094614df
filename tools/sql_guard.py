"""The validator for untrusted SQL: one read-only SELECT over workspace tables, nothing else.

The model (and a human at `sleuth sql`) writes SQL we did not author, so the statement is parsed
with sqlglot and checked against allowlists before it reaches DuckDB:

- exactly one statement, and it is a query (SELECT / WITH / set operation); no DDL, DML, PRAGMA,
  SET, ATTACH, COPY, INSTALL/LOAD, CALL or anything sqlglot only understands as a raw Command;
- every table is a workspace table or a CTE in scope. An allowlist, not a denylist: DuckDB turns
  an unknown name such as `FROM 'x.csv'` into a file scan ("replacement scan"), so anything that
  is not a known table is refused;
- table functions only from a short allowlist (range, generate_series, unnest, ...); scalar
  functions that read files, the environment or settings, or have side effects are refused;
- size and nesting limits, and no invisible or control characters, so the checks cannot be
  starved (RecursionError) or tricked by text that renders differently from what is parsed.

What runs is the statement regenerated from the checked tree without comments, so sqlglot and
DuckDB cannot disagree about where a comment or string ends. As a second, independent opinion the
regenerated statement is parsed again by DuckDB's own parser (`json_serialize_sql`, in a private
in-memory connection; nothing is executed) and its tables and functions are checked again.
The workspace connection itself is read-only with external access disabled (tools/db.py): the
guard is one layer of three, and each is tested on its own.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Collection, Iterator
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from tools.errors import SleuthError
from tools.schema import TABLES

MAX_QUERY_CHARS = 20_000
MAX_BRACKET_DEPTH = 64
MAX_TREE_DEPTH = 120

DEFAULT_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES) + ("flows", "meta")
TABLE_FUNCTIONS: frozenset[str] = frozenset({"range", "generate_series", "unnest", "duckdb_tables", "duckdb_columns"})

# Scalar functions refused wherever they appear (lower case). Table-position functions are
# allowlisted separately, so these matter for scalar calls, method calls ('x'.f()) and LATERAL.
DENIED_FUNCTIONS: frozenset[str] = frozenset({
    "glob", "query", "query_table", "getenv", "current_setting", "which_secret", "checkpoint",
    "sniff_csv", "write_log", "sleep_ms", "pg_sleep", "nextval", "currval", "setseed", "getvariable",
    "current_query", "summary", "export_database", "import_database", "copy_database", "attach", "detach",
})
DENIED_PREFIXES: tuple[str, ...] = (
    "read_", "parquet_", "sqlite_", "postgres_", "pg_", "mysql_", "iceberg_", "delta_", "ducklake_",
    "duckdb_", "pragma_", "json_execute", "__", "http", "s3", "azure_", "gcs_", "arrow_", "pandas_",
    "python_", "enable_", "disable_", "load_", "install_", "register_", "deregister_", "create_",
    "destroy_", "truncate_", "force_", "test_", "secret",
)
DENIED_SUFFIXES: tuple[str, ...] = ("_scan", "_attach", "_metadata", "_schema", "_secret", "_secrets",
                                    "_setting", "_settings", "_file", "_files", "_extension", "_extensions")
DENIED_SUBSTRINGS: tuple[str, ...] = ("sql", "csv", "json_each", "ndjson", "parquet", "glob")

# sqlglot classes for functions that touch files, sequences or secrets, whatever they render as.
_DENIED_FUNC_CLASSES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, n) for n in ("ReadCSV", "ReadParquet", "NextValueFor", "Secret", "ToFile") if hasattr(exp, n)
)
# Statement kinds that must not appear anywhere in the tree, not only at its root.
_FORBIDDEN_NODES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, n) for n in (
        "DDL", "DML", "Command", "Into", "Pragma", "Set", "SetItem", "Use", "Attach", "Detach", "Install",
        "Copy", "Describe", "Summarize", "Show", "Transaction", "Commit", "Rollback", "Export", "LoadData",
        "Create", "Drop", "Alter", "Insert", "Update", "Delete", "Merge", "TruncateTable", "Analyze",
        "Cache", "Uncache", "Refresh", "Grant", "Revoke", "Kill", "Comment", "Execute", "Declare", "Lock",
        "Semicolon", "Returning", "Get", "Put", "UserDefinedFunction", "SessionParameter",
    ) if hasattr(exp, n)
)
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ALLOWED_WHITESPACE = {"\t", "\n", "\r", " "}

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is our rejection, not a warning


class SqlRejected(SleuthError):
    """The statement is not a single read-only query over workspace tables (the reason says why)."""

    exit_code = 2


def validate_sql(query: str, tables: Collection[str] | None = None, catalog: str | None = None,
                 max_rows: int | None = None) -> str:
    """The normalised single read-only statement, or SqlRejected with a reason a model can act on.

    `tables` is the allowlist of queryable table names (default: the contract tables plus `flows`
    and `meta`); `catalog` is the workspace database name, the only catalog a table may name.
    `max_rows` adds `LIMIT max_rows` when the query has no LIMIT of its own, so DuckDB stops early
    instead of materialising rows the caller would drop.
    """
    allowed = {t.lower() for t in (DEFAULT_TABLES if tables is None else tables)}
    _check_text(query)
    root = _parse_one(query)
    try:
        _check_tree(root, allowed, (catalog or "").lower())
        if max_rows is not None and root.args.get("limit") is None and not isinstance(root, exp.Subquery):
            root = root.limit(max_rows)
        normalised = root.sql(dialect="duckdb", comments=False)
    except RecursionError as e:
        raise SqlRejected("query is nested too deeply; flatten it with a CTE (WITH name AS (...))") from e
    _duckdb_cross_check(normalised, allowed, (catalog or "").lower())
    return normalised


def is_denied_function(name: str) -> bool:
    """True for a function the sql tool never calls (file, network, settings, secrets, side effects)."""
    n = name.lower()
    if not _PLAIN_NAME.match(n):
        return True
    return (n in DENIED_FUNCTIONS or n.startswith(DENIED_PREFIXES) or n.endswith(DENIED_SUFFIXES)
            or any(s in n for s in DENIED_SUBSTRINGS))


# --- text and parse -------------------------------------------------------------------------

def _check_text(query: str) -> None:
    if not isinstance(query, str):
        raise SqlRejected("query must be a string of SQL")
    if not query.strip():
        raise SqlRejected("empty query: write one SELECT statement, e.g. SELECT count(*) FROM transactions")
    if len(query) > MAX_QUERY_CHARS:
        raise SqlRejected(f"query is too long ({len(query)} characters, at most {MAX_QUERY_CHARS}); "
                          "ask a narrower question")
    depth = peak = 0
    for i, ch in enumerate(query):
        if ch in "([{":
            depth += 1
            peak = max(peak, depth)
        elif ch in ")]}":
            depth -= 1
        elif ch not in _ALLOWED_WHITESPACE and unicodedata.category(ch)[0] in "CZ":
            raise SqlRejected(f"query contains an invisible or control character (U+{ord(ch):04X} at position "
                              f"{i}); retype it with plain spaces")
    if peak > MAX_BRACKET_DEPTH:
        raise SqlRejected(f"query is nested too deeply (more than {MAX_BRACKET_DEPTH} levels of brackets); "
                          "flatten it with a CTE (WITH name AS (...))")


def _parse_one(query: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except ParseError as e:
        raise SqlRejected(f"syntax error: {_parse_error_text(e)}") from e
    except SqlglotError as e:
        raise SqlRejected(f"syntax error: {_first_line(str(e))}") from e
    except RecursionError as e:
        raise SqlRejected("query is nested too deeply; flatten it with a CTE (WITH name AS (...))") from e
    if not statements:
        raise SqlRejected("empty query: write one SELECT statement, e.g. SELECT count(*) FROM transactions")
    if len(statements) > 1:
        raise SqlRejected(f"only one statement per call is allowed (found {len(statements)}); "
                          "send a single SELECT without ';' between statements")
    root = statements[0]
    if not isinstance(root, exp.Query):
        word = _statement_word(root) if isinstance(root, _FORBIDDEN_NODES + (exp.Values, exp.Pivot)) else (
            query.split()[0].upper()[:20])
        raise SqlRejected(f"{word} statements are not allowed: the sql tool runs one read-only SELECT or "
                          "WITH query, e.g. SELECT count(*) FROM transactions")
    return root


def _parse_error_text(e: ParseError) -> str:
    if e.errors:
        err = e.errors[0]
        near = _strip_ansi(str(err.get("highlight") or "")).strip()
        where = f"line {err.get('line')}, column {err.get('col')}"
        return f"{err.get('description')} at {where}" + (f" near '{near[:40]}'" if near else "")
    return _first_line(_strip_ansi(str(e)))


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "unknown error"


def _statement_word(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).split()[0].upper() if node.this else "this"
    return node.key.upper()


# --- tree checks ----------------------------------------------------------------------------

def _iter_with_depth(root: exp.Expr) -> Iterator[tuple[exp.Expr, int]]:
    """Every node with its depth, iteratively (a deep tree must not blow the Python stack)."""
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in node.iter_expressions())


def _check_tree(root: exp.Expr, allowed: set[str], catalog: str) -> None:
    nodes: list[exp.Expr] = []
    for node, depth in _iter_with_depth(root):
        if depth > MAX_TREE_DEPTH:
            raise SqlRejected(f"query is nested too deeply (expression depth over {MAX_TREE_DEPTH}); "
                              "flatten it with a CTE or an IN (...) list")
        if isinstance(node, _FORBIDDEN_NODES):
            raise SqlRejected(f"{_statement_word(node)} is not allowed inside a query: only read-only SELECT")
        nodes.append(node)

    table_funcs: set[int] = set()
    for node in nodes:
        if isinstance(node, exp.CTE):
            name = node.alias_or_name
            if not _PLAIN_NAME.match(name):
                raise SqlRejected(f"CTE name {name!r} is not a plain name; use letters, digits and _ only")
        elif isinstance(node, exp.Table):
            _check_table(node, allowed, catalog, table_funcs)
        elif isinstance(node, exp.Lateral | exp.From | exp.Join) and isinstance(node.this, exp.Func):
            _check_table_function(node.this, table_funcs)

    for node in nodes:
        if isinstance(node, exp.Func) and id(node) not in table_funcs:
            if isinstance(node, _DENIED_FUNC_CLASSES):
                raise SqlRejected(_function_message(_func_name(node)))
            name = _func_name(node)
            if name and is_denied_function(name):
                raise SqlRejected(_function_message(name))


def _check_table(node: exp.Table, allowed: set[str], catalog: str, table_funcs: set[int]) -> None:
    target = node.this
    if isinstance(target, exp.Func):
        _check_table_function(target, table_funcs)
        return
    if not isinstance(target, exp.Identifier):
        raise SqlRejected(f"unsupported FROM item {node.sql('duckdb')[:60]!r}; select FROM a workspace table")
    name = target.this
    schema_name = node.args.get("db")
    catalog_name = node.args.get("catalog")
    if schema_name is None and catalog_name is None and name.lower() in _visible_ctes(node):
        return
    if catalog_name is not None and catalog_name.name.lower() != catalog:
        raise SqlRejected(f"database {catalog_name.name!r} is not allowed; write the bare table name, e.g. {name}")
    if schema_name is not None and schema_name.name.lower() != "main":
        raise SqlRejected(f"schema {schema_name.name!r} is not allowed; query the workspace tables by bare name")
    if name.lower() not in allowed or not _PLAIN_NAME.match(name):
        raise SqlRejected(f"{name!r} is not a workspace table (files and other sources cannot be read); "
                          f"tables: {', '.join(sorted(allowed))}")


def _check_table_function(func: exp.Func, table_funcs: set[int]) -> None:
    name = _func_name(func)
    if isinstance(func, exp.Unnest | exp.GenerateSeries) or (name in TABLE_FUNCTIONS and not isinstance(
            func, _DENIED_FUNC_CLASSES)):
        table_funcs.add(id(func))
        return
    raise SqlRejected(f"table function {name or func.key}(...) is not allowed: query workspace tables "
                      f"(table functions allowed: {', '.join(sorted(TABLE_FUNCTIONS))})")


def _visible_ctes(table: exp.Table) -> set[str]:
    """CTE names in scope at this table reference: earlier CTEs of enclosing WITH clauses."""
    names: set[str] = set()
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With) and isinstance(child, exp.CTE):
            ctes = node.expressions
            index = next(i for i, c in enumerate(ctes) if c is child)
            visible = ctes if node.args.get("recursive") else ctes[:index]
            names |= {c.alias_or_name.lower() for c in visible}
        elif isinstance(node, exp.Query):
            with_ = node.args.get("with_") or node.args.get("with")
            if with_ is not None and child is not with_:
                names |= {c.alias_or_name.lower() for c in with_.expressions}
        child, node = node, node.parent
    return names


def _func_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _function_message(name: str) -> str:
    return (f"function {name}() is not allowed: the sql tool reads only workspace tables "
            "(no files, network, settings, secrets or side effects)")


# --- DuckDB's own parser as a second opinion --------------------------------------------------

_checker_lock = threading.Lock()
_checker: tuple[int, duckdb.DuckDBPyConnection] | None = None


def _checker_connection() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection used only to parse (never to run) a statement."""
    global _checker
    if _checker is None or _checker[0] != os.getpid():
        con = duckdb.connect(":memory:", config={
            "enable_external_access": False, "autoload_known_extensions": False,
            "autoinstall_known_extensions": False, "lock_configuration": True, "threads": 1,
        })
        _checker = (os.getpid(), con)
    return _checker[1]


def duckdb_parse_tree(sql: str) -> dict[str, Any]:
    """DuckDB's parse tree of a SELECT as JSON (statements, or error); nothing is executed."""
    with _checker_lock:
        try:
            text = _checker_connection().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
        except duckdb.Error as e:
            raise SqlRejected(f"DuckDB cannot parse the query: {_first_line(str(e))}") from e
    try:
        return json.loads(text)
    except RecursionError as e:
        raise SqlRejected("query is nested too deeply; flatten it with a CTE (WITH name AS (...))") from e


def _duckdb_cross_check(sql: str, allowed: set[str], catalog: str) -> None:
    tree = duckdb_parse_tree(sql)
    if tree.get("error"):
        raise SqlRejected(f"DuckDB cannot parse the query: {tree.get('error_message', 'unknown error')}")
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise SqlRejected(f"only one statement per call is allowed (DuckDB sees {len(statements)})")
    dicts = list(_json_dicts(statements[0]))
    ctes = {str(entry.get("key", "")).lower() for d in dicts for entry in (d.get("cte_map") or {}).get("map", [])}
    table_funcs: set[int] = set()
    for d in dicts:
        kind = d.get("type")
        if kind == "TABLE_FUNCTION":
            func = d.get("function") or {}
            name = str(func.get("function_name", "")).lower()
            if name not in TABLE_FUNCTIONS or func.get("schema") or func.get("catalog"):
                raise SqlRejected(f"table function {name}(...) is not allowed: query workspace tables")
            table_funcs.add(id(func))
        elif kind == "BASE_TABLE":
            name = str(d.get("table_name", "")).lower()
            schema_name = str(d.get("schema_name", "")).lower()
            catalog_name = str(d.get("catalog_name", "")).lower()
            if name in ctes and not schema_name and not catalog_name:
                continue
            if name not in allowed or schema_name not in ("", "main") or catalog_name not in ("", catalog):
                raise SqlRejected(f"{name!r} is not a workspace table; tables: {', '.join(sorted(allowed))}")
        elif kind == "SHOW_REF":
            raise SqlRejected("DESCRIBE/SHOW/SUMMARIZE are not allowed; the schema is in your instructions")
    for d in dicts:
        if d.get("class") == "FUNCTION" and id(d) not in table_funcs and not d.get("is_operator"):
            name = str(d.get("function_name", ""))
            if is_denied_function(name) or d.get("schema") or d.get("catalog"):
                raise SqlRejected(_function_message(name.lower()))


def _json_dicts(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
