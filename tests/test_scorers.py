"""Scorers on hand-made cases whose right answers were worked out by hand (in the comments)."""

from __future__ import annotations

import math

import pytest
from eval_fixtures import CLOSE_NOTE, SAR_NARRATIVE, case, report, structuring_evidence

from agent.llm.fake import FakeChatModel
from evals.scorers import actions, disposition, evidence, narrative, trace, typology
from evals.scorers.base import f1, flat_metrics, quantile, ratio, stdev
from evals.scorers.judge import judge_scorer


def run(scorer_module, pairs):
    return scorer_module.aggregate([scorer_module.score(c, r) for c, r in pairs])


# --- disposition ---------------------------------------------------------------------------

DISPOSITION_PAIRS = [  # truth -> prediction
    ("sar", "sar"), ("sar", "escalate"), ("sar", "close"), ("escalate", "escalate"), ("escalate", "close"),
    ("close", "close"), ("close", "close"), ("close", "escalate"), ("close", "escalate"), ("close", "sar"),
]


def test_disposition_by_hand() -> None:
    pairs = [(case(f"A{i}", t, "none" if t == "close" else "structuring"), report(f"A{i}", p))
             for i, (t, p) in enumerate(DISPOSITION_PAIRS)]
    m = run(disposition, pairs)
    assert m["n"] == 10
    assert m["accuracy"] == pytest.approx(4 / 10)  # sar/sar, esc/esc, close/close x2
    # actionable truth: 5; predicted actionable: 6; TP 3 (sar/sar, sar/esc, esc/esc), FP 3, FN 2
    assert m["actionable_precision"] == pytest.approx(3 / 6)
    assert m["actionable_recall"] == pytest.approx(3 / 5)
    assert m["actionable_f1"] == pytest.approx(6 / 11)  # 2*3 / (2*3 + 3 + 2)
    assert m["sar_recall"] == pytest.approx(1 / 3)
    assert m["close_precision"] == pytest.approx(2 / 4)  # predicted close: sar, esc, close, close
    assert m["benign_auto_closed"] == pytest.approx(2 / 5)
    assert m["errors"] == 0
    assert m["confusion"]["matrix"] == {
        "close": {"close": 2, "escalate": 2, "sar": 1},
        "escalate": {"close": 1, "escalate": 1, "sar": 0},
        "sar": {"close": 1, "escalate": 1, "sar": 1},
    }


def test_disposition_no_actionable_cases() -> None:
    pairs = [(case("A1", "close"), report("A1", "close")), (case("A2", "close"), report("A2", "close")),
             (case("A3", "close"), report("A3", "escalate"))]
    m = run(disposition, pairs)
    assert m["actionable_recall"] is None  # no positives: undefined, not 0 or 1
    assert m["sar_recall"] is None
    assert m["actionable_precision"] == 0.0  # one false escalation
    assert m["actionable_f1"] == 0.0
    assert m["close_precision"] == 1.0
    assert m["benign_auto_closed"] == pytest.approx(2 / 3)


def test_disposition_nothing_to_find_is_undefined() -> None:
    m = run(disposition, [(case("A1", "close"), report("A1", "close"))])
    assert (m["actionable_precision"], m["actionable_recall"], m["actionable_f1"]) == (None, None, None)
    assert m["accuracy"] == 1.0


def test_disposition_failed_case_counts_against() -> None:
    m = run(disposition, [(case("A1", "sar", "structuring"), None), (case("A2", "close"), report("A2", "close"))])
    assert m["errors"] == 1
    assert m["accuracy"] == 0.5
    assert m["sar_recall"] == 0.0
    assert m["actionable_recall"] == 0.0
    assert m["confusion"]["labels"] == ["close", "escalate", "sar", "error"]
    assert m["confusion"]["matrix"]["sar"]["error"] == 1


# --- typology ------------------------------------------------------------------------------

