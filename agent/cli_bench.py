"""`sleuth bench ...`: benchmarks for data, tools, agent and triage (figures, not tests)."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli_common import HomeOption, JsonOption, console, print_json, settings_from

bench_app = typer.Typer(help="Benchmarks: throughput, latency and memory.", no_args_is_help=True)


@bench_app.command("agent")
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


@bench_app.command("triage")
def bench_triage_cmd(workers: int = typer.Option(2, "--workers", "-w", help="Worker processes."),
                     model: str = typer.Option("rules", "--model", "-m", help="Backend."),
                     json_out: bool = JsonOption, home: Path | None = HomeOption) -> None:
    """Alerts per second of `sleuth triage` over the whole backlog (private copy of the workspace)."""
    from evals.bench_agent import bench_triage

    result = bench_triage(settings_from(home), workers, model)
    if json_out:
        print_json(result)
        return
    console.print(f"bench triage ({result['model']}, {result['workers']} workers): {result['alerts']} alerts "
                  f"({result['ok']} ok) in {result['seconds']} s wall = [bold]{result['alerts_per_s']} alerts/s[/] "
                  f"({result['alerts_per_s_steady']}/s once the first alert is done: worker start-up excluded)")
