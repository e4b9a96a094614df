"""The batch runner's commit log and engine semantics (docs/batch-runner.md), without a workspace."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from agent.audit import append, append_many, verify
from agent.batch.commitlog import append_batch, compact, read_records
from agent.batch.engine import chunks, drive


def test_a_batch_of_audit_entries_keeps_the_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    append(log, "first", n=0)
    entries = append_many(log, [("case_recorded", {"case_id": f"A{i}"}) for i in range(5)])
    append(log, "last", n=6)
    assert [e["seq"] for e in entries] == [2, 3, 4, 5, 6]
    assert verify(log).ok and verify(log).entries == 7


def test_compaction_keeps_the_last_record_per_key_without_redos(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        append_batch(fh, [json.dumps({"k": "a", "s": "failed"}), json.dumps({"k": "b", "s": "ok"})])
        append_batch(fh, [json.dumps({"k": "a", "s": "ok"}), json.dumps({"k": "c", "s": "failed"})])
        fh.write('{"k": "d", "s": "o')  # torn by a kill mid-write
    assert len(read_records(path)) == 4
    kept = compact(path, key=lambda r: r["k"], redo=lambda r: r["s"] != "ok")
    assert kept == {"a": {"k": "a", "s": "ok"}, "b": {"k": "b", "s": "ok"}}
    assert [r["k"] for r in read_records(path)] == ["a", "b"] and path.read_text().endswith("\n")


class Doubler:
    """A worker that doubles numbers and has a bug at 13."""

    def run(self, batch: list[int]):
        for n in batch:
            if n == 13:
                raise ZeroDivisionError("a bug at 13")
            yield 2 * n

    def close(self) -> None:
        pass


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bug_stops_the_run_after_its_batch_results_are_committed(workers: int) -> None:
    committed: list[int] = []
    with pytest.raises(ZeroDivisionError, match="a bug at 13") as info:
        drive(partial(Doubler), list(range(20)), committed.extend, workers=workers, batch_size=5)
    assert {20, 22, 24} <= set(committed) and 26 not in committed  # 10, 11, 12 came back with the bug
    assert any("worker traceback" in n for n in info.value.__notes__)
    if workers == 1:
        assert committed == [2 * n for n in range(13)]


def test_chunks() -> None:
    assert chunks(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
