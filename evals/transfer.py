"""`python -m evals.transfer`: in-world and cross-world figures for `rules` and `learned`, side by side.

For every test world (its own workspace, loaded with `sleuth data load`) this runs
- `rules`: `sleuth eval run --model rules` on the world's cases;
- `learned`, zero-shot: a model trained on the labels of the *other* worlds (the training worlds
  minus the test world), then `sleuth eval run --model learned` on the test world;
- `learned`, K-fold CV on the world's own labels (`evals.cv.run_cv`, what `sleuth eval run --model
  learned --cv K` runs): each case scored by a model trained on the other folds only.

Worlds are `default` (the committed sample, scored on evals/cases/test.jsonl), `lagoon` (the
committed cross-world set, data_samples/lagoon + evals/cases/lagoon.jsonl) or `random:SEED`
(generated here with `--world random --seed SEED`). A zero-shot model learns from several
workspaces at once: each world's feature rows are read from its own workspace and its alert ids are
prefixed with the world's name, so a training alert can never be mistaken for a test alert of
another world. Labels come only from the case files; nothing reads them into a workspace.

Data and rules/zero-shot scoring go through the documented commands (`sleuth data generate|load`,
`sleuth eval run`); the multi-world training uses the functions behind `sleuth model train`, and the
CV the function behind `--cv`.
The table goes to stdout and, with --md, to a Markdown file; per-run logs stay under --work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
METRICS: tuple[tuple[str, str, str], ...] = (
    ("actionable_f1", "disposition", "act. F1"), ("sar_caught", "disposition", "SARs caught"),
    ("close_precision", "disposition", "close prec."), ("benign_auto_closed", "disposition", "benign closed"),
    ("typology_macro_f1", "typology", "typology F1"))


@dataclass
class World:
    """A test or training world: where its data and cases are, and its workspace."""

    spec: str
    data: Path
    cases: Path
    home: Path

    @property
    def train_cases(self) -> Path:
        """The labels a zero-shot model learns from when this is a training world: all of them."""
        return self.data / "cases.jsonl"

    @property
    def name(self) -> str:
        return self.spec.replace(":", "-")


def sleuth(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the sleuth CLI (the console script beside this interpreter) on one workspace."""
    exe = Path(sys.executable).with_name("sleuth")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from agent.cli import app; app()"]
    env = {**os.environ, "SLEUTH_HOME": str(home)}
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, check=False)


def prepare(spec: str, work: Path) -> World:
    """Data, cases and a loaded workspace for a world spec (generated when random:SEED)."""
    home = work / spec.replace(":", "-") / "home"
    if spec == "default":
        w = World(spec, REPO / "data_samples" / "sample", REPO / "evals" / "cases" / "test.jsonl", home)
    elif spec == "lagoon":
        w = World(spec, REPO / "data_samples" / "lagoon", REPO / "evals" / "cases" / "lagoon.jsonl", home)
    elif spec.startswith("random:"):
        seed = spec.split(":", 1)[1]
        data = work / spec.replace(":", "-") / "data"
        if not (data / "cases.jsonl").exists():
            r = sleuth("data", "generate", "--out", str(data), "--world", "random", "--seed", seed, "--json",
                       home=home)
            if r.returncode:
                raise SystemExit(f"generate {spec}: {r.stderr.strip() or r.stdout.strip()}")
        w = World(spec, data, data / "cases.jsonl", home)
    else:
        raise SystemExit(f"unknown world {spec!r}: use default, lagoon or random:SEED")
    if not (home / "sleuth.duckdb").exists():
        r = sleuth("data", "load", str(w.data), "--json", home=home)
        if r.returncode:
            raise SystemExit(f"load {spec}: {r.stderr.strip() or r.stdout.strip()}")
    return w


def metrics_of(run_dir: Path) -> dict[str, float | None]:
    """The headline metrics of a finished run's run.json."""
    m = json.loads((run_dir / "run.json").read_text())["metrics"]
    return {key: m.get(part, {}).get(key) for key, part, _ in METRICS}


def eval_run(w: World, model: str, tag: str, *extra: str, reuse: bool = False) -> dict[str, Any]:
    """`sleuth eval run` on the world's cases; the metrics, or the error line (`reuse`: keep a finished run)."""
    out = w.home / "runs" / f"transfer-{tag}"
    if reuse and (out / "run.json").exists():
        return metrics_of(out)
    shutil.rmtree(out, ignore_errors=True)
    r = sleuth("eval", "run", "--cases", str(w.cases), "--model", model, "--out", str(out), *extra, home=w.home)
    if r.returncode or not (out / "run.json").exists():
        lines = (r.stderr.strip() or r.stdout.strip() or "failed").splitlines()
        return {"error": lines[-1][:160] if lines else "failed"}
    return metrics_of(out)