def test_typology_macro_f1_by_hand() -> None:
    rows = [  # truth disposition, truth typology, predicted typology
        ("sar", "structuring", "structuring"), ("escalate", "structuring", "structuring"),
        ("sar", "structuring", "pass_through"), ("sar", "pass_through", "pass_through"),
        ("escalate", "mixer_exposure", "none"), ("sar", "mixer_exposure", "ponzi"),
        ("close", "none", "structuring"),  # not actionable: out of scope
    ]
    pairs = [(case(f"A{i}", d, t), report(f"A{i}", "sar", p)) for i, (d, t, p) in enumerate(rows)]
    m = run(typology, pairs)
    assert m["typology_n"] == 6
    # structuring: tp 2 fp 0 fn 1 -> 0.8; pass_through: tp 1 fp 1 fn 0 -> 2/3; mixer: tp 0 fn 2 -> 0
    assert m["typology_macro_f1"] == pytest.approx((0.8 + 2 / 3 + 0.0) / 3)
    assert m["typology_accuracy"] == pytest.approx(3 / 6)
    assert m["typology_unknown_predicted"] == 1  # 'ponzi'; 'none' is in the vocabulary
    table = {row["typology"]: row for row in m["per_typology"]}
    assert table["structuring"]["support"] == 3 and table["structuring"]["recall"] == pytest.approx(2 / 3)
    assert table["ponzi"] == {"typology": "ponzi", "support": 0, "predicted": 1, "tp": 0, "precision": 0.0,
                              "recall": None, "f1": 0.0, "in_vocabulary": False}
    assert [r["typology"] for r in m["per_typology"]][:3] == ["mixer_exposure", "pass_through", "structuring"]


def test_typology_no_actionable_cases() -> None:
    m = run(typology, [(case("A1", "close"), report("A1", "close"))])
    assert m["typology_n"] == 0
    assert m["typology_macro_f1"] is None and m["typology_accuracy"] is None
    assert m["per_typology"] == []


def test_typology_failed_case_is_wrong() -> None:
    m = run(typology, [(case("A1", "sar", "structuring"), None)])
    assert m["typology_macro_f1"] == 0.0
    assert m["typology_unknown_predicted"] == 0  # a failure is not a made-up label


# --- evidence ------------------------------------------------------------------------------

