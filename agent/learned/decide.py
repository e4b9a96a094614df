"""The learned backend inside the graph: score the alert, record why as evidence, decide.

The prediction is recorded in the case's evidence ledger as one `learned_model` item: its facts are
the probabilities and the thresholds, its rows the features that drove the disposition and the
typology (value and contribution: the trees' path decomposition, or LightGBM's `pred_contrib`
in log-odds when that learner is chosen). The rationale and the
narrative cite that item's id, so every decision names its features.
"""

from __future__ import annotations

from typing import Any

from agent.context import InvestigationContext
from agent.learned.model import Driver, LearnedModel, Prediction
from agent.report import CaseDecision
from tools.evidence import Evidence

TOOL = "learned_model"
COLUMNS = ["part", "feature", "value", "contribution", "description"]


def _value(d: Driver) -> str:
    return "missing" if d.value is None else f"{d.value:g}"


def predict_alert(ctx: InvestigationContext, model: LearnedModel, alert_id: str) -> Prediction:
    """The model's prediction for one alert, from features the store computes now."""
    from agent.learned.features import profile_of, row

    return model.predict(row(ctx.db, alert_id, model.features, profile_of(ctx.settings)))[0]


def record_prediction(ctx: InvestigationContext, model: LearnedModel, alert_id: str) -> tuple[Prediction, Evidence]:
    """Score the alert and record the prediction and its drivers in the ledger."""
    import time

    start = time.perf_counter()
    pred = predict_alert(ctx, model, alert_id)
    rows = [["disposition", d.feature, d.value, d.contribution, d.description] for d in pred.drivers]
    rows += [["typology", d.feature, d.value, d.contribution, d.description] for d in pred.typology_drivers]
    drivers = "; ".join(f"{d.feature}={_value(d)} ({d.contribution:+.2f})" for d in pred.drivers[:3])
    ev = ctx.ledger.record(
        TOOL, {"model_id": model.model_id, "alert_id": alert_id}, columns=COLUMNS, rows=rows,
        facts={"learned_p_actionable": pred.p_actionable, "learned_p_sar": pred.p_sar,
               "learned_typology": pred.typology, "learned_p_typology": pred.p_typology,
               "learned_disposition": pred.disposition, "learned_close_below": round(model.close_below, 4),
               "learned_sar_at": round(model.sar_at, 4)},
        summary=(f"Learned model {model.model_id}: P(actionable) {pred.p_actionable:.3f} (closes below "
                 f"{model.close_below:.3f}), P(sar) {pred.p_sar:.3f} (files at {model.sar_at:.3f}), typology "
                 f"{pred.typology} (p {pred.p_typology:.2f}), suggests {pred.disposition}; top drivers: {drivers}."),
        elapsed_ms=(time.perf_counter() - start) * 1000)
    return pred, ev


def _driver_text(d: Driver) -> str:
    what = d.description.rstrip(".") or d.feature
    direction = "raised" if d.contribution > 0 else "lowered"
    return f"{what} ({d.feature} = {_value(d)}) {direction} the score by {abs(d.contribution):.2f}"


def learned_summary(pred: Prediction, ev: Evidence) -> dict[str, Any]:
    """What the report and the narrative keep of the prediction (`scorecards['learned']`)."""
    return {"evidence_id": ev.id, "model_id": ev.args.get("model_id"), "p_actionable": pred.p_actionable,
            "p_sar": pred.p_sar, "typology": pred.typology, "p_typology": pred.p_typology,
            "disposition": pred.disposition,
            "drivers": [d.__dict__ for d in pred.drivers], "typology_drivers": [d.__dict__ for d in pred.typology_drivers]}


def learned_decision(ctx: InvestigationContext, state: dict[str, Any], pred: Prediction, ev: Evidence) -> CaseDecision:
    """The decision from the prediction: disposition from the thresholds, typology 'none' when closed."""
    from agent.involved import flagged_txns, related_accounts

    evidence = [*state.get("evidence", []), ev.model_dump()]
    disposition = pred.disposition
    typology = pred.typology if disposition != "close" else "none"
    alert = state["alert"]
    why = {"close": "below the close threshold: benign with the required confidence",
           "escalate": "not sure enough either way, so a human decides",
           "sar": "at or above the SAR threshold"}[disposition]
    rationale = (f"Learned model: P(actionable) {pred.p_actionable:.3f}, P(sar) {pred.p_sar:.3f}, {why} [{ev.id}]. "
                 "Drivers: " + "; ".join(_driver_text(d) for d in pred.drivers[:3]) + f" [{ev.id}].")
    if disposition != "close":
        rationale += (f" Typology {typology} (p {pred.p_typology:.2f}): "
                      + "; ".join(_driver_text(d) for d in pred.typology_drivers[:3]) + f" [{ev.id}].")
    return CaseDecision(
        disposition=disposition, typology=typology, risk_score=int(round(100 * pred.p_actionable)),
        key_evidence_ids=["E1", ev.id],
        flagged_txn_ids=flagged_txns(evidence, typology, alert.get("txn_ids", [])) if disposition != "close" else [],
        related_accounts=related_accounts(ctx.db, evidence, typology, alert["account_id"])
        if disposition != "close" else [],
        rationale=rationale)


def driver_sentences(learned: dict[str, Any]) -> list[str]:
    """Narrative sentences naming the model's drivers, each citing the prediction's evidence."""
    eid = learned["evidence_id"]
    out = [f"Model assessment: the learned model gives a probability of {learned['p_actionable']:.3f} that the "
           f"alert needs action and {learned['p_sar']:.3f} that it warrants a report [{eid}]."]
    for d in learned["drivers"][:3]:
        out.append(f"Driver: {_driver_text(Driver(**d))} [{eid}].")
    return out
