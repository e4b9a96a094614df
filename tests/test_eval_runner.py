"""eval run: scores every case once, survives a crash mid-run, resumes exactly once, runs in a pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fixtures import report

from agent.report import CaseReport
from evals.log import load_run
from evals.runner import CASES_FILE, RunOptions, read_records, run_eval
from tools.errors import InputInvalid, NotFound
from tools.settings import Settings, load_settings

LABELS = [  # alert, truth disposition, typology, what the fake agent predicts
    ("ALT-1", "sar", "structuring", "sar"),
    ("ALT-2", "sar", "mixer_exposure", "close"),
    ("ALT-3", "escalate", "pass_through", "escalate"),
    ("ALT-4", "close", "none", "close"),
    ("ALT-5", "close", "none", "escalate"),
    ("ALT-6", "close", "none", "close"),
]
PRED = {a: p for a, _, _, p in LABELS}
TYPO = {a: t for a, _, t, _ in LABELS}


def write_cases(tmp_path: Path) -> Path:
    path = tmp_path / "mini.jsonl"
    path.write_text("".join(json.dumps({"alert_id": a, "disposition": d, "typology": t,
                                        "expected_actions": ["close"] if d == "close" else ["escalate_l2"]}) + "\n"
                            for a, d, t, _ in LABELS), encoding="utf-8")
    return path


def fake_investigate(alert_id: str) -> CaseReport:
    pred = PRED[alert_id]
    return report(alert_id, pred, TYPO[alert_id] if pred != "close" else "none",
                  actions=["close"] if pred == "close" else ["escalate_l2"], timings={"total": 10.0})


def fake_factory(settings: Settings, model: str):
    return fake_investigate, lambda: None


class Crash(RuntimeError):
    """A bug in the agent: not a user error, so it stops the run."""


def crashing_factory(settings: Settings, model: str):
    def investigate(alert_id: str) -> CaseReport:
        if alert_id == "ALT-4":
            raise Crash("boom")
        return fake_investigate(alert_id)
    return investigate, lambda: None


def settings_for(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "ws")


def test_run_scores_every_case_and_writes_outputs(tmp_path: Path) -> None:
    out = tmp_path / "run"
    log, run_dir = run_eval(RunOptions(cases=write_cases(tmp_path), model="rules", out=out), settings_for(tmp_path),
                            factory=fake_factory)
    assert run_dir == out
    assert [c.alert_id for c in log.cases] == [a for a, *_ in LABELS]
    assert log.metrics["disposition"]["accuracy"] == pytest.approx(4 / 6)
    assert log.metrics["disposition"]["sar_recall"] == 0.5
    assert log.backend == "rules" and log.prompt_versions == ["p1"] and log.case_set.name == "mini"
    assert log.tokens.total == 0 and log.timings.case_seconds_total >= 0
    for name in ("run.json", "report.md", "report.html", "meta.json", CASES_FILE):
        assert (out / name).exists(), name
    assert load_run(out).metrics == json.loads(log.model_dump_json())["metrics"]
    worst = sorted(p.name for p in (out / "cases").iterdir())
    assert "ALT-2.json" in worst  # the missed SAR is linked from the report
    assert "cases/ALT-2" in (out / "report.md").read_text()


def test_crash_then_resume_records_each_case_once(tmp_path: Path) -> None:
    cases, out, settings = write_cases(tmp_path), tmp_path / "run", settings_for(tmp_path)
    with pytest.raises(Crash):
        run_eval(RunOptions(cases=cases, model="rules", out=out), settings, factory=crashing_factory)
    assert [r.alert_id for r in read_records(out / CASES_FILE)] == ["ALT-1", "ALT-2", "ALT-3"]
    assert not (out / "run.json").exists()
    with open(out / CASES_FILE, "a", encoding="utf-8") as fh:
        fh.write('{"alert_id": "ALT-4", "label": {"alert')  # a write torn by the crash
    with pytest.raises(InputInvalid, match="already holds an eval run"):
        run_eval(RunOptions(cases=cases, model="rules", out=out), settings, factory=fake_factory)
    with pytest.raises(InputInvalid, match="model 'rules', not 'escalate-all'"):
        run_eval(RunOptions(cases=cases, model="escalate-all", out=out, resume=True), settings)
    seen: list[str] = []
    log, _ = run_eval(RunOptions(cases=cases, model="rules", out=out, resume=True), settings, factory=fake_factory,
                      on_case=lambda rec: seen.append(rec.alert_id))
    assert seen == ["ALT-4", "ALT-5", "ALT-6"]
    lines = (out / CASES_FILE).read_text().splitlines()
    assert sorted(json.loads(line)["alert_id"] for line in lines) == [a for a, *_ in LABELS]
    assert log.timings.sessions == 2 and len(log.cases) == 6
    # a third resume has nothing to do and changes nothing
    seen.clear()
    log2, _ = run_eval(RunOptions(cases=cases, model="rules", out=out, resume=True), settings, factory=fake_factory,
                       on_case=lambda rec: seen.append(rec.alert_id))
    assert seen == [] and len((out / CASES_FILE).read_text().splitlines()) == 6
    assert log2.metrics["disposition"] == log.metrics["disposition"]


def test_resume_without_out_finds_the_latest_matching_run(tmp_path: Path) -> None:
    cases, settings = write_cases(tmp_path), settings_for(tmp_path)
    with pytest.raises(NotFound, match="no run of rules"):
        run_eval(RunOptions(cases=cases, model="rules", resume=True), settings, factory=fake_factory)
    with pytest.raises(Crash):
        run_eval(RunOptions(cases=cases, model="rules"), settings, factory=crashing_factory)
    log, run_dir = run_eval(RunOptions(cases=cases, model="rules", resume=True), settings, factory=fake_factory)
    assert run_dir.parent == settings.runs_dir and len(log.cases) == 6


def test_pool_workers_run_each_case_once(tmp_path: Path) -> None:
    out = tmp_path / "run"
    log, _ = run_eval(RunOptions(cases=write_cases(tmp_path), model="rules", out=out, workers=2),
                      settings_for(tmp_path), factory=fake_factory)
    ids = [json.loads(line)["alert_id"] for line in (out / CASES_FILE).read_text().splitlines()]
    assert sorted(ids) == sorted(a for a, *_ in LABELS) and len(ids) == 6
    assert log.timings.workers == 2
    assert log.metrics["disposition"]["accuracy"] == pytest.approx(4 / 6)


def test_limit_and_user_errors_become_failed_cases(tmp_path: Path) -> None:
    def factory(settings: Settings, model: str):
        def investigate(alert_id: str) -> CaseReport:
            if alert_id == "ALT-2":
                raise NotFound("no alert 'ALT-2' in the workspace")
            return fake_investigate(alert_id)
        return investigate, lambda: None

    log, _ = run_eval(RunOptions(cases=write_cases(tmp_path), model="rules", out=tmp_path / "r", limit=3),
                      settings_for(tmp_path), factory=factory)
    assert len(log.cases) == 3 and log.case_set.limit == 3
    failed = log.cases[1]
    assert failed.report is None and failed.error.startswith("NotFound: no alert")
    assert log.metrics["disposition"]["errors"] == 1
    assert any("1 case(s) failed" in n for n in log.notes)


def test_escalate_all_baseline_needs_no_workspace(tmp_path: Path) -> None:
    log, _ = run_eval(RunOptions(cases=write_cases(tmp_path), model="escalate-all", out=tmp_path / "b"),
                      settings_for(tmp_path))
    m = log.metrics
    assert m["disposition"]["actionable_recall"] == 1.0 and m["disposition"]["sar_recall"] == 0.0
    assert m["disposition"]["actionable_precision"] == pytest.approx(3 / 6)
    assert m["disposition"]["close_precision"] is None and m["disposition"]["benign_auto_closed"] == 0.0
    assert m["typology"]["typology_macro_f1"] == 0.0
    assert log.backend == "escalate-all" and log.styles == ["baseline"]


def test_bad_options(tmp_path: Path) -> None:
    cases, settings = write_cases(tmp_path), settings_for(tmp_path)
    with pytest.raises(InputInvalid, match="unknown --model"):
        run_eval(RunOptions(cases=cases, model="gpt"), settings)
    with pytest.raises(InputInvalid, match="add --judge"):
        run_eval(RunOptions(cases=cases, model="rules", repeats=3), settings)
    from tools.errors import WorkspaceMissing
    with pytest.raises(WorkspaceMissing, match="sleuth workspace ensure"):
        run_eval(RunOptions(cases=cases, model="rules"), settings)


def test_judge_scores_narratives_with_repeats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.llm.fake import FakeChatModel
    from evals.scorers import judge

    verdict = {"clarity": 4, "chronology": 4, "specificity": 4, "reasoning": 4, "objectivity": 4, "comment": "ok"}
    fake = FakeChatModel([{**verdict, "overall": v} for v in (3, 5, 4, 4)])

    def fake_build(spec: str, settings: Settings, repeats: int = 1):
        assert spec == "openai:judge-model"
        return judge.judge_scorer(fake, "openai:judge-model", repeats), "openai:judge-model"

    def narrating_factory(settings: Settings, model: str):
        def investigate(alert_id: str) -> CaseReport:
            rep = fake_investigate(alert_id)
            rep.narrative = "ACC-000123 moved funds." if alert_id in ("ALT-1", "ALT-3") else ""
            return rep
        return investigate, lambda: None

    monkeypatch.setattr(judge, "build_judge", fake_build)
    log, _ = run_eval(RunOptions(cases=write_cases(tmp_path), model="rules", out=tmp_path / "j", judge="openai:judge-model",
                                 repeats=2), settings_for(tmp_path), factory=narrating_factory)
    assert log.judge == "openai:judge-model" and log.judge_repeats == 2
    m = log.metrics["judge"]
    assert m["judge_cases"] == 2 and m["judge_overall"] == pytest.approx((4.0 + 4.0) / 2)
    assert m["judge_spread"] == pytest.approx((2 ** 0.5 + 0.0) / 2)  # stdev of (3, 5) and of (4, 4)
    assert fake.remaining == 0


def test_retry_failed_reruns_only_failed_cases(tmp_path: Path) -> None:
    def flaky_factory(settings: Settings, model: str):
        def investigate(alert_id: str) -> CaseReport:
            if alert_id == "ALT-3":
                from tools.errors import SleuthError
                raise SleuthError("model call failed: timed out")
            return fake_investigate(alert_id)
        return investigate, lambda: None

    cases, out, settings = write_cases(tmp_path), tmp_path / "r", settings_for(tmp_path)
    first, _ = run_eval(RunOptions(cases=cases, model="rules", out=out), settings, factory=flaky_factory)
    assert first.metrics["disposition"]["errors"] == 1
    seen: list[str] = []
    again, _ = run_eval(RunOptions(cases=cases, model="rules", out=out, resume=True), settings, factory=fake_factory,
                        on_case=lambda rec: seen.append(rec.alert_id))
    assert seen == [] and again.metrics["disposition"]["errors"] == 1  # a plain resume keeps the failure
    fixed, _ = run_eval(RunOptions(cases=cases, model="rules", out=out, resume=True, retry_failed=True), settings,
                        factory=fake_factory, on_case=lambda rec: seen.append(rec.alert_id))
    assert seen == ["ALT-3"]
    assert fixed.metrics["disposition"]["errors"] == 0 and len(fixed.cases) == 6
    # the resume compacted the log without the failure, then committed the retried case: one line per case
    assert len((out / CASES_FILE).read_text().splitlines()) == 6


def test_the_log_names_the_code_that_started_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run resumed on other code keeps the first session's version, and its notes say so."""
    import evals.version
    from evals.log import CodeVersion

    cases, out, settings = write_cases(tmp_path), tmp_path / "run", settings_for(tmp_path)
    monkeypatch.setattr(evals.version, "code_version", lambda: CodeVersion(describe="v1-aaaa", commit="a" * 40))
    with pytest.raises(Crash):
        run_eval(RunOptions(cases=cases, model="rules", out=out), settings, factory=crashing_factory)
    monkeypatch.setattr(evals.version, "code_version", lambda: CodeVersion(describe="v1-bbbb", commit="b" * 40))
    log, _ = run_eval(RunOptions(cases=cases, model="rules", out=out, resume=True), settings, factory=fake_factory)
    assert log.code.describe == "v1-aaaa"
    assert any("different code: v1-aaaa, v1-bbbb" in n for n in log.notes)
    assert load_run(out).code.commit == "a" * 40
