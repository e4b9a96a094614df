"""`bench triage`: a subset of alerts on a private copy, with CPU time, peak memory and the split of time."""

from __future__ import annotations

from evals.bench_agent import STAGES, bench_triage
from tools.settings import Settings


def cases(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.cases_dir.glob("*.json")) if settings.cases_dir.exists() else []


def test_bench_triage_reports_its_figures(agent_settings: Settings) -> None:
    before = cases(agent_settings)
    r = bench_triage(agent_settings, workers=1, alerts=6)
    assert r["alerts"] == 6 and r["ok"] == 6
    assert set(r["stage_s"]) == {*STAGES, "writes"} and r["stage_s"]["features"] > 0
    assert r["cpu_s"]["parent"] > 0 and r["peak_mb"]["parent"] > 0
    assert cases(agent_settings) == before  # the private copy is written, never the workspace's case store
