"""The tools a chat plan may call: name, what it targets, a description for the model, and its runner.

The investigation tools here take their name and description from the one registry (tools.registry);
the record look-ups (payments, alerts, P2P orders, one alert, one transaction) are the chat's own.
One table serves the rules planner, the model planner's menu and JSON schema, the runner and the
answer composer, so a tool is added here once. Each runner turns a planned call (target, period,
direction, hops) into the tool's own arguments: the period becomes an explicit window, and without
one the analytics tools look at the alert window (the 30 days before the account's latest alert, as
`/case` does) while record look-ups (payments, P2P orders) cover the whole history.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.chat.entities import Period
from tools.db import Database
from tools.errors import InputInvalid, NotFound
from tools.evidence import Evidence, EvidenceLedger


@dataclass(frozen=True)
class Call:
    """One planned tool call: the tool, the entity it is about, and its options."""

    tool: str
    target: str
    direction: str | None = None
    hops: int | None = None
    order: str | None = None  # payments: "recent" lists the latest first (default: the largest first)

    def key(self) -> tuple[str, str, str | None, int | None, str | None]:
        return (self.tool, self.target.lower(), self.direction, self.hops, self.order)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in {"tool": self.tool, "target": self.target, "direction": self.direction,
                                  "hops": self.hops, "order": self.order}.items() if v is not None}


@dataclass(frozen=True)
class Window:
    """The resolved time of one call."""

    start: dt.datetime
    end: dt.datetime

    @property
    def days(self) -> int:
        return max(1, math.ceil((self.end - self.start).total_seconds() / 86400 - 1e-6))


@dataclass(frozen=True)
class RunEnv:
    """What a runner needs: the database, the ledger, the data's span and the conversation's focus."""

    db: Database
    ledger: EvidenceLedger
    data_start: dt.datetime
    data_end: dt.datetime
    window_days: int
    focus: dict[str, Any]

    def anchor(self, entity: str) -> dt.datetime:
        """The reference time of an entity: the open alert's creation when it is about this account, else
        the account's latest alert, else its last movement (tools.graph.common.resolve_as_of)."""
        from tools.graph.common import naive_utc, resolve_as_of

        if self.focus.get("alert_id") and self.focus.get("account_id") == entity:
            return naive_utc(self.focus["created_at"]) or self.data_end
        return resolve_as_of(self.db, entity, None)

    def window(self, entity: str, period: Period | None, default_all: bool = False) -> Window:
        if period is None and default_all or period is not None and period.kind == "all":
            return Window(self.data_start, self.data_end)
        if period is not None and period.kind == "span" and period.start and period.end:
            return Window(period.start, min(period.end, self.data_end) if period.end > self.data_start
                          else period.end)
        end = self.anchor(entity)
        days = period.days if period is not None else self.window_days
        return Window(end - dt.timedelta(days=days), end)


Runner = Callable[[RunEnv, Call, Period | None], Evidence]


@dataclass(frozen=True)
class ChatTool:
    """One entry of the catalog."""

    name: str
    targets: tuple[str, ...]  # account, address, alert, txn
    description: str
    run: Runner


def _windowed(fn_name: str, module: str) -> Runner:
    def run(env: RunEnv, call: Call, period: Period | None) -> Evidence:
        import importlib

        fn = getattr(importlib.import_module(module), fn_name)
        w = env.window(call.target, period)
        return fn(env.db, env.ledger, call.target, as_of=w.end, window_days=w.days)

    return run


def _trace(env: RunEnv, call: Call, period: Period | None) -> Evidence:
    from tools.graph import trace

    w = env.window(call.target, period)
    return trace(env.db, env.ledger, call.target, direction=call.direction or "out", max_hops=call.hops or 2,
                 since=w.start, until=w.end, as_of=w.end, window_days=w.days)


def _screen(env: RunEnv, call: Call, period: Period | None) -> Evidence:
    from tools.screening import screen

    return screen(env.db, env.ledger, [call.target])


def _payments(env: RunEnv, call: Call, period: Period | None) -> Evidence:
    from tools.activity import payments

    w = env.window(call.target, period, default_all=True)
    return payments(env.db, env.ledger, call.target, w.start, w.end, direction=call.direction or "both",  # type: ignore[arg-type]
                    order="recent" if call.order == "recent" else "amount")


def _p2p(env: RunEnv, call: Call, period: Period | None) -> Evidence:
    from tools.activity import p2p_orders

    w = env.window(call.target, period, default_all=True)
    return p2p_orders(env.db, env.ledger, call.target, w.start, w.end)


def _lookup(fn_name: str) -> Runner:
    def run(env: RunEnv, call: Call, period: Period | None) -> Evidence:
        import tools.activity as activity

        return getattr(activity, fn_name)(env.db, env.ledger, call.target)

    return run


def _shared(name: str, targets: tuple[str, ...], run: Runner) -> ChatTool:
    """A registry tool (tools.registry) offered to the chat: its description is the registry's."""
    from tools.registry import tool

    return ChatTool(name, targets, tool(name).description, run)


CATALOG: dict[str, ChatTool] = {t.name: t for t in [
    _shared("profile", ("account",), _windowed("profile", "tools.profile")),
    _shared("counterparties", ("account",), _windowed("counterparties", "tools.graph")),
    ChatTool("payments", ("account",), "payments in or out with counts, USD totals and the largest ones",
             _payments),
    _shared("exposure", ("account",), _windowed("exposure", "tools.graph")),
    _shared("screen_counterparties", ("account",), _windowed("screen_counterparties", "tools.screening")),
    _shared("screen", ("address",), _screen),
    _shared("trace", ("account", "address"), _trace),
    _shared("clusters", ("account",), _windowed("clusters", "tools.graph")),
    _shared("cycles", ("account",), _windowed("cycles", "tools.graph")),
    # record look-ups only the chat offers
    ChatTool("alerts", ("account",), "the alerts raised on the account", _lookup("account_alerts")),
    ChatTool("p2p_orders", ("account",), "P2P orders: chargebacks, disputes, third-party payers", _p2p),
    ChatTool("alert", ("alert",), "one alert: its account, rule, date and transactions", _lookup("alert_detail")),
    ChatTool("transaction", ("txn",), "one transaction: date, amount, source, destination",
             _lookup("transaction_detail")),
]}


def run_call(env: RunEnv, call: Call, period: Period | None) -> Evidence:
    """Run one planned call; a not-found entity or bad argument comes back as Evidence with `error`."""
    from tools.db import QueryFailed, QueryTimeout

    tool = CATALOG[call.tool]
    try:
        return tool.run(env, call, period)
    except (NotFound, InputInvalid, QueryFailed, QueryTimeout, ValueError) as e:
        return env.ledger.record(call.tool, {"target": call.target}, error=str(e))
