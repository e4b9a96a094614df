"""`generate()`: the one entry point of the synthetic exchange-data generator.

Order of work: world (accounts, prices) -> screening lists -> planted scenarios (which edit the
reserved accounts and claim their alert windows) -> accounts -> background transactions merged
with planted ones, written in time slices -> logins -> chain transfers -> addresses -> alerts and
labels. Each stage draws from its own child of the seed, so output is identical for a seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evals.synth import constants as K
from evals.synth.emit import write_accounts, write_addresses, write_chain, write_logins, write_transactions
from evals.synth.labels import alert_mix, write_alerts
from evals.synth.scenarios import default_alerts, plant
from evals.synth.screening import load_screening
from evals.synth.world import make_world
from evals.synth.worlds import DEFAULT, WorldParams
from evals.synth.writer import FORMATS
from tools.schema import TABLES_BY_NAME

CHUNK_ROWS = 1_000_000
MIN_ACCOUNTS = 60
MIN_DAYS = 30


def _noop(stage: str, fraction: float) -> None:
    return None


def generate(out_dir: Path, accounts: int, days: int, seed: int, fmt: str = "parquet",
             alerts: int | None = None, progress: Callable[[str, float], None] | None = None,
             txns: int | None = None, world: WorldParams = DEFAULT) -> dict[str, Any]:
    """Write a synthetic exchange dataset (contract tables + labels) into out_dir; return a summary.

    `alerts` defaults to about one per four accounts; `txns` (background transactions) defaults to
    accounts * days * 0.14. `world` is the parameter set of evals/synth/worlds.py (thresholds,
    pattern sizes, scales, rule ids, wording); any world but the default is written to
    truth/world.json. Raises ValueError for impossible sizes, an unknown format or a bad world.
    """
    world.validate()
    t_start = time.perf_counter()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use parquet or csv")
    if accounts < MIN_ACCOUNTS:
        raise ValueError(f"accounts must be at least {MIN_ACCOUNTS} (got {accounts})")
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS} (got {days})")
    n_alerts = default_alerts(accounts) if alerts is None else alerts
    if n_alerts < 0 or n_alerts > accounts // 3:
        raise ValueError(f"alerts must be between 0 and accounts/3 = {accounts // 3} (got {n_alerts})")
    total = int(round(accounts * days * K.BACKGROUND_TXNS_PER_ACCOUNT_DAY)) if txns is None else int(txns)
    if total < 0:
        raise ValueError("txns must not be negative")
    report = progress or _noop
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for table in TABLES_BY_NAME:  # stale contract files of the other format would confuse the loader
        for ext in FORMATS:
            (out / f"{table}.{ext}").unlink(missing_ok=True)

    r_world, r_plant, r_bg, r_login, r_chain, r_alert = (np.random.default_rng(s)
                                                         for s in np.random.SeedSequence(seed).spawn(6))
    report("accounts", 0.0)
    ex = make_world(r_world, seed, accounts, days)
    snapshot = datetime.fromtimestamp(ex.end - 1, UTC).date()
    screening = load_screening(seed, snapshot)
    report("scenarios", 0.0)
    ledger = plant(ex, screening, r_plant, n_alerts, lambda f: report("scenarios", f), world)
    report("scenarios", 1.0)
    rows: dict[str, int] = {"accounts": write_accounts(out, fmt, ex)}
    txn_num, rows["transactions"], rows["p2p_orders"] = write_transactions(
        out, fmt, ex, screening, ledger, r_bg, total, CHUNK_ROWS, lambda f: report("transactions", f))
    report("logins", 0.0)
    rows["logins"] = write_logins(out, fmt, ex, ledger, r_login,
                                  int(accounts * days * K.LOGINS_PER_ACCOUNT_DAY), CHUNK_ROWS)
    report("chain_transfers", 0.0)
    rows["chain_transfers"] = write_chain(out, fmt, ex, screening, ledger, r_chain,
                                          int(accounts * K.CHAIN_NOISE_PER_ACCOUNT), CHUNK_ROWS)
    rows["addresses"] = write_addresses(out, fmt, screening)
    report("alerts", 0.0)
    cases = write_alerts(out, fmt, ex, ledger, txn_num, r_alert, world)
    rows["alerts"] = len(cases)
    report("alerts", 1.0)
    summary = {"out_dir": str(out), "format": fmt, "seed": seed, "accounts": accounts, "days": days,
               "rows": rows, "planted": {"transactions": len(ledger.txns), "logins": len(ledger.logins),
                                         "p2p_orders": len(ledger.orders), "chain_transfers": len(ledger.chain),
                                         "exposure_paths": len(ledger.exposures)},
               "alerts": alert_mix(cases), "seconds": round(time.perf_counter() - t_start, 2)}
    if world != DEFAULT:
        summary["world"] = world.name
        (out / "truth" / "world.json").write_text(json.dumps(world.to_json(), indent=2) + "\n")
    else:
        (out / "truth" / "world.json").unlink(missing_ok=True)
    stable = {k: v for k, v in summary.items() if k not in ("seconds", "out_dir")}
    (out / "truth" / "summary.json").write_text(json.dumps(stable, indent=2) + "\n")
    return summary
