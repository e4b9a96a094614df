"""What a batch computes set-based before its cases run, for each case to read its share.

A case on its own runs each evidence statement for its one alert; a batch runs the statements that
dominate at scale once for all its alerts and holds the results on the connection
(`tools.db.Held`):
- the triggering transactions (one join, `tools.alert_txns`);
- its accounts' P2P sides and logins, and the logins of the devices and IPs they share (four
  statements, `tools.account_tables.hold_accounts`);
- the playbooks' SQL steps (one `LATERAL` statement each, `tools.sql_batch`), for the playbooks
  each case will choose;
- the feature vectors (`tools.features`).
The case then runs the same graph and takes what was held, computing alone what was not (an alert
the batch could not read), so its report is the same either way (tests/test_triage_identity.py).
"""

from __future__ import annotations

import time
from typing import Any

from agent.nodes.intake import alert_state
from tools.db import Database
from tools.errors import NotFound
from tools.playbooks.load import PlaybookSet
from tools.settings import Settings

CHUNK = 2_000  # most alerts per set-based statement (a triage batch holds at most 1,000)


def batch_alerts(db: Database, alert_ids: list[str]) -> list[dict[str, Any]]:
    """The batch's alerts as their cases' intake reads them; unknown ids are left to their case."""
    from tools.alerts import alert_context

    found = []
    for alert_id in alert_ids:
        try:
            found.append(alert_state(alert_context(db, alert_id)))
        except NotFound:
            continue
    return found


def sql_steps_for(alert: dict[str, Any], playbooks: PlaybookSet, k: int, settings: Settings) -> list[str]:
    """The SQL steps this alert's case will run: those of its candidate playbooks, chosen as the
    case chooses them (`candidates_for`; the retrieval query's embedding is then cached for it)."""
    from agent.nodes.retrieve import candidates_for

    _, candidates, _ = candidates_for(alert, playbooks, k, settings)
    return [s.args["query"] for typ in candidates for s in playbooks.by_typology[typ].evidence_steps
            if s.tool == "sql"]


def prefetch(db: Database, settings: Settings, alert_ids: list[str], *, features: bool,
             k: int) -> dict[str, float]:
    """Hold the batch's triggering transactions, per-account rows, SQL step results and (when read)
    features; returns the seconds each part took (the bench reports them)."""
    from tools import alert_txns, sql_batch
    from tools.account_tables import hold_accounts
    from tools.playbooks.load import load_playbooks

    playbooks = load_playbooks()
    took = dict.fromkeys(("transactions", "accounts", "retrieval", "sql_steps", "features"), 0.0)
    clock = time.perf_counter()

    def lap(part: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        took[part] += now - clock
        clock = now

    for start in range(0, len(alert_ids), CHUNK):
        alerts = batch_alerts(db, alert_ids[start:start + CHUNK])
        alert_txns.prefetch(db, [t for a in alerts for t in a["txn_ids"]])
        lap("transactions")
        hold_accounts(db, [a["account_id"] for a in alerts])
        lap("accounts")
        by_query: dict[str, list[dict[str, Any]]] = {}
        for alert in alerts:
            for query in dict.fromkeys(sql_steps_for(alert, playbooks, k, settings)):
                by_query.setdefault(query, []).append(alert)
        lap("retrieval")
        for query, group in by_query.items():
            sql_batch.prefetch(db, query, group, settings.sql_row_cap, timeout_s=4 * settings.sql_timeout_s)
        lap("sql_steps")
    if features:
        from tools.features import prefetch as prefetch_features

        for start in range(0, len(alert_ids), CHUNK):  # 2,000 at 10M: 4.8 s, against 13.0 s in fours of 500
            prefetch_features(db, alert_ids[start:start + CHUNK], settings.jurisdiction_profile, settings.window_days)
        lap("features")
    return took


def release(db: Database) -> None:
    """Drop what a finished batch held and its cases did not take."""
    from tools import alert_txns, sql_batch
    from tools.account_tables import LOGINS_KIND, SIDES_KIND

    for kind in (sql_batch.KIND, alert_txns.KIND, LOGINS_KIND, SIDES_KIND):
        db.held.drop(kind)
