"""The hash-chained audit log: every kind of tampering is named by `verify`, appends stay valid
under concurrent writers, a torn tail is dropped, and a log from before the chain is sealed."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from agent.audit import append, head_path, verify


def _log(tmp_path: Path, n: int = 6) -> Path:
    log = tmp_path / "audit.jsonl"
    for i in range(n):
        append(log, "case_recorded", case_id=f"ALT-{i:05d}", actions=[("freeze_account", "pending_approval")])
    return log


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def _write(log: Path, lines: list[str]) -> None:
    log.write_text("".join(line + "\n" for line in lines))


def test_untouched_log_verifies(tmp_path: Path) -> None:
    log = _log(tmp_path)
    v = verify(log)
    assert v.ok and v.entries == 6 and v.problem == ""
    entries = [json.loads(line) for line in _lines(log)]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert v.head_hash == entries[-1]["hash"]


@pytest.mark.parametrize("line", [0, 3, 5])
def test_edit_is_detected(tmp_path: Path, line: int) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    lines[line] = lines[line].replace("ALT-0000", "ALT-9999")
    _write(log, lines)
    v = verify(log)
    assert not v.ok and f"line {line + 1} (entry {line + 1})" in v.problem and "edited" in v.problem


def test_edit_with_recomputed_hash_is_detected(tmp_path: Path) -> None:
    """An editor who recomputes the entry's own hash still breaks the next entry's link."""
    from agent.audit import entry_hash

    log = _log(tmp_path)
    lines = _lines(log)
    entry = json.loads(lines[2])
    entry["case_id"] = "ALT-FORGED"
    entry["hash"] = entry_hash(entry)
    lines[2] = json.dumps(entry)
    _write(log, lines)
    v = verify(log)
    assert not v.ok and "line 4 (entry 4): does not follow" in v.problem


@pytest.mark.parametrize("line", [0, 2, 4])
def test_delete_is_detected(tmp_path: Path, line: int) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    del lines[line]
    _write(log, lines)
    v = verify(log)
    assert not v.ok and f"entry {line + 1} expected" in v.problem and "missing" in v.problem


def test_reorder_is_detected(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    v = verify(log)
    assert not v.ok and "line 2: entry 2 expected, found entry 3" in v.problem


def test_truncate_is_detected(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _write(log, _lines(log)[:4])
    v = verify(log)
    assert not v.ok and "entry 5 missing" in v.problem and "truncated" in v.problem


def test_cut_mid_line_is_detected(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.write_bytes(log.read_bytes()[:-20])
    v = verify(log)
    assert not v.ok and "line 6: incomplete last line" in v.problem


def test_insert_is_detected(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    forged = json.loads(lines[2])
    forged["event"] = "action_approved"
    lines.insert(3, json.dumps(forged))
    _write(log, lines)
    v = verify(log)
    assert not v.ok and v.problem.startswith("line 4")


def test_insert_of_unchained_line_is_detected(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    lines.insert(2, json.dumps({"ts": "2026-01-01T00:00:00+00:00", "event": "action_approved", "by": "mallory"}))
    _write(log, lines)
    v = verify(log)
    assert not v.ok and "line 3: an entry without a hash" in v.problem


def test_missing_head_is_reported(tmp_path: Path) -> None:
    log = _log(tmp_path)
    head_path(log).unlink()
    v = verify(log)
    assert not v.ok and "audit.head is missing" in v.problem


def test_torn_tail_is_dropped_before_the_next_append(tmp_path: Path) -> None:
    log = _log(tmp_path, 3)
    with open(log, "ab") as fh:
        fh.write(b'{"seq": 4, "ts": "2026')  # a crash mid-write
    assert not verify(log).ok
    append(log, "case_recorded", case_id="ALT-AFTER")
    v = verify(log)
    assert v.ok and v.entries == 4
    assert json.loads(_lines(log)[-1])["case_id"] == "ALT-AFTER"


def test_log_from_before_the_chain_is_sealed(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, [json.dumps({"ts": "2026-01-01T00:00:00+00:00", "event": "case_recorded", "case_id": f"OLD-{i}"})
                 for i in range(3)])
    append(log, "case_recorded", case_id="NEW-1")
    append(log, "case_recorded", case_id="NEW-2")
    v = verify(log)
    assert v.ok and v.legacy == 3 and v.entries == 2
    assert json.loads(_lines(log)[3])["seq"] == 4
    lines = _lines(log)
    lines[1] = lines[1].replace("OLD-1", "OLD-X")
    _write(log, lines)
    v = verify(log)
    assert not v.ok and "line 4 (entry 4): does not follow" in v.problem


def _writer(args: tuple[str, int]) -> None:
    log, worker = args
    for i in range(25):
        append(Path(log), "case_recorded", case_id=f"W{worker}-{i}")


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with multiprocessing.get_context("fork").Pool(3) as pool:
        pool.map(_writer, [(str(log), w) for w in range(3)])
    v = verify(log)
    assert v.ok and v.entries == 75
def test_cli_audit_verify(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    log = _log(tmp_path)
    res = CliRunner().invoke(app, ["audit", "verify", "--home", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "audit log intact: 6 entries" in res.output
    lines = _lines(log)
    del lines[1]
    _write(log, lines)
    res = CliRunner().invoke(app, ["audit", "verify", "--home", str(tmp_path)])
    assert res.exit_code == 1
    assert "entry 2 expected" in res.output and "Traceback" not in res.output
