"""`sleuth eval run --model learned --cv K`: K-fold cross-validation of the learned backend.

The case file's cases are split into K folds, stratified by disposition and typology. For each
fold a model is trained on the other K-1 folds' labels only (saved under the run's
`folds/<i>/model/`) and the held-out fold is scored with it by the ordinary eval run (which refuses
to score a case its model was trained on). The folds' records then make one run log over the whole
case set, and `cv.json` lists, per fold, the model id, its training alert ids and the label hash, so
anyone can check that no case was scored by a model that saw its label.

Features are computed once for all cases (they come from the workspace, never from labels).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.store import atomic_write
from evals import version
from evals.dataset import load_cases
from evals.log import CaseRecord, CaseSetInfo, RunLog
from evals.runner import CASES_FILE, OnCase, OnStart, RunMeta, RunOptions, Session, build_log, now_iso, run_eval
from tools.errors import InputInvalid, WorkspaceMissing
from tools.settings import Settings

CV_FILE = "cv.json"


def run_cv(opts: RunOptions, settings: Settings, k: int, *, on_start: OnStart | None = None,
           on_case: OnCase | None = None) -> tuple[RunLog, Path]:
    """Train on K-1 folds, score the held-out one, K times; one log over every case."""
    from agent.learned.features import descriptions
    from agent.learned.fit import folds
    from agent.learned.train import cases_hash, fit_model, save, training_set
    from tools.db import Database

    if opts.model != "learned":
        raise InputInvalid("--cv trains and scores the learned backend: use it with --model learned")
    if opts.resume or opts.judge:
        raise InputInvalid("--cv runs each fold afresh: drop --resume and --judge")
    if k < 2:
        raise InputInvalid("--cv needs at least 2 folds")
    case_set = load_cases(opts.cases)
    cases = case_set.cases[: opts.limit] if opts.limit else case_set.cases
    if len(cases) < 2 * k:
        raise InputInvalid(f"{len(cases)} cases are too few for {k} folds")
    if not settings.db_path.exists():
        raise WorkspaceMissing(f"no workspace database at {settings.db_path}: run `sleuth workspace ensure` "
                               "(or `sleuth data load DIR`) first")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = opts.out or settings.runs_dir / f"{case_set.name}-learned-cv{k}-{stamp}"
    if (run_dir / CV_FILE).exists():
        raise InputInvalid(f"{run_dir} already holds a cross-validation run; choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    with Database.open(settings) as db:
        ts_all = training_set(db, cases, settings)
    names = descriptions()
    parts = folds([f"{c.disposition}:{c.typology}" for c in cases], k)
    meta = RunMeta(run_id=run_dir.name, model="learned",
                   case_set=CaseSetInfo(name=case_set.name, path=str(case_set.path), sha256=case_set.sha256,
                                        n_cases=len(case_set), limit=opts.limit))
    session = Session(started_at=now_iso(), workers=opts.workers, code=version.code_version())
    meta.sessions.append(session)
    if on_start:
        on_start(run_dir, len(cases), 0)
    records: dict[str, CaseRecord] = {}
    fold_info: list[dict[str, Any]] = []
    import time

    start = time.perf_counter()
    for f, held in enumerate(parts):
        held_set = set(held.tolist())
        train_idx = [i for i in range(len(cases)) if i not in held_set]
        train_cases = [cases[i] for i in train_idx]
        sub = ts_all.subset(train_idx)
        model, card = fit_model(sub, train_cases, settings, names)
        fold_dir = run_dir / "folds" / str(f + 1)
        save(model, card, fold_dir / "model")
        held_cases = [cases[i] for i in sorted(held_set)]
        held_file = fold_dir / "cases.jsonl"
        atomic_write(held_file, "".join(c.model_dump_json() + "\n" for c in held_cases))
        fold_opts = RunOptions(cases=held_file, model="learned", workers=opts.workers, out=fold_dir / "run")
        fold_settings = settings.model_copy(update={"learned_model": fold_dir / "model"})
        log, _ = run_eval(fold_opts, fold_settings, on_case=on_case)
        for rec in log.cases:
            records[rec.alert_id] = rec
        fold_info.append({"fold": f + 1, "model_id": model.model_id, "training_cases_sha256": cases_hash(train_cases),
                          "training_alert_ids": sorted(c.alert_id for c in train_cases),
                          "scored_alert_ids": [c.alert_id for c in held_cases],
                          "thresholds": {"close_below": model.close_below, "sar_at": model.sar_at}})
    session.finished_at = now_iso()
    session.wall_seconds = round(time.perf_counter() - start, 3)
    session.cases_run = len(records)
    atomic_write(run_dir / CV_FILE, json.dumps({"k": k, "case_file": str(case_set.path), "folds": fold_info},
                                               indent=1))
    ordered = [records[c.alert_id] for c in cases]
    atomic_write(run_dir / CASES_FILE, "".join(r.model_dump_json() + "\n" for r in ordered))
    log = build_log(meta, ordered, opts.workers)
    log.notes.append(f"{k}-fold cross-validation: each case scored by a model trained on the other folds "
                     f"(see {CV_FILE})")
    from evals.outputs import write_outputs

    atomic_write(run_dir / "meta.json", meta.model_dump_json(indent=1))
    write_outputs(log, run_dir)
    return log, run_dir
