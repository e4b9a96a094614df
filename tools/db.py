"""Read-only access to the workspace DuckDB: the one place a connection is opened for tools.

(Interface fixed here; implementation by the SQL-guard work.) `Database.execute` runs trusted,
code-authored SQL with `?`/`$name` parameters under the time limit; untrusted SQL goes through
`tools.sql.run_sql`, which validates it with sqlglot first.
"""
