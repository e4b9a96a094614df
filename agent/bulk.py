"""What a batch computes set-based before its cases run, for each case to read its share.

A case on its own runs each evidence statement for its one alert; a batch runs the statements that
dominate at scale once for all its alerts and holds the results on the connection
(`tools.db.Held`):
- the triggering transactions (one join, `tools.alert_txns`);
- its accounts' P2P sides and logins, and the logins of the devices and IPs they share (four
  statements, `tools.account_tables.hold_accounts`);
- its accounts' flows, which every graph tool of a case starts from (one statement,
  `tools.flowcache.hold`);
- each case's playbooks, chosen as its retrieve node would choose them (`candidates_for`), and
  their SQL steps (one `LATERAL` statement each, `tools.sql_batch`);
- the feature vectors (`tools.features`).
The case then runs the same graph and takes what was held, computing alone what was not (an alert
the batch could not read), so its report is the same either way (tests/test_triage_identity.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from agent.nodes.intake import alert_state
from tools.db import Database, QueryFailed, QueryTimeout
from tools.errors import NotFound
from tools.graph.common import norm_entity
from tools.settings import Settings

log = logging.getLogger(__name__)
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


def prefetch(db: Database, settings: Settings, alert_ids: list[str], *, features: bool,
             k: int) -> dict[str, float]:
    """Hold the batch's triggering transactions, per-account rows, playbook choices, SQL step
    results and (when read) features; returns the seconds each part took (the bench reports them)."""
    from agent.nodes.retrieve import HELD_KIND, candidates_for
    from tools import alert_txns, flowcache, sql_batch
    from tools.account_tables import hold_accounts
    from tools.features import prefetch as prefetch_features
    from tools.playbooks.load import load_playbooks

    playbooks = load_playbooks()
    took = dict.fromkeys(("transactions", "accounts", "retrieval", "sql_steps", "features"), 0.0)
    clock = time.perf_counter()

    def lap(part: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        took[part] += now - clock
        clock = now

    limit = 4 * settings.sql_timeout_s  # a batch statement does the work of many cases' statements
    for start in range(0, len(alert_ids), CHUNK):
        chunk = alert_ids[start:start + CHUNK]
        alerts = batch_alerts(db, chunk)
        soft(alert_txns.prefetch, db, [t for a in alerts for t in a["txn_ids"]], limit)
        lap("transactions")
        soft(hold_accounts, db, [a["account_id"] for a in alerts], limit)
        soft(flowcache.hold, db, [norm_entity(a["account_id"]) for a in alerts if a["account_id"]], limit)
        lap("accounts")
        # each case's playbooks, chosen as its retrieve node would (and held for it): their SQL steps
        # are the ones it will run
        chosen = {a["alert_id"]: candidates_for(a, playbooks, k, settings) for a in alerts}
        db.held.put(HELD_KIND, {(alert_id, k): c for alert_id, c in chosen.items()})
        by_query: dict[str, list[dict[str, Any]]] = {}
        for alert in alerts:
            steps = [s.args["query"] for typ in chosen[alert["alert_id"]][1]
                     for s in playbooks.by_typology[typ].evidence_steps if s.tool == "sql"]
            for query in dict.fromkeys(steps):
                by_query.setdefault(query, []).append(alert)
        lap("retrieval")
        for query, group in by_query.items():
            sql_batch.prefetch(db, query, group, settings.sql_row_cap, timeout_s=limit)
        lap("sql_steps")
        if features:  # one feature statement for the chunk: 2,000 at 10M in 4.8 s, against 13.0 s in fours of 500
            prefetch_features(db, chunk, settings.jurisdiction_profile, settings.window_days)
            lap("features")
    return took


def soft(hold: Callable[..., Any], *args: Any) -> None:
    """Run one holding statement; one that fails or runs out of time holds nothing, and each case
    then runs its own statement (and records what goes wrong there), as without a batch."""
    try:
        hold(*args)
    except (QueryFailed, QueryTimeout) as e:
        log.warning("batch: %s held nothing (%s); its cases query alone", hold.__name__, e)


def release(db: Database) -> None:
    """Drop what a finished batch held and its cases did not take."""
    from agent.nodes.retrieve import HELD_KIND
    from tools import alert_txns, flowcache, sql_batch
    from tools.account_tables import LOGINS_KIND, SIDES_KIND

    for kind in (sql_batch.KIND, alert_txns.KIND, LOGINS_KIND, SIDES_KIND, HELD_KIND, flowcache.KIND):
        db.held.drop(kind)
