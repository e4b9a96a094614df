"""Filing export: every SAR case exports to goAML and FinCEN SAR XML that validate against the
schemas; a case lacking a required field is refused with every missing field named; a filing is
recorded in the case store and the audit log; the filed narrative is the case file's."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from agent.filing import FilingRefused, build, file_case, validate
from agent.filing.fincen import NS, split_narrative
from agent.store import CaseStore, atomic_write
from tools.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fiu_profiles.toml"


@pytest.fixture(scope="module")
def recorded(agent_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Every generated alert investigated with rules and recorded in a copy of the workspace."""
    from agent.runner import Investigator

    home = tmp_path_factory.mktemp("filing") / "home"
    shutil.copytree(agent_settings.home, home, ignore=shutil.ignore_patterns("cases", "audit.jsonl", "triage"))
    settings = agent_settings.model_copy(update={"home": home, "analyst": "alice"})
    from tools.db import Database

    with Database.open(settings) as db:
        ids = [r[0] for r in db.execute("SELECT alert_id FROM alerts ORDER BY alert_id").rows]
    with Investigator(settings, "rules") as inv:
        for _ in inv.investigate_many(ids):
            pass
    return settings


def _sars(settings: Settings) -> list[str]:
    store = CaseStore(settings)
    return [i for i in store.ids() if store.load(i).decision.disposition == "sar"]


def test_every_sar_exports_to_both_formats_and_validates(recorded: Settings) -> None:
    sars = _sars(recorded)
    assert len(sars) >= 10
    store = CaseStore(recorded)
    for case_id in sars:
        report = store.load(case_id)
        g = build(recorded, case_id, "goaml")
        assert validate("goaml", g.xml) == []
        root = ET.fromstring(g.xml)
        assert root.findtext("entity_reference") == case_id
        assert root.findtext("reason") == report.narrative  # the case file's narrative, unchanged
        assert [t.findtext("transactionnumber") for t in root.findall("transaction")] == \
            sorted(set(report.decision.flagged_txn_ids), key=[t.findtext("transactionnumber")
                                                            for t in root.findall("transaction")].index)
        assert len(root.findall("transaction")) == len(set(report.decision.flagged_txn_ids))
        mine = root.findall(".//t_from_my_client/from_account") + root.findall(".//t_to_my_client/to_account")
        subject = [a for a in mine if a.findtext("client_number") == report.alert["account_id"]]
        assert subject and subject[0].findtext("comments", "").startswith("KYC: ")
        f = build(recorded, case_id, "fincen-sar")
        assert validate("fincen-sar", f.xml) == []
        froot = ET.fromstring(f.xml)
        codes = [p.findtext(f"{{{NS}}}ActivityPartyTypeCode") for p in froot.iter(f"{{{NS}}}Party")
                 if p.find(f"{{{NS}}}ActivityPartyTypeCode") is not None]
        assert {"35", "37", "30", "8", "34", "33"} <= set(codes)
        parts = [e.text or "" for e in froot.iter(f"{{{NS}}}ActivityNarrativeText")]
        assert " ".join(parts).split() == report.narrative.split()
        assert f.attachment is not None and f.attachment.decode().count("\n") == 1 + len(root.findall("transaction"))


def test_not_a_sar_is_refused(recorded: Settings) -> None:
    store = CaseStore(recorded)
    other = next(i for i in store.ids() if store.load(i).decision.disposition != "sar")
    with pytest.raises(FilingRefused, match="not 'sar'"):
        build(recorded, other, "goaml")


def _tampered_copy(recorded: Settings, tmp_path: Path, **changes: Any) -> tuple[Settings, str]:
    home = tmp_path / "home"
    shutil.copytree(recorded.home, home, ignore=shutil.ignore_patterns("chroma"))
    settings = recorded.model_copy(update={"home": home})
    case_id = _sars(settings)[0]
    store = CaseStore(settings)
    report = store.load(case_id)
    for key, value in changes.items():
        if key == "flagged":
            report.decision.flagged_txn_ids = value
        else:
            setattr(report, key, value)
    atomic_write(store.path(case_id), report.model_dump_json(indent=1))
    return settings, case_id


