"""The `sleuth eval` commands end to end with the escalate-all baseline (no workspace, no model)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app

CASES = [("ALT-1", "sar", "structuring"), ("ALT-2", "escalate", "pass_through"), ("ALT-3", "close", "none"),
         ("ALT-4", "close", "none")]


def test_run_report_gate_compare(tmp_path: Path) -> None:
    cases = tmp_path / "mini.jsonl"
    cases.write_text("".join(json.dumps({"alert_id": a, "disposition": d, "typology": t}) + "\n" for a, d, t in CASES))
    runner = CliRunner()
    home = ["--home", str(tmp_path / "ws")]
    res = runner.invoke(app, ["eval", "run", "--cases", str(cases), "--model", "escalate-all", "--out",
                              str(tmp_path / "a"), "--workers", "1", *home])
    assert res.exit_code == 0, res.output
    assert "Actionable recall" in res.output and (tmp_path / "a" / "report.html").exists()

    (tmp_path / "a" / "report.md").unlink()
    res = runner.invoke(app, ["eval", "report", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "report.md").exists()

    thresholds = tmp_path / "t.toml"
    thresholds.write_text('["mini"."escalate-all"]\nactionable_recall = 1.0\nsar_recall = 0.5\nerrors_max = 0\n')
    res = runner.invoke(app, ["eval", "gate", str(tmp_path / "a" / "run.json"), "--thresholds", str(thresholds)])
    assert res.exit_code == 1
    assert "FAIL sar_recall = 0.000, required >= 0.500" in res.output
    assert "gate mini.escalate-all: 1 of 3 checks failed" in res.output

    res = runner.invoke(app, ["eval", "run", "--cases", str(cases), "--model", "escalate-all", "--out",
                              str(tmp_path / "b"), "--limit", "3", *home])
    assert res.exit_code == 0, res.output
    md = tmp_path / "cmp.md"
    res = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--md", str(md),
                              "--resamples", "200"])
    assert res.exit_code == 0, res.output
    assert "1 case(s) only in A" in md.read_text() and "McNemar" in res.output
