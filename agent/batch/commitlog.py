"""The commit log of a batch run: one JSON record a line, appended a whole batch at a time.

A batch's records reach the file in one write followed by one fsync, so they are committed
together or (killed mid-write) not at all: a partial last line is cut off when the log is opened.
On resume the log is compacted atomically to the one effective record per key (the last line for
it), and the records the caller wants redone (e.g. failures) are dropped so they run again. Only
the process holding the log's lock writes it, so every key ends with exactly one record.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools.errors import InputInvalid

Record = dict[str, Any]


def read_lines(path: Path, *, repair: bool = False) -> list[str]:
    """The complete lines of the log; with `repair`, a torn last line is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if repair and end < len(data):  # the last write was cut short: that batch was never committed
        with open(path, "r+b") as fh:
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
    return [line for line in data[:end].decode("utf-8").splitlines() if line.strip()]


def read_records(path: Path) -> list[Record]:
    """Complete records in file order; a torn tail (or a line cut by a kill) ends the reading."""
    out = []
    for line in read_lines(path):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def compact(path: Path, key: Callable[[Record], str], redo: Callable[[Record], bool],
            parse: Callable[[str], Record] = json.loads) -> dict[str, Record]:
    """Rewrite the log (atomically) to one record per key, the last one, without those to redo.

    Returns the kept records by key, in the order of their first appearance.
    """
    from agent.store import atomic_write

    last: dict[str, tuple[str, Record]] = {}
    for line in read_lines(path, repair=True):
        rec = parse(line)
        last[key(rec)] = (line, rec)
    kept = {k: (line, rec) for k, (line, rec) in last.items() if not redo(rec)}
    if path.exists() and (len(kept) != len(read_lines(path))):
        atomic_write(path, "".join(line + "\n" for line, _ in kept.values()))
    return {k: rec for k, (_, rec) in kept.items()}


def append_batch(fh: Any, lines: list[str]) -> None:
    """Commit a batch: its lines in one write, then one fsync."""
    if not lines:
        return
    fh.write("".join(line + "\n" for line in lines))
    fh.flush()
    os.fsync(fh.fileno())


@contextmanager
def locked(folder: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on a run folder: one writer per log (exactly-once recording)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise InputInvalid(f"{folder} is in use by another `{what}`") from e
        yield
