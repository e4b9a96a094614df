"""LangChain wrappers: the registry's tools (tools.registry) a capable model calls, built per case.

Each wrapper validates the model's arguments with the tool's typed model, runs the registry's runner
with the case's database, evidence ledger and settings (a `ToolContext`) and returns `(text for the
model, Evidence)`, so the ToolMessage content is the rendered evidence with its id to cite and
`ToolMessage.artifact` is the Evidence itself. Adding a tool is a registry entry plus its name in
`TOOLS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from tools.db import Database
from tools.evidence import Evidence, EvidenceLedger
from tools.registry import run_tool, tool
from tools.settings import Settings

ToolOutput = tuple[str, Evidence]

# The wide tools a capable model gets besides the router's narrow ones: free SQL and the schema to write it.
TOOLS = ("sql", "describe_schema")


@dataclass(frozen=True)
class ToolContext:
    """What every tool of one case shares."""

    db: Database
    ledger: EvidenceLedger
    settings: Settings


def _wrap(ctx: ToolContext, name: str, max_rows: int = 15) -> BaseTool:
    entry = tool(name)

    def run(**kwargs: Any) -> ToolOutput:
        ev = run_tool(ctx, None, name, kwargs)
        return ev.render(max_rows=max_rows), ev

    return StructuredTool.from_function(func=run, name=name, description=entry.description,
                                        args_schema=entry.args, response_format="content_and_artifact")


def make_tools(db: Database, ledger: EvidenceLedger, settings: Settings) -> list[BaseTool]:
    """The model's tools for one case, in `TOOLS` order."""
    ctx = ToolContext(db, ledger, settings)
    return [_wrap(ctx, name) for name in TOOLS]
