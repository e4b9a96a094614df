"""The investigation graph's model paths, driven by the scripted fake chat model.

Router style: the model picks one narrow step at a time (structured output), the tool runs in code
and its result (or its error) goes back as text. Native style: the model calls tools itself and
gets ToolMessages. Then the structured decision, the narrative, verify and one revision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.llm.fake import FakeChatModel
from agent.nodes.act import policy_actions
from agent.report import CaseDecision, CaseReport
from agent.runner import Investigator
from agent.verifier import verify
from tools.schema import TYPOLOGIES
from tools.settings import Settings

BIG_BUDGET = {"investigate_max_tokens": 10**7, "investigate_max_steps": 6}


def step(tool: str, reason: str = "next lead", **args: Any) -> dict[str, Any]:
    """A scripted router answer (the NextStep structured output)."""
    return {"tool": tool, "reason": reason, **args}


def decision(disposition: str = "sar", typology: str = "structuring", risk: int = 85,
             ids: list[str] | None = None, rationale: str = "Near-threshold deposits [E2].") -> dict[str, Any]:
    """A scripted assess answer (the ModelDecision structured output)."""
    return {"disposition": disposition, "typology": typology, "risk_score": risk,
            "key_evidence_ids": ids if ids is not None else ["E2"], "rationale": rationale}


@pytest.fixture(scope="module")
def case(agent_settings: Settings, generated_dir: Path) -> dict[str, Any]:
    """A labelled structuring SAR alert, its account and its rules-backend report."""
    from tools.alerts import alert_context
    from tools.db import Database

    cases = [json.loads(line) for line in (generated_dir / "cases.jsonl").read_text().splitlines() if line.strip()]
    alert_id = sorted(c["alert_id"] for c in cases if c["typology"] == "structuring" and c["disposition"] == "sar")[0]
    with Database.open(agent_settings) as db:
        account = alert_context(db, alert_id).account_id
    with Investigator(agent_settings, "rules", record=False) as inv:
        rules = inv.investigate(alert_id)
    return {"alert_id": alert_id, "account": account, "rules": rules}


def run(settings: Settings, alert_id: str, fake: FakeChatModel, style: str = "router", **overrides: Any) -> CaseReport:
    settings = settings.model_copy(update={**BIG_BUDGET, **overrides})
    with Investigator(settings, "fake", model=fake, style=style, record=False) as inv:
        return inv.investigate(alert_id)


def router_events(report: CaseReport) -> list[dict[str, Any]]:
    return [t for t in report.trace if t.get("model_call") == "router"]


def router_tools(report: CaseReport) -> list[dict[str, Any]]:
    return [t for t in report.trace if t.get("source") == "router"]


def human_text(fake: FakeChatModel, i: int) -> str:
    return "\n".join(m.text for m in fake.calls[i].messages if isinstance(m, HumanMessage))


# --- router ------------------------------------------------------------------------------------

def test_router_cycles_then_exposure_then_done(agent_settings: Settings, case: dict[str, Any]) -> None:
    acct = case["account"]
    fake = FakeChatModel([step("cycles", "does money come back?", account_id=acct),
                          step("exposure", "any risky addresses?", account_id=acct, max_hops=1),
                          step("done", "enough"), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)

    assert fake.remaining == 0 and len(fake.calls) == 5
    assert [c.structured for c in fake.calls[:4]] == ["NextStep"] * 3 + ["ModelDecision"]
    events = router_events(report)
    assert [e["choice"] for e in events] == ["cycles", "exposure", "done"]
    assert [e["reason"] for e in events] == ["does money come back?", "any risky addresses?", "enough"]
    assert all(e["valid"] and e["tokens"] > 0 for e in events)
    ran = router_tools(report)
    assert [t["tool"] for t in ran] == ["cycles", "exposure"]
    evidence = {e.id: e for e in report.evidence}
    for t in ran:
        ev = evidence[t["evidence_id"]]
        assert ev.tool == t["tool"] and ev.args["account_id"] == acct and not ev.error
    # Each result is fed back: the next router call sees the evidence id just recorded.
    assert f"[{ran[0]['evidence_id']}] cycles(" in human_text(fake, 1)
    assert f"[{ran[1]['evidence_id']}] exposure(" in human_text(fake, 2)
    assert f"[{ran[1]['evidence_id']}] exposure" in human_text(fake, 3)  # and the assess facts sheet
    assert report.notes == []
    assert report.tokens["tok_investigate"] == sum(e["tokens"] for e in events)
    assert report.model == "fake" and report.style == "router"


def test_tool_error_is_fed_back_to_the_router(agent_settings: Settings, case: dict[str, Any]) -> None:
    """A step the tool cannot run (an account that does not exist) comes back to the model as text."""
    fake = FakeChatModel([step("profile", "the sender", account_id="ACC-999999"), step("done"), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)

    ran = router_tools(report)
    assert len(ran) == 1 and ran[0]["tool"] == "profile" and "ACC-999999" in ran[0]["error"]
    ev = next(e for e in report.evidence if e.id == ran[0]["evidence_id"])
    assert ev.error and ev.args["account_id"] == "ACC-999999"
    fed_back = human_text(fake, 1)
    assert f"[{ev.id}] profile(" in fed_back and "ERROR:" in fed_back and "ACC-999999" in fed_back
    assert "ERROR:" not in human_text(fake, 0)
    assert report.decision.disposition == "sar"  # the case still completes


def test_router_has_no_free_sql(agent_settings: Settings, case: dict[str, Any]) -> None:
    """Investigations offer the small model narrow steps only: a free SQL pick is invalid, retried once,
    then the loop ends (valid=False in the trace) and nothing ran."""
    bad = step("sql", "custom query", sql="SELECT 1")
    fake = FakeChatModel([bad, bad, decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)
    events = router_events(report)
    assert [(e["choice"], e["valid"]) for e in events] == [("done", False)]
    assert router_tools(report) == [] and fake.remaining == 0


def test_invalid_router_answer_is_retried_with_the_error(agent_settings: Settings, case: dict[str, Any]) -> None:
    """A pick whose argument is out of bounds: the retry asks for that option's arguments, with the error."""
    fake = FakeChatModel([step("cycles", "look far", account_id=case["account"], max_hops=99),
                          {"account_id": case["account"], "max_hops": 2}, step("done"), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)
    assert fake.calls[1].structured == "cycles_arguments"
    assert "max_hops" in human_text(fake, 1) and "less than or equal" in human_text(fake, 1)
    events = router_events(report)
    assert [e["choice"] for e in events] == ["cycles", "done"] and events[0]["args"]["max_hops"] == 2
    assert events[0]["attempts"] == 2 and len(events[0]["errors"]) == 1  # the failed attempt is in the trace
    assert [t["tool"] for t in router_tools(report)] == ["cycles"]
    assert fake.remaining == 0


def test_a_pick_without_an_account_is_about_the_alerts(agent_settings: Settings, case: dict[str, Any]) -> None:
    """The account a pick leaves out is the case's own: one call, no repair round trip."""
    fake = FakeChatModel([step("cycles", "no account given"), step("done"), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)
    events = router_events(report)
    assert [e["choice"] for e in events] == ["cycles", "done"] and events[0]["attempts"] == 1
    assert events[0]["args"]["account_id"] == case["account"] and fake.remaining == 0


def test_arguments_of_other_options_are_dropped_not_repaired(agent_settings: Settings, case: dict[str, Any]) -> None:
    """The flat schema offers every option's arguments; a trace pick that also fills exposure's `max_hops`
    (seen with the 1.5B model) runs as the trace it is, with no repair call."""
    fake = FakeChatModel([step("trace", "who sent it", account_id=case["account"], direction="in", hops=1, max_hops=3),
                          step("done"), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)
    first = router_events(report)[0]
    assert first["choice"] == "trace" and first["attempts"] == 1 and "max_hops" not in first["args"]
    assert fake.remaining == 0


def test_budget_stops_a_model_that_never_says_done(agent_settings: Settings, case: dict[str, Any]) -> None:
    acct = case["account"]
    fake = FakeChatModel([step("cycles", account_id=acct)] + [step("exposure", account_id=acct, max_hops=h) for h in (1, 2)]
                         + [decision(), ""])
    report = run(agent_settings, case["alert_id"], fake, investigate_max_steps=3)

    assert [c.structured for c in fake.calls] == ["NextStep"] * 3 + ["ModelDecision", None]
    assert fake.remaining == 0
    assert len(router_events(report)) == 3 and len(router_tools(report)) == 3
    assert any(n.startswith("investigate stopped at the budget (3 steps") for n in report.notes), report.notes
    assert report.decision.disposition == "sar"


def test_a_repeated_call_ends_the_loop_without_running_again(agent_settings: Settings, case: dict[str, Any]) -> None:
    acct = case["account"]
    fake = FakeChatModel([step("cycles", account_id=acct)] * 2 + [decision(), ""])
    report = run(agent_settings, case["alert_id"], fake, investigate_max_steps=5)
    assert [c.structured for c in fake.calls] == ["NextStep"] * 2 + ["ModelDecision", None]
    assert len(router_events(report)) == 2 and len(router_tools(report)) == 1  # never run twice
    guards = [t for t in report.trace if t.get("guard") == "repeat"]
    assert len(guards) == 1 and "cycles" in guards[0]["changed"]
    assert all(e["prompt_version"] and "raw" in e for e in router_events(report))
    assert not any("stopped at the budget" in n for n in report.notes)


def test_the_router_does_not_repeat_a_playbook_step(agent_settings: Settings, case: dict[str, Any]) -> None:
    """The playbook already ran `profile` on the alert's account (with the account left implicit): the
    router asking for it by name is the same call, so it is not run again and the loop ends."""
    assert any(e.tool == "profile" for e in case["rules"].evidence)
    fake = FakeChatModel([step("profile", "KYC first", account_id=case["account"]), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)
    assert router_tools(report) == [] and fake.remaining == 0
    guards = [t for t in report.trace if t.get("guard") == "repeat"]
    assert len(guards) == 1 and "profile" in guards[0]["changed"]
    profiles = [e for e in report.evidence if e.tool == "profile"]
    assert len(profiles) == len([e for e in case["rules"].evidence if e.tool == "profile"])


def test_token_budget_stops_the_loop(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([step("cycles", account_id=case["account"]), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake, investigate_max_tokens=100)
    assert len(router_events(report)) == 1 and fake.remaining == 0
    assert any("stopped at the budget (1 steps" in n for n in report.notes), report.notes


def test_a_failed_router_call_ends_the_loop_not_the_case(agent_settings: Settings, case: dict[str, Any]) -> None:
    """An endpoint that times out in investigate: the playbook evidence stands, the trace and notes say
    why the loop stopped, and the case is decided as usual."""
    import httpx

    fake = FakeChatModel([httpx.ReadTimeout("timed out"), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake)
    failed = [e for e in router_events(report) if e.get("error")]
    assert len(failed) == 1 and "model call failed in the router: ReadTimeout" in failed[0]["error"]
    assert any(n.startswith("investigate stopped: model call failed") for n in report.notes), report.notes
    assert report.decision.disposition == "sar" and fake.remaining == 0
    assert len(report.evidence) == len(case["rules"].evidence) + sum(e.tool == "trace" for e in report.evidence)


def test_a_failed_narrative_call_leaves_the_template(agent_settings: Settings, case: dict[str, Any]) -> None:
    import httpx

    fake = FakeChatModel([step("done"), decision(), httpx.ConnectError("refused")])
    report = run(agent_settings, case["alert_id"], fake)
    guard = next(t for t in report.trace if t.get("model_call") == "narrative")
    assert guard["guard"] == "fallback" and "ConnectError" in guard["error"]
    assert any(n.startswith("narrative: model call failed in narrative") for n in report.notes), report.notes
    assert "[E" in report.narrative and not report.narrative.startswith("Summary:")
    assert report.verification.unsupported == [] and fake.remaining == 0


def test_done_is_not_reported_as_a_budget_stop(agent_settings: Settings, case: dict[str, Any]) -> None:
    """A model that says done on its last affordable call finished; no budget note."""
    fake = FakeChatModel([step("done"), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake, investigate_max_tokens=100)
    assert report.notes == []


# --- structured decision -----------------------------------------------------------------------

def test_structured_decision_is_used(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([step("done"), decision("sar", "structuring", 61, ["E1", "E2"], "Looks split [E2]."), ""])
    report = run(agent_settings, case["alert_id"], fake)
    d = report.decision
    assert (d.disposition, d.typology, d.risk_score, d.key_evidence_ids) == ("sar", "structuring", 61, ["E1", "E2"])
    assert d.rationale == "Looks split [E2]."
    assert d.flagged_txn_ids == case["rules"].decision.flagged_txn_ids
    assert [a.action for a in report.actions] == policy_actions("structuring", "sar")
    assert report.notes == []
    assert "<untrusted_data>" in human_text(fake, 1)
    assert report.tokens["tok_assess"] > 0


def test_unknown_typology_and_ids_fall_back(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([step("done"), decision("sar", "crypto_laundering", 150, ["E2", "E999"]), ""])
    report = run(agent_settings, case["alert_id"], fake)
    d = CaseDecision.model_validate(report.decision.model_dump())
    assert d.typology == case["rules"].decision.typology and d.typology in TYPOLOGIES
    assert d.risk_score == 100
    assert d.key_evidence_ids == ["E2"]
    assert [a.action for a in report.actions] == policy_actions(d.typology, "sar")


def test_close_means_typology_none(agent_settings: Settings, generated_dir: Path) -> None:
    cases = [json.loads(line) for line in (generated_dir / "cases.jsonl").read_text().splitlines() if line.strip()]
    with Investigator(agent_settings, "rules", record=False) as inv:
        alert_id = next(c["alert_id"] for c in sorted(cases, key=lambda c: c["alert_id"])
                        if c["disposition"] == "close" and inv.investigate(c["alert_id"]).decision.disposition == "close")
    fake = FakeChatModel([step("done"), decision("close", "structuring", 5), ""])
    report = run(agent_settings, alert_id, fake)
    assert (report.decision.disposition, report.decision.typology) == ("close", "none")
    assert report.decision.flagged_txn_ids == [] and [a.action for a in report.actions] == ["close"]


def test_invalid_structured_answer_falls_back_to_the_scorecard(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([step("done"), {"disposition": "maybe", "risk_score": "high"}, ""])
    report = run(agent_settings, case["alert_id"], fake)
    assert report.decision == case["rules"].decision
    assert [a.action for a in report.actions] == [a.action for a in case["rules"].actions]


def test_hard_rule_floor_keeps_the_policy(agent_settings: Settings, case: dict[str, Any]) -> None:
    """The structuring SAR fires hard rules: a model that closes it is raised back, with the policy's
    typology, flagged transactions and actions (not the defaults of a typology-less SAR)."""
    rules = case["rules"]
    assert rules.scorecards["chosen"]["hard_rules"] and rules.decision.disposition == "sar"
    fake = FakeChatModel([step("done"), decision("close", "none", 3, rationale="Benign."), ""])
    report = run(agent_settings, case["alert_id"], fake)
    d = report.decision
    assert (d.disposition, d.typology) == ("sar", rules.decision.typology)
    assert d.flagged_txn_ids == rules.decision.flagged_txn_ids
    assert d.risk_score == rules.decision.risk_score  # raised with it, not the model's 3
    assert [(a.action, a.status) for a in report.actions] == [(a.action, a.status) for a in rules.actions]
    assert any("raised to sar" in n for n in report.notes)


def test_trace_holds_the_model_decision_the_floor_and_the_coherence_fix(agent_settings: Settings,
                                                                         case: dict[str, Any]) -> None:
    """From the trace alone: what the model decided (raw and parsed), that the floor raised it, and that its
    rationale ("closed ... no red flags") was replaced because it contradicted the final SAR."""
    rules = case["rules"]
    said = "The alert is closed based on the scorecard results. There are no red flags [E2]."
    fake = FakeChatModel([step("done"), decision("close", "none", 3, rationale=said), ""])
    report = run(agent_settings, case["alert_id"], fake)
    model = next(t for t in report.trace if t.get("model_call") == "assess")
    assert model["parsed"]["disposition"] == "close" and model["used"] == "model" and model["prompt_version"]
    assert '"disposition": "close"' in model["raw"] and "tokens_in" in model
    floor = next(t for t in report.trace if t.get("guard") == "policy_floor")
    assert floor["before"]["disposition"] == "close" and floor["after"]["disposition"] == "sar"
    fixed = next(t for t in report.trace if t.get("guard") == "coherence")
    assert fixed["rationale_before"] == said and len(fixed["issues"]) == 2
    d = report.decision
    assert d.disposition == "sar" and d.rationale.startswith("File a SAR") and "no red flags" not in d.rationale
    assert d.rationale == fixed["rationale_after"] and rules.scorecards["chosen"]["red_flags"][0]["description"] \
        in d.rationale


def test_coherence_check_words() -> None:
    from agent.coherence import coherence_issues
    from agent.report import CaseDecision

    sar = CaseDecision(disposition="sar", typology="structuring", risk_score=90, rationale="")
    flags = [{"description": "x", "evidence_ids": ["E2"]}]
    assert coherence_issues("Near-threshold deposits suggest structuring; file a SAR [E2].", sar, flags) == []
    assert coherence_issues("Escalating deposits of an older customer [E2].", sar, flags) == []  # not a disposition
    assert len(coherence_issues("This should be escalated for mixer exposure.", sar, flags)) == 2
    close = sar.model_copy(update={"disposition": "close", "typology": "none"})
    assert coherence_issues("No red flags: the activity is benign.", close, []) == []
    assert coherence_issues("We should file a SAR.", close, []) != []


# --- narrative, verify, revise -----------------------------------------------------------------
# Native style (capable endpoints): the model rewrites the whole fact sheet. Router style (small
# local models): it writes a short summary that is put in front of the template.

NATIVE_DONE = "I have what I need."  # the native investigate loop's answer: no tool call


def good_sentence(case: dict[str, Any]) -> str:
    return f"Activity: alert {case['alert_id']} was raised on account {case['account']} [E1]."


def test_revision_loop_removes_what_stays_unsupported(agent_settings: Settings, case: dict[str, Any]) -> None:
    invented = f"Subject: account {case['account']} moved USD 123,456.78 to a shell company [E1]."
    draft = f"{invented}\n\n{good_sentence(case)}"
    fake = FakeChatModel([NATIVE_DONE, decision(), draft, draft])
    report = run(agent_settings, case["alert_id"], fake, style="native")

    assert fake.remaining == 0 and len(fake.calls) == 4  # investigate, assess, narrative, one revision
    revise_prompt = human_text(fake, 3)
    assert "UNSUPPORTED CLAIMS" in revise_prompt and "123,456.78" in revise_prompt and "FACT SHEET" in revise_prompt
    v = report.verification
    assert v.revised
    assert len(v.unsupported) == 1 and "123,456.78" in v.unsupported[0]
    assert "123,456.78" not in report.narrative
    assert report.narrative == good_sentence(case)
    assert verify(report.narrative, {e.id: e for e in report.evidence}).unsupported == []


def test_uncited_claims_are_counted_and_removed(agent_settings: Settings, case: dict[str, Any]) -> None:
    uncited = f"The account {case['account']} received USD 1,000.00 on 2026-01-01."
    text = f"{uncited} {good_sentence(case)}"
    fake = FakeChatModel([NATIVE_DONE, decision(), text, text])
    report = run(agent_settings, case["alert_id"], fake, style="native")
    v = report.verification
    assert v.revised and v.uncited_sentences == 1 and len(v.unsupported) == 3  # the id, the amount, the date
    assert report.narrative == good_sentence(case)


def test_revision_that_fixes_the_claim_is_kept(agent_settings: Settings, case: dict[str, Any]) -> None:
    invented = f"Subject: account {case['account']} moved USD 123,456.78 [E1]."
    fixed = f"Subject: account {case['account']} is the subject [E1].\n\n{good_sentence(case)}"
    fake = FakeChatModel([NATIVE_DONE, decision(), f"{invented} {good_sentence(case)}", fixed])
    report = run(agent_settings, case["alert_id"], fake, style="native")
    assert report.verification.revised and report.verification.unsupported == []
    assert report.narrative == fixed


def test_grounded_narrative_is_not_revised(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([NATIVE_DONE, decision(), good_sentence(case)])
    report = run(agent_settings, case["alert_id"], fake, style="native")
    assert len(fake.calls) == 3 and not report.verification.revised
    assert report.narrative == good_sentence(case)


def test_router_summary_revised_then_stripped(agent_settings: Settings, case: dict[str, Any]) -> None:
    """Router style: the invented summary sentence is revised once, then removed; the template stays."""
    invented = f"The account {case['account']} moved USD 123,456.78 abroad [E1]."
    summary = f"{invented} {good_sentence(case)}"
    fake = FakeChatModel([step("done"), decision("sar", case["rules"].decision.typology), summary, summary])
    report = run(agent_settings, case["alert_id"], fake)

    assert fake.remaining == 0 and len(fake.calls) == 4
    assert "FACT SHEET" in human_text(fake, 2) and "UNSUPPORTED CLAIMS" in human_text(fake, 3)
    assert "SUMMARY:" in human_text(fake, 3) and "123,456.78" in human_text(fake, 3)
    v = report.verification
    assert v.revised and len(v.unsupported) == 1 and "123,456.78" in v.unsupported[0]
    assert "123,456.78" not in report.narrative
    first, rest = report.narrative.split("\n\n", 1)
    assert first == good_sentence(case)
    assert rest == case["rules"].narrative  # the template, untouched
    assert verify(report.narrative, {e.id: e for e in report.evidence}).unsupported == []


def test_router_grounded_summary_is_kept(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([step("done"), decision("sar", case["rules"].decision.typology), good_sentence(case)])
    report = run(agent_settings, case["alert_id"], fake)
    assert len(fake.calls) == 3 and not report.verification.revised
    assert report.narrative == f"Summary: {good_sentence(case)}\n\n{case['rules'].narrative}"


def test_router_summary_keeps_only_cited_sentences(agent_settings: Settings, case: dict[str, Any]) -> None:
    """Uncited prose in a small model's summary (it tends to echo the playbook's must-state list) is
    dropped; a summary with no cited sentence leaves the template alone."""
    echo = "The report must state what the customer said when contacted, if contacted."
    fake = FakeChatModel([step("done"), decision("sar", case["rules"].decision.typology),
                          f"{echo} {good_sentence(case)} Further review is advised."])
    report = run(agent_settings, case["alert_id"], fake)
    assert report.narrative == f"Summary: {good_sentence(case)}\n\n{case['rules'].narrative}"
    assert "narrative: dropped 2 uncited sentence(s) of the model's summary" in report.notes
    fake = FakeChatModel([step("done"), decision("sar", case["rules"].decision.typology), echo])
    assert run(agent_settings, case["alert_id"], fake).narrative == case["rules"].narrative


def test_router_summary_that_contradicts_the_decision_is_rewritten(agent_settings: Settings,
                                                                     case: dict[str, Any]) -> None:
    """A cited summary that closes a SAR, denies its red flags and names another typology is replaced by one
    written from the scorecard; the trace holds what the guard changed; the template below it stays."""
    rules = case["rules"]
    said = f"The alert on account {case['account']} is closed as mule network activity with no red flags [E1]."
    fake = FakeChatModel([step("done"), decision("sar", rules.decision.typology), said])
    report = run(agent_settings, case["alert_id"], fake)
    fixed = next(t for t in report.trace if t.get("guard") == "coherence" and t.get("text") == "summary")
    assert fixed["summary_before"] == f"Summary: {said}" and len(fixed["issues"]) == 3
    first, rest = report.narrative.split("\n\n", 1)
    assert first == fixed["summary_after"] and first.startswith("Summary: File a SAR for structuring")
    assert rules.scorecards["chosen"]["red_flags"][0]["description"] in first and "no red flags" not in first
    assert rest == rules.narrative
    assert any(n.startswith("narrative: the summary contradicted the decision") for n in report.notes)


def test_native_opening_that_contradicts_the_decision_is_rewritten(agent_settings: Settings,
                                                                   case: dict[str, Any]) -> None:
    said = f"No further action is needed on account {case['account']} [E1]."
    fake = FakeChatModel([NATIVE_DONE, decision(), f"{said}\n\n{good_sentence(case)}"])
    report = run(agent_settings, case["alert_id"], fake, style="native")
    fixed = next(t for t in report.trace if t.get("guard") == "coherence" and t.get("text") == "summary")
    assert fixed["summary_before"] == said and fixed["summary_after"].startswith("File a SAR")
    assert report.narrative == f"{fixed['summary_after']}\n\n{good_sentence(case)}"


def test_coherent_summary_leaves_the_template_and_a_coherent_summary() -> None:
    from agent.coherence import coherent_summary

    sar = CaseDecision(disposition="sar", typology="structuring", risk_score=90, rationale="")
    cards = {"chosen": {"typology": "structuring", "red_flags": [{"description": "x", "evidence_ids": ["E2"]}]}}
    template = "The customer said the alert was closed before [E1].\n\nMore [E2]."
    assert coherent_summary(template, template, sar, cards) == (template, None)
    ok = "Summary: Deposits below the threshold suggest structuring [E2].\n\n" + template
    assert coherent_summary(ok, template, sar, cards) == (ok, None)
    text, fixed = coherent_summary("Summary: Benign [E2].\n\n" + template, template, sar, cards)
    assert fixed and text == "Summary: File a SAR for structuring (risk 90/100). Red flags: x [E2].\n\n" + template


def test_empty_narrative_falls_back_to_the_template(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([step("done"), decision("sar", case["rules"].decision.typology), ""])
    report = run(agent_settings, case["alert_id"], fake)
    assert report.narrative == case["rules"].narrative and report.verification.unsupported == []


# --- native tool calling -----------------------------------------------------------------------

def tool_call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def test_native_tool_calls_then_decision(agent_settings: Settings, case: dict[str, Any]) -> None:
    query = f"SELECT count(*) AS n FROM transactions WHERE dst = '{case['account']}'"
    fake = FakeChatModel([tool_call("sql", {"query": query}, "call_a"),
                          "I have what I need.", decision("sar", "structuring", 90), ""])
    report = run(agent_settings, case["alert_id"], fake, style="native")

    assert fake.remaining == 0
    assert {t["function"]["name"] for t in fake.calls[0].tools} >= {"sql"}
    second = fake.calls[1].messages
    assert isinstance(second[-2], AIMessage) and second[-2].tool_calls[0]["id"] == "call_a"
    tool_msg = second[-1]
    assert isinstance(tool_msg, ToolMessage) and tool_msg.tool_call_id == "call_a"
    ev = next(e for e in report.evidence if e.tool == "sql" and e.args.get("query") == query)
    assert f"[{ev.id}] sql(" in tool_msg.text and not ev.error
    native = [t for t in report.trace if t.get("model_call") == "native"]
    assert [t["tool"] for t in native] == ["sql"]
    assert (report.decision.disposition, report.decision.risk_score, report.style) == ("sar", 90, "native")
    assert report.notes == []


def test_native_tool_errors_are_fed_back(agent_settings: Settings, case: dict[str, Any]) -> None:
    fake = FakeChatModel([tool_call("sql", {"sql": "SELECT 1"}, "c1"),  # wrong argument name
                          tool_call("sql", {"query": "SELECT no_such_column FROM alerts"}, "c2"),
                          tool_call("teleport", {}, "c3"),
                          "done", decision(), ""])
    report = run(agent_settings, case["alert_id"], fake, style="native")
    results = {m.tool_call_id: m.text for m in fake.calls[3].messages if isinstance(m, ToolMessage)}
    assert "invalid arguments for sql" in results["c1"] and "query" in results["c1"]
    assert "ERROR:" in results["c2"] and "no_such_column" in results["c2"]
    assert "unknown tool 'teleport'" in results["c3"]
    assert report.decision.disposition == "sar"


def test_native_repeat_is_answered_with_the_earlier_evidence(agent_settings: Settings, case: dict[str, Any]) -> None:
    """A native model asking again for a call already made (here the playbook's profile step, then its
    own SQL twice) gets the earlier evidence id back, and nothing runs a second time."""
    query = "SELECT 1 AS x"
    fake = FakeChatModel([tool_call("profile", {"account_id": case["account"]}, "c1"),
                          tool_call("sql", {"query": query}, "c2"), tool_call("sql", {"query": query}, "c3"),
                          "done", decision(), ""])
    report = run(agent_settings, case["alert_id"], fake, style="native")
    results = {m.tool_call_id: m.text for m in fake.calls[3].messages if isinstance(m, ToolMessage)}
    profile = next(e for e in report.evidence if e.tool == "profile")
    assert results["c1"].startswith(f"already ran: see [{profile.id}]")
    sql = [e for e in report.evidence if e.tool == "sql" and e.args.get("query") == query]
    assert len(sql) == 1 and results["c3"].startswith(f"already ran: see [{sql[0].id}]")
    assert len([e for e in report.evidence if e.tool == "profile"]) == \
        len([e for e in case["rules"].evidence if e.tool == "profile"])
    assert len([t for t in report.trace if t.get("guard") == "repeat"]) == 2


def test_native_budget_caps_tool_calls(agent_settings: Settings, case: dict[str, Any]) -> None:
    calls = [{"name": "sql", "args": {"query": f"SELECT {i} AS x"}, "id": f"c{i}", "type": "tool_call"}
             for i in range(5)]
    fake = FakeChatModel([AIMessage(content="", tool_calls=calls), decision(), ""])
    report = run(agent_settings, case["alert_id"], fake, style="native", investigate_max_steps=2)
    assert len([t for t in report.trace if t.get("model_call") == "native"]) == 2
    assert any(n.startswith("investigate stopped at the budget (2 steps") for n in report.notes)
    assert fake.remaining == 0


def test_a_model_that_does_not_decide_leaves_the_scorecard_decision(agent_settings: Settings,
                                                                     case: dict[str, Any]) -> None:
    """The bundled small model (ModelInfo.decides False) is never asked for the decision: the case's
    decision is the rules backend's, and the trace says who decided."""
    rules = case["rules"]
    fake = FakeChatModel([step("done"), "", ""])
    settings = agent_settings.model_copy(update=BIG_BUDGET)
    with Investigator(settings, "fake", model=fake, style="router", record=False) as inv:
        inv.model_decides = False
        report = inv.investigate(case["alert_id"])
    assert not any(t.get("model_call") == "assess" for t in report.trace)
    owner = next(t for t in report.trace if t.get("guard") == "decision_owner")
    assert "does not decide" in owner["note"]
    assert report.decision.disposition == rules.decision.disposition == "sar"
    assert report.decision.rationale == rules.decision.rationale
