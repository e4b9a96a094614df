"""Run a named tool of the registry (tools.registry) for a case: a playbook step, the router or a chat command.

The arguments are validated against the tool's typed model and the alert fills the account and
time window the call leaves out. Unknown tools are playbook bugs and raise; tool errors a model
can act on (bad arguments included) come back as Evidence with `error` set.
"""

from __future__ import annotations

from typing import Any

from agent.context import InvestigationContext
from tools.db import QueryFailed, QueryTimeout
from tools.errors import NotFound
from tools.evidence import Evidence
from tools.registry import arguments, tool


def run_step(ctx: InvestigationContext, alert: dict[str, Any] | None, name: str, args: dict[str, Any]) -> Evidence:
    """Run one named tool; errors the caller can act on become an Evidence with `error`."""
    entry = tool(name)
    try:
        # pydantic's ValidationError is a ValueError: a bad argument is reported like a tool error
        return entry.run(ctx, alert, arguments(entry, alert, args))
    except (NotFound, QueryFailed, QueryTimeout, ValueError, TypeError) as e:
        return ctx.ledger.record(name, args, error=str(e))
