"""The chat's tools as LangChain tools: the router's options plus SQL, from the one registry (tools.registry).

Arguments are narrow and typed; descriptions are written for a small model. Each call records
evidence in the session's ledger and returns its rendering, which carries the [E#] id to cite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from agent.context import InvestigationContext
from agent.drivers.router import router_options
from tools.evidence import Evidence
from tools.registry import run_tool


def make_chat_tools(ctx: InvestigationContext, focus: Callable[[], dict[str, Any]],
                    on_evidence: Callable[[Evidence], None]) -> list[BaseTool]:
    """One StructuredTool per router option; `focus` gives the current alert window."""
    tools: list[BaseTool] = []
    for option in router_options(with_sql=True):
        def run(_name: str = option.name, **kwargs: Any) -> str:
            args = {k: v for k, v in kwargs.items() if v is not None}
            ev = run_tool(ctx, focus(), _name, args)
            on_evidence(ev)
            return ev.render(max_rows=12)

        tools.append(StructuredTool.from_function(
            func=run, name=option.name, description=option.description, args_schema=option.args))
    return tools
