"""The learned backend end to end on the session's generated workspace: train from half the labels,
investigate and eval with `--model learned`, cross-validate, and never score a case a model saw."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.report import CaseDecision
from evals.dataset import load_cases
from tools.errors import InputInvalid
from tools.settings import Settings


@pytest.fixture(autouse=True)
def small_forests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.learned.forest.TREES", 40)


@pytest.fixture(scope="module")
def halves(generated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The generated labels split 50/50 (stratified), as the hidden check splits a dataset."""
    from agent.learned.fit import folds

    cases = load_cases(generated_dir / "cases.jsonl").cases
    a, b = folds([f"{c.disposition}:{c.typology}" for c in cases], 2)
    out = tmp_path_factory.mktemp("halves")
    paths = []
    for name, rows in (("train", a), ("score", b)):
        path = out / f"{name}.jsonl"
        path.write_text("".join(cases[i].model_dump_json() + "\n" for i in sorted(rows.tolist())))
        paths.append(path)
    return paths[0], paths[1]


@pytest.fixture
def ws(agent_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the agent workspace (training writes models into it)."""
    home = tmp_path / "home"
    shutil.copytree(agent_settings.home, home)
    return agent_settings.model_copy(update={"home": home})


@pytest.fixture
def trained(ws: Settings, halves: tuple[Path, Path]) -> tuple[Settings, dict[str, Any], Path]:
    from agent.learned.train import train

    _, card, folder = train(ws, halves[0])
    return ws, card, folder


def test_no_trained_model_is_one_clear_error(ws: Settings) -> None:
    from agent.llm.models import build_chat_model

    with pytest.raises(InputInvalid, match="no learned model trained yet: run `sleuth model train"):
        build_chat_model("learned", ws)


def test_train_writes_model_and_card_with_the_training_hash(trained: tuple[Settings, dict[str, Any], Path],
                                                            halves: tuple[Path, Path]) -> None:
    from agent.learned.train import cases_hash

    ws, card, folder = trained
    train_cases = load_cases(halves[0]).cases
    assert folder.parent == ws.models_dir and (ws.models_dir / "current").read_text().strip() == folder.name
    on_disk = json.loads((folder / "card.json").read_text())
    assert on_disk["training"]["cases_sha256"] == cases_hash(train_cases)
    assert set(on_disk["training"]["alert_ids"]) == {c.alert_id for c in train_cases}
    assert {"lightgbm", "scikit-learn", "numpy"} <= set(on_disk["library"]) and on_disk["created_at"]
    assert on_disk["features"] and all(f["description"] for f in on_disk["features"])
    th = on_disk["thresholds"]
    assert 0 <= th["close_below"] < 1 and th["close_precision_target"] == 0.99 and "method" in th
    assert {"actionable_f1", "sar_caught", "close_precision", "benign_auto_closed",
            "typology_macro_f1"} <= set(on_disk["cv_metrics"])
    assert "# Learned model" in (folder / "card.md").read_text()


def test_investigate_with_learned_records_and_cites_the_drivers(trained: tuple[Settings, dict[str, Any], Path],
                                                                halves: tuple[Path, Path]) -> None:
    from agent.runner import Investigator

    ws, card, _ = trained
    alert_id = load_cases(halves[1]).cases[0].alert_id
    with Investigator(ws, "learned", record=False) as inv:
        report = inv.investigate(alert_id)
    assert report.model == f"learned:{card['model_id']}"
    ev = [e for e in report.evidence if e.tool == "learned_model"]
    assert len(ev) == 1 and ev[0].rows and {"learned_p_actionable", "learned_p_sar"} <= set(ev[0].facts)
    assert ev[0].id in report.decision.key_evidence_ids and f"[{ev[0].id}]" in report.decision.rationale
    assert f"[{ev[0].id}]" in report.narrative and "Model assessment" in report.narrative
    named = {r[1] for r in ev[0].rows}
    assert any(name in report.decision.rationale for name in named)
    assert report.verification.unsupported == []


def test_eval_refuses_cases_the_model_was_trained_on(trained: tuple[Settings, dict[str, Any], Path],
                                                     halves: tuple[Path, Path], tmp_path: Path) -> None:
    from evals.runner import RunOptions, run_eval

    ws, _, _ = trained
    with pytest.raises(InputInvalid, match="was trained on"):
        run_eval(RunOptions(cases=halves[0], model="learned", out=tmp_path / "run"), ws)
    log, _ = run_eval(RunOptions(cases=halves[1], model="learned", out=tmp_path / "run2", limit=6), ws)
    assert log.backend == "learned" and len(log.cases) == 6 and not any(c.error for c in log.cases)


@pytest.mark.slow
def test_cross_validation_never_scores_a_case_with_a_model_that_saw_its_label(
        ws: Settings, generated_dir: Path, tmp_path: Path) -> None:
    from evals.cv import CV_FILE, run_cv
    from evals.runner import RunOptions

    log, run_dir = run_cv(RunOptions(cases=generated_dir / "cases.jsonl", model="learned", out=tmp_path / "cv"), ws, 3)
    info = json.loads((run_dir / CV_FILE).read_text())
    all_ids = {c.alert_id for c in load_cases(generated_dir / "cases.jsonl").cases}
    by_model = {f["model_id"]: f for f in info["folds"]}
    assert len(by_model) == 3
    scored = [a for f in info["folds"] for a in f["scored_alert_ids"]]
    assert sorted(scored) == sorted(all_ids)  # every case scored exactly once
    for f in info["folds"]:
        assert not set(f["training_alert_ids"]) & set(f["scored_alert_ids"])
        saved = json.loads((run_dir / "folds" / str(f["fold"]) / "model" / "model.json").read_text())
        assert set(saved["training_alert_ids"]) == set(f["training_alert_ids"])  # what the model itself holds
    for rec in log.cases:
        model_id = rec.report.model.removeprefix("learned:")
        assert rec.alert_id not in by_model[model_id]["training_alert_ids"]
    assert len(log.cases) == len(all_ids) and log.metrics["disposition"]["n"] == len(all_ids)


def test_cv_needs_the_learned_backend(ws: Settings, generated_dir: Path) -> None:
    from evals.cv import run_cv
    from evals.runner import RunOptions

    with pytest.raises(InputInvalid, match="--model learned"):
        run_cv(RunOptions(cases=generated_dir / "cases.jsonl", model="rules"), ws, 5)


def test_labels_stay_out_of_the_workspace(trained: tuple[Settings, dict[str, Any], Path],
                                          halves: tuple[Path, Path]) -> None:
    """Training reads labels from the case file only: the database file is unchanged by it."""
    import hashlib

    from agent.learned.train import train

    ws, _, _ = trained
    before = hashlib.sha256(ws.db_path.read_bytes()).hexdigest()
    train(ws, halves[0])
    assert hashlib.sha256(ws.db_path.read_bytes()).hexdigest() == before


def test_hard_rules_floor_raises_a_learned_close() -> None:
    from agent.nodes.assess import policy_floor

    close = CaseDecision(disposition="close", typology="none", risk_score=3)
    prior = CaseDecision(disposition="sar", typology="sanctions_exposure", risk_score=90, flagged_txn_ids=["TX-1"])
    cards = {"chosen": {"hard_rules": ["direct sanctioned exposure"], "disposition": "sar"}}
    raised, note = policy_floor(close, prior, cards)
    assert (raised.disposition, raised.typology, raised.flagged_txn_ids) == ("sar", "sanctions_exposure", ["TX-1"])
    assert note and "raised to sar" in note
    same, none = policy_floor(close, prior, {"chosen": {"hard_rules": [], "disposition": "close"}})
    assert same is close and none is None


def test_a_chat_model_reads_the_learned_facts(trained: tuple[Settings, dict[str, Any], Path],
                                              halves: tuple[Path, Path]) -> None:
    from langchain_core.messages import HumanMessage

    from agent.llm.fake import FakeChatModel
    from agent.runner import Investigator

    ws, card, _ = trained
    alert_id = load_cases(halves[1]).cases[0].alert_id
    fake = FakeChatModel([{"tool": "done", "reason": "enough"},
                          {"disposition": "escalate", "typology": "structuring", "risk_score": 60,
                           "key_evidence_ids": ["E1"], "rationale": "see [E1]."}, ""])
    with Investigator(ws, "fake", model=fake, style="router", record=False) as inv:
        report = inv.investigate(alert_id)
    sheet = "\n".join(m.text for c in fake.calls for m in c.messages if isinstance(m, HumanMessage))
    assert f"Learned model {card['model_id']}: P(actionable)" in sheet
    assert any(e.tool == "learned_model" for e in report.evidence)
