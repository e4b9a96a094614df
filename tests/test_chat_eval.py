"""The chat eval's scoring: facts compared without thousands separators, negatives expected or false,
citations that must name this answer's evidence, and the unsupported claims left in a shown answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.chat_eval import load_questions, score
from tools.errors import InputInvalid
from tools.evidence import EvidenceLedger


def test_score_facts_negatives_citations_and_claims() -> None:
    ledger = EvidenceLedger()
    ev = ledger.record("alerts", {"account_id": "ACC-1"}, columns=["alert_id"], rows=[["ALT-1"]],
                       facts={"alert_count": 1})
    q = {"id": "a", "question": "alerts on ACC-1?", "expected_tools": ["alerts"], "facts": ["ALT-1", "21750.97"]}
    good = score(q, "ACC-1 has ALT-1 for 21,750.97 USD [E1].", ["alerts"], [ev], 0.1, [])
    assert good.facts_ok and good.tool_ok and good.citations_ok and good.correct
    assert good.unsupported == 1  # 21,750.97 is in no evidence: the shown answer still carries it
    wrong = score(q, "No alerts found: alerts ran for ACC-1 [E2].", ["alerts"], [ev], 0.1, [])
    assert wrong.false_negative and not wrong.citations_ok and not wrong.correct
    none_q = {**q, "facts": [], "expect": "none"}
    assert score(none_q, "No alert on record for ACC-1: alerts ran for it and found none [E1].", ["alerts"], [ev],
                 0.1, []).correct
    assert not score(none_q, "ACC-1 has ALT-1 [E1].", ["alerts"], [ev], 0.1, []).correct


def test_questions_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "x", "expected_tools": ["alerts"], "facts": []}\n{"question": 1\n')
    with pytest.raises(InputInvalid, match=r"q.jsonl:2: not a question"):
        load_questions(bad)
    assert len(load_questions(Path(__file__).parents[1] / "evals" / "chat" / "questions.jsonl")) >= 40
