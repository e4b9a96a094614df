"""Workspace statistics (`sleuth data stats`) and the alert queue (`sleuth alerts`).

The typology mix is deliberately not in the database (labels never enter the workspace); it is
read from a case file (`cases.jsonl`) only when one is given.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tools.errors import InputInvalid, NotFound
from tools.schema import TABLES
from tools.settings import Settings

STATS_TIMEOUT_S = 120.0
ALERT_STATUSES = ("open", "closed")


def alert_statuses(settings: Settings) -> dict[str, str]:
    """Statuses the case store sets, overriding `alerts.status`: `{alert_id: status}`.

    Hook for the case store: a file `<cases_dir>/<alert_id>.json` means the alert was
    investigated. Its status is the JSON's top-level `"status"` string when it has one, else
    `"closed"` (it left the open queue). Unreadable files are skipped, never fatal: the queue must
    still list alerts while a case is being written.
    """
    folder = settings.cases_dir
    if not folder.is_dir():
        return {}
    out: dict[str, str] = {}
    for path in folder.glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        status = data.get("status") if isinstance(data, dict) else None
        out[path.stem] = status if isinstance(status, str) and status else "closed"
    return out


def parse_when(text: str | None, end: bool = False) -> datetime | None:
    """A `--since`/`--until` value: ISO date or date-time. A bare `--until` date includes that day."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day) + (timedelta(days=1) if end else timedelta())
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise InputInvalid(f"{text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)") from e
    if parsed.tzinfo is not None:  # the workspace keeps naive UTC timestamps
        parsed = parsed.replace(tzinfo=None) - (parsed.utcoffset() or timedelta())
    return parsed


@dataclass(frozen=True)
class AlertFilter:
    """Filters of `sleuth alerts`; all optional."""

    rule: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    account: str | None = None

    @property
    def any(self) -> bool:
        """True when at least one filter is set."""
        return any(v is not None for v in (self.rule, self.status, self.since, self.until, self.account))


def _queue_sql(flt: AlertFilter) -> tuple[str, dict[str, Any]]:
    where, params = [], {}
    if flt.rule is not None:
        where.append("rule_id = $rule")
        params["rule"] = flt.rule
    if flt.status is not None:
        where.append("status = $status")
        params["status"] = flt.status
    if flt.since is not None:
        where.append("created_at >= $since")
        params["since"] = flt.since
    if flt.until is not None:
        where.append("created_at < $until")
        params["until"] = flt.until
    if flt.account is not None:
        where.append("account_id = $account")
        params["account"] = flt.account
    sql = (
        "WITH ov AS (SELECT unnest($ids::VARCHAR[]) AS alert_id, unnest($sts::VARCHAR[]) AS st), "
        "q AS (SELECT a.alert_id, a.created_at, a.account_id, a.rule_id, "
        "coalesce(ov.st, a.status, 'open') AS status, a.description, a.txn_ids "
        "FROM alerts a LEFT JOIN ov USING (alert_id)) "
        f"SELECT * FROM q{' WHERE ' + ' AND '.join(where) if where else ''}"
    )
    return sql, params


def alert_queue(settings: Settings, flt: AlertFilter, limit: int = 20) -> dict[str, Any]:
    """The alert queue: totals by rule and status, date range, and the first `limit` alerts."""
    from tools.db import Database

    statuses = alert_statuses(settings)
    sql, params = _queue_sql(flt)
    params |= {"ids": list(statuses), "sts": list(statuses.values())}
    with Database(settings.db_path, timeout_s=STATS_TIMEOUT_S) as db:
        total, first, last = db.execute(f"SELECT count(*), min(created_at), max(created_at) FROM ({sql})",
                                        params).rows[0]
        by_rule = db.execute(f"SELECT rule_id, count(*) AS n FROM ({sql}) GROUP BY 1 ORDER BY n DESC, 1",
                             params).rows
        by_status = db.execute(f"SELECT status, count(*) AS n FROM ({sql}) GROUP BY 1 ORDER BY n DESC, 1",
                               params).rows
        res = db.execute(f"{sql} ORDER BY created_at, alert_id LIMIT {int(max(0, limit))}", params)
    return {
        "total": int(total),
        "first": first,
        "last": last,
        "by_rule": {r: int(n) for r, n in by_rule},
        "by_status": {s: int(n) for s, n in by_status},
        "alerts": [dict(zip(res.columns, row, strict=True)) for row in res.rows],
    }


def workspace_stats(settings: Settings) -> dict[str, Any]:
    """Row counts, date range, alerts by rule, transactions by kind and asset, and `meta`."""
    from tools.db import Database

    with Database(settings.db_path, timeout_s=STATS_TIMEOUT_S) as db:
        counts = {t: int(db.scalar(f'SELECT count(*) FROM "{t}"')) for t in [x.name for x in TABLES] + ["flows", "p2p_sides"]}
        first, last = db.execute("SELECT min(ts), max(ts) FROM transactions").rows[0]
        by_rule = db.execute("SELECT rule_id, count(*) AS n FROM alerts GROUP BY 1 ORDER BY n DESC, 1").rows
        by_kind = db.execute("SELECT kind, count(*) AS n, sum(amount_usd) FROM transactions "
                             "GROUP BY 1 ORDER BY n DESC, 1").rows
        by_asset = db.execute("SELECT asset, count(*) AS n, sum(amount_usd) FROM transactions "
                              "GROUP BY 1 ORDER BY n DESC, 1").rows
        meta = dict(db.execute("SELECT key, value FROM meta").rows)
    return {
        "rows": counts,
        "transactions_from": first,
        "transactions_to": last,
        "alerts_by_rule": {r: int(n) for r, n in by_rule},
        "transactions_by_kind": {k: {"count": int(n), "usd": round(float(u or 0), 2)} for k, n, u in by_kind},
        "transactions_by_asset": {a: {"count": int(n), "usd": round(float(u or 0), 2)} for a, n, u in by_asset},
        "loaded_at": meta.get("loaded_at"),
        "source_dir": meta.get("source_dir"),
        "contract_version": meta.get("contract_version"),
    }


def typology_mix(cases_file: Path) -> dict[str, dict[str, int]]:
    """Counts of typology and disposition in a labelled case file (JSONL), for `data stats --cases`."""
    path = Path(cases_file)
    if not path.is_file():
        raise NotFound(f"{path}: no such case file")
    typ: Counter[str] = Counter()
    disp: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputInvalid(f"{path.name}:{n}:-: not valid JSON ({e.msg})") from e
            if not isinstance(case, dict):
                raise InputInvalid(f"{path.name}:{n}:-: a case must be a JSON object")
            typ[str(case.get("typology", "?"))] += 1
            disp[str(case.get("disposition", "?"))] += 1
    return {"typology": dict(typ.most_common()), "disposition": dict(disp.most_common())}
