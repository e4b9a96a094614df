"""`sleuth bench data`: generation and load throughput and peak memory at benchmark scale.

Generation and load each run in their own child process (`python -m evals.bench_data gen|load`),
which reports its own peak resident memory (`getrusage(RUSAGE_SELF).ru_maxrss`), so the two peaks are
measured separately and neither includes the parent. Accounts are sized to hit the transaction
target: the generator makes about accounts * days * 0.14 background transactions.
Targets (docs/performance.md, 2 cores): 10M transactions generated and loaded in under 5 minutes in
total, each step under 4 GB peak.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAYS = 365
TXNS_PER_ACCOUNT_DAY = 0.14
SEED = 11


def accounts_for(transactions: int, days: int = DAYS) -> int:
    """Accounts needed for about `transactions` background transactions over `days` days."""
    return max(60, math.ceil(transactions / (days * TXNS_PER_ACCOUNT_DAY)))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process: unlike wall time, not inflated by other load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child_gen(out: str, accounts: str, days: str, fmt: str, alerts: str = "") -> dict[str, Any]:
    from evals.synth import generate

    start = time.perf_counter()
    summary = generate(Path(out), int(accounts), int(days), SEED, fmt, int(alerts) if alerts else None)
    return {"seconds": time.perf_counter() - start, "rows": summary.get("rows", {}), "peak_mb": _peak_mb(),
            "cpu_s": _cpu_s()}


def _child_load(folder: str, home: str) -> dict[str, Any]:
    from tools.data.load import load_folder
    from tools.settings import load_settings

    start = time.perf_counter()
    summary = load_folder(Path(folder), load_settings(home=Path(home)))
    return {"seconds": time.perf_counter() - start, "rows": summary.rows, "peak_mb": _peak_mb(),
            "cpu_s": _cpu_s(), "db_mb": summary.db_path.stat().st_size / 2**20}


def _run_child(*args: str) -> dict[str, Any]:
    """Run one step in a fresh interpreter; its last stdout line is the JSON result."""
    proc = subprocess.run([sys.executable, "-m", "evals.bench_data", *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench step {args[0]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_bench(transactions: int, out: Path | None = None, fmt: str = "parquet",
              log: Callable[[str], None] | None = None, alerts: int | None = None) -> dict[str, Any]:
    """Generate about `transactions` transactions (and `alerts` alerts, default the generator's
    about one per four accounts, at most 5,000), load them, and return the figures."""
    say = log or (lambda _msg: None)
    accounts = accounts_for(transactions)
    if alerts is not None and not 0 <= alerts <= accounts // 3:
        from tools.errors import InputInvalid

        raise InputInvalid(f"--alerts must be between 0 and {accounts // 3:,} (a third of the {accounts:,} accounts "
                           f"for {transactions:,} transactions)")
    base = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="sleuth-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    data, home = base / "data", base / "home"
    try:
        say(f"generating ~{transactions:,} transactions ({accounts:,} accounts x {DAYS} days, {fmt}) into {data}")
        gen = _run_child("gen", str(data), str(accounts), str(DAYS), fmt, "" if alerts is None else str(alerts))
        say(f"  {gen['seconds']:.1f} s, peak {gen['peak_mb']:.0f} MB; loading into {home}")
        load = _run_child("load", str(data), str(home))
    finally:
        if out is None:
            shutil.rmtree(base, ignore_errors=True)
    gen_rows = int(sum(gen["rows"].values()))
    load_rows = int(sum(v for k, v in load["rows"].items() if k not in ("flows", "p2p_sides")))
    txns = int(load["rows"].get("transactions", 0))
    return {
        "target_transactions": transactions,
        "accounts": accounts,
        "days": DAYS,
        "format": fmt,
        "transactions": txns,
        "alerts": int(load["rows"].get("alerts", 0)),
        "generate": {"seconds": round(gen["seconds"], 1), "cpu_s": round(gen["cpu_s"], 1), "rows": gen_rows,
                     "rows_per_s": round(gen_rows / gen["seconds"]), "peak_mb": round(gen["peak_mb"])},
        "load": {"seconds": round(load["seconds"], 1), "cpu_s": round(load["cpu_s"], 1), "rows": load_rows,
                 "flows_rows": load["rows"].get("flows"),
                 "rows_per_s": round(load_rows / load["seconds"]),
                 "transactions_per_s": round(txns / load["seconds"]), "peak_mb": round(load["peak_mb"]),
                 "db_mb": round(load["db_mb"])},
        "total_seconds": round(gen["seconds"] + load["seconds"], 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "kept": str(base) if out is not None else None,
    }


def format_report(r: dict[str, Any]) -> str:
    """The figures as a few lines of text."""
    g, ld = r["generate"], r["load"]
    return "\n".join([
        f"bench data: {r['transactions']:,} transactions, {r.get('alerts', 0):,} alerts ({r['accounts']:,} accounts x {r['days']} days, {r['format']})",
        f"  generate: {g['rows']:,} rows in {g['seconds']} s ({g['cpu_s']} CPU s) = {g['rows_per_s']:,} rows/s, "
        f"peak {g['peak_mb']:,} MB",
        f"  load:     {ld['rows']:,} rows (+{ld['flows_rows']:,} flows) in {ld['seconds']} s ({ld['cpu_s']} CPU s) = "
        f"{ld['rows_per_s']:,} rows/s ({ld['transactions_per_s']:,} transactions/s), peak {ld['peak_mb']:,} MB, "
        f"database {ld['db_mb']:,} MB",
        f"  total:    {r['total_seconds']} s wall (load average {r['load_average_1m']} on {os.cpu_count()} cores)",
    ])


def main(argv: list[str]) -> None:
    """Child entry point: `gen OUT ACCOUNTS DAYS FMT` or `load FOLDER HOME`; prints one JSON line."""
    steps = {"gen": _child_gen, "load": _child_load}
    result = steps[argv[0]](*argv[1:])
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
