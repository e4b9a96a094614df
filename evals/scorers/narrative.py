"""Narrative: is the SAR narrative (or closing note) grounded, complete and of a sensible length?

Grounding re-runs the deterministic verifier on the *final* narrative (after the agent stripped
what it could not support), against the case's own evidence ledger. The report's stored
`verification` describes the draft before the strip, so it would hide what actually ships; it is
kept only as `stripped` (how many claims the agent removed).

Completeness is six deterministic checks, one per question a reviewer asks (who, what, when,
where, why, how). They are deliberately crude: they catch a narrative that forgot the subject or
the dates, not a bad one, which is the optional LLM judge's job:

- subject: the alert's account id appears (any `ACC-...` id when the alert has none);
- amounts: a USD amount appears (the verifier's amount pattern: "USD 9,450", "$9,450", "9,450 USDT");
- dates: at least one YYYY-MM-DD date;
- channels: a channel word (deposit, withdrawal, transfer, trade, p2p), a chain name (bitcoin,
  ethereum, tron, bsc, solana, litecoin) or a country (the words country/jurisdiction, or an ISO-2
  code that the case's evidence gives as a country);
- red_flags: "red flag", "mitigating", or a typology of the shared vocabulary in words
  ("pass-through", "mixer exposure", ...);
- movement: a verb of moving money (moved, sent, received, withdrawn, transferred, ...).

Closing notes are scored on the same checks, and the aggregate splits completeness by the
*predicted* disposition (the kind of text that was written): `completeness_close`, `_escalate`, `_sar`.
"""

from __future__ import annotations

import re
from typing import Any

from agent.report import CaseReport
from agent.verifier import AMOUNT_RE, CITE_RE, DATE_RE, verify
from evals.dataset import LabelledCase
from evals.scorers.base import Record, Scorer, mean, quantile, ratio
from tools.schema import TYPOLOGIES

NAME = "narrative"
CHECKS = ("subject", "amounts", "dates", "channels", "red_flags", "movement")
DISPOSITIONS = ("close", "escalate", "sar")

_CHANNEL_RE = re.compile(
    r"(?<![a-z0-9])(deposits?|withdrawals?|transfers?|trades?|trading|p2p|bitcoin|ethereum|tron|bsc|solana|litecoin"
    r"|country|countries|jurisdictions?)(?![a-z0-9])", re.IGNORECASE)
_TYPOLOGY_WORDS = "|".join(t.replace("_", "[ _-]?") for t in TYPOLOGIES if t != "none")
_RED_FLAG_RE = re.compile(rf"\b(red[ -]flags?|mitigating|{_TYPOLOGY_WORDS})\b", re.IGNORECASE)
_MOVEMENT_RE = re.compile(
    r"\b(moved|sent|received|withdrew|withdrawn|transferred|deposited|forwarded|routed|converted|cashed[ -]out"
    r"|paid|funded|swapped|exchanged|layered|bought|sold|flowed|consolidated)\b", re.IGNORECASE)
_ACCOUNT_RE = re.compile(r"\bACC-[A-Za-z0-9-]+")
_WORD_RE = re.compile(r"[A-Za-z0-9$][\w$.,'%-]*")


def _countries(report: CaseReport) -> set[str]:
    """ISO-2 codes the case's alert and evidence give as a country (what 'where' can name)."""
    found: set[str] = set()
    sources: list[dict[str, Any]] = [report.alert] + [e.facts for e in report.evidence]
    for src in sources:
        for key, value in src.items():
            if "country" in key and isinstance(value, str) and re.fullmatch(r"[A-Z]{2}", value):
                found.add(value)
    for ev in report.evidence:
        for i, col in enumerate(ev.columns):
            if "country" in col:
                found |= {r[i] for r in ev.rows if i < len(r) and isinstance(r[i], str) and re.fullmatch(r"[A-Z]{2}", r[i])}
    return found


def completeness_checks(narrative: str, report: CaseReport) -> dict[str, bool]:
    """The six 5W+how checks on one narrative."""
    text = CITE_RE.sub(" ", narrative)
    account = str(report.alert.get("account_id") or "")
    subject = account in text if account else bool(_ACCOUNT_RE.search(text))
    countries = _countries(report)
    channels = bool(_CHANNEL_RE.search(text)) or any(re.search(rf"\b{c}\b", text) for c in countries)
    return {
        "subject": bool(text.strip()) and subject,
        "amounts": bool(AMOUNT_RE.search(text)),
        "dates": bool(DATE_RE.search(text)),
        "channels": channels,
        "red_flags": bool(_RED_FLAG_RE.search(text)),
        "movement": bool(_MOVEMENT_RE.search(text)),
    }


def word_count(narrative: str) -> int:
    """Words in the narrative, citations like [E3] not counted."""
    return len(_WORD_RE.findall(CITE_RE.sub(" ", narrative)))


def score(case: LabelledCase, report: CaseReport | None) -> Record:
    """Grounding of the final narrative, its 5W+how checks and its length."""
    narrative = report.narrative if report is not None else ""
    pred = report.decision.disposition if report is not None else "error"
    if report is None or not narrative.strip():
        checks = dict.fromkeys(CHECKS, False)
        checked = supported = 0
        unsupported: list[str] = []
    else:
        result = verify(narrative, {e.id: e for e in report.evidence})
        checked, supported, unsupported = result.checked, result.supported, result.unsupported
        checks = completeness_checks(narrative, report)
    return {
        "truth": case.disposition, "pred": pred, "empty": not narrative.strip(),
        "claims_checked": checked, "claims_supported": supported, "unsupported": len(unsupported),
        "unsupported_examples": unsupported[:5], "grounding": ratio(supported, checked),
        "stripped": len(report.verification.unsupported) if report is not None else 0,
        "checks": checks, "completeness": sum(checks.values()) / len(CHECKS), "words": word_count(narrative),
    }


def aggregate(records: list[Record]) -> dict[str, Any]:
    """Pooled grounding, unsupported count, completeness (overall, per check, per disposition), length.

    One pass over the records: `eval compare` calls this thousands of times per comparison.
    """
    n = len(records)
    checked = supported = unsupported = with_unsupported = full = empty = 0
    completeness = 0.0
    by_disp: dict[str, list[float]] = {d: [] for d in DISPOSITIONS}
    passed = dict.fromkeys(CHECKS, 0)
    words: list[int] = []
    for r in records:
        checked += r["claims_checked"]
        supported += r["claims_supported"]
        unsupported += r["unsupported"]
        with_unsupported += r["unsupported"] > 0
        completeness += r["completeness"]
        full += r["completeness"] == 1.0
        empty += r["empty"]
        words.append(r["words"])
        if r["pred"] in by_disp:
            by_disp[r["pred"]].append(r["completeness"])
        for c, ok in r["checks"].items():
            passed[c] += ok
    out: dict[str, Any] = {
        "grounding": ratio(supported, checked),
        "unsupported_claims": unsupported,
        "cases_with_unsupported": with_unsupported,
        "completeness": completeness / n if n else None,
        "completeness_full": ratio(full, n),
    }
    for disp in DISPOSITIONS:
        out[f"completeness_{disp}"] = mean(by_disp[disp])
    out.update({
        "empty_narratives": empty,
        "words_mean": sum(words) / n if n else None,
        "words_median": quantile(words, 0.5),
        "completeness_checks": {c: ratio(passed[c], n) for c in CHECKS},
    })
    return out


def narrative_scorer() -> Scorer:
    """The narrative scorer."""
    return Scorer(NAME, score, aggregate)
