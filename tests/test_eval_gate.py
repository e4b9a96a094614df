"""eval gate: the right section, one failing line per metric, undefined and unknown metrics fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.gate import DEFAULT_THRESHOLDS, gate, load_thresholds
from evals.log import CaseSetInfo, RunLog
from tools.errors import InputInvalid


def run_log(name: str = "test", backend: str = "rules", **metrics: float | None) -> RunLog:
    return RunLog(run_id="r", model=backend, backend=backend, metrics={"m": dict(metrics)},
                  case_set=CaseSetInfo(name=name, path=f"{name}.jsonl", sha256="0" * 64, n_cases=1))


def thresholds(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_thresholds_parse() -> None:
    sections = load_thresholds(DEFAULT_THRESHOLDS)
    assert sections["test.rules"]["sar_recall"] == 0.95
    assert sections["test.rules"]["unsupported_claims_max"] == 0


def test_pass_and_fail_lines(tmp_path: Path) -> None:
    path = thresholds(tmp_path, "[test.rules]\nsar_recall = 0.95\nunsupported_claims_max = 0\n"
                                "typology_macro_f1 = 0.8\njudge_overall = 3.0\n[test.local]\nsar_recall = 0.5\n")
    log = run_log(sar_recall=0.9, unsupported_claims=2, typology_macro_f1=None)
    name, checks = gate(log, path)
    assert name == "test.rules"
    failed = [c.line() for c in checks if not c.ok]
    assert failed == [
        "sar_recall = 0.900, required >= 0.950",
        "unsupported_claims = 2, required <= 0",
        "typology_macro_f1: undefined (n/a) in this run; required >= 0.800",
        "judge_overall: not in this run (misspelt, or its scorer did not run); required >= 3.000",
    ]
    name, checks = gate(run_log(backend="local:qwen", sar_recall=0.9), path)
    assert name == "test.local" and all(c.ok for c in checks)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputInvalid, match="no section .dev.rules."):
        gate(run_log(name="dev"), thresholds(tmp_path, "[test.rules]\nsar_recall = 0.9\n"))
    with pytest.raises(InputInvalid, match="not valid TOML"):
        load_thresholds(thresholds(tmp_path, "[test.rules\n"))
    with pytest.raises(InputInvalid, match="is not a number"):
        load_thresholds(thresholds(tmp_path, "[test.rules]\nsar_recall = 'high'\n"))
    with pytest.raises(InputInvalid, match="not found"):
        load_thresholds(tmp_path / "missing.toml")
