"""The narrative template: a SAR narrative built only from computed facts, every sentence cited.

Used by the rules backend and as the facts sheet a model rewrites. Who, what, when, where, why
and how, in that order, chronological within "what". Amounts are printed as in the evidence
(two decimals) so the verifier finds them.
"""

from __future__ import annotations

import re
from typing import Any

from tools.evidence import Evidence, facts_by_name

MAX_TXN_LINES = 8


def _usd(x: Any) -> str:
    return f"USD {float(x):,.2f}"


def _find(evidence: dict[str, Evidence], tool: str) -> Evidence | None:
    found = [e for e in evidence.values() if e.tool == tool and not e.error]
    return found[-1] if found else None


def _rows(ev: Evidence) -> list[dict[str, Any]]:
    return [dict(zip(ev.columns, r, strict=False)) for r in ev.rows]


def subject_sentence(alert: dict[str, Any], prof: Evidence | None) -> str:
    """Who: the subject account and what KYC says about it."""
    if prof is None:
        return f"Subject: account {alert['account_id']} [E1]."
    f = prof.facts
    kind = "a business" if f.get("is_business") else "an individual"
    bits = [f"Subject: account {alert['account_id']} is {kind} account with KYC level {f.get('kyc_level')}"]
    if f.get("account_age_days") is not None:
        bits.append(f", open for {f.get('account_age_days')} days at the time of the alert")
    if isinstance(f.get("age_years"), int | float) and f.get("age_years", -1) > 0:
        bits.append(f"; the customer is {f.get('age_years')} years old")
    if isinstance(f.get("declared_income_usd"), int | float) and f.get("declared_income_usd", -1) > 0:
        bits.append(f" and declared a yearly income of {_usd(f['declared_income_usd'])}")
    return "".join(bits) + f" [{prof.id}]."


def activity_sentences(alert_ev: Evidence) -> list[str]:
    """What and when: the triggering transactions, oldest first."""
    rows = _rows(alert_ev)
    if not rows:
        return [f"Activity: the alert names no transactions [{alert_ev.id}]."]
    f = alert_ev.facts
    out = [f"Activity: between {f['alert_first_date']} and {f['alert_last_date']} the rule saw {len(rows)} "
           f"transactions totalling {_usd(f['alert_txn_total_usd'])} [{alert_ev.id}]."]
    for r in rows[:MAX_TXN_LINES]:
        where = f" on {r['chain']}" if r.get("chain") else ""
        kind = str(r["kind"]).replace("_", " ")
        article = "an" if kind[:1] in "aeiou" else "a"
        out.append(f"On {str(r['ts'])[:10]}, {r['txn_id']} was {article} {kind} of "
                   f"{_usd(r['amount_usd'])} in {r['asset']}{where} from {r['src']} to {r['dst']} [{alert_ev.id}].")
    if len(rows) > MAX_TXN_LINES:
        out.append(f"{len(rows) - MAX_TXN_LINES} further triggering transactions are listed in the evidence "
                   f"[{alert_ev.id}].")
    return out


def window_sentence(prof: Evidence | None) -> str | None:
    """What, in context: the alert window against the baseline."""
    if prof is None:
        return None
    f = prof.facts
    if f.get("window_in_usd") is None:
        return None
    return (f"In the 30-day alert window the account received {_usd(f['window_in_usd'])} and sent "
            f"{_usd(f.get('window_out_usd') or 0)}, against a baseline of {_usd(f.get('baseline_monthly_in_usd') or 0)} "
            f"received per 30 days before the window [{prof.id}].")


def exposure_sentences(evidence: dict[str, Evidence]) -> list[str]:
    """Where: exposure to labelled addresses, with hop counts."""
    ev = _find(evidence, "exposure")
    if ev is None or not ev.rows:
        return []
    out = []
    for r in _rows(ev)[:3]:
        addr = r.get("address") or r.get("target")
        if not addr:
            continue
        hops = r.get("hops")
        out.append(f"Exposure: the account's funds connect to {r.get('category', 'a labelled')} address {addr} "
                   f"at {hops} hop{'s' if hops != 1 else ''} [{ev.id}].")
    return out


def red_flag_sentences(scorecard: dict[str, Any]) -> list[str]:
    """Why: the red flags and mitigating factors the playbook's scorecard found."""
    out = []
    for c in scorecard.get("red_flags", []):
        cites = ", ".join(c["evidence_ids"])
        out.append(f"Red flag: {c['description'].rstrip('.')} [{cites}].")
    for c in scorecard.get("mitigating", []):
        cites = ", ".join(c["evidence_ids"])
        out.append(f"Mitigating factor: {c['description'].rstrip('.')} [{cites}].")
    return out


def channels_sentence(alert_ev: Evidence) -> str | None:
    """How: the channels, assets and chains the funds moved through."""
    rows = _rows(alert_ev)
    if not rows:
        return None
    kinds = sorted({str(r["kind"]).replace("_", " ") for r in rows})
    assets = sorted({str(r["asset"]) for r in rows})
    chains = sorted({str(r["chain"]) for r in rows if r.get("chain")})
    text = f"How: funds moved by {', '.join(kinds)} in {', '.join(assets)}"
    if chains:
        text += f" over {', '.join(chains)}"
    return text + f" [{alert_ev.id}]."


