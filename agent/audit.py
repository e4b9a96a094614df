"""The append-only, hash-chained audit log (`<workspace>/audit.jsonl`) and its verification.

Why a chain: an audit log a reviewer can edit unseen proves nothing. Each entry carries its
sequence number, the hash of the previous entry (`prev`) and its own hash (`hash`, SHA-256 of the
entry's canonical JSON without `hash`), so editing, deleting, reordering or inserting a line breaks
the chain at that line. Cutting entries off the end leaves a valid chain, so every append also
records the newest sequence number and hash in `audit.head` beside the log; `verify` holds the log
to it (copy the head elsewhere, e.g. into a ticket, to anchor it beyond the workspace).

This module is the only writer of the log. Appends are serialised with an exclusive `flock` (triage
workers write concurrently), written as one line (or a triage batch's lines) with flush + fsync; an incomplete last line left
by a crash mid-write was never a complete entry and is dropped before the next append.
Lines written before the chain existed (no `hash`) are covered too: the first chained entry's
`prev` is the hash of the whole file before it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
_TAIL_CHUNK = 65536


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes an entry's hash is taken over: sorted keys, no whitespace, `hash` left out."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the entry's canonical JSON."""
    return hashlib.sha256(canonical(entry)).hexdigest()


def head_path(log: Path) -> Path:
    """Where the newest entry's seq and hash are kept, to catch a log cut short."""
    return log.with_name(log.stem + ".head")


def _last_line(fh: Any, size: int) -> tuple[bytes, int]:
    """The last complete line of the open file and the offset where complete lines end.

    Reads backwards in chunks, so appending costs the same at 10 or 10 million entries."""
    end = size
    fh.seek(max(0, size - 1))
    if size and fh.read(1) != b"\n":  # a torn tail: complete lines end at the previous newline
        pos, buf = size, b""
        while pos > 0:
            start = max(0, pos - _TAIL_CHUNK)
            fh.seek(start)
            buf = fh.read(pos - start) + buf
            cut = buf.rfind(b"\n")
            if cut >= 0:
                end = start + cut + 1 if start else cut + 1
                break
            pos = start
        else:
            end = 0
    pos, buf = end, b""
    while pos > 0:
        start = max(0, pos - _TAIL_CHUNK)
        fh.seek(start)
        buf = fh.read(pos - start) + buf
        cut = buf.rstrip(b"\n").rfind(b"\n")
        if cut >= 0 or start == 0:
            return buf[cut + 1:].rstrip(b"\n"), end
        pos = start
    return b"", end


def _link(last: bytes, fh: Any, end: int) -> tuple[int, str]:
    """Sequence number and `prev` hash for the next entry after `last`."""
    if not last:
        return 1, GENESIS
    try:
        prior = json.loads(last)
    except ValueError:
        prior = {}
    if isinstance(prior, dict) and isinstance(prior.get("hash"), str) and isinstance(prior.get("seq"), int):
        return prior["seq"] + 1, prior["hash"]
    # a log from before the chain: the first chained entry seals everything written so far
    fh.seek(0)
    digest = hashlib.sha256()
    for raw in iter(lambda: fh.read(_TAIL_CHUNK), b""):
        digest.update(raw)
    fh.seek(0)
    lines = sum(1 for _ in fh)
    return lines + 1, digest.hexdigest()


def append(log: Path, event: str, **fields: Any) -> dict[str, Any]:
    """Append one event to the chained log; returns the entry as written."""
    return append_many(log, [(event, fields)])[0]


