"""The evidence ledger: every tool result of a case, numbered E1, E2, ... and kept exact.

The narrative cites these ids and the verifier checks each amount, date, id and address against
the evidence it cites, so rows are stored as returned (no rounding), capped with a note when cut.
`facts` are the named scalar measurements a tool computed (see `tools/facts.py`); playbook
scorecards read them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

from pydantic import BaseModel, Field

FactValue = float | int | str | bool | None

#: Columns holding text written by customers or third parties: rendered fenced as data for a model.
UNTRUSTED_COLUMNS = frozenset({"memo", "chat", "description", "notes"})


def fence_cell(value: Any) -> str:
    """Untrusted text as data: fenced, with any attempt to open or close the fence neutralised."""
    body = re.sub(r"<(/?)untrusted_data", r"‹\1untrusted_data", str(value), flags=re.I)
    return f"<untrusted_data>{body}</untrusted_data>"


def jsonable(value: Any) -> Any:
    """Cell values as JSON-safe scalars without losing precision that a reader would see."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class Evidence(BaseModel):
    """One recorded tool result."""

    id: str = Field(description="Citation id within the case, E1, E2, ...")
    tool: str = Field(description="Tool that produced it (sql, profile, trace, exposure, ...).")
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments the tool was called with.")
    query: str | None = Field(None, description="The SQL that ran, when there was one.")
    columns: list[str] = Field(default_factory=list, description="Column names of `rows`.")
    rows: list[list[Any]] = Field(default_factory=list, description="Result rows, capped.")
    row_count: int = Field(0, description="Rows before the cap.")
    truncated: bool = Field(False, description="True when rows were cut to the cap.")
    facts: dict[str, FactValue] = Field(default_factory=dict, description="Named measurements computed.")
    summary: str = Field("", description="Short text rendering for a model and a human.")
    error: str | None = Field(None, description="Error message the model can act on, if the call failed.")
    elapsed_ms: float = Field(0.0, description="Wall time of the call.")

    def brief(self, max_chars: int = 320) -> str:
        """One line for a small model's context: id, tool and the start of the summary."""
        text = self.error and f"ERROR: {self.error}" or self.summary or f"{self.row_count} rows"
        text = " ".join(text.split())
        return f"[{self.id}] {self.tool}: {text[:max_chars]}{'...' if len(text) > max_chars else ''}"

    def render(self, max_rows: int = 15) -> str:
        """Compact text for a model: id, summary, facts and the first rows as a pipe table."""
        lines = [f"[{self.id}] {self.tool}({', '.join(f'{k}={v}' for k, v in self.args.items())})"]
        if self.error:
            lines.append(f"ERROR: {self.error}")
            return "\n".join(lines)
        if self.summary:
            lines.append(self.summary)
        if self.facts:
            lines.append("facts: " + ", ".join(f"{k}={v}" for k, v in self.facts.items()))
        if self.columns and self.rows:
            lines.append(" | ".join(self.columns))
            fenced = [c in UNTRUSTED_COLUMNS for c in self.columns]
            lines += [" | ".join(fence_cell(c) if f and c not in (None, "") else str(c)
                                 for c, f in zip(row, fenced, strict=False)) for row in self.rows[:max_rows]]
            if self.row_count > min(len(self.rows), max_rows):
                lines.append(f"... {self.row_count - min(len(self.rows), max_rows)} more rows not shown")
        elif not self.facts and not self.summary:
            lines.append("(no rows: the tool found nothing)")
        return "\n".join(lines)


def facts_by_name(items: list[Evidence]) -> dict[str, tuple[FactValue, str]]:
    """Facts of successful tool results: name -> (value, evidence id); the latest value wins."""
    return {k: (v, e.id) for e in items if not e.error for k, v in e.facts.items()}


class EvidenceLedger:
    """Per-case, append-only list of evidence with sequential ids."""

    def __init__(self, row_cap: int = 50) -> None:
        self.row_cap = row_cap
        self._items: list[Evidence] = []

    def record(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        query: str | None = None,
        columns: list[str] | None = None,
        rows: list[Any] | None = None,
        facts: dict[str, FactValue] | None = None,
        summary: str = "",
        error: str | None = None,
        elapsed_ms: float = 0.0,
    ) -> Evidence:
        """Add a tool result and return it with its new id."""
        all_rows = [list(jsonable(list(r))) for r in (rows or [])]
        item = Evidence(
            id=f"E{len(self._items) + 1}",
            tool=tool,
            args={k: jsonable(v) for k, v in args.items()},
            query=query,
            columns=list(columns or []),
            rows=all_rows[: self.row_cap],
            row_count=len(all_rows),
            truncated=len(all_rows) > self.row_cap,
            facts={k: jsonable(v) for k, v in (facts or {}).items()},
            summary=summary + (f" (showing {self.row_cap} of {len(all_rows)} rows)"
                               if len(all_rows) > self.row_cap else ""),
            error=error,
            elapsed_ms=round(elapsed_ms, 2),
        )
        self._items.append(item)
        return item

    def adopt(self, items: list[Evidence]) -> None:
        """Append evidence recorded in a scratch ledger (a parallel tool call), renumbered in order."""
        for item in items:
            item.id = f"E{len(self._items) + 1}"
            self._items.append(item)

    def get(self, evidence_id: str) -> Evidence | None:
        """The evidence with this id, or None."""
        return next((e for e in self._items if e.id == evidence_id), None)

    def all(self) -> list[Evidence]:
        """Every item, in the order recorded."""
        return list(self._items)

    def facts(self) -> dict[str, tuple[FactValue, str]]:
        """All facts of the case: name -> (value, evidence id); the latest value wins."""
        return facts_by_name(self._items)

    def __len__(self) -> int:
        return len(self._items)