def test_evidence_by_hand() -> None:
    pairs = [
        (case("A1", "sar", "structuring", key=["T1", "T2", "T3", "T4"], related=["A1", "A2"]),
         report("A1", "sar", flagged=["T1", "T2", "T9"], related=["A1"])),  # P 2/3, R 1/2, related 1/2
        (case("A2", "close"), report("A2", "close")),  # nothing either side: all undefined
        (case("A3", "sar", "structuring", key=["T5"], related=["A3"]),
         report("A3", "sar", flagged=["T6"], related=["A3"])),  # P 0, R 0, related 1
        (case("A4", "escalate", "structuring", key=["T7", "T8"], related=["A4"]), None),  # P undefined, R 0, rel 0
    ]
    m = run(evidence, pairs)
    assert m["txn_precision"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["txn_recall"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert m["related_recall"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert m["txn_precision_micro"] == pytest.approx(2 / 4)
    assert m["txn_recall_micro"] == pytest.approx(2 / 7)
    assert m["related_recall_micro"] == pytest.approx(2 / 4)
    rec = evidence.score(*pairs[0])
    assert rec["missed_txn_ids"] == ["T3", "T4"]


def test_evidence_flagging_a_benign_case_costs_precision() -> None:
    m = run(evidence, [(case("A1", "close"), report("A1", "escalate", flagged=["T1"]))])
    assert m["txn_precision"] == 0.0 and m["txn_recall"] is None


# --- narrative -----------------------------------------------------------------------------

def test_narrative_grounding_and_completeness_by_hand() -> None:
    ev = structuring_evidence()
    sar = narrative.score(case("A1", "sar", "structuring"), report("A1", "sar", "structuring", narrative=SAR_NARRATIVE,
                                                                   evidence=ev))
    # claims: ACC-000123, 2024-03-02, 2024-03-04, USD 28,350 (all in E2) and USD 10,000 (nowhere)
    assert (sar["claims_checked"], sar["claims_supported"], sar["unsupported"]) == (5, 4, 1)
    assert "10,000" in sar["unsupported_examples"][0]
    assert sar["grounding"] == pytest.approx(0.8)
    assert sar["checks"] == dict.fromkeys(narrative.CHECKS, True)
    assert sar["words"] == 39

    close = narrative.score(case("A2", "close"), report("A2", "close", narrative=CLOSE_NOTE, evidence=ev,
                                                        account="ACC-000555"))
    assert close["claims_checked"] == 0 and close["grounding"] is None
    assert [k for k, v in close["checks"].items() if v] == ["red_flags"]
    assert close["words"] == 11

    empty = narrative.score(case("A3", "escalate", "structuring"), report("A3", "escalate", narrative="  "))
    assert empty["empty"] and empty["completeness"] == 0.0 and empty["words"] == 0

    m = narrative.aggregate([sar, close, empty])
    assert m["grounding"] == pytest.approx(4 / 5)  # pooled over claims
    assert m["unsupported_claims"] == 1 and m["cases_with_unsupported"] == 1
    assert m["completeness"] == pytest.approx((1 + 1 / 6 + 0) / 3)
    assert m["completeness_full"] == pytest.approx(1 / 3)
    assert m["completeness_sar"] == 1.0
    assert m["completeness_close"] == pytest.approx(1 / 6)
    assert m["completeness_escalate"] == 0.0
    assert m["empty_narratives"] == 1
    assert m["words_mean"] == pytest.approx(50 / 3)
    assert m["completeness_checks"]["red_flags"] == pytest.approx(2 / 3)


def test_narrative_grounding_uses_final_text_not_stored_verification() -> None:
    ev = structuring_evidence()
    rep = report("A1", "sar", narrative="ACC-000123 received USD 28,350 [E2].", evidence=ev)
    rep.verification.claims_checked, rep.verification.claims_supported = 9, 3  # stale draft figures
    rep.verification.unsupported = ["amount '1' in: ...", "amount '2' in: ..."]
    rec = narrative.score(case("A1", "sar", "structuring"), rep)
    assert (rec["claims_checked"], rec["claims_supported"], rec["stripped"]) == (2, 2, 2)


def test_narrative_uncited_claim_is_unsupported() -> None:
    rep = report("A1", "sar", narrative="ACC-000123 received USD 28,350.", evidence=structuring_evidence())
    rec = narrative.score(case("A1", "sar", "structuring"), rep)
    assert rec["claims_supported"] == 0 and rec["unsupported"] == 2


def test_completeness_country_comes_from_evidence() -> None:
    text = "ACC-000123 is resident in DE."
    with_country = report("A1", "sar", evidence=structuring_evidence())
    assert narrative.completeness_checks(text, with_country)["channels"] is True
    assert narrative.completeness_checks(text, report("A1", "sar"))["channels"] is False
    checks = narrative.completeness_checks("Funds left via crypto_withdrawal on TRON.", report("A1", "sar"))
    assert checks["channels"] is True and checks["subject"] is False


def test_completeness_typology_words_count_as_red_flags() -> None:
    rep = report("A1", "sar")
    assert narrative.completeness_checks("Pattern consistent with pass-through activity.", rep)["red_flags"]
    assert narrative.completeness_checks("Looks like mixer exposure.", rep)["red_flags"]
    assert not narrative.completeness_checks("Nothing of note.", rep)["red_flags"]


def test_narrative_failed_case() -> None:
    rec = narrative.score(case("A1", "sar", "structuring"), None)
    assert rec["pred"] == "error" and rec["completeness"] == 0.0 and rec["grounding"] is None


# --- actions -------------------------------------------------------------------------------

def test_actions_jaccard_by_hand() -> None:
    pairs = [
        (case("A1", "sar", "structuring", actions=["file_sar", "escalate_l2"]),
         report("A1", "sar", actions=["file_sar", "escalate_l2", "freeze_account"])),  # 2/3
        (case("A2", "close", actions=["close"]), report("A2", "close", actions=["close"])),  # 1
        (case("A3", "close"), report("A3", "close", actions=["close"])),  # unlabelled: left out
        (case("A4", "escalate", "structuring", actions=["escalate_l2", "request_information"]), None),  # 0
    ]
    m = run(actions, pairs)
    assert m["action_jaccard"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m["action_exact"] == pytest.approx(1 / 3)
    assert m["actions_n"] == 3
    assert actions.score(*pairs[0])["extra"] == ["freeze_account"]
    assert actions.jaccard(set(), set()) == 1.0


# --- trace ---------------------------------------------------------------------------------

def test_trace_by_hand() -> None:
    entries = [
        {"node": "intake", "ms": 1.0},
        {"tool": "profile", "evidence_id": "E1", "error": None},
        {"model_call": "router", "choice": "sql", "valid": True},
        {"tool": "sql", "error": "rejected: DDL is not allowed"},
        {"model_call": "router", "choice": None, "valid": False},
        {"tool": "sql", "error": "Binder Error: column x not found"},
        {"model_call": "native", "tool": "sql", "result": "ERROR: rejected: only SELECT"},
        {"tool": "exposure", "error": None},
    ]
    a = report("A1", "sar", trace=entries, tokens={"tok_investigate": 120, "tok_narrate": 30},
               timings={"intake": 5.0, "total": 2500.0})
    b = report("A2", "close", timings={"intake": 100.0, "assess": 300.0})
    ra, rb = trace.score(case("A1", "sar", "structuring"), a), trace.score(case("A2", "close"), b)
    assert ra["tool_calls"] == 5 and ra["tools"] == {"profile": 1, "sql": 3, "exposure": 1}
    assert (ra["sql_calls"], ra["sql_rejected"], ra["sql_errors"]) == (3, 2, 1)
    assert (ra["model_calls"], ra["invalid_model_calls"]) == (3, 1)
    assert ra["tokens"] == 150 and ra["seconds"] == pytest.approx(2.5)
    assert rb["seconds"] == pytest.approx(0.4)  # no total: sum of the nodes
    m = trace.aggregate([ra, rb])
    assert m["tool_calls_mean"] == 2.5 and m["sql_rejected"] == 2
    assert m["tokens_total"] == 150 and m["tokens_mean"] == 75
    assert m["seconds_mean"] == pytest.approx(1.45)
    assert m["seconds_p95"] == pytest.approx(0.4 + 2.1 * 0.95)
    assert trace.summarize(a)["nodes_ms"] == {"intake": 5.0}


# --- judge ---------------------------------------------------------------------------------

def verdict(overall: int) -> dict:
    return {"clarity": 4, "chronology": 3, "specificity": 5, "reasoning": 4, "objectivity": 5,
            "overall": overall, "comment": "ok"}


def test_judge_repeats_mean_spread_and_invalid() -> None:
    fake = FakeChatModel([verdict(4), verdict(5), verdict(9)])  # the third is out of range: invalid
    scorer = judge_scorer(fake, "fake:judge", repeats=3)
    rec = scorer.score(case("A1", "sar", "structuring"), report("A1", "sar", narrative=SAR_NARRATIVE,
                                                                evidence=structuring_evidence()))
    assert rec["overall"] == [4.0, 5.0] and rec["invalid"] == 1
    assert rec["overall_mean"] == 4.5 and rec["overall_stdev"] == pytest.approx(math.sqrt(0.5))
    assert rec["criteria"]["specificity"] == 5.0
    assert len(fake.calls) == 3
    assert "<narrative>" in fake.calls[0].text and "ACC-000123 received" in fake.calls[0].text
    empty = scorer.score(case("A2", "close"), report("A2", "close", narrative=""))
    assert empty["overall_mean"] is None and len(fake.calls) == 3  # nothing to judge, no call
    m = scorer.aggregate([rec, empty])
    assert m["judge_cases"] == 1 and m["judge_overall"] == 4.5
    assert m["judge_spread"] == pytest.approx(math.sqrt(0.5)) and m["judge_invalid"] == 1


# --- helpers -------------------------------------------------------------------------------

def test_helpers() -> None:
    assert ratio(1, 0) is None and ratio(1, 4) == 0.25
    assert f1(0, 0, 0) is None and f1(0, 0, 3) == 0.0 and f1(1, 1, 0) == pytest.approx(2 / 3)
    assert stdev([1.0]) is None and stdev([1.0, 3.0]) == pytest.approx(math.sqrt(2))
    assert quantile([], 0.5) is None and quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    flat = flat_metrics({"a": {"x": 1, "t": {"nested": 1}, "flag": True, "u": None}, "b": {"y": 0.5}})
    assert flat == {"x": 1, "u": None, "y": 0.5}