def append_many(log: Path, events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Append events to the chained log in one write and one fsync (a triage batch's cases); returns
    the entries as written."""
    if not events:
        return []
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            size = fh.seek(0, os.SEEK_END)
            last, end = _last_line(fh, size)
            if end < size:
                fh.truncate(end)
            seq, prev = _link(last, fh, end)
            ts = datetime.now(UTC).isoformat(timespec="seconds")
            entries = []
            for event, fields in events:
                body = json.loads(json.dumps(fields, default=str))
                entry = {"seq": seq, "ts": ts, "event": event,
                         **{k: v for k, v in body.items() if k not in ("seq", "prev", "hash")}, "prev": prev}
                entry["hash"] = entry_hash(entry)
                entries.append(entry)
                seq, prev = seq + 1, entry["hash"]
            fh.seek(0, os.SEEK_END)
            fh.write(b"".join(json.dumps(e, ensure_ascii=True).encode() + b"\n" for e in entries))
            fh.flush()
            os.fsync(fh.fileno())
            _write_head(log, entries[-1]["seq"], entries[-1]["hash"])
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return entries


def _write_head(log: Path, seq: int, digest: str) -> None:
    """Replace `audit.head` atomically. Not fsync'd: after a crash the head may lag the log by one
    entry, which verify accepts; it can never run ahead of it."""
    head = head_path(log)
    tmp = head.with_name(f".{head.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"seq": seq, "hash": digest}) + "\n", encoding="utf-8")
    os.replace(tmp, head)


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: ok, how many entries, and the first problem as one line."""

    ok: bool
    entries: int
    problem: str = ""
    head_hash: str = ""
    legacy: int = 0


def verify(log: Path) -> Verdict:
    """Walk the chain; name the first entry that is broken, missing, out of order or cut off."""
    if not log.exists():
        return Verdict(False, 0, f"no audit log at {log}")
    raw = log.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        return Verdict(False, len(lines) - 1, f"line {len(lines)}: incomplete last line (a torn write or a cut)")
    expected_seq, prev, legacy, offset, chained = 1, GENESIS, 0, 0, 0
    for lineno, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            return Verdict(False, chained, f"line {lineno}: not a JSON entry (edited or corrupted)")
        if not isinstance(entry, dict):
            return Verdict(False, chained, f"line {lineno}: not a JSON object (edited)")
        if "hash" not in entry:
            if chained:
                return Verdict(False, chained, f"line {lineno}: an entry without a hash after the chain began "
                                               f"(inserted or edited)")
            legacy += 1
            offset += len(line) + 1
            continue
        if not chained and legacy:
            expected_seq, prev = legacy + 1, hashlib.sha256(raw[:offset]).hexdigest()
        seq = entry.get("seq")
        if entry_hash(entry) != entry.get("hash"):
            return Verdict(False, chained, f"line {lineno} (entry {seq}): its hash does not match its content (edited)")
        if seq != expected_seq:
            what = "missing" if isinstance(seq, int) and seq > expected_seq else "out of order or inserted"
            return Verdict(False, chained, f"line {lineno}: entry {expected_seq} expected, found entry {seq} "
                                           f"(entry {expected_seq if what == 'missing' else seq} {what})")
        if entry.get("prev") != prev:
            return Verdict(False, chained, f"line {lineno} (entry {seq}): does not follow the entry before it "
                                           f"(an entry before it was removed, replaced or moved)")
        prev, expected_seq, chained = entry["hash"], expected_seq + 1, chained + 1
    return _against_head(log, Verdict(True, chained, head_hash=prev if chained else "", legacy=legacy),
                         expected_seq - 1, prev)


def _against_head(log: Path, verdict: Verdict, last_seq: int, last_hash: str) -> Verdict:
    """The log must reach the head's entry (one entry past it is a crash between the two writes)."""
    head = head_path(log)
    if not head.exists():
        if verdict.entries:
            return Verdict(False, verdict.entries, f"{head.name} is missing: cannot tell whether entries were cut "
                                                   f"from the end", verdict.head_hash, verdict.legacy)
        return verdict
    try:
        mark = json.loads(head.read_text(encoding="utf-8"))
        seq, digest = int(mark["seq"]), str(mark["hash"])
    except (ValueError, KeyError, TypeError):
        return Verdict(False, verdict.entries, f"{head.name} is unreadable", verdict.head_hash, verdict.legacy)
    if last_seq < seq:
        return Verdict(False, verdict.entries, f"entry {last_seq + 1} missing: the log ends at entry {last_seq} but "
                                               f"{head.name} records entry {seq} (truncated)",
                       verdict.head_hash, verdict.legacy)
    if last_seq in (seq, seq + 1):
        if last_seq == seq and digest != last_hash:
            return Verdict(False, verdict.entries, f"entry {seq}: differs from the one {head.name} records "
                                                   f"(replaced)", verdict.head_hash, verdict.legacy)
        return verdict
    return Verdict(False, verdict.entries, f"entry {seq + 1}: the log runs past {head.name} (entry {seq}) by "
                                           f"{last_seq - seq} entries (appended outside sleuth)",
                   verdict.head_hash, verdict.legacy)
