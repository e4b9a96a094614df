"""The alert queue (a contract table) and the labels kept outside it: cases.jsonl and truth/.

Alerts are numbered in created_at order. Case files follow docs/case-files.md; the exposure truth
lists every planted path for tests. None of the label fields ever reach the contract tables.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from evals.synth.alerts import TransferIndex, render
from evals.synth.emit import TXN_WIDTH
from evals.synth.ledger import Ledger
from evals.synth.world import World
from evals.synth.worlds import DEFAULT, WorldParams
from evals.synth.writer import TableSink
from tools.schema import DISPOSITIONS


def _txn_id(num: int) -> str:
    return f"TX-{num:0{TXN_WIDTH}d}"


def write_alerts(out: Path, fmt: str, w: World, led: Ledger, txn_num: np.ndarray,
                 rng: np.random.Generator, params: WorldParams = DEFAULT) -> list[dict[str, Any]]:
    """Write alerts.<fmt>, cases.jsonl and truth/exposure.jsonl; returns the case records."""
    alerts = sorted(led.alerts, key=lambda a: (a.created_at, a.account))
    width = max(5, len(str(len(alerts))))
    cols: dict[str, list[Any]] = {k: [] for k in ("alert_id", "created_at", "account_id", "rule_id",
                                                  "description", "txn_ids", "status")}
    cases: list[dict[str, Any]] = []
    index = TransferIndex(led.txns)
    for i, al in enumerate(alerts):
        alert_id = f"ALT-{i + 1:0{width}d}"
        rule, text = render(al, [led.txns[k] for k in al.txn_keys], rng, w.acc_id(al.account), index, params)
        cols["alert_id"].append(alert_id)
        cols["created_at"].append(al.created_at * 1_000_000)
        cols["account_id"].append(w.acc_id(al.account))
        cols["rule_id"].append(rule)
        cols["description"].append(text)
        cols["txn_ids"].append(";".join(_txn_id(int(txn_num[k])) for k in al.txn_keys))
        cols["status"].append("open")
        cases.append({"alert_id": alert_id, "disposition": al.disposition, "typology": al.typology,
                      "key_txn_ids": [_txn_id(int(txn_num[k])) for k in al.key_txn_keys],
                      "related_accounts": [w.acc_id(r) for r in al.related],
                      "expected_actions": al.actions, "notes": al.notes})
    sink = TableSink(out, "alerts", fmt)
    sink.write({k: pa.array(v, pa.timestamp("us") if k == "created_at" else pa.string()) for k, v in cols.items()})
    sink.close()
    with (out / "cases.jsonl").open("w") as f:
        for c in cases:
            f.write(json.dumps(c, sort_keys=False) + "\n")
    truth = out / "truth"
    truth.mkdir(exist_ok=True)
    with (truth / "exposure.jsonl").open("w") as f:
        for e in sorted(led.exposures, key=lambda e: (e["account_id"], e["path"])):
            f.write(json.dumps(e) + "\n")
    return cases


def alert_mix(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Alert counts by typology, by disposition and by both (for summaries and reports)."""
    both: dict[str, dict[str, int]] = {}
    for c in cases:
        both.setdefault(c["typology"], {}).setdefault(c["disposition"], 0)
        both[c["typology"]][c["disposition"]] += 1
    return {"total": len(cases), "by_typology": dict(sorted(Counter(c["typology"] for c in cases).items())),
            "by_disposition": dict(sorted(Counter(c["disposition"] for c in cases).items())),
            "by_typology_disposition": {t: {d: both[t][d] for d in DISPOSITIONS if d in both[t]}
                                        for t in sorted(both)}}


def split_cases(cases: list[dict[str, Any]], test_share: float = 0.4,
                seed: int = 20261031) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Dev/test split stratified by (typology, disposition): each stratum split ~60/40."""
    rng = np.random.default_rng(seed)
    strata: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in cases:
        strata.setdefault((c["typology"], c["disposition"]), []).append(c)
    dev: list[dict[str, Any]] = []
    test: list[dict[str, Any]] = []
    for key in sorted(strata):
        group = strata[key]
        perm = rng.permutation(len(group))
        n_test = int(round(len(group) * test_share))
        if len(group) >= 2:
            n_test = min(max(n_test, 1), len(group) - 1)
        test += [group[i] for i in perm[:n_test]]
        dev += [group[i] for i in perm[n_test:]]
    return sorted(dev, key=lambda c: c["alert_id"]), sorted(test, key=lambda c: c["alert_id"])
