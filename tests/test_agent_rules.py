"""The `rules` backend end to end on generated alerts: decision, grounded narrative, policy actions,
case store and audit log, replay, and the one-line error for an unknown alert."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.nodes.act import policy_actions
from agent.report import CaseDecision, CaseReport
from agent.runner import Investigator
from agent.verifier import verify
from tools.schema import ACCOUNT_AFFECTING_ACTIONS, TYPOLOGIES
from tools.settings import Settings

SLEUTH = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "sleuth"


def labels(generated_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (generated_dir / "cases.jsonl").read_text().splitlines() if line.strip()]


def pick_alerts(generated_dir: Path) -> list[str]:
    """A few labelled alerts of different kinds: a structuring SAR, an exposure SAR, an escalation, a close."""
    cases = sorted(labels(generated_dir), key=lambda c: c["alert_id"])
    wanted = [lambda c: c["typology"] == "structuring" and c["disposition"] == "sar",
              lambda c: c["typology"] in ("sanctions_exposure", "mixer_exposure") and c["disposition"] == "sar",
              lambda c: c["disposition"] == "escalate",
              lambda c: c["disposition"] == "close"]
    picked = []
    for want in wanted:
        found = next((c["alert_id"] for c in cases if want(c) and c["alert_id"] not in picked), None)
        assert found is not None, "the generated sample lacks a kind of case this test needs"
        picked.append(found)
    return picked


def copy_home(settings: Settings, dest: Path) -> Settings:
    """A private, writable copy of a workspace (database and playbook index)."""
    shutil.copytree(settings.home, dest)
    return settings.model_copy(update={"home": dest})


@pytest.fixture(scope="module")
def rules_run(agent_settings: Settings, generated_dir: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, CaseReport]]:
    """Investigate the picked alerts once, recording into a private copy of the workspace."""
    settings = copy_home(agent_settings, tmp_path_factory.mktemp("rules") / "home")
    with Investigator(settings, "rules") as inv:
        reports = {a: inv.investigate(a) for a in pick_alerts(generated_dir)}
    return settings, reports


def test_decisions_are_valid(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    _, reports = rules_run
    for alert_id, report in reports.items():
        d = CaseDecision.model_validate(report.decision.model_dump())
        assert report.case_id == alert_id and report.model == "rules" and report.style == "rules"
        assert d.typology in TYPOLOGIES
        assert (d.typology == "none") == (d.disposition == "close")
        ids = {e.id for e in report.evidence}
        assert d.key_evidence_ids and set(d.key_evidence_ids) <= ids
        if d.disposition != "close":
            assert d.flagged_txn_ids and set(d.flagged_txn_ids) <= set(report.alert["txn_ids"])
        assert report.prompt_version and report.playbook_version and report.playbooks_cited
        assert report.evidence[0].id == "E1" and report.evidence[0].tool == "alert"


def test_narrative_fully_grounded(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    """The template narrative carries no unsupported claim at all (nothing had to be removed)."""
    _, reports = rules_run
    for alert_id, report in reports.items():
        v = report.verification
        assert v.unsupported == [], (alert_id, v.unsupported)
        assert v.claims_checked > 0 and v.claims_supported == v.claims_checked
        assert not v.revised
        assert "Taken together, the activity" in report.narrative, alert_id  # the conclusion
        recheck = verify(report.narrative, {e.id: e for e in report.evidence})
        assert recheck.unsupported == [] and recheck.checked == v.claims_checked


def test_actions_come_from_policy(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    _, reports = rules_run
    for report in reports.values():
        d = report.decision
        assert [a.action for a in report.actions] == policy_actions(d.typology, d.disposition)
        assert [a.index for a in report.actions] == list(range(1, len(report.actions) + 1))
        for a in report.actions:
            assert a.status == ("pending_approval" if a.action in ACCOUNT_AFFECTING_ACTIONS else "recommended")
            assert a.decided_by is None and a.decided_at is None
    # The picked benign case is an OTC desk; on the fixture's 90 days of data its clients have no
    # earlier months to recur from, so the feature-based rules escalate it (a human look, not a close).
    # The policy check above must still cover a SAR and a non-SAR disposition.
    dispositions = {r.decision.disposition for r in reports.values()}
    assert "sar" in dispositions and len(dispositions) >= 2


def test_case_store_and_audit_log(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    from agent.store import CaseStore

    settings, reports = rules_run
    store = CaseStore(settings)
    assert store.ids() == sorted(reports)
    for alert_id, report in reports.items():
        stored = store.load(alert_id)
        assert stored.decision == report.decision
        assert stored.narrative == report.narrative
        assert [e.id for e in stored.evidence] == [e.id for e in report.evidence]
        assert any(t.get("tool") == "alert" for t in stored.trace)
    events = [json.loads(line) for line in settings.audit_log.read_text().splitlines()]
    recorded = [e for e in events if e["event"] == "case_recorded"]
    assert sorted(e["case_id"] for e in recorded) == sorted(reports)
    for e in recorded:
        d = reports[e["case_id"]].decision
        assert (e["disposition"], e["typology"], e["model"]) == (d.disposition, d.typology, "rules")
        assert e["ts"]


def test_rerun_is_deterministic(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    from agent.replay import diff_reports

    settings, reports = rules_run
    with Investigator(settings, "rules", record=False) as inv:
        for alert_id, report in reports.items():
            assert diff_reports(report, inv.investigate(alert_id)) == []


def test_parallel_evidence_steps_match_one_thread(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    """Evidence steps on two cursors give the same evidence, ids and decision as one after another."""
    from agent.replay import diff_reports

    settings, reports = rules_run
    serial = settings.model_copy(update={"gather_threads": 1})
    parallel = settings.model_copy(update={"gather_threads": 2})
    with Investigator(serial, "rules", record=False) as one, Investigator(parallel, "rules", record=False) as two:
        for alert_id in reports:
            a, b = one.investigate(alert_id), two.investigate(alert_id)
            assert [(e.id, e.tool, e.args, e.rows) for e in a.evidence] == \
                [(e.id, e.tool, e.args, e.rows) for e in b.evidence]
            assert diff_reports(a, b) == []


def test_investigate_many_prefetches_and_matches(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    """Batch investigation (next alert's query embedded in the background) decides exactly as one at a
    time, and an unknown alert comes back as its error in place, not as an exception."""
    from agent.replay import diff_reports
    from tools.errors import NotFound

    settings, reports = rules_run
    ids = [*reports, "ALT-NOPE"]
    with Investigator(settings, "rules", record=False) as inv:
        got = dict(inv.investigate_many(ids))
    assert list(got) == ids
    assert isinstance(got["ALT-NOPE"], NotFound)
    for alert_id, report in reports.items():
        assert diff_reports(report, got[alert_id]) == []


def test_replay_command_shows_identical(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    from agent.cli import app

    settings, reports = rules_run
    alert_id = next(iter(reports))
    before = settings.audit_log.read_text()
    res = CliRunner().invoke(app, ["replay", alert_id, "--home", str(settings.home)])
    assert res.exit_code == 0, res.output
    assert f"replay of {alert_id}: identical" in res.output
    assert settings.audit_log.read_text() == before  # a replay records nothing


def test_replay_reports_a_tampered_case(rules_run: tuple[Settings, dict[str, CaseReport]], tmp_path: Path) -> None:
    from agent.cli import app
    from agent.store import CaseStore

    settings = copy_home(rules_run[0], tmp_path / "home")
    alert_id = next(iter(rules_run[1]))
    store = CaseStore(settings)
    report = store.load(alert_id)
    report.narrative += " Tampered."
    store.path(alert_id).write_text(report.model_dump_json(), encoding="utf-8")
    res = CliRunner().invoke(app, ["replay", alert_id, "--home", str(settings.home)])
    assert res.exit_code == 1
    assert "narrative differs" in res.output


def test_unknown_alert_is_a_one_line_error(agent_settings: Settings) -> None:
    env = {**os.environ, "SLEUTH_HOME": str(agent_settings.home), "SLEUTH_MODEL": "rules"}
    res = subprocess.run([str(SLEUTH), "investigate", "ALT-99999"], capture_output=True, text=True, env=env,
                         check=False, timeout=120)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "ALT-99999" in lines[0] and lines[0].startswith("error:"), res.stderr
    assert res.stdout.strip() == ""
    assert not (agent_settings.home / "cases" / "ALT-99999.json").exists()


def test_case_files_read_for_an_investigator(rules_run: tuple[Settings, dict[str, CaseReport]]) -> None:
    """Markdown and HTML case files: the decision up top, every citation a link to an evidence block
    that exists, the grounding line, actions with their status, no "None" cells, text escaped."""
    import re

    from agent.casefile import render_html, render_markdown

    _, reports = rules_run
    for alert_id, report in reports.items():
        d = report.decision
        md, page = render_markdown(report), render_html(report)
        assert md.startswith(f"# Case {alert_id}") and f"**Disposition:** {d.disposition.upper()}" in md
        assert f"{report.verification.claims_supported} of {report.verification.claims_checked} claims" in md
        ids = {e.id for e in report.evidence}
        cited = set(re.findall(r'href="#(E\d+)"', page))
        assert cited and cited <= ids and all(f"id='{i}'" in page for i in cited)
        for a in report.actions:
            assert f"<code>{a.action}</code> <span class='{a.status}'>" in page
        assert "<td>None</td>" not in page and "| None |" not in md
        assert "<script" not in page.lower()
