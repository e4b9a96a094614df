"""intake: read the alert and the transactions that fired it; record them as the first evidence."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import new_evidence, timed, tool_event
from agent.state import CaseState
from tools.alert_txns import TXN_COLUMNS, alert_transactions
from tools.alerts import AlertContext


def alert_state(alert: AlertContext) -> dict[str, Any]:
    """The alert as the case state holds it (and as a batch binds its steps' parameters)."""
    return {"alert_id": alert.alert_id, "account_id": alert.account_id, "rule_id": alert.rule_id,
            "created_at": str(alert.created_at), "window_start": str(alert.window_start),
            "description": alert.description, "txn_ids": list(alert.txn_ids)}


def intake(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Load the alert (unknown alert -> NotFound, a one-line error at the CLI)."""
    from tools.alerts import alert_context

    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "intake"):
        before = len(ctx.ledger)
        alert = alert_context(ctx.db, state["alert_id"])
        rows = alert_transactions(ctx.db, alert.txn_ids)
        facts: dict[str, Any] = {"alert_txn_count": len(rows)}
        if rows:
            facts["alert_txn_total_usd"] = round(sum(float(r[5] or 0) for r in rows), 2)
            facts["alert_first_date"] = str(rows[0][1])[:10]
            facts["alert_last_date"] = str(rows[-1][1])[:10]
        ev = ctx.ledger.record(
            "alert", {"alert_id": alert.alert_id, "account_id": alert.account_id, "rule_id": alert.rule_id,
                      "created_at": str(alert.created_at)},
            query=None, columns=list(TXN_COLUMNS), rows=rows, facts=facts,
            summary=(f"Alert {alert.alert_id} raised {str(alert.created_at)[:19]} by rule {alert.rule_id} on account "
                     f"{alert.account_id}; {len(rows)} triggering transactions"
                     + (f" totalling USD {facts['alert_txn_total_usd']:,.2f}" if rows else "") + "."),
        )
        update.update({
            "alert": alert_state(alert),
            "evidence": new_evidence(ctx, before),
            "steps_taken": 0, "revisions": 0,
        })
        update.setdefault("trace", []).append(tool_event(ev, "intake"))
    return update
