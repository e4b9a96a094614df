"""`sleuth file CASE --format goaml|fincen-sar`: a SAR decision as the report an FIU takes in.

`build` fills the report from the stored case and the workspace and refuses, naming every
missing required field at once, when it cannot; the output is validated against the format's XSD
(`schemas/`, written from the published structures) before anything is written. `file_case` then
writes the XML (and FinCEN's CSV attachment) and records what was filed, by whom and when, in the
case store and the audit log. The narrative filed is the case file's narrative, unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from tools.errors import InputInvalid, SleuthError
from tools.settings import Settings

SCHEMAS = Path(__file__).resolve().parent / "schemas"
XSD = {"goaml": SCHEMAS / "goaml.xsd", "fincen-sar": SCHEMAS / "fincen_sar.xsd"}


class FilingRefused(SleuthError):
    """The case cannot be filed: not a SAR, or required fields are missing (all named)."""

    exit_code = 2


@dataclass
class Filing:
    """A built, validated report: its XML, the attachment (FinCEN), and where it came from."""

    case_id: str
    format: str
    profile: str
    xml: bytes
    attachment: bytes | None
    illustrative_profile: bool
    profile_path: Path


@cache
def _schema(fmt: str) -> Any:
    import xmlschema

    return xmlschema.XMLSchema11(str(XSD[fmt])) if fmt == "fincen-sar" else xmlschema.XMLSchema(str(XSD[fmt]))


def validate(fmt: str, xml: bytes) -> list[str]:
    """Schema errors of a rendered report (empty when it validates)."""
    import xml.etree.ElementTree as ET

    schema = _schema(fmt)
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(ET.fromstring(xml))]


def _actions_text(report: Any) -> str:
    if not report.actions:
        return ""
    items = [f"{a.action.replace('_', ' ')} ({a.status.replace('_', ' ')}"
             + (f" by {a.decided_by}" if a.decided_by else "") + ")" for a in report.actions]
    return "Actions: " + "; ".join(items) + "."


def build(settings: Settings, case_id: str, fmt: str, profile_name: str | None = None,
          attachment_name: str = "evidence.csv", now: datetime | None = None) -> Filing:
    """The report for a stored SAR case, validated; FilingRefused names every missing field."""
    from agent.filing import fincen, goaml
    from agent.filing.facts import _account, gather
    from agent.filing.profiles import load_profile
    from agent.store import CaseStore
    from tools.db import Database

    profile = load_profile(settings, fmt, profile_name)
    report = CaseStore(settings).load(case_id)
    if report.decision.disposition != "sar":
        raise FilingRefused(f"{case_id} was decided {report.decision.disposition!r}, not 'sar': only a SAR "
                            f"decision is filed")
    with Database.open(settings) as db:
        facts = gather(db, report)
        related = {a: _account(db, a) for a in facts.related_accounts if a != facts.account_id} \
            if fmt == "fincen-sar" else {}
    attachment = fincen.attachment_csv(facts) if fmt == "fincen-sar" else None
    missing = goaml.missing_fields(facts, profile, _actions_text(report)) if fmt == "goaml" \
        else fincen.missing_fields(facts, profile, attachment or b"")
    if missing:
        raise FilingRefused(f"{case_id} cannot be filed as {fmt}: missing {'; '.join(missing)}")
    xml = goaml.render(facts, profile, _actions_text(report), now) if fmt == "goaml" \
        else fincen.render(facts, profile, attachment_name, related, now)
    if errors := validate(fmt, xml):
        raise FilingRefused(f"{case_id}: the {fmt} report does not validate against {XSD[fmt].name}: "
                            f"{errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    return Filing(case_id, fmt, profile.name, xml, attachment, profile.illustrative, profile.path)


def file_case(settings: Settings, case_id: str, fmt: str, profile_name: str | None, out: Path | None) -> \
        tuple[Filing, Path, Path | None]:
    """Build, write and record a filing; returns it with the XML and attachment paths."""
    from agent.approvals import identity
    from agent.store import CaseStore, atomic_write, audit

    out = out or settings.home / "filings" / f"{case_id}.{fmt}.xml"
    if out.exists() and out.is_dir():
        raise InputInvalid(f"--out {out} is a folder: name the XML file")
    attachment_path = out.with_suffix(".csv") if fmt == "fincen-sar" else None
    filing = build(settings, case_id, fmt, profile_name, attachment_path.name if attachment_path else "")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, filing.xml)
    if attachment_path is not None and filing.attachment is not None:
        atomic_write_bytes(attachment_path, filing.attachment)
    who = identity(settings)
    record = {"format": fmt, "profile": filing.profile, "file": str(out),
              "sha256": hashlib.sha256(filing.xml).hexdigest(),
              "attachment": str(attachment_path) if attachment_path else None,
              "attachment_sha256": hashlib.sha256(filing.attachment).hexdigest() if filing.attachment else None,
              "illustrative_profile": filing.illustrative_profile, "by": who.name, "by_source": who.source,
              "filed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    store = CaseStore(settings)
    report = store.load(case_id)
    report.filings = [*report.filings, record]
    atomic_write(store.path(case_id), report.model_dump_json(indent=1))
    audit(settings, "case_filed", case_id=case_id, **record)
    return filing, out, attachment_path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes so readers see the old or the new file, never a mix."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
