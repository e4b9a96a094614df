"""evals.embed_vectors compares two runs' vectors per graph (the cross-CPU check of docs/cpu-independence.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evals.embed_vectors import compare, main


def test_compare_reports_the_largest_difference_and_smallest_cosine(tmp_path: Path) -> None:
    a = np.eye(3, 4, dtype=np.float32)
    b = a.copy()
    b[2] = np.array([0.0, 0.0, 0.6, 0.8], dtype=np.float32)
    np.savez(tmp_path / "a.npz", onnx=a, int8=a)
    np.savez(tmp_path / "b.npz", onnx=a, int8=b)
    got = compare(tmp_path / "a.npz", tmp_path / "b.npz")
    assert got["onnx"] == {"max_abs_diff": 0.0, "min_cosine": 1.0}
    assert abs(got["int8"]["max_abs_diff"] - 0.8) < 1e-6 and abs(got["int8"]["min_cosine"] - 0.6) < 1e-6


def test_bad_arguments_print_the_usage_and_exit_2(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["nonsense"]) == 2
    assert "python -m evals.embed_vectors" in capsys.readouterr().err
