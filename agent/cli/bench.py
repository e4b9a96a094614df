"""`sleuth bench agent|triage|data|tools|features`: benchmarks (figures, not tests).

Every benchmark command lives here, whichever layer it measures; the measuring code is in `evals/bench_*.py`
and is imported inside the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import HomeOption, JsonOption, console, print_json, settings_from

app = typer.Typer(name="bench", help="Benchmarks: throughput, latency and memory.", no_args_is_help=True)


@app.command("agent")
def bench_agent_cmd(n: int = typer.Option(100, "--alerts", "-n", help="Alerts to investigate."),
                    model: str = typer.Option("rules", "--model", "-m", help="Backend."),
                    json_out: bool = JsonOption, home: Path | None = HomeOption) -> None:
    """Alerts per second of the investigation graph in one process (after warm-up)."""
    from evals.bench_agent import bench_agent

    result = bench_agent(settings_from(home), n, model)
    if json_out:
        print_json(result)
        return
    console.print(f"bench agent ({result['model']}, 1 process): {result['alerts']} alerts in {result['seconds']} s = "
                  f"[bold]{result['alerts_per_s']} alerts/s[/] (warm-up {result['warmup_s']} s)")
    console.print("ms per case by node: " + ", ".join(f"{k} {v}" for k, v in result["ms_per_node"].items()))


@app.command("triage")
def bench_triage_cmd(workers: int = typer.Option(2, "--workers", "-w", help="Worker processes."),
                     model: str = typer.Option("rules", "--model", "-m", help="Backend."),
                     engine: str = typer.Option("local", "--engine", help="local or ray."),
                     alerts: int | None = typer.Option(None, "--alerts", "-n", min=1,
                                                       help="Only the first N alerts by time (default all)."),
                     json_out: bool = JsonOption, home: Path | None = HomeOption) -> None:
    """Alerts per second, CPU time, peak memory and the split of time of `sleuth triage` over the whole
    backlog (private copy of the workspace)."""
    from evals.bench_agent import bench_triage

    r = bench_triage(settings_from(home), workers, model, engine, alerts)
    if json_out:
        print_json(r)
        return
    console.print(f"bench triage ({r['model']}, {r['workers']} workers, {r['engine']}): {r['alerts']} alerts "
                  f"({r['ok']} ok) in {r['seconds']} s wall = [bold]{r['alerts_per_s']} alerts/s[/] "
                  f"({r['alerts_per_s_steady']}/s after the first batch's commit: start-up and that batch excluded)")
    console.print(f"  CPU: {r['cpu_s']['parent']} s parent + {r['cpu_s']['workers']} s workers; peak memory "
                  f"{r['peak_mb']['all_processes']} MB all processes ({r['peak_mb']['parent']} MB parent, "
                  f"{r['peak_mb']['largest_worker']} MB largest worker)")
    console.print("  time by stage (s, summed over workers): "
                  + ", ".join(f"{k} {v}" for k, v in r["stage_s"].items())
                  + f"; load average {r['load_average_1m']} on {r['cores']} cores", highlight=False)


@app.command("data")
def bench_data_cmd(
    transactions: int = typer.Option(10_000_000, "--transactions", help="Target number of transactions."),
    out: Path | None = typer.Option(None, "--out", help="Keep the generated data and workspace here "
                                                        "(default: a temporary folder, removed after)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    alerts: int | None = typer.Option(None, "--alerts", min=0, help="Alerts to generate (default about one per "
                                                                   "four accounts, at most 5,000)."),
    json_out: bool = JsonOption,
) -> None:
    """Generate then load N transactions; report rows/s, elapsed and peak memory of each step."""
    from evals.bench_data import format_report, run_bench

    result = run_bench(transactions, out, fmt, log=None if json_out else console.print, alerts=alerts)
    if json_out:
        print_json(result)
    else:
        console.print(format_report(result), highlight=False)


@app.command("tools")
def bench_tools_command(
    accounts: int = typer.Option(100, "--accounts", min=1, help="Alerted accounts to time each tool on."),
    as_json: bool = JsonOption,
    home: Path | None = HomeOption,
) -> None:
    """Latency (p50/p95) of profile, counterparties, 3-hop trace and 3-hop exposure per account."""
    from rich.table import Table

    from evals.bench_tools import run

    result = run(settings_from(home), n_accounts=accounts)
    if as_json:
        print_json(result)
        return
    table = Table(header_style="bold", caption=f"{result['accounts']} accounts, {result['transactions']:,} "
                  f"transactions, {result['flow_rows']:,} flow rows: {result['workspace']}; load average "
                  f"{result['load_average_1m']:.1f} on {result['cpus']} CPUs (wall times grow with it)")
    for name in ("tool", "p50 ms", "p95 ms", "max ms", "cpu p50", "cpu p95", "target p95", "meets"):
        table.add_column(name, justify="left" if name == "tool" else "right", no_wrap=True)
    for name, f in result["tools"].items():
        meets = "" if f["meets_target"] is None else ("yes" if f["meets_target"] else "NO")
        table.add_row(name, f"{f['p50_ms']:.1f}", f"{f['p95_ms']:.1f}", f"{f['max_ms']:.1f}",
                      f"{f['cpu_p50_ms']:.1f}", f"{f['cpu_p95_ms']:.1f}",
                      "" if f["target_p95_ms"] is None else f"{f['target_p95_ms']:.0f}", meets)
    console.print(table)


@app.command("features")
def bench_features_cmd(
    alerts: int = typer.Option(5000, "--alerts", "-n", min=1, help="Alerts to build (the first N by id)."),
    as_json: bool = JsonOption,
    home: Path | None = HomeOption,
) -> None:
    """Wall time, CPU time and peak memory of `sleuth features build` for N alerts (target: 5,000 alerts on
    the 10M-transaction workspace in 60 s on 2 cores)."""
    from evals.bench_features import bench_features

    r = bench_features(settings_from(home), alerts)
    if as_json:
        print_json(r)
        return
    verdict = "meets" if r["meets_target"] else "MISSES"
    console.print(f"bench features: {r['alerts']:,} alerts x {r['features']} features on {r['transactions']:,} "
                  f"transactions ({r['flow_rows']:,} flow rows) in [bold]{r['seconds']} s[/] wall "
                  f"({r['statement_s']} s statement, {r['cpu_s']} CPU s), peak {r['peak_mb']:,.0f} MB, "
                  f"{r['parquet_mb']} MB Parquet; {verdict} the {r['target_s']:.0f} s target; load average "
                  f"{r['load_average_1m']} on {r['cores']} cores", highlight=False)
