"""The graph's state: what one investigation accumulates as it moves through the nodes.

Nodes return partial updates; list fields with `operator.add` append, `timings`/`tokens` merge.
Everything here is JSON-serialisable so a checkpointer can store it.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later keys win; numeric values under the same key add up (token counts)."""
    out = dict(left or {})
    for k, v in (right or {}).items():
        if isinstance(v, int | float) and isinstance(out.get(k), int | float) and k.startswith("tok_"):
            out[k] = out[k] + v
        else:
            out[k] = v
    return out


class CaseState(TypedDict, total=False):
    """State of one case investigation."""

    alert_id: str
    alert: dict[str, Any]
    candidates: list[str]
    passages: list[dict[str, Any]]
    evidence: Annotated[list[dict[str, Any]], operator.add]
    facts: dict[str, Any]
    notes: Annotated[list[str], operator.add]
    steps_taken: int
    scorecards: dict[str, Any]
    decision: dict[str, Any]
    narrative: str
    unsupported: list[str]
    verification: dict[str, Any]
    revisions: int
    actions: list[dict[str, Any]]
    report: dict[str, Any]
    timings: Annotated[dict[str, float], merge_dicts]
    tokens: Annotated[dict[str, int], merge_dicts]
    trace: Annotated[list[dict[str, Any]], operator.add]
