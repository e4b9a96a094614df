"""evals/transfer.py: the side-by-side table, run metrics and world specs (no runs here: those take
minutes; the figures in evals/README.md come from the command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.transfer import METRICS, World, metrics_of, prepare, table


def test_table_has_one_row_per_regime_and_names_failures() -> None:
    ok = {"actionable_f1": 0.5, "sar_caught": 1.0, "close_precision": 0.96, "benign_auto_closed": 0.1,
          "typology_macro_f1": None}
    md = table([("lagoon", "rules", "cross-world", ok), ("lagoon", "learned", "zero-shot", {"error": "no model"})])
    lines = md.splitlines()
    assert len(lines) == 4 and lines[0].count("|") == len(METRICS) + 4
    assert "| lagoon | rules | cross-world | 0.500 | 1.000 | 0.960 | 0.100 | n/a |" in lines
    assert "| lagoon | learned | zero-shot | no model |" in lines[3]


def test_metrics_come_from_the_run_log(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"metrics": {
        "disposition": {"actionable_f1": 0.9, "sar_caught": 0.97, "close_precision": 0.99, "benign_auto_closed": 0.7},
        "typology": {"typology_macro_f1": 0.8}}}))
    assert metrics_of(tmp_path) == {"actionable_f1": 0.9, "sar_caught": 0.97, "close_precision": 0.99,
                                    "benign_auto_closed": 0.7, "typology_macro_f1": 0.8}


def test_world_specs(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="unknown world"):
        prepare("atlantis", tmp_path)
    w = World("random:5", tmp_path / "d", tmp_path / "d" / "cases.jsonl", tmp_path / "h")
    assert w.name == "random-5" and w.train_cases == tmp_path / "d" / "cases.jsonl"
