"""The data layer: validate and load an import-contract folder into the workspace DuckDB.

Modules, each with one job:
- `problems`: the `file:row:column: message` problem list and its report.
- `sources`: find the contract files in a folder and describe them (format, columns, file-level checks).
- `checks`: SQL for per-value, duplicate-key and cross-table reference checks.
- `load`: validate, build the new database beside the old one, swap atomically.
- `layout`: derived tables (`flows`, `meta`) and entity normalisation.
- `workspace`: find/ensure the workspace, open it read-only.
- `stats`: workspace statistics and the alert queue.

Nothing here imports duckdb at package import time, so `sleuth --help` stays fast.
"""
