"""A batch's set-based statements find what each case finds alone (agent/bulk.py): the playbooks'
SQL steps as one LATERAL statement, the triggering transactions as one join. Over every sample
alert and every SQL step, not only the ones its rule triggers."""

from __future__ import annotations

from typing import Any

import pytest

from agent.bulk import batch_alerts
from tools import alert_txns, sql_batch
from tools.db import Database
from tools.playbooks.load import load_playbooks
from tools.settings import Settings
from tools.sql import guarded_query, held_result


@pytest.fixture(scope="module")
def db(workspace_settings: Settings) -> Database:
    with Database.open(workspace_settings) as con:
        yield con


@pytest.fixture(scope="module")
def alerts(db: Database) -> list[dict[str, Any]]:
    ids = [a for (a,) in db.execute("SELECT alert_id FROM alerts ORDER BY alert_id").rows]
    return batch_alerts(db, ids + ["ALT-NOT-THERE"])


def test_unknown_alerts_are_left_to_their_case(alerts: list[dict[str, Any]]) -> None:
    assert alerts and all(a["alert_id"] != "ALT-NOT-THERE" for a in alerts)


@pytest.mark.parametrize("step", [s for pb in load_playbooks().playbooks for s in pb.evidence_steps if s.tool == "sql"],
                         ids=lambda s: s.id)
def test_a_held_step_result_equals_the_step_run_alone(db: Database, alerts: list[dict[str, Any]], step: Any) -> None:
    query = step.args["query"]
    held = sql_batch.prefetch(db, query, alerts, row_cap=200)
    assert held == len(alerts)  # every alert got its one row from the one statement
    differing = []
    for alert in alerts:
        params = sql_batch.step_params(alert, query)
        took = held_result(db, query, params, 200)
        alone = guarded_query(db, query, params, 200)
        if took is None or (took.query, took.columns, took.rows) != (alone.query, alone.columns, alone.rows):
            differing.append(alert["alert_id"])
    assert not differing, f"{len(differing)} alerts differ, e.g. {differing[0]}"
    assert held_result(db, query, sql_batch.step_params(alerts[0], query), 200) is None  # taken once


def test_a_step_the_database_rejects_holds_nothing(db: Database, alerts: list[dict[str, Any]]) -> None:
    assert sql_batch.prefetch(db, "SELECT no_such_column FROM flows WHERE entity = $account", alerts, 200) == 0
    assert sql_batch.prefetch(db, "DELETE FROM flows WHERE entity = $account", alerts, 200) == 0


def test_a_step_with_several_rows_per_alert_is_left_to_each_case(db: Database, alerts: list[dict[str, Any]]) -> None:
    query = "SELECT txn_id FROM flows WHERE entity = $account AND ts <= $alert_ts"
    assert sql_batch.prefetch(db, query, alerts[:20], 200) < 20


def test_held_transactions_equal_the_lookup(db: Database, alerts: list[dict[str, Any]]) -> None:
    ids = [t for a in alerts for t in a["txn_ids"]] + ["TX-NOT-THERE"]
    alone = {a["alert_id"]: alert_txns.alert_transactions(db, a["txn_ids"] + ["TX-NOT-THERE"]) for a in alerts}
    assert alert_txns.prefetch(db, ids) == len(set(ids))
    try:
        assert db.held.has(alert_txns.KIND, "TX-NOT-THERE")
        held = {a["alert_id"]: alert_txns.alert_transactions(db, a["txn_ids"] + ["TX-NOT-THERE"]) for a in alerts}
    finally:
        db.held.drop(alert_txns.KIND)
    assert held == alone
    assert sum(len(rows) for rows in held.values()) > len(alerts)


def test_held_account_tables_give_the_profile_and_the_clusters_the_statements_findings(
        db: Database, alerts: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """With logins and P2P sides too large to hold whole (as at 10M transactions), a batch's held
    rows give `profile` and `clusters` the evidence their statements give."""
    import datetime as dt

    import tools.introspect as introspect
    from tools.account_tables import LOGINS_KIND, SIDES_KIND, hold_accounts, logins
    from tools.evidence import EvidenceLedger
    from tools.graph.clusters import clusters
    from tools.profile import profile

    counts = {t: db.scalar(f"SELECT count(*) FROM {t}") for t in ("accounts", "alerts", "logins", "p2p_sides")}
    small = max(counts["accounts"], counts["alerts"])
    assert min(counts["logins"], counts["p2p_sides"]) > small
    # accounts and alerts stay held whole, so the profile reads the batch's logins and sides
    monkeypatch.setattr(introspect, "SMALL_TABLE_ROWS", small)
    introspect.forget_small_tables(db)
    chosen = alerts[::3]

    def run() -> list[dict[str, Any]]:
        out = []
        for a in chosen:
            as_of = dt.datetime.fromisoformat(a["created_at"])
            for ev in (profile(db, EvidenceLedger(200), a["account_id"], as_of=as_of),
                       clusters(db, EvidenceLedger(200), a["account_id"], as_of=as_of)):
                out.append(ev.model_dump(exclude={"elapsed_ms"}))
        return out

    try:
        assert logins(db) is None
        alone = run()
        hold_accounts(db, [a["account_id"] for a in chosen])
        table = logins(db)
        assert table is not None and table.links  # held, with the devices' and IPs' links
        reads = []
        original = db.execute
        monkeypatch.setattr(db, "execute", lambda sql, *a, **k: reads.append(sql) or original(sql, *a, **k))
        held = run()
        monkeypatch.undo()
    finally:
        db.held.drop(LOGINS_KIND)
        db.held.drop(SIDES_KIND)
        introspect.forget_small_tables(db)
    assert held == alone
    # every login and P2P side came from the held tables
    assert not [sql for sql in reads if "FROM logins" in sql or "FROM p2p_" in sql]
    assert any(e["tool"] == "clusters" and e["facts"]["cluster_size"] > 1 for e in held)


def test_a_batch_statement_that_fails_holds_nothing_and_the_batch_goes_on(
        agent_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Holding is a speed-up: a batch statement out of time leaves its cases to query alone."""
    from agent.bulk import prefetch, release
    from tools.db import QueryTimeout

    with Database.open(agent_settings) as con:
        ids = [a for (a,) in con.execute("SELECT alert_id FROM alerts ORDER BY alert_id LIMIT 20").rows]
        original = con.execute

        def out_of_time(sql: str, *args: Any, **kwargs: Any) -> Any:
            if "JOIN transactions" in sql:
                raise QueryTimeout("query stopped at the time limit of 20 s")
            return original(sql, *args, **kwargs)

        monkeypatch.setattr(con, "execute", out_of_time)
        took = prefetch(con, agent_settings, ids, features=False, k=3)
        try:
            assert took["sql_steps"] > 0  # the rest of the batch's work went on
            some = batch_alerts(con, ids[:1])[0]["txn_ids"][0]
            assert not con.held.has(alert_txns.KIND, some)
            assert con.held.kind(sql_batch.KIND)
        finally:
            release(con)
