"""Restriction-lift requests: queued, reviewed with cited facts against the lift playbook's
conditions, decided only by a second, permitted user; the lift playbook is retrievable but never an
alert's typology candidate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.approvals import ApprovalRefused, Identity, decide_action
from agent.lift import add, decide, load, review
from agent.store import CaseStore
from tools.errors import InputInvalid, NotFound
from tools.settings import Settings

ROLES = Path(__file__).resolve().parents[1] / "examples" / "roles.toml"


@pytest.fixture(scope="module")
def restricted(agent_settings: Settings, generated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A workspace where alice investigated the generated SARs and carol approved one non-sanctions freeze."""
    from agent.runner import Investigator

    home = tmp_path_factory.mktemp("lift") / "home"
    shutil.copytree(agent_settings.home, home, ignore=shutil.ignore_patterns("cases", "audit.jsonl", "triage"))
    shutil.copy(ROLES, home / "roles.toml")
    alice = agent_settings.model_copy(update={"home": home, "analyst": "alice"})
    cases = [json.loads(line) for line in (generated_dir / "cases.jsonl").read_text().splitlines() if line.strip()]
    sars = sorted(c["alert_id"] for c in cases if c["disposition"] == "sar")
    chosen = None
    with Investigator(alice, "rules") as inv:
        for _alert_id, rep in inv.investigate_many(sars):
            freeze = [a for a in rep.actions if a.action == "freeze_account"]
            if chosen is None and freeze and rep.decision.typology != "sanctions_exposure":
                chosen = (rep, freeze[0].index)
    assert chosen is not None
    rep, index = chosen
    carol = alice.model_copy(update={"analyst": "carol"})
    decide_action(carol, rep.case_id, index, True, Identity("carol", "--as"))
    return {"alice": alice, "carol": carol, "bob": alice.model_copy(update={"analyst": "bob"}),
            "case": rep.case_id, "account": rep.alert["account_id"]}


def test_lift_request_is_reviewed_with_cited_facts_and_decided_four_eyes(restricted: dict) -> None:
    alice, bob, carol = restricted["alice"], restricted["bob"], restricted["carol"]
    req = add(alice, restricted["account"], "thaw", "customer sent payroll contracts")
    assert (req.requested_by, req.status) == ("alice", "open")
    with pytest.raises(InputInvalid, match="has not been reviewed"):
        decide(carol, req.id, True)
    req = review(bob, req.id)
    assert req.status == "reviewed" and req.review["proposal"] in ("approve", "reject")
    ids = {e.id for e in req.evidence}
    tools = [e.tool for e in req.evidence]
    assert tools == ["restriction", "activity_since", "exposure_since", "logins_since", "kyc", "open_items"]
    restriction = req.evidence[0]
    assert restriction.rows[0][0] == restricted["case"] and restriction.rows[0][5] == "carol"
    assert len(req.review["conditions"]) == 6
    for cond in req.review["conditions"]:
        assert cond["cites"] and set(cond["cites"]) <= ids  # every condition cites the evidence it rests on
    assert all(line.endswith("]") and "[E" in line for line in req.review["checklist"])
    failing = [c["id"] for c in req.review["conditions"] if not c["holds"]]
    assert (req.review["proposal"] == "approve") == (not failing)

    with pytest.raises(ApprovalRefused, match="alice opened this request and cannot also approve or reject its thaw"):
        decide(alice, req.id, True)
    with pytest.raises(ApprovalRefused, match=r"bob \(analyst, reviewer .*\) may not approve or reject thaw"):
        decide(bob, req.id, True)
    done = decide(carol, req.id, True, note="contracts checked")
    assert (done.status, done.decided_by, done.decided_by_source) == ("approved", "carol", "--as")
    with pytest.raises(InputInvalid, match="already approved by carol"):
        decide(carol, req.id, False)
    events = [json.loads(line) for line in alice.audit_log.read_text().splitlines()]
    lift = [(e["event"], e.get("by")) for e in events if e["event"].startswith("lift_")]
    assert lift == [("lift_requested", "alice"), ("lift_reviewed", "bob"), ("lift_approved", "carol")]
    from agent.audit import verify

    assert verify(alice.audit_log).ok


def test_a_sanctions_restriction_or_none_proposes_reject(restricted: dict) -> None:
    alice = restricted["alice"]
    store = CaseStore(alice)
    other = next(store.load(i).alert["account_id"] for i in store.ids()
                 if store.load(i).alert["account_id"] != restricted["account"]
                 and not any(a.status == "approved" for a in store.load(i).actions))
    req = review(alice, add(alice, other, "thaw", "please").id)
    assert req.review["proposal"] == "reject"
    assert not next(c for c in req.review["conditions"] if c["id"] == "restriction_on_record")["holds"]


def test_bad_requests_are_one_line(restricted: dict) -> None:
    alice = restricted["alice"]
    with pytest.raises(InputInvalid, match="unknown kind 'melt'"):
        add(alice, restricted["account"], "melt", "x")
    with pytest.raises(NotFound, match="no account 'ACC-NOPE'"):
        add(alice, "ACC-NOPE", "thaw", "x")
    with pytest.raises(NotFound, match="no lift request 'REQ-99999'"):
        load(alice, "REQ-99999")


def test_lift_playbook_is_retrievable_but_never_a_candidate(restricted: dict) -> None:
    from tools.playbooks.load import load_playbooks
    from tools.playbooks.retrieve import search_playbooks

    playbooks = load_playbooks()
    lift = [pb for pb in playbooks.playbooks if pb.front.purpose == "lift_review"]
    assert [pb.name for pb in lift] == ["restriction_lift"] and lift[0].typology == "lift_review"
    assert "lift_review" not in playbooks.by_typology
    top = search_playbooks("business line asks to thaw a frozen account: lift request review", k=3,
                           settings=restricted["alice"])
    assert top[0].playbook == "restriction_lift"
    store = CaseStore(restricted["alice"])
    for case_id in store.ids():
        retrieved = next(t for t in store.load(case_id).trace if t.get("tool") == "playbooks")
        assert "lift_review" not in retrieved["candidates"]
