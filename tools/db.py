"""Read-only access to the workspace DuckDB: the one place tools open a connection.

Defence in depth for everything the agent runs: the file is opened read-only, external access
(files, network, extensions) is disabled and the configuration is locked so a statement cannot
turn it back on. `execute` runs trusted, code-authored SQL with `?` or `$name` parameters under a
time limit (the query is interrupted, the connection stays usable). Untrusted SQL goes through
`tools.sql.run_sql`, which validates it with sqlglot before it gets here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from tools.errors import SleuthError, WorkspaceMissing
from tools.settings import Settings

T = TypeVar("T")


class QueryTimeout(SleuthError):
    """The query ran past the time limit and was interrupted."""


class QueryFailed(SleuthError):
    """DuckDB rejected or failed the query (unknown column, syntax, type error)."""


@dataclass
class QueryResult:
    """Columns, rows and timing of one query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    elapsed_ms: float


class _Watchdog:
    """One thread per connection that interrupts a query past its deadline.

    Starting a `threading.Timer` per query cost more than most of the queries it guarded (tools run
    dozens per alert); this thread sleeps until armed and only wakes for a deadline.
    """

    def __init__(self, interrupt: Any) -> None:
        self._interrupt = interrupt
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="duckdb-watchdog", daemon=True)
        self._thread.start()

    def arm(self, seconds: float) -> None:
        with self._cond:
            self._deadline = time.monotonic() + seconds
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._deadline = None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._deadline = None
                self._interrupt()


class Held:
    """What a batch computed set-based for its cases, by kind and key, on the connection it was
    computed on (datasette-style: a cache lives with its database, not in a module global).

    A case takes its entry (`take`) and computes alone what was not held, with the same statement
    text, so holding changes how fast a case runs, never what it finds.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, dict[Any, Any]] = {}

    def put(self, kind: str, entries: dict[Any, Any]) -> None:
        with self._lock:
            self._kinds.setdefault(kind, {}).update(entries)

    def get(self, kind: str, key: Any) -> Any | None:
        with self._lock:
            return self._kinds.get(kind, {}).get(key)

    def take(self, kind: str, key: Any) -> Any | None:
        """The entry, removed (a batch's entries are read once each)."""
        with self._lock:
            return self._kinds.get(kind, {}).pop(key, None)

    def has(self, kind: str, key: Any) -> bool:
        with self._lock:
            return key in self._kinds.get(kind, {})

    def kind(self, kind: str) -> dict[Any, Any]:
        """The entries of one kind, for a caller that reads and adds many at once (dict operations
        on it are atomic under the GIL)."""
        with self._lock:
            return self._kinds.setdefault(kind, {})

    def drop(self, kind: str) -> None:
        with self._lock:
            self._kinds.pop(kind, None)


class Database:
    """A locked-down, read-only connection to the workspace database."""

    def __init__(self, path: Path, timeout_s: float = 5.0, threads: int = 2, *, memory_mb: int | None = None,
                 _parent: Database | None = None) -> None:
        if _parent is None and not Path(path).exists():
            raise WorkspaceMissing(f"no workspace database at {path}: run `sleuth workspace ensure` or `sleuth data load DIR`")
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._forks: list[Database] = []
        self.root: Database = _parent.root if _parent is not None else self
        """The connection this one was forked from (itself if none): caches are kept per root."""
        self.held: Held = self.root.held if _parent is not None else Held()
        """Results a batch computed in one pass for its cases to read (shared with the forks)."""
        self.caches: dict[str, Any] = self.root.caches if _parent is not None else {}
        """The tools' caches of this database instance, by name (shared with the forks; datasette
        style: a cache lives with its database, so it goes when the connection goes). Use `cached`."""
        self._cache_lock = self.root._cache_lock if _parent is not None else threading.RLock()
        if _parent is not None:
            # A cursor is a second connection to the same database instance: same read-only file,
            # same locked configuration, its own statement state, so two threads can query at once.
            self.con = _parent.con.cursor()
        else:
            self.con = duckdb.connect(
                str(path),
                read_only=True,
                config={
                    "enable_external_access": False,
                    "autoload_known_extensions": False,
                    "autoinstall_known_extensions": False,
                    "allow_community_extensions": False,
                    "threads": threads,
                    **({"memory_limit": f"{memory_mb}MB"} if memory_mb else {}),
                },
            )
            # options first (a long batch statement would draw a progress bar on stdout), then the
            # configuration is locked so no statement can turn anything back on. A second connection
            # to the file in this process shares the instance, locked by the first: it keeps the bar.
            if not self.con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
                self.con.execute("SET enable_progress_bar = false")
                self.con.execute("SET lock_configuration = true")
        self._watchdog = _Watchdog(self.con.interrupt)

    def pool(self, size: int) -> list[Database]:
        """This connection and `size - 1` forks of it, created once and kept: connections for
        threads that query in parallel (DuckDB releases the GIL while a statement runs)."""
        while len(self._forks) < size - 1:
            self._forks.append(Database(self.path, self.timeout_s, _parent=self))
        return [self, *self._forks[: max(size - 1, 0)]]

    def cached(self, name: str, make: Callable[[], T]) -> T:
        """The cache `name` of this database instance, made by `make` on first use (once for the
        root and its forks; `make` may itself use other caches). The file is read-only, so what
        was read from it stays true for as long as the connection is open."""
        try:
            return self.caches[name]  # a hit takes no lock: tools ask on every step
        except KeyError:
            pass
        with self._cache_lock:
            if name not in self.caches:
                self.caches[name] = make()
            return self.caches[name]

    def forget_cached(self, prefix: str) -> None:
        """Drop the caches whose name starts with `prefix` (tests compare a cached and a fresh path)."""
        with self._cache_lock:
            for name in [n for n in self.caches if n.startswith(prefix)]:
                del self.caches[name]

    @classmethod
    def open(cls, settings: Settings) -> Database:
        """Open the workspace database named by the settings."""
        return cls(settings.db_path, timeout_s=settings.sql_timeout_s, threads=settings.db_threads,
                   memory_mb=settings.db_memory_mb)

    def execute(self, sql: str, params: list[Any] | dict[str, Any] | None = None,
                timeout_s: float | None = None, max_rows: int | None = None) -> QueryResult:
        """Run one statement with parameters; interrupt it after the time limit."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            start = time.perf_counter()
            self._watchdog.arm(limit)
            try:
                cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
                rows = cur.fetchmany(max_rows) if max_rows is not None else cur.fetchall()
                columns = [d[0] for d in cur.description] if cur.description else []
            except duckdb.InterruptException as e:
                raise QueryTimeout(f"query stopped at the time limit of {limit:g} s") from e
            except duckdb.Error as e:
                if time.perf_counter() - start >= limit and "interrupt" in str(e).lower():
                    raise QueryTimeout(f"query stopped at the time limit of {limit:g} s") from e
                raise QueryFailed(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__) from e
            finally:
                self._watchdog.disarm()
        return QueryResult(columns, rows, (time.perf_counter() - start) * 1000)

    def scalar(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """First column of the first row, or None."""
        res = self.execute(sql, params)
        return res.rows[0][0] if res.rows else None

    def close(self) -> None:
        """Close the connection and its forks."""
        for fork in self._forks:
            fork.close()
        self._forks.clear()
        self._watchdog.close()
        self.con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
