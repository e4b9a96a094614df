"""The tools a playbook evidence step, the router or a chat command can call, by name.

One registry maps a tool name to a function of (context, alert, args) -> Evidence, filling the
alert's account and time window where the step leaves them out. Unknown tools are playbook bugs
and raise; tool errors a model can act on come back as Evidence with `error` set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent.context import InvestigationContext
from tools.db import QueryFailed, QueryTimeout
from tools.errors import NotFound
from tools.evidence import Evidence

StepFn = Callable[[InvestigationContext, dict[str, Any], dict[str, Any]], Evidence]


def _as_of(alert: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(alert["created_at"])


def _account(alert: dict[str, Any], args: dict[str, Any]) -> str:
    return args.get("account_id") or alert["account_id"]


def _profile(ctx: InvestigationContext, alert: dict[str, Any], args: dict[str, Any]) -> Evidence:
    from tools.profile import profile

    return profile(ctx.db, ctx.ledger, _account(alert, args), as_of=_as_of(alert),
                   window_days=args.get("window_days", ctx.settings.window_days))


DIRECTIONS = {"forward": "out", "backward": "in", "out": "out", "in": "in", "both": "both"}


def _graph(name: str) -> StepFn:
    def run(ctx: InvestigationContext, alert: dict[str, Any], args: dict[str, Any]) -> Evidence:
        import tools.graph as graph

        fn = getattr(graph, name)
        kwargs = {k: v for k, v in args.items() if k != "account_id"}
        kwargs.setdefault("as_of", _as_of(alert))
        return fn(ctx.db, ctx.ledger, _account(alert, args), **kwargs)

    return run


def _trace(ctx: InvestigationContext, alert: dict[str, Any], args: dict[str, Any]) -> Evidence:
    """Trace with the playbooks' (forward/backward, hops) or the router's (out/in, hops) wording."""
    from tools.graph import trace

    direction = DIRECTIONS.get(str(args.get("direction", "out")), "out")
    return trace(ctx.db, ctx.ledger, _account(alert, args), direction=direction,
                 max_hops=int(args.get("hops", args.get("max_hops", 2))), min_usd=float(args.get("min_usd", 0.0)),
                 as_of=_as_of(alert), window_days=ctx.settings.window_days)


def _screen_counterparties(ctx: InvestigationContext, alert: dict[str, Any], args: dict[str, Any]) -> Evidence:
    from tools.screening import screen_counterparties

    return screen_counterparties(ctx.db, ctx.ledger, _account(alert, args), as_of=_as_of(alert),
                                 window_days=args.get("window_days", ctx.settings.window_days))


def _screen(ctx: InvestigationContext, alert: dict[str, Any], args: dict[str, Any]) -> Evidence:
    from tools.screening import screen

    addresses = args.get("addresses") or [args["address"]]
    return screen(ctx.db, ctx.ledger, list(addresses))


def _sql(ctx: InvestigationContext, alert: dict[str, Any], args: dict[str, Any]) -> Evidence:
    from tools.sql import run_sql

    query = args["query"]
    params = {k: v for k, v in {
        "account": _account(alert, args), "alert_ts": _as_of(alert),
        "window_start": datetime.fromisoformat(alert["window_start"]), "alert_id": alert["alert_id"],
    }.items() if f"${k}" in query}
    return run_sql(ctx.db, ctx.ledger, query, params or None)


def _features(ctx: InvestigationContext, alert: dict[str, Any], args: dict[str, Any]) -> Evidence:
    from tools.features.tool import features

    return features(ctx.db, ctx.ledger, alert["alert_id"], ctx.settings.jurisdiction_profile,
                    window_days=ctx.settings.window_days)


REGISTRY: dict[str, StepFn] = {
    "profile": _profile,
    "counterparties": _graph("counterparties"),
    "exposure": _graph("exposure"),
    "clusters": _graph("clusters"),
    "cycles": _graph("cycles"),
    "flow_shape": _graph("flow_shape"),
    "trace": _trace,
    "screen_counterparties": _screen_counterparties,
    "screen": _screen,
    "sql": _sql,
    "features": _features,
}


def run_step(ctx: InvestigationContext, alert: dict[str, Any], tool: str, args: dict[str, Any]) -> Evidence:
    """Run one named tool; errors the caller can act on become an Evidence with `error`."""
    fn = REGISTRY.get(tool)
    if fn is None:
        raise KeyError(f"unknown tool {tool!r}")
    try:
        return fn(ctx, alert, dict(args))
    except (NotFound, QueryFailed, QueryTimeout, ValueError, TypeError) as e:
        return ctx.ledger.record(tool, args, error=str(e))