def build_narrative(alert: dict[str, Any], evidence: dict[str, Evidence], decision: dict[str, Any],
                    scorecards: dict[str, Any], playbook_title: str | None = None,
                    playbook_template: str | None = None) -> str:
    """The full template narrative, one paragraph per W."""
    alert_ev = evidence["E1"]
    prof = _find(evidence, "profile")
    chosen = scorecards.get("chosen", {})
    learned = scorecards.get("learned")
    if learned is not None and not chosen.get("typology") == decision.get("typology"):
        # the learned backend decided: the red flags told are those of the playbook of its typology, if scored
        chosen = next((c for c in scorecards.get("all", []) if c["typology"] == decision.get("typology")), {})
    paragraphs: list[str] = [subject_sentence(alert, prof)]
    what = activity_sentences(alert_ev)
    if (w := window_sentence(prof)) is not None:
        what.append(w)
    paragraphs.append(" ".join(what))
    if ex := exposure_sentences(evidence):
        paragraphs.append(" ".join(ex))
    if learned is not None:
        from agent.learned.decide import driver_sentences

        paragraphs.append(" ".join(driver_sentences(learned)))
    if flags := red_flag_sentences(chosen):
        paragraphs.append(" ".join(flags))
    if playbook_template and decision["disposition"] != "close":
        facts = facts_by_name(list(evidence.values()))
        filled = template_sentences(playbook_template, alert, facts, chosen, playbook_title or "",
                                    decision.get("typology", "none"))
        if filled:
            paragraphs.append("Typology facts: " + " ".join(filled))
    if (how := channels_sentence(alert_ev)) is not None:
        paragraphs.append(how)
    typ = decision.get("typology", "none").replace("_", " ")
    # Only the title's head: the rest restates policy (e.g. "below the 10,000 USD threshold"), which the
    # verifier would rightly flag as an uncited amount and strip the whole conclusion.
    short = playbook_title.split(":", 1)[0].strip() if playbook_title else ""
    conclusion = {
        "sar": f"Conclusion: the activity matches the {typ} typology{f' ({short} playbook)' if short else ''} "
               "and a suspicious activity report is recommended.",
        "escalate": f"Conclusion: the activity shows red flags of {typ} that are not conclusive; escalated to "
                    "level 2 for review.",
        "close": "Conclusion: the activity is explained by the mitigating factors above; the alert is closed.",
    }[decision["disposition"]]
    paragraphs.append(conclusion)
    return "\n\n".join(paragraphs)


def template_sentences(template: str, alert: dict[str, Any], facts: dict[str, tuple[Any, str]],
                       scorecard: dict[str, Any], title: str, typology: str) -> list[str]:
    """The playbook's narrative template filled with the case's facts, one cited sentence at a time.

    Each sentence cites the evidence of every fact it uses (and E1 for alert context); a sentence
    whose facts are missing is left out rather than printed with holes.
    """
    import string

    context: dict[str, tuple[Any, str | None]] = {
        "account": (alert["account_id"], "E1"), "alert_id": (alert["alert_id"], "E1"),
        "rule_id": (alert["rule_id"], "E1"), "alert_ts": (str(alert["created_at"])[:10], "E1"),
        "window_start": (str(alert["window_start"])[:10], None), "window_end": (str(alert["created_at"])[:10], "E1"),
        "title": (title, None), "typology": (typology.replace("_", " "), None),
        "red_flags": ("; ".join(c["description"].rstrip(".") for c in scorecard.get("red_flags", [])) or "none", None),
        "mitigating_factors": ("; ".join(c["description"].rstrip(".") for c in scorecard.get("mitigating", []))
                               or "none", None),
        "key_txns": (", ".join(alert.get("txn_ids", [])[:8]) or "none", "E1"),
        "evidence_ids": ("", None), "actions": ("", None),
    }
    out: list[str] = []
    for sentence in re.split(r"(?<=[.;])\s+(?=[A-Z])", " ".join(template.split())):
        names = [f for _, f, _, _ in string.Formatter().parse(sentence) if f]
        if {"red_flags", "mitigating_factors"} & set(names):
            continue  # already stated, one cited sentence per flag, in the red-flag paragraph
        values: dict[str, Any] = {}
        cites: list[str] = []
        for name in names:
            if name in facts and facts[name][0] is not None:
                value, eid = facts[name]
                values[name] = f"{value:,.2f}" if isinstance(value, float) else value
                cites.append(eid)
            elif name in context:
                value, eid = context[name]
                values[name] = value
                if eid:
                    cites.append(eid)
            else:
                break
        else:
            text = sentence.format(**values).rstrip(".;")
            ids = sorted(set(cites), key=lambda s: int(s[1:]))
            out.append(f"{text} [{', '.join(ids)}]." if ids else f"{text}.")
    return out
