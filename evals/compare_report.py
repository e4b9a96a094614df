"""Render a run comparison: a rich table for the terminal and Markdown for a PR or a ticket."""

from __future__ import annotations

from typing import Any

from evals.compare import Comparison, Flip, MetricDelta
from evals.headline import fmt


def _delta(d: MetricDelta) -> str:
    return "n/a" if d.delta is None else f"{d.delta:+.3f}"


def _ci(d: MetricDelta) -> str:
    return "n/a" if d.lo is None or d.hi is None else f"[{d.lo:+.3f}, {d.hi:+.3f}]"


def _mcnemar_line(c: Comparison) -> str:
    m = c.mcnemar
    stat = f", statistic {m.statistic:.3f}" if m.statistic is not None else ""
    return (f"McNemar ({m.method}) on disposition correctness: {m.right_to_wrong} right->wrong, "
            f"{m.wrong_to_right} wrong->right{stat}, p = {m.p_value:.4g}")


def _flip_rows(flips: list[Flip]) -> list[list[str]]:
    return [[f.alert_id, f.truth, f.pred_a, f.pred_b] for f in flips]


def render_markdown(c: Comparison) -> str:
    """The comparison as Markdown."""
    def table(header: list[str], rows: list[list[Any]]) -> list[str]:
        return (["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
                + ["| " + " | ".join(str(v) for v in row) + " |" for row in rows])

    out = [f"# Eval comparison: {c.run_b} vs {c.run_a}", "",
           f"A = `{c.run_a}` ({c.model_a}), B = `{c.run_b}` ({c.model_b}); {c.n_paired} paired cases; "
           f"95% intervals from a paired bootstrap ({c.resamples} resamples, seed {c.seed}).", ""]
    out += [f"- Note: {n}" for n in c.notes]
    out += table(["metric", "A", "B", "B - A", "95% CI", "verdict"],
                 [[d.label, fmt(d.a), fmt(d.b), _delta(d), _ci(d), d.verdict] for d in c.deltas])
    out += ["", _mcnemar_line(c), ""]
    for title, flips in (("Right -> wrong", c.right_to_wrong), ("Wrong -> right", c.wrong_to_right)):
        out += [f"## {title} ({len(flips)})", ""]
        out += table(["alert", "truth", "A", "B"], _flip_rows(flips)) if flips else ["None."]
        out.append("")
    return "\n".join(out)


def print_comparison(c: Comparison) -> None:
    """The comparison as rich tables on stdout."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    t = Table(title=f"B = {c.run_b} ({c.model_b})  vs  A = {c.run_a} ({c.model_a}), {c.n_paired} cases")
    for col in ("metric", "A", "B", "B - A", "95% CI", ""):
        t.add_column(col, justify="left" if col == "metric" else "right")
    colour = {"better": "green", "worse": "red", "changed": "yellow", "~": "dim"}
    for d in c.deltas:
        t.add_row(escape(d.label), fmt(d.a), fmt(d.b), _delta(d), escape(_ci(d)), f"[{colour[d.verdict]}]{d.verdict}[/]")
    console.print(t)
    for n in c.notes:
        console.print(f"[yellow]note:[/] {escape(n)}", highlight=False)
    console.print(_mcnemar_line(c), highlight=False)
    for title, flips in (("right -> wrong", c.right_to_wrong), ("wrong -> right", c.wrong_to_right)):
        if flips:
            ft = Table(title=f"{title} ({len(flips)})")
            for col in ("alert", "truth", "A", "B"):
                ft.add_column(col)
            for row in _flip_rows(flips):
                ft.add_row(*(escape(v) for v in row))
            console.print(ft)
        else:
            console.print(f"{title}: none")
