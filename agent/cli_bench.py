"""`sleuth bench ...`: benchmarks for data, tools, agent and triage (figures, not tests)."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="Benchmarks: throughput, latency and memory.", no_args_is_help=True)
