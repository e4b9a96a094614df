"""intake: read the alert and the transactions that fired it; record them as the first evidence."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import new_evidence, timed, tool_event
from agent.state import CaseState

TXN_COLUMNS = "txn_id, ts, kind, asset, amount, amount_usd, src, dst, chain"


def intake(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Load the alert (unknown alert -> NotFound, a one-line error at the CLI)."""
    from tools.alerts import alert_context

    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "intake"):
        before = len(ctx.ledger)
        alert = alert_context(ctx.db, state["alert_id"])
        txn_ids = list(alert.txn_ids)
        rows: list[tuple[Any, ...]] = []
        if txn_ids:
            marks = ", ".join("?" for _ in txn_ids)
            res = ctx.db.execute(f"SELECT {TXN_COLUMNS} FROM transactions WHERE txn_id IN ({marks}) ORDER BY ts",
                                 txn_ids)
            rows = res.rows
            columns = res.columns
        else:
            columns = TXN_COLUMNS.split(", ")
        facts: dict[str, Any] = {"alert_txn_count": len(rows)}
        if rows:
            facts["alert_txn_total_usd"] = round(sum(float(r[5] or 0) for r in rows), 2)
            facts["alert_first_date"] = str(rows[0][1])[:10]
            facts["alert_last_date"] = str(rows[-1][1])[:10]
        ev = ctx.ledger.record(
            "alert", {"alert_id": alert.alert_id, "account_id": alert.account_id, "rule_id": alert.rule_id,
                      "created_at": str(alert.created_at)},
            query=None, columns=columns, rows=rows, facts=facts,
            summary=(f"Alert {alert.alert_id} raised {str(alert.created_at)[:19]} by rule {alert.rule_id} on account "
                     f"{alert.account_id}; {len(rows)} triggering transactions"
                     + (f" totalling USD {facts['alert_txn_total_usd']:,.2f}" if rows else "") + "."),
        )
        update.update({
            "alert": {"alert_id": alert.alert_id, "account_id": alert.account_id, "rule_id": alert.rule_id,
                      "created_at": str(alert.created_at), "window_start": str(alert.window_start),
                      "description": alert.description, "txn_ids": txn_ids},
            "evidence": new_evidence(ctx, before),
            "steps_taken": 0, "revisions": 0,
        })
        update.setdefault("trace", []).append(tool_event(ev, "intake"))
    return update
