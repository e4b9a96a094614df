"""LangChain wrappers: the tools the agent's model can call, built per case.

Each tool is a plain typed function whose docstring is the description a SMALL local model reads:
short, concrete, one example. The function closes over the case's database, evidence ledger and
settings (a `ToolContext`) and returns `(text for the model, Evidence)`, so the ToolMessage content
is the rendered evidence with its id to cite and `ToolMessage.artifact` is the Evidence itself.

Adding a tool is one decorated factory in `TOOLS` order:

    @tool_factory
    def _profile(ctx: ToolContext) -> Callable[..., ToolOutput]:
        def profile(account_id: str) -> ToolOutput:
            \"\"\"KYC and activity summary of one account. Example: profile(account_id="ACC-000123")\"\"\"
            return _out(profile_account(ctx.db, ctx.ledger, account_id))
        return profile
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.tools import BaseTool, StructuredTool

from tools.db import Database
from tools.evidence import Evidence, EvidenceLedger
from tools.settings import Settings

ToolOutput = tuple[str, Evidence]
ToolFactory = Callable[["ToolContext"], Callable[..., ToolOutput]]

TOOLS: list[ToolFactory] = []


@dataclass(frozen=True)
class ToolContext:
    """What every tool of one case shares."""

    db: Database
    ledger: EvidenceLedger
    settings: Settings


def tool_factory(factory: ToolFactory) -> ToolFactory:
    """Register a factory that builds one model-facing tool function from a ToolContext."""
    TOOLS.append(factory)
    return factory


def make_tools(db: Database, ledger: EvidenceLedger, settings: Settings) -> list[BaseTool]:
    """The model's tools for one case, in registration order."""
    ctx = ToolContext(db, ledger, settings)
    return [
        StructuredTool.from_function(factory(ctx), response_format="content_and_artifact", parse_docstring=True)
        for factory in TOOLS
    ]


def _out(ev: Evidence, max_rows: int = 15) -> ToolOutput:
    return ev.render(max_rows=max_rows), ev


# --- sql ----------------------------------------------------------------------------------------

@tool_factory
def _sql(ctx: ToolContext) -> Callable[..., ToolOutput]:
    from tools.sql import run_sql

    def sql(query: str) -> ToolOutput:
        """Run ONE read-only DuckDB SELECT on the workspace tables and get rows back.

        Only SELECT or WITH. Use the table and column names from describe_schema. No files, no
        writes. Filter and aggregate so the answer is small; at most a few hundred rows come back.
        Example: SELECT kind, count(*) AS n, sum(amount_usd) AS usd FROM transactions WHERE src = 'ACC-000123' GROUP BY kind

        Args:
            query: one SELECT statement, without a trailing semicolon.
        """
        return _out(run_sql(ctx.db, ctx.ledger, query, row_cap=ctx.settings.sql_row_cap))

    return sql


# --- describe_schema ----------------------------------------------------------------------------

@tool_factory
def _describe_schema(ctx: ToolContext) -> Callable[..., ToolOutput]:
    from tools.schema_text import describe_schema as schema_text
    from tools.sql import allowlist

    def describe_schema() -> ToolOutput:
        """List the workspace tables with row counts, and each column with its type and meaning.

        Call it once before writing SQL if you are unsure of a name.
        Example: describe_schema()
        """
        text = schema_text(ctx.db)
        tables, _ = allowlist(ctx.db)
        ev = ctx.ledger.record("describe_schema", {}, columns=["table"], rows=[[t] for t in tables],
                               summary=f"{len(tables)} tables: {', '.join(tables)}")
        return f"[{ev.id}] describe_schema()\n{text}", ev

    return describe_schema
