"""investigate: the model follows leads with the tools, within a budget of steps and tokens.

How is the driver's (`agent.drivers`): `router` picks one narrow step at a time, `native` calls the
tools itself, `rules` has no loop (its evidence is the playbooks' steps alone).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import new_evidence, timed
from agent.state import CaseState


def investigate(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Follow leads with the model's chosen tools (bounded); no-op for the rules driver."""
    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "investigate"):
        before = len(ctx.ledger)
        ctx.driver.investigate(state, ctx, update)
        if len(ctx.ledger) > before:
            update["evidence"] = new_evidence(ctx, before)
    return update
