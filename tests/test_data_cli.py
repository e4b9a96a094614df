"""`sleuth alerts`, `data stats`, `data generate`, `workspace ensure`, `demo` and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_load import write_folder
from typer.testing import CliRunner

from agent.cli import app
from tools.data.load import load_folder
from tools.data.stats import AlertFilter, alert_queue, alert_statuses
from tools.data.workspace import default_sample_dir, ensure_workspace
from tools.errors import InputInvalid, WorkspaceMissing
from tools.settings import Settings, load_settings

SLEUTH = Path(sys.executable).parent / "sleuth"
runner = CliRunner()


@pytest.fixture()
def loaded(tmp_path: Path) -> Settings:
    settings = load_settings()
    load_folder(write_folder(tmp_path / "good"), settings)
    return settings


def run_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_alerts_without_filters_prints_the_summary_and_the_queue(loaded: Settings) -> None:
    result = runner.invoke(app, ["alerts"])
    assert result.exit_code == 0, result.output
    assert "2 alerts from 2026-01-05" in result.stdout
    assert "TM-RAPID-02" in result.stdout and "by status" in result.stdout and "ALT-2" in result.stdout


def test_alerts_filters(loaded: Settings) -> None:
    assert run_json("alerts")["total"] == 2
    assert [a["alert_id"] for a in run_json("alerts", "--rule", "TM-VEL-07")["alerts"]] == ["ALT-2"]
    assert [a["alert_id"] for a in run_json("alerts", "--account", "ACC-000001")["alerts"]] == ["ALT-1"]
    assert run_json("alerts", "--since", "2026-01-06")["total"] == 1
    assert run_json("alerts", "--until", "2026-01-05")["total"] == 1  # a date includes the whole day
    assert run_json("alerts", "--until", "2026-01-04")["total"] == 0
    limited = run_json("alerts", "--limit", "1")
    assert limited["total"] == 2 and len(limited["alerts"]) == 1
    assert run_json("alerts", "--status", "closed")["total"] == 0


def test_case_store_overrides_status(loaded: Settings) -> None:
    loaded.cases_dir.mkdir(parents=True)
    (loaded.cases_dir / "ALT-1.json").write_text(json.dumps({"alert_id": "ALT-1", "decision": {}}))
    (loaded.cases_dir / "ALT-2.json").write_text(json.dumps({"status": "escalated"}))
    (loaded.cases_dir / "ALT-3.json").write_text("{torn")
    assert alert_statuses(loaded) == {"ALT-1": "closed", "ALT-2": "escalated"}
    assert [a["alert_id"] for a in run_json("alerts", "--status", "closed")["alerts"]] == ["ALT-1"]
    queue = alert_queue(loaded, AlertFilter(), 10)
    assert queue["by_status"] == {"closed": 1, "escalated": 1}


def test_bad_date_is_a_user_error(loaded: Settings) -> None:
    result = runner.invoke(app, ["alerts", "--since", "last tuesday"])
    assert isinstance(result.exception, InputInvalid)


def test_stats_counts_and_typology_mix_from_a_case_file(loaded: Settings, tmp_path: Path) -> None:
    stats = run_json("data", "stats")
    assert stats["rows"]["transactions"] == 4 and stats["rows"]["flows"] == 9
    assert stats["alerts_by_rule"] == {"TM-RAPID-02": 1, "TM-VEL-07": 1}
    assert stats["transactions_by_kind"]["trade"] == {"count": 1, "usd": 60.0}
    assert "cases" not in stats
    cases = tmp_path / "good" / "cases.jsonl"
    with_cases = run_json("data", "stats", "--cases", str(cases))
    assert with_cases["cases"] == {"typology": {"pass_through": 1}, "disposition": {"sar": 1}}
    text = runner.invoke(app, ["data", "stats", "--cases", str(cases)])
    assert text.exit_code == 0 and "pass_through" in text.stdout


def test_stats_on_generated_workspace(workspace_settings: Settings, generated_dir: Path) -> None:
    result = runner.invoke(app, ["data", "stats", "--json", "--home", str(workspace_settings.home),
                                 "--cases", str(generated_dir / "cases.jsonl")])
    stats = json.loads(result.stdout)
    assert stats["rows"]["alerts"] == sum(stats["alerts_by_rule"].values()) > 0
    assert sum(stats["cases"]["typology"].values()) == stats["rows"]["alerts"]


def test_workspace_ensure_loads_the_sample_once(tmp_path: Path) -> None:
    # the library call: the CLI command also builds the playbook index, which is not this test's business
    sample = write_folder(tmp_path / "sample")
    settings = load_settings()
    first = ensure_workspace(settings, sample)
    assert first.created and first.summary is not None and first.summary.rows["alerts"] == 2
    stamp = (settings.db_path.stat().st_mtime_ns, settings.db_path.stat().st_size)
    again = ensure_workspace(settings, sample)
    assert not again.created
    assert (settings.db_path.stat().st_mtime_ns, settings.db_path.stat().st_size) == stamp


def test_default_sample_is_the_committed_one() -> None:
    sample = default_sample_dir()
    assert sample.parts[-2:] == ("data_samples", "sample")


def test_workspace_ensure_without_sample_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["workspace", "ensure", "--sample", str(tmp_path / "nope")])
    assert isinstance(result.exception, WorkspaceMissing)
    assert "sleuth data generate" in str(result.exception)


def test_generate_command_writes_a_loadable_folder(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    result = runner.invoke(app, ["data", "generate", "--accounts", "120", "--days", "40", "--seed", "5",
                                 "--out", str(out), "--format", "csv", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"]["transactions"] > 0 and (out / "transactions.csv").exists()
    loaded = runner.invoke(app, ["data", "load", str(out), "--json"])
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["ignored"] == ["cases.jsonl", "truth"]


def test_generate_rejects_impossible_sizes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "generate", "--accounts", "1", "--out", str(tmp_path / "x")])
    assert isinstance(result.exception, InputInvalid)


def test_console_script_errors_are_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "SLEUTH_HOME": str(tmp_path / "home")}
    missing = subprocess.run([str(SLEUTH), "alerts"], capture_output=True, text=True, env=env, check=False)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "sleuth workspace ensure" in missing.stderr
    bad = write_folder(tmp_path / "bad", {"transactions.csv": bytes(range(256)) * 8})
    loaded = subprocess.run([str(SLEUTH), "data", "load", str(bad)], capture_output=True, text=True, env=env,
                            check=False)
    assert loaded.returncode == 2 and "Traceback" not in loaded.stderr
    assert loaded.stderr.splitlines()[1] == "transactions.csv:1:-: binary content, not a CSV text file"
    assert not (tmp_path / "home").exists()
