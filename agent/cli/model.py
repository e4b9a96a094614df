"""`sleuth model ...`: train and inspect the learned backend (`--model learned`, agent/learned)."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import HomeOption, JsonOption, console, print_json, settings_from

app = typer.Typer(name="model", help="Train and inspect the learned backend (--model learned).", no_args_is_help=True)


def _print_card(card: dict, folder: Path) -> None:
    th, m = card["thresholds"], card["cv_metrics"]
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    console.print(f"model {card['model_id']}: {card['training']['n_cases']} training cases, "
                  f"{len(card['features'])} features; saved in {folder}", highlight=False)
    console.print(f"thresholds: close when P(actionable) < {th['close_below']:.4f}; sar when P(sar) >= "
                  f"{th['sar_at']:.4f}; escalate otherwise (targets: close precision {th['close_precision_target']}, "
                  f"SARs kept open {th['sar_recall_target']})", highlight=False)
    console.print(f"out-of-fold ({m['folds']} folds): actionable F1 {fmt(m['actionable_f1'])}, SARs caught "
                  f"{fmt(m['sar_caught'])}, close precision {fmt(m['close_precision'])}, benign auto-closed "
                  f"{fmt(m['benign_auto_closed'])}, typology macro-F1 {fmt(m['typology_macro_f1'])}", highlight=False)


@app.command("train")
def train(cases: Path = typer.Option(..., "--cases", "-c", help="Case file (JSONL of labelled alerts) to learn from."),
          out: Path | None = typer.Option(None, "--out", "-o",
                                          help="Model folder (default <home>/models/<id>, made the current model)."),
          json_out: bool = JsonOption, home: Path | None = HomeOption) -> None:
    """Train P(actionable), P(sar) and the typology on the workspace's features and the case file's labels."""
    from agent.learned.train import train as run_train

    settings = settings_from(home)
    _, card, folder = run_train(settings, cases, out)
    if json_out:
        print_json({k: v for k, v in card.items() if k != "training"} | {"folder": str(folder)})
        return
    _print_card(card, folder)
    console.print(f"card: {folder / 'card.md'}" + ("" if out else " (now the current model)"), highlight=False)


@app.command("show")
def show(json_out: bool = JsonOption, home: Path | None = HomeOption) -> None:
    """The current learned model's card."""
    import json

    from agent.learned.store import load_learned

    settings = settings_from(home)
    model = load_learned(settings)
    assert model is not None and model.path is not None
    card = json.loads((model.path / "card.json").read_text(encoding="utf-8"))
    if json_out:
        print_json(card)
        return
    _print_card(card, model.path)