def test_missing_fields_are_all_named(recorded: Settings, tmp_path: Path) -> None:
    settings, case_id = _tampered_copy(recorded, tmp_path, narrative="", flagged=[])
    with pytest.raises(FilingRefused) as e:
        build(settings, case_id, "goaml")
    assert "reason (the case has no narrative)" in str(e.value)
    assert "transaction (the case flags no transaction" in str(e.value)
    with pytest.raises(FilingRefused) as e:
        build(settings, case_id, "fincen-sar")
    assert "ActivityNarrativeText (the case has no narrative)" in str(e.value)
    assert "SuspiciousActivityFromDateText" in str(e.value)


def test_fincen_narrative_limit(recorded: Settings, tmp_path: Path) -> None:
    settings, case_id = _tampered_copy(recorded, tmp_path, narrative="The subject moved funds [E1]. " * 700)
    with pytest.raises(FilingRefused, match="narrative has 20,999 characters; FinCEN allows 17,000"):
        build(settings, case_id, "fincen-sar")


@pytest.mark.parametrize("fmt, drop, named", [("goaml", "rentity_id", "rentity_id (FIU profile example-fiu)"),
                                              ("fincen-sar", "transmitter_tcc", "transmitter_tcc (FIU profile")])
def test_profile_field_missing_is_named(recorded: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        fmt: str, drop: str, named: str) -> None:
    text = "\n".join(line for line in EXAMPLE.read_text().splitlines() if not line.startswith(f"{drop} ="))
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    monkeypatch.setenv("SLEUTH_FIU_PROFILES", str(path))
    with pytest.raises(FilingRefused, match=r"missing .*" + drop):
        build(recorded, _sars(recorded)[0], fmt)
    try:
        build(recorded, _sars(recorded)[0], fmt)
    except FilingRefused as e:
        assert named in str(e)


def test_schemas_reject_a_broken_report(recorded: Settings) -> None:
    case_id = _sars(recorded)[0]
    root = ET.fromstring(build(recorded, case_id, "goaml").xml)
    root.remove(root.find("rentity_id"))
    assert validate("goaml", ET.tostring(root))
    root = ET.fromstring(build(recorded, case_id, "goaml").xml)
    tx = root.find("transaction")
    tx.remove(tx.find("amount_local"))
    assert any("amount_local" in e or "t_from" in e for e in validate("goaml", ET.tostring(root)))
    froot = ET.fromstring(build(recorded, case_id, "fincen-sar").xml)
    act = froot.find(f"{{{NS}}}Activity")
    for p in [p for p in act.findall(f"{{{NS}}}Party") if p.findtext(f"{{{NS}}}ActivityPartyTypeCode") == "35"]:
        act.remove(p)
    assert validate("fincen-sar", ET.tostring(froot))  # fewer than six parties


def test_split_narrative_keeps_every_word_within_the_limits() -> None:
    text = "\n\n".join(f"Sentence number {i} says something about the funds [E2]. " * 9 for i in range(60))
    parts = split_narrative(text)
    assert all(len(p) <= 4000 for p in parts) and len(parts) > 1
    assert " ".join(parts).split() == text.split()


def test_file_case_records_in_the_case_store_and_audit_log(recorded: Settings, tmp_path: Path) -> None:
    from agent.audit import verify

    settings, case_id = _tampered_copy(recorded, tmp_path)
    filing, path, attachment = file_case(settings, case_id, "fincen-sar", None, tmp_path / "out" / "sar.xml")
    assert path.read_bytes() == filing.xml and attachment is not None and attachment.name == "sar.csv"
    assert b"<fc2:OriginalAttachmentFileName>sar.csv<" in filing.xml
    filed = CaseStore(settings).load(case_id).filings
    assert len(filed) == 1 and filed[0]["format"] == "fincen-sar" and filed[0]["by"] == "alice"
    assert filed[0]["illustrative_profile"] is True
    events = [json.loads(line) for line in settings.audit_log.read_text().splitlines()]
    assert [(e["event"], e["case_id"], e["sha256"]) for e in events if e["event"] == "case_filed"] == \
        [("case_filed", case_id, filed[0]["sha256"])]
    assert verify(settings.audit_log).ok


def test_cli_file_refusal_is_one_line(recorded: Settings, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.cli import main

    store = CaseStore(recorded)
    other = next(i for i in store.ids() if store.load(i).decision.disposition != "sar")
    monkeypatch.setattr(sys, "argv", ["sleuth", "file", other, "--format", "goaml", "--home", str(recorded.home)])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "only a SAR decision is filed" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "argv", ["sleuth", "file", other, "--format", "pdf", "--home", str(recorded.home)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2 and "unknown format 'pdf'" in capsys.readouterr().err
