"""Deterministic entity extraction from an investigator's question: the slots a plan may use.

Why in code: a 1.5B model copies ids badly and cannot do date arithmetic, so every id, address,
period, hop count, direction and amount is found here, checked against the workspace (an id is an
account, alert or transaction when the table holds it, whatever its spelling), and offered to the
planner as a closed list. The planner (rules or model) only chooses among them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from agent.verifier import ADDRESS_RE
from tools.db import Database

ID_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9]{1,9}-[A-Za-z0-9-]*\d[A-Za-z0-9-]*\b")
ISO_DATE_RE = re.compile(r"\b(20\d\d)-([01]\d)-([0-3]\d)\b")
MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
MONTH_RE = re.compile(r"\b(?:in|during|for|of|over)\s+(?:the\s+month\s+of\s+)?(" + "|".join(
    sorted(MONTHS, key=len, reverse=True)) + r")\.?(?:\s+(20\d\d))?\b", re.I)
YEAR_RE = re.compile(r"\b(?:in|during|for|over)\s+(20\d\d)\b", re.I)
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "a": 1, "an": 1, "single": 1}
_NUM = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"
RELATIVE_RE = re.compile(r"\b(?:last|past|previous|recent|prior)\s+(?:" + _NUM + r"\s+)?(day|week|month|year)s?\b"
                         r"|\b" + _NUM + r"\s+(day|week|month|year)s?\s+(?:before|back|ago|prior)\b", re.I)
HOPS_RE = re.compile(_NUM + r"[\s-]*(?:hops?|levels?|steps?|layers?)\b", re.I)
ALL_TIME_RE = re.compile(r"\b(all[\s-]time|ever|whole history|entire history|full history|since (?:it )?(?:was )?"
                         r"(?:opened|registered|registration|onboarding)|lifetime|so far)\b", re.I)
AMOUNT_RE = re.compile(r"(?:over|above|more than|at least|greater than|exceeding|>=?)\s*(?:USD|US\$|\$)?\s?"
                       r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b|thousand|USD|dollars)?", re.I)
IN_WORDS = re.compile(r"\b(funded|funding|funds? (?:came|come)|came from|comes? from|source|sources|senders?|payers?|"
                      r"paid (?:in|into)|received|receives?|receiving|incoming|inflows?|inbound|into|deposits?|"
                      r"deposited|credited|upstream|backward|who sent|sent (?:it|to it|him|her|them) money)\b", re.I)
OUT_WORDS = re.compile(r"\b(went|go|goes|gone|going|end(?:s|ed)? up|sent to|send to|sends|sent out|send out|sending out|moved out|outgoing|outflows?|outbound|out of|"
                       r"withdr\w*|recipients?|receivers?|beneficiar\w*|destinations?|downstream|forward|paid out|"
                       r"pay out|paid to|moved to|transferred to|cash(?:ed)? out|spent|to whom)\b", re.I)


@dataclass(frozen=True)
class Period:
    """The time a question asks about: `days` before the reference time, a calendar span, or all time."""

    kind: Literal["relative", "span", "all"]
    label: str
    days: int = 0
    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass
class Slots:
    """What the question names, checked against the workspace."""

    accounts: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    txns: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    period: Period | None = None
    hops: int | None = None
    direction: Literal["in", "out", "both"] | None = None
    min_usd: float | None = None

    def targets(self) -> list[tuple[str, str]]:
        """(value, kind) of every entity a call may target, in the order the question names them."""
        return ([(a, "account") for a in self.accounts] + [(a, "address") for a in self.addresses]
                + [(a, "alert") for a in self.alerts] + [(t, "txn") for t in self.txns])

    def describe(self) -> str:
        """The slots as short text for the model (and the trace)."""
        parts = [f"{v} ({k})" for v, k in self.targets()]
        if self.period:
            parts.append(f"period: {self.period.label}")
        if self.hops:
            parts.append(f"hops: {self.hops}")
        if self.direction:
            parts.append(f"direction: {self.direction}")
        return "; ".join(parts) or "none"


def _number(text: str | None) -> int | None:
    if not text:
        return None
    t = text.lower()
    return int(t) if t.isdigit() else NUMBER_WORDS.get(t)


def _known(db: Database, table: str, column: str, values: list[str]) -> dict[str, str]:
    """Which of `values` the table holds, matched case-insensitively: lower-case -> stored spelling."""
    if not values:
        return {}
    rows = db.execute(f"SELECT DISTINCT {column} FROM {table} WHERE lower({column}) IN "  # code-authored names
                      f"({', '.join('?' for _ in values)})", [v.lower() for v in values]).rows
    return {str(r[0]).lower(): str(r[0]) for r in rows}


def _ids(db: Database, question: str, slots: Slots) -> None:
    found = list(dict.fromkeys(m.group(0).rstrip("-") for m in ID_RE.finditer(question)
                               if not ISO_DATE_RE.fullmatch(m.group(0))))
    found = [f for f in found if not ADDRESS_RE.fullmatch(f) and not re.fullmatch(r"\d+-\w+", f)]
    accounts = _known(db, "accounts", "account_id", found)
    alerts = _known(db, "alerts", "alert_id", found)
    txns = _known(db, "transactions", "txn_id", [f for f in found if f.lower() not in accounts | alerts])
    for f in found:
        key = f.lower()
        if key in accounts:
            slots.accounts.append(accounts[key])
        elif key in alerts:
            slots.alerts.append(alerts[key])
        elif key in txns:
            slots.txns.append(txns[key])
        elif padded := _padded(db, f):
            getattr(slots, padded[1]).append(padded[0])
        elif re.search(r"\d{3,}", f) and not re.fullmatch(r"(?i)(?:TM|P2P|EXPO|VEL)-.*", f):
            slots.unknown_ids.append(f)


def _padded(db: Database, ident: str) -> tuple[str, str] | None:
    """An id typed without its leading zeros ("ACC-491" for ACC-000491), when exactly one stored id fits."""
    m = re.fullmatch(r"([A-Za-z]+)-0*(\d{1,8})", ident)
    if not m:
        return None
    tries = [f"{m.group(1)}-{m.group(2).zfill(w)}" for w in range(len(m.group(2)), 10)]
    for table, column, slot in (("accounts", "account_id", "accounts"), ("alerts", "alert_id", "alerts"),
                                ("transactions", "txn_id", "txns")):
        found = set(_known(db, table, column, tries).values())
        if len(found) == 1:
            return found.pop(), slot
    return None


def _period(question: str, data_end: dt.datetime) -> Period | None:
    dates = [dt.datetime(int(y), int(m), int(d)) for y, m, d in ISO_DATE_RE.findall(question)]
    if len(dates) >= 2:
        start, end = min(dates), max(dates)
        return Period("span", f"{start:%Y-%m-%d} to {end:%Y-%m-%d}", start=start,
                      end=end + dt.timedelta(days=1, seconds=-1))
    if len(dates) == 1:
        d = dates[0]
        if re.search(r"\b(since|after|from)\s+" + re.escape(f"{d:%Y-%m-%d}"), question, re.I):
            return Period("span", f"since {d:%Y-%m-%d}", start=d, end=data_end)
        if re.search(r"\b(before|until|up to|till)\s+" + re.escape(f"{d:%Y-%m-%d}"), question, re.I):
            return Period("span", f"until {d:%Y-%m-%d}", start=dt.datetime(2000, 1, 1), end=d)
        return Period("span", f"on {d:%Y-%m-%d}", start=d, end=d + dt.timedelta(days=1, seconds=-1))
    if m := RELATIVE_RE.search(question):
        n = _number(m.group(1) or m.group(3)) or 1
        unit = (m.group(2) or m.group(4)).lower()
        days = n * {"day": 1, "week": 7, "month": 30, "year": 365}[unit]
        return Period("relative", f"the {days} days before the reference time", days=days)
    if m := MONTH_RE.search(question):
        month = MONTHS[m.group(1).lower()]
        year = int(m.group(2)) if m.group(2) else (data_end.year if month <= data_end.month else data_end.year - 1)
        start = dt.datetime(year, month, 1)
        end = dt.datetime(year, month, calendar.monthrange(year, month)[1], 23, 59, 59)
        return Period("span", f"{start:%B %Y}", start=start, end=end)
    if m := YEAR_RE.search(question):
        year = int(m.group(1))
        return Period("span", str(year), start=dt.datetime(year, 1, 1), end=dt.datetime(year, 12, 31, 23, 59, 59))
    if ALL_TIME_RE.search(question):
        return Period("all", "all time")
    return None


RECEIVED_FROM_RE = re.compile(r"\b(?:who|which \w+|whom)\b[^.?!]{0,25}\b(?:received|receives?|got|gets|was paid|were paid)"
                              r"\b[^.?!]{0,40}\bfrom\b", re.I)
SENT_TO_RE = re.compile(r"\b(?:who|which \w+)\b[^.?!]{0,25}\b(?:sent|sends?|paid|pays|deposited|wired|transferred|"
                        r"moved|funded)\b", re.I)


def direction_of(question: str) -> Literal["in", "out", "both"] | None:
    """in, out or both from the wording ("who funded", "where did it go"); None when it says neither.
    "who received money from X" asks for X's receivers (out); "who sent money to X" for its senders (in)."""
    if RECEIVED_FROM_RE.search(question):
        return "out"
    if SENT_TO_RE.search(question):
        return "in"
    has_in, has_out = bool(IN_WORDS.search(question)), bool(OUT_WORDS.search(question))
    if re.search(r"\b(both|in and out|either direction|two-way|to and from|from and to)\b", question, re.I):
        return "both"
    if has_in and has_out:
        return "both"
    return "in" if has_in else "out" if has_out else None


def extract(db: Database, question: str, data_end: dt.datetime) -> Slots:
    """The slots of one question (ids checked against the workspace)."""
    slots = Slots()
    slots.addresses = list(dict.fromkeys(ADDRESS_RE.findall(question)))
    _ids(db, question, slots)
    slots.period = _period(question, data_end)
    if m := HOPS_RE.search(question):
        slots.hops = max(1, min(4, _number(m.group(1)) or 2))
    slots.direction = direction_of(question)
    if m := AMOUNT_RE.search(question):
        value = float(m.group(1).replace(",", ""))
        slots.min_usd = value * 1000 if (m.group(2) or "").lower() in ("k", "thousand") else value
    return slots