def cv_run(w: World, k: int, reuse: bool = False) -> dict[str, Any]:
    """K-fold CV of the learned backend on the world's own labels (`evals.cv.run_cv`, the function
    behind `sleuth eval run --model learned --cv K`); the metrics, or the error line."""
    out = w.home / "runs" / f"transfer-cv{k}"
    if reuse and (out / "run.json").exists():
        return metrics_of(out)
    shutil.rmtree(out, ignore_errors=True)
    try:
        from evals.cv import run_cv
        from evals.runner import RunOptions
        from tools.settings import load_settings

        settings = load_settings(home=w.home)
        run_cv(RunOptions(cases=w.cases, model="learned", workers=settings.workers, out=out), settings, k)
    except ImportError as e:
        return {"error": f"learned backend unavailable: {e}"}
    except Exception as e:  # noqa: BLE001 - one table cell says what failed; the other cells still run
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:140] if str(e) else ''}"}
    return metrics_of(out)


def train_zero_shot(test: World, train: list[World]) -> str | None:
    """Train on the other worlds' labels; the model becomes the test workspace's current one.

    Returns an error line, or None when the model is in place.
    """
    try:
        import numpy as np

        from agent.learned.features import descriptions
        from agent.learned.fit import TrainingSet
        from agent.learned.store import set_current
        from agent.learned.train import fit_model, save, training_set
        from evals.dataset import load_cases
        from tools.db import Database
        from tools.settings import load_settings
    except ImportError as e:  # the learned backend or the feature store is not installed
        return f"learned backend unavailable: {e}"
    parts: list[TrainingSet] = []
    cases: list[Any] = []
    for w in train:
        ws = load_settings(home=w.home)
        wc = load_cases(w.train_cases).cases
        with Database.open(ws) as db:
            ts = training_set(db, wc)
        parts.append(TrainingSet([f"{w.name}/{a}" for a in ts.alert_ids], ts.features, ts.X, ts.disposition,
                                 ts.typology))
        cases += [c.model_copy(update={"alert_id": f"{w.name}/{c.alert_id}"}) for c in wc]
    if not parts:
        return "no training world"
    if any(p.features != parts[0].features for p in parts):
        return "training worlds computed different feature sets"
    combined = TrainingSet([a for p in parts for a in p.alert_ids], parts[0].features,
                           np.vstack([p.X for p in parts]), [d for p in parts for d in p.disposition],
                           [t for p in parts for t in p.typology])
    settings = load_settings(home=test.home)
    model, card = fit_model(combined, cases, settings, descriptions())
    card["training"]["worlds"] = [w.spec for w in train]
    folder = save(model, card, settings.models_dir / f"zero-shot-{model.model_id}")
    set_current(settings, folder)
    return None


def _training_set(w: World, cases_path: Path, prefix: bool) -> tuple[Any, list[Any]]:
    """A world's feature rows and labels (alert ids prefixed with the world's name when `prefix`)."""
    from agent.learned.fit import TrainingSet
    from agent.learned.train import training_set
    from evals.dataset import load_cases
    from tools.db import Database
    from tools.settings import load_settings

    cases = load_cases(cases_path).cases
    with Database.open(load_settings(home=w.home)) as db:
        ts = training_set(db, cases)
    if not prefix:
        return ts, cases
    return (TrainingSet([f"{w.name}/{a}" for a in ts.alert_ids], ts.features, ts.X, ts.disposition, ts.typology),
            [c.model_copy(update={"alert_id": f"{w.name}/{c.alert_id}"}) for c in cases])


def _scores(model: Any, ts: Any) -> dict[str, Any]:
    """The eval scorers' headline metrics for a model's predictions on a training set's rows."""
    from evals.scorers import disposition as disp_scorer
    from evals.scorers import typology as typ_scorer

    d_rec, t_rec = [], []
    for i, pred in enumerate(model.predict(ts.X)):
        typ = "none" if pred.disposition == "close" else pred.typology
        d_rec.append({"truth": ts.disposition[i], "pred": pred.disposition, "correct": pred.disposition == ts.disposition[i]})
        t_rec.append({"truth": ts.typology[i], "pred": typ, "actionable": bool(ts.actionable[i]),
                      "correct": typ == ts.typology[i]})
    d, t = disp_scorer.aggregate(d_rec), typ_scorer.aggregate(t_rec)
    return {**{k: d.get(k) for k, part, _ in METRICS if part == "disposition"},
            "typology_macro_f1": t.get("typology_macro_f1")}


