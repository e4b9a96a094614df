"""`report.md`: the run report as Markdown tables (the pictures are in report.html)."""

from __future__ import annotations

from typing import Any

from evals.log import RunLog
from evals.report_data import report_context


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(log: RunLog, links: dict[str, str] | None = None) -> str:
    """The Markdown report of a run."""
    ctx = report_context(log, links)
    t = log.timings
    out = [
        f"# Eval run {log.run_id}",
        "",
        f"- Model: `{log.model}` (backend `{log.backend}`, style {', '.join(log.styles) or 'n/a'})",
        f"- Case set: `{log.case_set.name}` ({len(log.cases)} of {log.case_set.n_cases} cases, "
        f"`{log.case_set.path}`, sha256 `{log.case_set.sha256[:12]}`)",
        f"- Code: `{ctx['code']}`; prompts `{ctx['prompt_versions']}`; playbooks `{ctx['playbook_versions']}`",
        f"- Time: {t.wall_seconds:.1f} s wall over {t.sessions} session(s), {t.workers} worker(s); "
        f"{t.case_seconds_total:.1f} s in cases; tokens {log.tokens.total} ({ctx['tokens_by_kind']})",
    ]
    if log.judge:
        out.append(f"- Judge: `{log.judge}` x{log.judge_repeats}")
    out += [f"- Note: {n}" for n in log.notes]
    out += ["", "## Headline metrics", "", _table(["metric", "key", "value"],
                                                  [[h["label"].strip(), f"`{h['key']}`", h["value"]]
                                                   for h in ctx["headline"]])]
    out += ["", "## Disposition confusion matrix (rows: truth, columns: predicted)", "",
            _table(["truth"] + ctx["confusion_labels"], [[r["truth"]] + r["cells"] for r in ctx["confusion"]])]
    if ctx["per_typology"]:
        out += ["", "## Per typology (actionable cases)", "",
                _table(["typology", "support", "predicted", "precision", "recall", "F1"],
                       [[r["typology"] + ("" if r["in_vocabulary"] else " (unknown)"), r["support"], r["predicted"],
                         r["precision"], r["recall"], r["f1"]] for r in ctx["per_typology"]])]
    if ctx["checks"]:
        out += ["", "## Narrative completeness checks (share of cases passing)", "",
                _table(["check", "rate"], [[c["check"], c["rate"]] for c in ctx["checks"]])]
    out += ["", "## Worst cases", ""]
    if ctx["worst"]:
        out.append(_table(["alert", "truth", "predicted", "cost", "why"],
                          [[f"[{w['alert_id']}]({w['link']})" if w["link"] else w["alert_id"], w["truth"], w["pred"],
                            w["cost"], "; ".join(w["reasons"])] for w in ctx["worst"]]))
    else:
        out.append("No case has a fault.")
    out.append("")
    return "\n".join(out)
