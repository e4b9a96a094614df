"""Score playbook retrieval: recall@1, recall@3 and MRR over a query set, with per-typology detail.

Ranks are over distinct playbooks (search returns one passage per playbook), computed by asking for
every playbook so that MRR sees ranks beyond 3. For alerts, `candidate_recall` is also reported: the
share whose typology is among the candidates the agent investigates (top 3 retrieved, plus every
playbook whose triggers name the alert's rule), which is what the rules engine actually scores. Alert descriptions for `--alerts-cases` come from the
workspace DB's `alerts` table, or from the sample's `alerts.parquet` when there is no workspace.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.errors import InputInvalid
from tools.playbooks.retrieve import alert_query, search_playbooks
from tools.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEFAULT_QUERIES = Path(__file__).resolve().parent / "queries.jsonl"
SAMPLE_ALERTS = REPO / "data_samples" / "sample" / "alerts.parquet"
ALL = 100  # ask for every playbook, so ranks past 3 count towards MRR


@dataclass(frozen=True)
class Query:
    """One eval query and the typology whose playbook should come first."""

    id: str
    query: str
    expected: str
    kind: str = "query"
    rule_id: str | None = None


@dataclass
class Result:
    """Scores of one query set."""

    name: str
    n: int = 0
    recall_at_1: float = 0.0
    recall_at_3: float = 0.0
    mrr: float = 0.0
    candidate_recall: float | None = None
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    per_typology: dict[str, dict[str, float]] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_queries(path: Path = DEFAULT_QUERIES) -> list[Query]:
    """Read a queries JSONL file (`query`, `typology`, optional `kind`, `id`), with file:line errors."""
    out: list[Query] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InputInvalid(f"cannot read {path}: {e.strerror}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Query(str(row.get("id", f"q{n}")), str(row["query"]), str(row["typology"]),
                             str(row.get("kind", "query"))))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputInvalid(f"{path}:{n}: bad query line ({e})") from None
    return out


def _alerts_from_db(settings: Settings) -> dict[str, tuple[str, str]]:
    from tools.db import Database

    with Database.open(settings) as db:
        res = db.execute("SELECT alert_id, rule_id, description FROM alerts")
    return {r[0]: (r[1], r[2]) for r in res.rows}


def _alerts_from_parquet(path: Path) -> dict[str, tuple[str, str]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["alert_id", "rule_id", "description"]).to_pydict()
    return dict(zip(table["alert_id"], zip(table["rule_id"], table["description"], strict=True), strict=True))


def load_alert_queries(cases_path: Path, settings: Settings, alerts_path: Path | None = None) -> list[Query]:
    """One query per non-benign labelled case: its alert's rule id and description, expected = its typology."""
    try:
        rows = [json.loads(line) for line in Path(cases_path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as e:
        raise InputInvalid(f"cannot read {cases_path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise InputInvalid(f"{cases_path}: bad JSON line ({e})") from None
    if alerts_path is not None:
        alerts = _alerts_from_parquet(alerts_path)
    elif settings.db_path.exists():
        alerts = _alerts_from_db(settings)
    elif SAMPLE_ALERTS.exists():
        alerts = _alerts_from_parquet(SAMPLE_ALERTS)
    else:
        raise InputInvalid("no alert descriptions: build the workspace (sleuth workspace ensure) or pass --alerts")
    out = []
    for case in rows:
        if case.get("typology", "none") == "none":
            continue
        alert = alerts.get(case["alert_id"])
        if alert is None:
            raise InputInvalid(f"{cases_path}: alert {case['alert_id']} is not in the alerts table")
        out.append(Query(case["alert_id"], alert_query(alert[0], alert[1]), case["typology"], "alert", alert[0]))
    return out


def evaluate(queries: list[Query], settings: Settings, name: str = "queries", k: int = 3) -> Result:
    """Run every query; recall@1, recall@k and MRR over distinct playbooks, plus latency and misses."""
    res = Result(name=name, n=len(queries))
    if not queries:
        return res
    from tools.playbooks.load import load_playbooks

    search_playbooks("warm-up", k=1, settings=settings)  # load model and index outside the timings
    triggered = {t: {typ for typ, pb in load_playbooks().by_typology.items() if t in pb.triggers}
                 for q in queries if q.rule_id for t in [q.rule_id]}
    hits1 = hitsk = cand = 0
    rr_sum = 0.0
    latencies: list[float] = []
    by_typ: dict[str, list[int]] = defaultdict(list)
    for q in queries:
        start = time.perf_counter()
        ranked = [p.typology for p in search_playbooks(q.query, k=ALL, settings=settings)]
        latencies.append((time.perf_counter() - start) * 1000)
        rank = ranked.index(q.expected) + 1 if q.expected in ranked else 0
        hits1 += rank == 1
        hitsk += 0 < rank <= k
        rr_sum += 1 / rank if rank else 0.0
        cand += q.expected in set(ranked[:k]) | triggered.get(q.rule_id or "", set())
        by_typ[q.expected].append(rank)
        if rank != 1:
            res.misses.append({"id": q.id, "query": q.query[:160], "expected": q.expected, "rank": rank,
                               "top3": ranked[:3]})
    n = len(queries)
    res.recall_at_1, res.recall_at_3, res.mrr = hits1 / n, hitsk / n, rr_sum / n
    if triggered:
        res.candidate_recall = cand / n
    latencies.sort()
    res.latency_ms_p50 = round(latencies[n // 2], 1)
    res.latency_ms_p95 = round(latencies[min(n - 1, int(0.95 * n))], 1)
    res.per_typology = {
        t: {"n": len(r), "recall_at_1": sum(x == 1 for x in r) / len(r), "recall_at_3": sum(0 < x <= k for x in r) / len(r)}
        for t, r in sorted(by_typ.items())
    }
    return res
