"""eval compare on two synthetic run logs that differ in a known set of cases."""

from __future__ import annotations

import pytest
from eval_fixtures import case, report

from evals.compare import compare_runs, mcnemar
from evals.compare_report import render_markdown
from evals.log import CaseSetInfo, RunLog
from evals.runner import aggregate_records, score_case
from evals.scorers import default_scorers

N = 40  # ALT-00..19 actionable (sar), ALT-20..39 close
FIXED_BY_B = {f"ALT-{i:02d}" for i in (*range(0, 8), *range(20, 27))}  # 15 cases A gets wrong, B right
BROKEN_BY_B = {"ALT-15"}  # A right, B wrong


def truth(i: int) -> str:
    return "sar" if i < 20 else "close"


def wrong(i: int) -> str:
    return "close" if i < 20 else "escalate"


def a_pred(i: int) -> str:
    return wrong(i) if i < 10 or 20 <= i < 30 else truth(i)  # 20 wrong


def b_pred(i: int) -> str:
    aid = f"ALT-{i:02d}"
    if aid in FIXED_BY_B:
        return truth(i)
    if aid in BROKEN_BY_B:
        return wrong(i)
    return a_pred(i)


def make_log(run_id: str, pred, flag_even: bool) -> RunLog:
    scorers = default_scorers()
    records = []
    for i in range(N):
        aid = f"ALT-{i:02d}"
        label = case(aid, truth(i), "structuring" if i < 20 else "none", key=[f"T{i}"], actions=["escalate_l2"])
        flagged = [f"T{i}"] if (i % 2 == 0) == flag_even else []
        rep = report(aid, pred(i), "structuring" if pred(i) != "close" else "none", flagged=flagged,
                     actions=["escalate_l2"], narrative="ACC-000123 moved funds.")
        records.append(score_case(scorers, label, rep, None, 0.1))
    return RunLog(run_id=run_id, model="rules", backend="rules", cases=records, metrics=aggregate_records(records),
                  case_set=CaseSetInfo(name="syn", path="syn.jsonl", sha256="0" * 64, n_cases=N))


@pytest.fixture(scope="module")
def comparison():
    return compare_runs(make_log("A", a_pred, True), make_log("B", b_pred, False), resamples=2000)


def test_flipped_cases_are_named(comparison) -> None:
    assert {f.alert_id for f in comparison.wrong_to_right} == FIXED_BY_B
    assert [(f.alert_id, f.truth, f.pred_a, f.pred_b) for f in comparison.right_to_wrong] == [
        ("ALT-15", "sar", "sar", "close")]
    assert comparison.n_paired == N


def test_mcnemar_exact_for_few_discordant_pairs(comparison) -> None:
    m = comparison.mcnemar
    assert (m.right_to_wrong, m.wrong_to_right, m.method) == (1, 15, "exact binomial")
    assert m.p_value == pytest.approx(2 * (1 + 16) / 2**16)


def test_interval_excludes_zero_for_the_metric_that_moved(comparison) -> None:
    d = {x.key: x for x in comparison.deltas}
    acc = d["accuracy"]
    assert acc.a == pytest.approx(20 / 40) and acc.b == pytest.approx(34 / 40)
    assert acc.delta == pytest.approx(0.35)
    assert acc.lo > 0 and acc.significant and acc.verdict == "better"
    assert acc.lo <= acc.delta <= acc.hi
    assert acc.n_valid == 2000


def test_interval_includes_zero_for_unchanged_metrics(comparison) -> None:
    d = {x.key: x for x in comparison.deltas}
    same = d["action_jaccard"]  # identical per case in both runs
    assert same.delta == 0 and same.lo == 0 and same.hi == 0 and not same.significant
    swapped = d["txn_recall"]  # A finds the even cases' transactions, B the odd: same mean, noisy per resample
    assert swapped.delta == pytest.approx(0.0)
    assert swapped.lo < 0 < swapped.hi and swapped.verdict == "~"


def test_markdown_lists_deltas_and_flips(comparison) -> None:
    md = render_markdown(comparison)
    assert "| Disposition accuracy (3-class) | 0.500 | 0.850 | +0.350 |" in md
    assert "## Right -> wrong (1)" in md and "| ALT-15 | sar | sar | close |" in md
    assert "## Wrong -> right (15)" in md and "ALT-26" in md


def test_bootstrap_is_reproducible() -> None:
    a, b = make_log("A", a_pred, True), make_log("B", b_pred, False)
    one = compare_runs(a, b, resamples=200)
    two = compare_runs(a, b, resamples=200)
    assert [(d.lo, d.hi) for d in one.deltas] == [(d.lo, d.hi) for d in two.deltas]


def test_mcnemar_chi_square_and_degenerate() -> None:
    assert mcnemar(0, 0).p_value == 1.0
    big = mcnemar(10, 30)
    assert big.method.startswith("chi-square")
    assert big.statistic == pytest.approx((20 - 1) ** 2 / 40)
    assert big.p_value == pytest.approx(0.002663, abs=1e-5)  # chi2(1) survival of 9.025
