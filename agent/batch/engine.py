"""Where batches run: this process, a pool of spawned processes, or Ray (see `agent.batch.ray_engine`).

A *worker spec* is a picklable callable (a module-level class or a `functools.partial` of one) that
builds a `BatchWorker` once per process: the database connection, graph and model are per process
(DuckDB connections and model clients do not cross processes). The same semantics in every engine:

- user errors (`SleuthError`) are the worker's to turn into a failed record for the item;
- anything else is a bug: the batch's finished items come back with it, the parent commits them and
  re-raises the bug, which stops the run (resumable: every committed item is kept);
- a worker that cannot be built (no workspace, a bad model) fails the first batch it is given;
- pool processes are spawned, never forked (a parent holding a Chroma client or DuckDB connection
  hands forked children dead threads), ignore Ctrl-C (the parent's to handle), exit when the parent
  dies (else a parent killed with -9 leaves them working on queued batches nobody will commit), and
  freeze their start-up objects out of the garbage collector's scans.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


class BatchWorker(Protocol):
    """Per-process state that runs batches of items."""

    def run(self, batch: list[Any]) -> Iterator[Any]:
        """One result per item, in order; raises only for bugs."""
        ...

    def close(self) -> None:
        """Release what the worker holds."""
        ...


WorkerSpec = Callable[[], BatchWorker]


@dataclass
class Outcome:
    """What a batch produced: its finished results and, if a bug cut it short, the bug."""

    results: list[Any] = field(default_factory=list)
    bug: BaseException | None = None


def portable(e: BaseException) -> BaseException:
    """The exception itself if it crosses a process boundary, else a RuntimeError naming it; either way
    with the worker's traceback attached as a note."""
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:  # noqa: BLE001 - any pickling failure means: send a description instead
        e = RuntimeError(f"{type(e).__name__}: {e}")
    if not any(n.startswith("worker traceback") for n in getattr(e, "__notes__", [])):
        e.add_note("worker traceback:\n" + tb)
    return e


def execute(worker: BatchWorker, batch: list[Any]) -> Outcome:
    """Run one batch; a bug ends it, keeping the results before it."""
    results: list[Any] = []
    try:
        for result in worker.run(batch):
            results.append(result)
    except Exception as e:  # noqa: BLE001 - handed to the parent, which commits `results` and re-raises
        return Outcome(results, portable(e))
    return Outcome(results)


def settle_process() -> None:
    """After a worker process is built: freeze the start-up objects and collect less often.

    Garbage collection cost a rules case about 1 ms of its 45: the collector kept re-scanning the
    start-up's objects (modules, the graph) and ran every 700 allocations; a case's objects are freed
    by reference counting (measured: 0.14 instead of 0.98 ms of collection per case).
    """
    gc.freeze()
    gc.set_threshold(7_000, 10, 10)


# -- this process -------------------------------------------------------------------------------

def run_here(spec: WorkerSpec, batches: list[list[Any]]) -> Iterator[Outcome]:
    """Run the batches one after another in this process."""
    worker = spec()
    try:
        for batch in batches:
            yield execute(worker, batch)
    finally:
        worker.close()


# -- a pool of spawned processes -------------------------------------------------------------------

_state: dict[str, Any] = {}


def _watch_parent() -> None:
    """Exit when the parent dies: its sentinel (a pipe multiprocessing keeps) becomes readable."""
    import multiprocessing as mp
    import threading
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_pool_worker(spec: WorkerSpec) -> None:
    """Pool initializer. One that raised would make `multiprocessing.Pool` respawn workers forever,
    so the error is kept and handed back by the first batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent()
    try:
        _state["worker"] = spec()
    except Exception as e:  # noqa: BLE001 - reaches the parent with the first batch
        _state["error"] = portable(e)
    settle_process()


def _pool_task(batch: list[Any]) -> Outcome:
    if "error" in _state:
        return Outcome([], _state["error"])
    return execute(_state["worker"], batch)


def run_pool(spec: WorkerSpec, batches: list[list[Any]], workers: int) -> Iterator[Outcome]:
    """Run the batches on `workers` spawned processes, yielding outcomes as they finish.

    Spawn, not fork (a fork server measured no faster: its one core imports while the other idles,
    where two spawned workers import side by side).
    """
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers, initializer=_init_pool_worker, initargs=(spec,)) as pool:
        yield from pool.imap_unordered(_pool_task, batches, chunksize=1)


ENGINES = ("local", "ray")


def check_engine(engine: str) -> None:
    """Reject an engine name nobody knows, before any work starts."""
    if engine not in ENGINES:
        from tools.errors import InputInvalid

        raise InputInvalid(f"unknown --engine {engine!r}: use {' or '.join(ENGINES)}")


def run_batches(spec: WorkerSpec, batches: list[list[Any]], workers: int, engine: str = "local") -> Iterator[Outcome]:
    """The batches' outcomes as they finish, on the named engine."""
    if engine == "ray":
        from agent.batch.ray_engine import run_ray

        return run_ray(spec, batches, workers)
    check_engine(engine)
    if workers <= 1 or len(batches) <= 1:
        return run_here(spec, batches)
    return run_pool(spec, batches, workers)


def prepare_index_once(settings: Any, workers: int, engine: str) -> None:
    """Bring a stale playbook index up to date in the parent before parallel workers start: each
    worker would otherwise rebuild it at the same time, racing on the Chroma store."""
    if workers > 1 and engine == "local":
        from tools.playbooks.retrieve import prepare_index

        prepare_index(settings)


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """`items` in consecutive batches of at most `size`."""
    size = max(1, size)
    return [items[i:i + size] for i in range(0, len(items), size)]


def drive(spec: WorkerSpec, items: list[Any], commit: Callable[[list[Any]], None], *, workers: int,
          batch_size: int, engine: str = "local") -> None:
    """Run every item and commit each batch's results (in the parent) before the next; a bug in a
    worker stops the run after its batch's finished results are committed."""
    if not items:
        return
    from contextlib import closing

    outcomes = run_batches(spec, chunks(items, batch_size), workers, engine)
    with closing(outcomes):  # a bug or Ctrl-C stops the pool (or Ray's actors) here, not at collection
        for outcome in outcomes:
            commit(outcome.results)
            if outcome.bug is not None:
                raise outcome.bug