def model_only(test: World, train: list[World], k: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Zero-shot and K-fold figures of the learned model alone (its calibrated thresholds, no
    playbook hard-rule floor, no graph): minutes faster than the pipeline runs, same scorers."""
    import numpy as np

    from agent.learned.features import descriptions
    from agent.learned.fit import TrainingSet, folds
    from agent.learned.train import fit_model
    from tools.settings import load_settings

    settings, names = load_settings(home=test.home), descriptions()
    target, target_cases = _training_set(test, test.cases, prefix=False)
    parts = [_training_set(w, w.train_cases, prefix=True) for w in train]
    combined = TrainingSet([a for p, _ in parts for a in p.alert_ids], parts[0][0].features,
                           np.vstack([p.X for p, _ in parts]), [d for p, _ in parts for d in p.disposition],
                           [t for p, _ in parts for t in p.typology])
    zero, _ = fit_model(combined, [c for _, cs in parts for c in cs], settings, names)
    zero_scores = _scores(zero, target)
    records: list[tuple[int, Any]] = []
    for held in folds([f"{c.disposition}:{c.typology}" for c in target_cases], k):
        held_set = set(held.tolist())
        train_idx = [i for i in range(len(target_cases)) if i not in held_set]
        model, _ = fit_model(target.subset(train_idx), [target_cases[i] for i in train_idx], settings, names)
        records += list(zip(sorted(held_set), model.predict(target.X[sorted(held_set)]), strict=True))
    order = [i for i, _ in records]

    class _Fixed:  # the held-out predictions in case order, scored like a model's
        def predict(self, X: Any) -> list[Any]:
            return [p for _, p in sorted(records, key=lambda r: r[0])]

    cv_scores = _scores(_Fixed(), target.subset(sorted(order)))
    return zero_scores, cv_scores


def fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def table(rows: list[tuple[str, str, str, dict[str, Any]]]) -> str:
    """Markdown: one row per (world, backend, regime)."""
    head = "| world | backend | regime | " + " | ".join(h for _, _, h in METRICS) + " |"
    out = [head, "|" + " --- |" * (3 + len(METRICS))]
    for world, backend, regime, m in rows:
        cells = [m["error"]] + [""] * (len(METRICS) - 1) if "error" in m else [fmt(m.get(k)) for k, _, _ in METRICS]
        out.append(f"| {world} | {backend} | {regime} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evals.transfer", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="Folder for generated worlds, workspaces and runs.")
    ap.add_argument("--test", default="default,lagoon", help="Comma-separated test worlds.")
    ap.add_argument("--train", default="default,random:201,random:202,random:203",
                    help="Comma-separated training worlds of the zero-shot model (the test world is left out).")
    ap.add_argument("--backends", default="rules,learned", help="rules, learned or both.")
    ap.add_argument("--cv", type=int, default=5, help="Folds of the in-world CV of the learned backend (0: skip).")
    ap.add_argument("--md", type=Path, default=None, help="Also write the table to this Markdown file.")
    ap.add_argument("--learned-mode", choices=("pipeline", "model-only"), default="pipeline",
                    help="pipeline: sleuth eval run (full graph, hard-rule floor); model-only: the model's "
                         "predictions on the feature rows, scored by the same scorers (fast, no floor).")
    ap.add_argument("--reuse", action="store_true", help="Keep runs already finished under --work (else re-run).")
    args = ap.parse_args(argv)
    backends = {b.strip() for b in args.backends.split(",") if b.strip()}
    if not backends <= {"rules", "learned"}:
        raise SystemExit("--backends: rules and/or learned")
    tests = [s.strip() for s in args.test.split(",") if s.strip()]
    trains = [s.strip() for s in args.train.split(",") if s.strip()]
    args.work.mkdir(parents=True, exist_ok=True)
    worlds = {s: prepare(s, args.work) for s in dict.fromkeys(tests + trains)}
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    for s in tests:
        w = worlds[s]
        in_world = "in-world" if s == "default" else "cross-world"
        if "rules" in backends:
            rows.append((s, "rules", in_world + " (written for default)", eval_run(w, "rules", "rules", reuse=args.reuse)))
            print(rows[-1], flush=True)
        if "learned" in backends and args.learned_mode == "model-only":
            train = [worlds[t] for t in trains if t != s]
            zero, cv = model_only(w, train, args.cv or 5)
            names = ", ".join(t.spec for t in train)
            rows.append((s, "learned (model only)", f"zero-shot (trained on {names})", zero))
            rows.append((s, "learned (model only)", f"{args.cv or 5}-fold CV on its own labels", cv))
            print(rows[-2], rows[-1], sep="\n", flush=True)
        elif "learned" in backends:
            train = [worlds[t] for t in trains if t != s]
            try:
                err = train_zero_shot(w, train)
            except Exception as e:  # noqa: BLE001 - one table cell says what failed
                err = f"{type(e).__name__}: {str(e).splitlines()[0][:140] if str(e) else ''}"
            label = "zero-shot (trained on " + ", ".join(t.spec for t in train) + ")"
            rows.append((s, "learned", label, {"error": err} if err else eval_run(w, "learned", "zero-shot")))
            print(rows[-1], flush=True)
            if args.cv:
                rows.append((s, "learned", f"{args.cv}-fold CV on its own labels", cv_run(w, args.cv, args.reuse)))
                print(rows[-1], flush=True)
    md = table(rows)
    print(md)
    if args.md:
        args.md.write_text(md + "\n")


if __name__ == "__main__":
    main()
