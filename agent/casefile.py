"""Case files for humans: Markdown and a self-contained HTML page from a CaseReport.

Decision first, then the narrative with its citations linked to the evidence tables, the
recommended actions (with approval status), the playbooks cited and the fund-flow picture when
one was drawn. The HTML has no external resources so it can be attached to a case or a SAR.
"""

from __future__ import annotations

import html
import re

from agent.report import CaseReport
from tools.evidence import Evidence

CITE = re.compile(r"\[((?:E\d+)(?:\s*,\s*E\d+)*)\]")


def cell(value: object) -> str:
    """A table cell as an investigator reads it: an empty cell for a missing value, not "None"."""
    return "" if value is None else str(value)


def _md_table(ev: Evidence, max_rows: int = 20) -> str:
    if not ev.columns or not ev.rows:
        return "_no rows_\n"
    head = "| " + " | ".join(ev.columns) + " |\n|" + "---|" * len(ev.columns) + "\n"
    body = "".join("| " + " | ".join(cell(c).replace("|", "/") for c in r) + " |\n" for r in ev.rows[:max_rows])
    more = f"\n_{ev.row_count - max_rows} more rows not shown_\n" if ev.row_count > max_rows else ""
    return head + body + more


def render_markdown(report: CaseReport) -> str:
    """The case file as Markdown."""
    d = report.decision
    v = report.verification
    lines = [
        f"# Case {report.case_id}",
        "",
        f"**Disposition:** {d.disposition.upper()}  |  **Typology:** {d.typology}  |  **Risk score:** {d.risk_score}/100",
        "",
        f"Alert `{report.alert.get('alert_id')}` on account `{report.alert.get('account_id')}`, rule "
        f"`{report.alert.get('rule_id')}`, raised {str(report.alert.get('created_at'))[:19]}.",
        "",
        "## Rationale", "", d.rationale or "_none_", "",
        "## Narrative", "", report.narrative or "_no narrative_", "",
        f"_Grounding check: {v.claims_supported} of {v.claims_checked} claims supported by the evidence they cite"
        + (f"; removed as unsupported: {len(v.unsupported)}" if v.unsupported else "") + "._", "",
        "## Recommended actions", "",
    ]
    for a in report.actions:
        lines.append(f"{a.index}. `{a.action}` ({a.status.replace('_', ' ')}) - {a.reason}")
    if d.flagged_txn_ids:
        lines += ["", "## Flagged transactions", "", ", ".join(f"`{t}`" for t in d.flagged_txn_ids)]
    if d.related_accounts:
        lines += ["", "## Related accounts", "", ", ".join(f"`{a}`" for a in d.related_accounts)]
    lines += ["", "## Playbooks cited", ""] + [f"- {p}" for p in report.playbooks_cited]
    lines += ["", "## Evidence", ""]
    for ev in report.evidence:
        lines += [f"### {ev.id}: {ev.tool}", "", ev.summary or "", ""]
        if ev.error:
            lines += [f"**Error:** {ev.error}", ""]
        if ev.facts:
            lines += ["Facts: " + ", ".join(f"`{k}`={v}" for k, v in ev.facts.items()), ""]
        if ev.query:
            lines += ["```sql", ev.query.strip(), "```", ""]
        lines.append(_md_table(ev))
    lines += ["", f"_Model: {report.model} ({report.style}); prompt version {report.prompt_version}; "
              f"playbooks {report.playbook_version}; recorded {report.created_at}._"]
    return "\n".join(lines) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1d2430;line-height:1.45}h1{margin-bottom:.2em}.badge{display:inline-block;padding:.2em .7em;border-radius:1em;
font-weight:600;margin-right:.5em}.sar{background:#fde2e1;color:#a4161a}.escalate{background:#fff3cd;color:#8a6d00}
.close{background:#e3f6e8;color:#1e6b34}.narr p{margin:.6em 0}a.cite{font-size:.8em;text-decoration:none;color:#3451b2}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.2em}td,th{border:1px solid #d0d7de;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f3f5f8}.ev{border-top:1px solid #d0d7de;padding-top:.5em}
code,pre{background:#f6f8fa;border-radius:4px;padding:.1em .3em}pre{padding:.6em;overflow-x:auto}
.pending_approval{color:#a4161a;font-weight:600}.muted{color:#667}
"""


def _cite_links(text: str) -> str:
    def link(m: re.Match[str]) -> str:
        ids = [i.strip() for i in m.group(1).split(",")]
        return "[" + ", ".join(f'<a class="cite" href="#{i}">{i}</a>' for i in ids) + "]"

    return CITE.sub(link, html.escape(text))


def _html_table(ev: Evidence, max_rows: int = 30) -> str:
    if not ev.columns or not ev.rows:
        return "<p class='muted'>no rows</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ev.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(c))}</td>" for c in r) + "</tr>" for r in ev.rows[:max_rows])
    more = f"<p class='muted'>{ev.row_count - max_rows} more rows not shown</p>" if ev.row_count > max_rows else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def render_html(report: CaseReport, picture_svg_or_png_b64: str | None = None) -> str:
    """The case file as one self-contained HTML page."""
    d = report.decision
    v = report.verification
    e = html.escape
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Case {e(report.case_id)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>Case {e(report.case_id)}</h1>",
        f"<p><span class='badge {e(d.disposition)}'>{e(d.disposition.upper())}</span>"
        f"<b>Typology:</b> {e(d.typology)} &nbsp; <b>Risk score:</b> {d.risk_score}/100</p>",
        f"<p class='muted'>Alert {e(str(report.alert.get('alert_id')))} on account "
        f"{e(str(report.alert.get('account_id')))}, rule {e(str(report.alert.get('rule_id')))}, raised "
        f"{e(str(report.alert.get('created_at'))[:19])}</p>",
        "<h2>Rationale</h2>", f"<p>{_cite_links(d.rationale)}</p>",
        "<h2>Narrative</h2><div class='narr'>",
        "".join(f"<p>{_cite_links(p)}</p>" for p in report.narrative.split("\n\n") if p.strip()) or "<p>none</p>",
        f"</div><p class='muted'>Grounding check: {v.claims_supported} of {v.claims_checked} claims supported by "
        f"the evidence they cite{'; removed as unsupported: ' + str(len(v.unsupported)) if v.unsupported else ''}.</p>",
        "<h2>Recommended actions</h2><ol>",
        "".join(f"<li><code>{e(a.action)}</code> <span class='{e(a.status)}'>{e(a.status.replace('_', ' '))}</span>"
                f" - {e(a.reason)}</li>" for a in report.actions),
        "</ol>",
    ]
    if d.flagged_txn_ids:
        parts.append("<h2>Flagged transactions</h2><p>" + ", ".join(f"<code>{e(t)}</code>" for t in d.flagged_txn_ids)
                     + "</p>")
    if d.related_accounts:
        parts.append("<h2>Related accounts</h2><p>" + ", ".join(f"<code>{e(a)}</code>" for a in d.related_accounts)
                     + "</p>")
    if picture_svg_or_png_b64:
        parts.append("<h2>Fund flow</h2><img alt='fund-flow picture' style='max-width:100%' "
                     f"src='data:image/png;base64,{picture_svg_or_png_b64}'>")
    parts.append("<h2>Playbooks cited</h2><ul>" + "".join(f"<li>{e(p)}</li>" for p in report.playbooks_cited) + "</ul>")
    parts.append("<h2>Evidence</h2>")
    for ev in report.evidence:
        parts.append(f"<div class='ev' id='{e(ev.id)}'><h3>{e(ev.id)}: {e(ev.tool)}</h3><p>{e(ev.summary)}</p>")
        if ev.error:
            parts.append(f"<p><b>Error:</b> {e(ev.error)}</p>")
        if ev.facts:
            parts.append("<p class='muted'>" + ", ".join(f"{e(k)}={e(str(x))}" for k, x in ev.facts.items()) + "</p>")
        if ev.query:
            parts.append(f"<pre>{e(ev.query.strip())}</pre>")
        parts.append(_html_table(ev) + "</div>")
    parts.append(f"<p class='muted'>Model: {e(report.model)} ({e(report.style)}); prompt version "
                 f"{e(report.prompt_version)}; playbooks {e(report.playbook_version)}; recorded "
                 f"{e(report.created_at)}.</p></body></html>")
    return "".join(parts)
