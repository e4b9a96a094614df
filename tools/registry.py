"""The one table of tools a playbook step, the router, the chat or a LangChain model can call.

Each entry gives a tool's name, its typed arguments (a pydantic model: what a model may pass and what
a playbook step may set), a one-line description written for a small model, the runner, and the
facts group of `tools.facts` it fills. Everything else is built from here: `run_tool` (which runs
playbook steps, router and chat calls), the router's options (`agent.nodes.investigate`), the chat toolkit and catalog descriptions, the
LangChain tools (`tools.lc`) and the tool names and arguments a playbook may use
(`tools.playbooks.schema`). Directions are `in`, `out` or `both` everywhere.

A runner takes (context, alert, validated args): the alert gives the time window (and the account a
playbook step leaves out, see `arguments`); it is None where there is no case (the LangChain tools).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.db import Database, QueryFailed, QueryTimeout
from tools.errors import NotFound
from tools.evidence import Evidence, EvidenceLedger
from tools.facts import facts_of
from tools.settings import Settings

Direction = Literal["in", "out", "both"]


class StepContext(Protocol):
    """What a runner reads from its caller (agent.context.InvestigationContext has it)."""

    db: Database
    ledger: EvidenceLedger
    settings: Settings


class NoArgs(BaseModel):
    """No arguments."""

    model_config = ConfigDict(extra="forbid")


class AccountArgs(NoArgs):
    """An account to look at."""

    account_id: str = Field(description="Account id, e.g. ACC-000123")


class HopsArgs(AccountArgs):
    """An account and how far to search from it."""

    max_hops: int | None = Field(None, ge=1, le=6, description="most hops to search, 1-6")


class TraceArgs(AccountArgs):
    """Fund-flow trace parameters."""

    direction: Direction = Field("out", description="in, out or both")
    hops: int = Field(2, ge=1, le=6, description="hops to follow, 1-6")
    min_usd: float = Field(0.0, ge=0, description="ignore transfers below this USD amount")


class ScreenArgs(NoArgs):
    """On-chain addresses to screen."""

    address: str | None = Field(None, description="On-chain address to screen")
    addresses: list[str] | None = Field(None, description="several addresses to screen at once")

    @model_validator(mode="after")
    def _one(self) -> ScreenArgs:
        if not self.address and not self.addresses:
            raise ValueError("give an address to screen")
        return self


class SqlArgs(NoArgs):
    """One read-only SELECT."""

    query: str = Field(description="one SELECT statement, without a trailing semicolon")


StepFn = Callable[[StepContext, "dict[str, Any] | None", Any], Evidence]


@dataclass(frozen=True)
class Tool:
    """One registry entry."""

    name: str
    args: type[BaseModel]
    description: str
    run: StepFn
    fact_group: str | None = None  # the `tools.facts` owner whose facts this tool computes
    step: bool = True  # a playbook evidence step may run it (it needs nothing but the case)

    @property
    def facts(self) -> list[str]:
        """The catalogue facts this tool fills (tools/facts.py keeps their meanings)."""
        return facts_of(self.fact_group) if self.fact_group else []


def _as_of(alert: dict[str, Any] | None) -> datetime | None:
    return datetime.fromisoformat(alert["created_at"]) if alert else None


def _profile(ctx: StepContext, alert: dict[str, Any] | None, args: AccountArgs) -> Evidence:
    from tools.profile import profile

    return profile(ctx.db, ctx.ledger, args.account_id, as_of=_as_of(alert),
                   window_days=ctx.settings.window_days)


def _graph(name: str) -> StepFn:
    def run(ctx: StepContext, alert: dict[str, Any] | None, args: AccountArgs) -> Evidence:
        import tools.graph as graph

        kwargs = args.model_dump(exclude={"account_id"}, exclude_none=True)
        return getattr(graph, name)(ctx.db, ctx.ledger, args.account_id, as_of=_as_of(alert), **kwargs)

    return run


def _trace(ctx: StepContext, alert: dict[str, Any] | None, args: TraceArgs) -> Evidence:
    from tools.graph import trace

    return trace(ctx.db, ctx.ledger, args.account_id, direction=args.direction, max_hops=args.hops,
                 min_usd=args.min_usd, as_of=_as_of(alert), window_days=ctx.settings.window_days)


def _screen_counterparties(ctx: StepContext, alert: dict[str, Any] | None, args: AccountArgs) -> Evidence:
    from tools.screening import screen_counterparties

    return screen_counterparties(ctx.db, ctx.ledger, args.account_id, as_of=_as_of(alert),
                                 window_days=ctx.settings.window_days)


def _screen(ctx: StepContext, alert: dict[str, Any] | None, args: ScreenArgs) -> Evidence:
    from tools.screening import screen

    return screen(ctx.db, ctx.ledger, list(args.addresses or [args.address]))


def _sql(ctx: StepContext, alert: dict[str, Any] | None, args: SqlArgs) -> Evidence:
    """Bind the case's `$account`, `$alert_ts`, `$window_start`, `$alert_id` where the query uses them."""
    from tools.sql import run_sql
    from tools.sql_batch import step_params

    return run_sql(ctx.db, ctx.ledger, args.query, step_params(alert, args.query), row_cap=ctx.settings.sql_row_cap)


