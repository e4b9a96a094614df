"""Bulk triage writes the same case report as `sleuth investigate` (the per-case path) for an alert:
the case files agree on everything but time stamps and timings. All 500 sample alerts (slow); the
first 40 by default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.report import comparable
from agent.runner import Investigator
from agent.triage import run_triage
from tools.settings import Settings


@pytest.fixture(scope="module")
def home(agent_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    dest = tmp_path_factory.mktemp("identity") / "home"
    shutil.copytree(agent_settings.home, dest, ignore=shutil.ignore_patterns("cases", "audit.*", "triage"))
    return agent_settings.model_copy(update={"home": dest})


def stored(settings: Settings, ids: list[str]) -> dict[str, dict]:
    return {a: comparable(json.loads((settings.cases_dir / f"{a}.json").read_text())) for a in ids}


def check_identical(home: Settings, tmp_path: Path, n: int | None) -> None:
    from tools.db import Database

    with Database.open(home) as db:
        ids = [a for (a,) in db.execute("SELECT alert_id FROM alerts ORDER BY alert_id").rows][:n]
    with Investigator(home) as inv:  # what `sleuth investigate ALERT` runs, recording the case
        for alert_id in ids:
            inv.investigate(alert_id)
    per_case = stored(home, ids)
    shutil.rmtree(home.cases_dir)
    which = tmp_path / "ids.txt"
    which.write_text("\n".join(ids) + "\n")
    result = run_triage(home, "rules", str(which), tmp_path / "out", 2, resume=False, fresh=False)
    assert len(result["records"]) == len(ids)
    bulk = stored(home, ids)
    differing = [a for a in ids if bulk[a] != per_case[a]]
    assert not differing, f"{len(differing)} of {len(ids)} reports differ, e.g. {differing[0]}"


def test_bulk_and_per_case_reports_are_identical(home: Settings, tmp_path: Path) -> None:
    check_identical(home, tmp_path, 40)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_bulk_and_per_case_reports_are_identical_on_the_whole_sample(home: Settings, tmp_path: Path) -> None:
    check_identical(home, tmp_path, None)
