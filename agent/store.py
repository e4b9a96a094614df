"""The case store (one JSON report per case) and the way into the append-only audit log.

Writes are atomic (temp file + rename) so a kill never leaves a half-written case; the audit log
is hash-chained and appended one JSON line at a time with flush + fsync (agent/audit.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agent.report import CaseReport
from tools.errors import NotFound
from tools.settings import Settings


def atomic_write(path: Path, text: str, *, fsync: bool = True) -> None:
    """Write a file so readers see the old or the new content, never a mix (`fsync=False` when the
    caller makes a batch durable with one `sync_folder`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def audit(settings: Settings, event: str, **fields: Any) -> dict[str, Any]:
    """Append one event to the workspace's audit log: the one call every writer goes through."""
    from agent.audit import append

    return append(settings.audit_log, event, **fields)


def audit_many(settings: Settings, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Append events to the audit log in one write and one fsync (a batch of cases)."""
    from agent.audit import append_many

    append_many(settings.audit_log, events)


def sync_folder(path: Path) -> None:
    """Make every file written under `path` durable with one call (syncfs of its file system), where
    one fsync per file would cost a disk flush each."""
    import ctypes

    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def recorded_fields(report: CaseReport) -> dict[str, Any]:
    """The audit log's `case_recorded` fields of a report."""
    return {"case_id": report.case_id, "model": report.model, "disposition": report.decision.disposition,
            "typology": report.decision.typology, "actions": [(a.action, a.status) for a in report.actions],
            "opened_by": report.opened_by}


class CaseStore:
    """Case reports under `<workspace>/cases/<case_id>.json`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.cases_dir

    def path(self, case_id: str) -> Path:
        safe = "".join(ch for ch in case_id if ch.isalnum() or ch in "-_.")
        return self.root / f"{safe}.json"

    def save(self, report: CaseReport) -> Path:
        """Store the report and log the decision."""
        path = self.path(report.case_id)
        atomic_write(path, report.model_dump_json(indent=1))
        audit(self.settings, "case_recorded", **recorded_fields(report))
        return path

    def save_many(self, cases: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Store a batch of reports (case id, report JSON, `recorded_fields`): each file replaced
        atomically, all made durable by one sync, then their audit lines in one write and fsync."""
        if not cases:
            return
        for case_id, text, _ in cases:
            atomic_write(self.path(case_id), text, fsync=False)
        sync_folder(self.root)
        audit_many(self.settings, [("case_recorded", fields) for _, _, fields in cases])

    def load(self, case_id: str) -> CaseReport:
        """The stored report, or NotFound."""
        path = self.path(case_id)
        if not path.exists():
            raise NotFound(f"no case {case_id!r} in {self.root} (investigate it first)")
        return CaseReport.model_validate_json(path.read_text(encoding="utf-8"))

    def ids(self) -> list[str]:
        """Every stored case id."""
        return sorted(p.stem for p in self.root.glob("*.json")) if self.root.exists() else []