def _features(ctx: StepContext, alert: dict[str, Any] | None, args: NoArgs) -> Evidence:
    from tools.features.tool import features

    if alert is None:
        raise ValueError("features need an alert")
    return features(ctx.db, ctx.ledger, alert["alert_id"], ctx.settings.jurisdiction_profile,
                    window_days=ctx.settings.window_days)


def _describe_schema(ctx: StepContext, alert: dict[str, Any] | None, args: NoArgs) -> Evidence:
    """The schema text is the summary, so the model reads it in the evidence's rendering."""
    from tools.schema_text import describe_schema

    return ctx.ledger.record("describe_schema", {}, summary=describe_schema(ctx.db))


TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("profile", AccountArgs, "who the customer is: KYC, country, occupation, income, activity in the "
         "window vs its baseline, logins, P2P, prior alerts",
         _profile, "profile"),
    Tool("counterparties", AccountArgs, "who sent money to the account and who received money from it, "
         "with USD totals and dates",
         _graph("counterparties"), "counterparties"),
    Tool("exposure", HopsArgs, "paths to sanctioned, mixer or scam addresses within 4 hops", _graph("exposure"),
         "exposure"),
    Tool("trace", TraceArgs, "follow the funds in or out over several hops", _trace),
    Tool("clusters", AccountArgs, "other accounts sharing a device or an IP address", _graph("clusters"), "clusters"),
    Tool("cycles", HopsArgs, "funds that go round and come back to the account", _graph("cycles"), "cycles"),
    Tool("flow_shape", AccountArgs, "fan-in, fan-out, layering and bipartite patterns around the account",
         _graph("flow_shape"), "flow_shape"),
    Tool("screen_counterparties", AccountArgs, "screen every external address the account dealt with",
         _screen_counterparties, "screening"),
    Tool("screen", ScreenArgs, "check one address against the sanctions and scam lists", _screen, "screening", step=False),
    Tool("features", NoArgs, "the alert's behavioural features (feature store) for its jurisdiction", _features,
         "features"),
    Tool("sql", SqlArgs, "run ONE read-only DuckDB SELECT (or WITH) on the workspace tables; filter and aggregate "
         "so few rows come back; table and column names from describe_schema. Example: SELECT kind, count(*) AS n, "
         "sum(amount_usd) AS usd FROM transactions WHERE src = 'ACC-000123' GROUP BY kind", _sql),
    Tool("describe_schema", NoArgs, "list the workspace tables with row counts and each column with its type and "
         "meaning; call it once before writing SQL if unsure of a name", _describe_schema, step=False),
]}


def arguments(entry: Tool, alert: dict[str, Any] | None, args: dict[str, Any]) -> BaseModel:
    """Validate a call's arguments; a call that names no account (a playbook step) is about the alert's."""
    if "account_id" in entry.args.model_fields and not args.get("account_id") and alert is not None:
        args = {**args, "account_id": alert["account_id"]}
    return entry.args.model_validate(args)


def call_key(name: str, alert: dict[str, Any] | None, args: dict[str, Any]) -> str:
    """What makes two calls the same call: the tool and its validated arguments, defaults and the
    alert's account filled in, so `profile {}` in a playbook and `profile {account_id: <the alert's>}`
    from the router are one call. Keys that are not arguments (what a runner adds to the evidence it
    records: the alert's as-of time, the window) are left out; arguments that do not validate are
    compared as given."""
    try:
        entry = tool(name)
        given = {k: v for k, v in args.items() if k in entry.args.model_fields}
        norm: Any = arguments(entry, alert, given).model_dump(mode="json")
    except (KeyError, ValueError, TypeError):
        norm = args
    return json.dumps([name, norm], sort_keys=True, default=str)


def tool(name: str) -> Tool:
    """The entry for a name; an unknown name is a caller's bug."""
    try:
        return TOOLS[name]
    except KeyError:
        raise KeyError(f"unknown tool {name!r}") from None


def run_tool(ctx: StepContext, alert: dict[str, Any] | None, name: str, args: dict[str, Any]) -> Evidence:
    """Run one named tool; errors a caller (or a model) can act on, bad arguments included (pydantic's
    ValidationError is a ValueError), become an Evidence with `error`. An unknown name raises."""
    entry = tool(name)
    try:
        return entry.run(ctx, alert, arguments(entry, alert, args))
    except (NotFound, QueryFailed, QueryTimeout, ValueError, TypeError) as e:
        return ctx.ledger.record(name, args, error=str(e))
