"""`sleuth eval chat`: investigator questions asked through the chat session, scored against facts derived
by SQL (evals/chat/derive.py).

Per question: did an expected tool run; are all expected facts in the answer (amounts compared without
thousands separators); are its citations ids of evidence that this answer produced; does the shown answer
still carry an unsupported claim (re-checked here, independently of what the chat removed); a false negative
(a negative claim where the sample holds the facts); seconds per answer. A question marked `expect: none`
(a clean address, an account without alerts) is right when an expected tool ran and the answer says it
found nothing. `after` questions are asked first in the same thread (follow-ups) and not scored.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.settings import Settings

QUESTIONS = Path(__file__).parent / "chat" / "questions.jsonl"


@dataclass
class QuestionResult:
    """One scored question."""

    id: str
    split: str
    question: str
    answer: str
    tools: list[str]
    evidence_ids: list[str]
    seconds: float
    tool_ok: bool
    facts_ok: bool
    missing: list[str]
    citations_ok: bool
    unsupported: int
    removed_by_check: int
    negative: bool
    false_negative: bool
    correct: bool
    plan_source: str = ""
    model_tokens: int = 0
    notes: list[str] = field(default_factory=list)


def load_questions(path: Path = QUESTIONS, split: str = "all") -> list[dict[str, Any]]:
    """The questions of one split; a malformed line is one clear error naming the file and line."""
    from tools.errors import InputInvalid

    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not (isinstance(row, dict) and row["question"] and isinstance(row["facts"], list)):
                raise TypeError("question and a list of facts are required")
            row["expected_tools"] = list(row["expected_tools"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputInvalid(f"{path}:{n}: not a question (JSON with question, expected_tools, facts): {e}") from e
        row.setdefault("id", f"q{n}")
        rows.append(row)
    return [r for r in rows if split == "all" or r.get("split") == split]


def _norm(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3})", "", text).lower()


def score(q: dict[str, Any], answer: str, tools: list[str], evidence: list[Any], seconds: float,
          trace: list[dict[str, Any]]) -> QuestionResult:
    """Score one answer (the shown text is re-checked against this answer's evidence here)."""
    from agent.chat.check import NEGATIVE_RE, check_answer
    from agent.verifier import CITE_RE

    ids = [e.id for e in evidence]
    body = _norm(answer)
    missing = [f for f in q["facts"] if _norm(str(f)) not in body]
    cited = [c.strip() for g in CITE_RE.findall(answer) for c in g.split(",")]
    recheck = check_answer(answer, evidence, {e.id: t for t, e in zip(tools, evidence, strict=False)})
    negative = bool(NEGATIVE_RE.search(CITE_RE.sub(" ", answer)))
    tool_ok = any(t in q["expected_tools"] for t in tools)
    facts_ok = not missing
    expect_none = q.get("expect") == "none"
    correct = tool_ok and facts_ok and (negative if expect_none else True)
    plan = next((t for t in trace if t.get("turn") == "chat_plan"), {})
    return QuestionResult(
        id=q["id"], split=q.get("split", ""), question=q["question"], answer=answer, tools=tools, evidence_ids=ids,
        seconds=round(seconds, 2), tool_ok=tool_ok, facts_ok=facts_ok, missing=missing,
        citations_ok=bool(cited) and all(c in ids for c in cited), unsupported=recheck.unsupported,
        removed_by_check=sum(len(t.get("removed") or []) for t in trace), negative=negative,
        false_negative=negative and not expect_none and not facts_ok, correct=correct,
        plan_source=str(plan.get("plan_source", "")),
        model_tokens=int(plan.get("tokens_in", 0)) + int(plan.get("tokens_out", 0)))


def run_chat_eval(settings: Settings, model: str, questions: list[dict[str, Any]],
                  on_result: Any = None) -> dict[str, Any]:
    """Ask every question in its own thread (follow-ups after their `after` questions) and score it."""
    from agent.chat.session import ChatSession

    results: list[QuestionResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        session = ChatSession(settings, "eval", model, chat_db=Path(tmp) / "chat.sqlite")
        try:
            backend = f"{session.model_name} ({session.style})"
            for n, q in enumerate(questions):
                session.thread = f"eval-{n}-{q['id']}"
                for before in q.get("after") or []:
                    session.ask(before, on_token=lambda t: None, on_tool=lambda *a: None)
                tools: list[str] = []
                evidence: list[Any] = []

                def on_tool(name: str, args: dict, ev: Any, tools: list[str] = tools,
                            evidence: list[Any] = evidence) -> None:
                    tools.append(name)
                    evidence.append(ev)

                start = time.perf_counter()
                answer = session.ask(q["question"], on_token=lambda t: None, on_tool=on_tool)
                seconds = time.perf_counter() - start
                result = score(q, answer, tools, evidence, seconds, session.last_trace())
                results.append(result)
                if on_result:
                    on_result(result)
        finally:
            session.close()
    return {"model": model, "backend": backend, "questions": len(results), "summary": summarize(results),
            "by_split": {s: summarize([r for r in results if r.split == s]) for s in sorted({r.split for r in results})},
            "results": [asdict(r) for r in results]}


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p * (len(xs) - 1))))
    return round(xs[k], 2)


def summarize(results: list[QuestionResult]) -> dict[str, Any]:
    n = len(results) or 1
    secs = [r.seconds for r in results]
    return {
        "questions": len(results),
        "correct_share": round(sum(r.correct for r in results) / n, 4),
        "tool_ok_share": round(sum(r.tool_ok for r in results) / n, 4),
        "facts_ok_share": round(sum(r.facts_ok for r in results) / n, 4),
        "citations_ok_share": round(sum(r.citations_ok for r in results) / n, 4),
        "unsupported_claims": sum(r.unsupported for r in results),
        "sentences_removed_by_check": sum(r.removed_by_check for r in results),
        "false_negatives": sum(r.false_negative for r in results),
        "seconds_median": round(statistics.median(secs), 2) if secs else 0.0,
        "seconds_p95": _pct(secs, 0.95),
        "seconds_max": round(max(secs), 2) if secs else 0.0,
        "model_plans": sum(r.plan_source.startswith("model") for r in results),
    }
