"""Static checks for a playbook's `sql` evidence steps, run by `sleuth playbooks check`.

The guarded SQL tool enforces read-only execution at run time; this catches authoring mistakes
before any case runs: more than one statement, anything but a SELECT, a table the guarded SQL tool
does not allow (the import contract's tables plus the derived `flows` and `meta`), a parameter
other than `$account`, `$alert_ts`, `$window_start`, a file-reading function, or result columns
that differ from the facts the step declares.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from tools.playbooks.schema import SQL_PARAMS
from tools.sql_guard import DEFAULT_TABLES

DENIED_FUNCTIONS = {
    "read_csv", "read_csv_auto", "read_parquet", "read_json", "read_json_auto", "read_text", "read_blob",
    "glob", "parquet_scan", "csv_scan", "sniff_csv", "getenv", "query", "query_table",
}


def sql_issues(query: str, facts: list[str]) -> list[str]:
    """Problems with one playbook SELECT; empty when it is a single read-only query yielding `facts`."""
    try:
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except ParseError as e:
        return [f"cannot parse SQL: {str(e).splitlines()[0]}"]
    if len(statements) != 1:
        return [f"expected one statement, found {len(statements)}"]
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.Union):
        return [f"only SELECT is allowed, found {tree.key.upper()}"]
    issues: list[str] = []
    for node in tree.walk():
        if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Create | exp.Drop | exp.Command):
            issues.append(f"{node.key.upper()} is not allowed")
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if name and name not in DEFAULT_TABLES and name not in ctes:
            issues.append(f"unknown table {table.name!r} (known: {', '.join(DEFAULT_TABLES)})")
    for fn in tree.find_all(exp.Func):
        name = (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name()).lower()
        if name in DENIED_FUNCTIONS:
            issues.append(f"function {name} is not allowed")
    for ph in tree.find_all(exp.Placeholder):
        if ph.name not in SQL_PARAMS:
            issues.append(f"unknown parameter ${ph.name} (allowed: {', '.join('$' + p for p in SQL_PARAMS)})")
    columns = list(tree.named_selects)
    if sorted(columns) != sorted(facts) or len(columns) != len(tree.selects):
        issues.append(f"result columns {columns} must be exactly the declared facts {facts} (alias every column)")
    return issues
