"""Deterministic grounding check of a narrative against the evidence each sentence cites.

Every amount, date, id and address in a sentence must appear in the evidence that sentence cites
([E3], [E3, E5]). Amounts match within `AMOUNT_TOLERANCE` (rounding in prose: "USD 9,450" for
9,449.87). A sentence with a checkable claim but no citation is unsupported too. Unsupported
sentences are removed by `strip_unsupported` (after at most one model revision elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tools.evidence import Evidence

#: Relative tolerance for amounts (0.5%), with an absolute floor of 1 USD: the one place it is set.
AMOUNT_TOLERANCE = 0.005
AMOUNT_ABS_TOLERANCE = 1.0

CITE_RE = re.compile(r"\[((?:E\d+)(?:\s*,\s*E\d+)*)\]")
ID_RE = re.compile(r"\b(?:ACC|ALT|TX|P2P|BANK|DEV)-[A-Za-z0-9-]*\d[A-Za-z0-9]*\b")
ADDRESS_RE = re.compile(
    r"\b(?:0x[0-9a-fA-F]{40}|bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34}|T[1-9A-HJ-NP-Za-km-z]{33}"
    r"|L[1-9A-HJ-NP-Za-km-z]{26,33})\b")
DATE_RE = re.compile(r"\b(20\d\d-[01]\d-[0-3]\d)\b")
AMOUNT_RE = re.compile(
    r"(?:USD|US\$|\$)\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)|(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?:USD|USDT|USDC)\b")
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])|\n+")


@dataclass
class Claim:
    """One checkable value in a sentence."""

    kind: str
    text: str
    supported: bool = False


@dataclass
class SentenceCheck:
    """A sentence, its citations and its claims."""

    text: str
    cites: list[str]
    claims: list[Claim] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.supported for c in self.claims)


@dataclass
class VerifyResult:
    """Outcome of checking a whole narrative."""

    sentences: list[SentenceCheck]

    @property
    def claims(self) -> list[Claim]:
        return [c for s in self.sentences for c in s.claims]

    @property
    def checked(self) -> int:
        return len(self.claims)

    @property
    def supported(self) -> int:
        return sum(c.supported for c in self.claims)

    @property
    def unsupported(self) -> list[str]:
        return [f"{c.kind} '{c.text}' in: {s.text[:120]}" for s in self.sentences for c in s.claims if not c.supported]


def _flatten(value: Any, out: list[Any]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _flatten(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _flatten(v, out)
    elif value is not None:
        out.append(value)


def _evidence_values(ev: Evidence) -> tuple[set[str], list[float]]:
    """Strings (lower-cased) and numbers present in one evidence item."""
    values: list[Any] = []
    _flatten(ev.rows, values)
    _flatten(ev.facts, values)
    _flatten(ev.args, values)
    strings: set[str] = set()
    numbers: list[float] = []
    for v in values:
        if isinstance(v, bool):
            continue
        if isinstance(v, int | float):
            numbers.append(float(v))
        s = str(v)
        strings.add(s.lower())
        for token in re.split(r"[\s,;|()\[\]]+", s):
            if token:
                strings.add(token.lower())
    for token in re.findall(r"[A-Za-z0-9$.,:_-]+", ev.summary):
        strings.add(token.strip(".,:").lower())
    for num in re.findall(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+", ev.summary):
        numbers.append(float(num.replace(",", "")))
    return strings, numbers


def _amount_ok(x: float, numbers: list[float]) -> bool:
    return any(abs(x - n) <= max(AMOUNT_ABS_TOLERANCE, AMOUNT_TOLERANCE * abs(n)) for n in numbers)


def _date_ok(d: str, strings: set[str]) -> bool:
    return d in strings or any(s.startswith(d) for s in strings)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping citations with the sentence they end."""
    return [s.strip() for s in SENTENCE_RE.split(text) if s and s.strip()]


def extract_claims(sentence: str) -> list[Claim]:
    """Amounts, dates, ids and addresses in a sentence (citations themselves excluded)."""
    body = CITE_RE.sub(" ", sentence)
    claims = [Claim("address", m) for m in ADDRESS_RE.findall(body)]
    claims += [Claim("id", m) for m in ID_RE.findall(body)]
    claims += [Claim("date", m) for m in DATE_RE.findall(body)]
    for m in AMOUNT_RE.finditer(body):
        claims.append(Claim("amount", m.group(1) or m.group(2)))
    return claims


def verify(narrative: str, ledger: dict[str, Evidence]) -> VerifyResult:
    """Check every claim of every sentence against the evidence that sentence cites."""
    cache: dict[str, tuple[set[str], list[float]]] = {}
    checks: list[SentenceCheck] = []
    for sentence in split_sentences(narrative):
        cites = [c.strip() for group in CITE_RE.findall(sentence) for c in group.split(",")]
        check = SentenceCheck(sentence, cites, extract_claims(sentence))
        strings: set[str] = set()
        numbers: list[float] = []
        for cid in cites:
            ev = ledger.get(cid)
            if ev is None:
                continue
            if cid not in cache:
                cache[cid] = _evidence_values(ev)
            strings |= cache[cid][0]
            numbers += cache[cid][1]
        for claim in check.claims:
            if claim.kind == "amount":
                claim.supported = _amount_ok(float(claim.text.replace(",", "")), numbers)
            elif claim.kind == "date":
                claim.supported = _date_ok(claim.text, strings)
            else:
                claim.supported = claim.text.lower() in strings
        checks.append(check)
    return VerifyResult(checks)


def strip_unsupported(result: VerifyResult) -> str:
    """The narrative without the sentences that carry an unsupported claim."""
    kept = [s.text for s in result.sentences if s.ok]
    return " ".join(kept) if kept else ""
