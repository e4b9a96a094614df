"""Every chat answer is checked before it is shown, like a narrative (agent.verifier), and more strictly.

- An amount, id, address or date must be in the evidence the sentence cites; a sentence without a
  citation is checked against all the evidence of the answer. Otherwise the sentence is removed.
- A negative claim ("not listed", "no alerts", "nothing found") is a claim too: it stands only when it
  cites evidence from a tool that ran without error for the entity it names, came back empty, and the
  sentence names that tool. A model saying an OFAC-listed address "is not listed" loses the sentence.
- Fencing markup (<untrusted_data>) never reaches the investigator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.verifier import ADDRESS_RE, CITE_RE, ID_RE, split_sentences, verify
from tools.evidence import Evidence

NEGATIVE_RE = re.compile(
    r"\b(not (?:listed|found|on (?:any|a|the)|sanctioned|flagged|screened|exposed|linked|present|known|labell?ed)|"
    r"no (?:\w+ ){0,2}(?:alerts?|hits?|match(?:es)?|records?|senders?|receivers?|counterpart\w*|transactions?|"
    r"payments?|orders?|paths?|exposure|links?|movements?|cycles?|devices?|ips?|accounts?|results?|labels?|"
    r"evidence|activity|funds)|nothing (?:was )?found|found (?:nothing|none|no)\b|none of|isn't|is not|"
    r"wasn't|was not|aren't|are not|never (?:been|had|has|received|sent|appear\w*|flagged|listed|used by|seen)|"
    r"(?:is|looks|appears|seems) clean)\b", re.I)
FENCE_RE = re.compile(r"</?\s*[‹<]?\s*/?untrusted_data\s*[>›]?|[‹<]/?(?:untrusted_data|question)[›>]", re.I)
#: Facts whose zero (or 99 hops) means "the tool looked and found nothing".
EMPTY_FACTS = ("screening_hits", "sanctioned_hits", "alert_count", "orders", "chargebacks", "disputed",
               "in_count", "out_count", "in_counterparties_window", "out_counterparties_window",
               "shared_device_accounts", "shared_ip_accounts", "cycle_count")


@dataclass
class AnswerCheck:
    """The answer as shown, and what was removed and why."""

    text: str
    kept: int = 0
    removed: list[str] = field(default_factory=list)
    negative_claims: int = 0

    @property
    def unsupported(self) -> int:
        return len(self.removed)


def strip_fences(text: str) -> str:
    """Remove fencing tags the model may have copied from its context."""
    return FENCE_RE.sub("", text)


def _empty(ev: Evidence) -> bool:
    if ev.row_count == 0:
        return True
    if any(ev.facts.get(k) == 0 for k in EMPTY_FACTS):
        return True
    return any(k.endswith("_min_hops") and v == 99 for k, v in ev.facts.items())


def _entities(sentence: str) -> set[str]:
    body = CITE_RE.sub(" ", sentence)
    return {m.lower() for m in ADDRESS_RE.findall(body)} | {m.lower() for m in ID_RE.findall(body)}


def _arg_values(ev: Evidence) -> set[str]:
    out: set[str] = set()
    for v in ev.args.values():
        for x in v if isinstance(v, list) else [v]:
            out.add(str(x).lower())
    return out


def _names_tool(text: str, names: set[str]) -> bool:
    """The sentence names the tool: its name, or a word sharing its stem (screen / screening)."""
    words = set(re.findall(r"[a-z_0-9]+", text))
    return any(w == n or (min(len(w), len(n)) >= 5 and (n.startswith(w) or w.startswith(n)))
               for w in words for n in names)


def negative_ok(sentence: str, cited: list[Evidence], tool_names: dict[str, str]) -> str:
    """'' when a negative claim rests on an empty result of a named tool for the named entity, else why not."""
    if not cited:
        return "a negative claim without a citation"
    named = _entities(sentence)
    low = sentence.lower()
    for ev in cited:
        if ev.error:
            continue
        if named and not named & _arg_values(ev):
            continue
        if not _names_tool(low, {ev.tool, tool_names.get(ev.id, ev.tool)}):
            continue
        if _empty(ev):
            return ""
    return "a negative claim not resting on an empty result of a named tool for that entity"


def check_answer(text: str, evidence: list[Evidence], tool_names: dict[str, str] | None = None,
                 earlier: list[Evidence] | None = None) -> AnswerCheck:
    """Verify an answer against this turn's evidence; unsupported sentences are removed. A citation may also
    name `earlier` evidence of the conversation (a follow-up citing the first answer's [E1]); an uncited
    value must be in this turn's evidence."""
    tool_names = tool_names or {}
    turn = {e.id: e for e in evidence}
    by_id = {e.id: e for e in earlier or []} | turn
    lines = [ln for ln in strip_fences(text).split("\n")]
    result = AnswerCheck("")
    kept_lines = []
    for line in lines:
        kept = []
        for sentence in split_sentences(line):
            cites = [c.strip() for g in CITE_RE.findall(sentence) for c in g.split(",")]
            scope = {c: by_id[c] for c in cites if c in by_id} if cites else dict(turn)
            if cites and len(scope) < len(cites):
                result.removed.append(f"cites evidence that does not exist: {sentence[:120]}")
                continue
            probe = sentence if cites else sentence + " [" + ", ".join(scope) + "]"
            checked = verify(probe, scope)
            if not checked.sentences or not all(s.ok for s in checked.sentences):
                bad = "; ".join(checked.unsupported)[:200]
                result.removed.append(f"unsupported: {bad or sentence[:120]}")
                continue
            if NEGATIVE_RE.search(CITE_RE.sub(" ", sentence)):
                result.negative_claims += 1
                why = negative_ok(sentence, [by_id[c] for c in cites if c in by_id], tool_names)
                if why:
                    result.removed.append(f"{why}: {sentence[:120]}")
                    continue
            kept.append(sentence)
        if kept:
            kept_lines.append(" ".join(kept))
    result.text = "\n".join(kept_lines)
    result.kept = sum(len(split_sentences(x)) for x in kept_lines)
    return result


CLAUSE_END_RE = re.compile(r"(?<=[.!?:;])\s+|\n")


class StreamChecker:
    """Checks a streamed answer clause by clause, so it is both streamed and checked before it is shown.

    A clause is shown once it is complete (ends in . ! ? : ; or a newline) and passes `check_answer`
    against the evidence so far; a clause with an unsupported value or an unfounded negative claim is
    held back, never shown. The final stored answer is checked again whole (sentence by sentence).
    """

    def __init__(self, evidence: list[Evidence], earlier: list[Evidence] | None = None) -> None:
        self.evidence = evidence  # the caller's list: tool results arriving later are seen
        self.earlier = earlier or []
        self.pending = ""
        self.removed: list[str] = []

    def _emit(self, clause: str, tail: str) -> list[str]:
        checked = check_answer(clause, self.evidence, earlier=self.earlier)
        self.removed += checked.removed
        if not checked.text:
            return []
        return re.findall(r"\S+\s*", checked.text + tail)

    def feed(self, text: str) -> list[str]:
        self.pending += text
        out: list[str] = []
        while m := CLAUSE_END_RE.search(self.pending):
            clause, self.pending = self.pending[:m.start()], self.pending[m.end():]
            if clause.strip():
                out += self._emit(clause, "\n" if "\n" in m.group(0) else " ")
        return out

    def flush(self) -> list[str]:
        rest, self.pending = self.pending, ""
        return self._emit(rest, "") if rest.strip() else []
