"""The agent's outputs: the case decision and the full case report (pydantic, versioned)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.evidence import Evidence

REPORT_VERSION = 1
Disposition = Literal["close", "escalate", "sar"]


class CaseDecision(BaseModel):
    """What the alert is worth, with the evidence it rests on."""

    disposition: Disposition = Field(description="close, escalate (to L2) or sar (file a report).")
    typology: str = Field(description="One of the shared typology vocabulary; 'none' when closed.")
    risk_score: int = Field(ge=0, le=100, description="Risk score 0-100.")
    key_evidence_ids: list[str] = Field(default_factory=list, description="Evidence ids the decision rests on.")
    flagged_txn_ids: list[str] = Field(default_factory=list, description="Transactions judged suspicious.")
    related_accounts: list[str] = Field(default_factory=list, description="Other accounts involved.")
    rationale: str = Field("", description="Why, with evidence citations like [E3].")


class Action(BaseModel):
    """A recommended action; account-affecting ones wait for a human."""

    index: int = Field(description="1-based number used by /approve N and /reject N.")
    action: str = Field(description="One of the shared action vocabulary.")
    reason: str = Field("", description="Why the policy recommends it.")
    status: Literal["recommended", "pending_approval", "approved", "rejected"] = Field(
        "recommended", description="Account-affecting actions start as pending_approval.")
    decided_by: str | None = Field(None, description="Who approved or rejected it.")
    decided_at: str | None = Field(None, description="When it was approved or rejected (UTC ISO).")
    decided_by_source: str | None = Field(None, description="How the decider's name was known: --as, "
                                                            "SLEUTH_ANALYST or os-user.")


class Verification(BaseModel):
    """Result of the deterministic grounding check of the narrative."""

    claims_checked: int = Field(0, description="Amounts, dates, ids and addresses found in the narrative.")
    claims_supported: int = Field(0, description="Of those, how many appear in the evidence they cite.")
    unsupported: list[str] = Field(default_factory=list, description="Claims removed as unsupported.")
    uncited_sentences: int = Field(0, description="Factual sentences without any citation (removed).")
    revised: bool = Field(False, description="True when the model was asked to revise once.")


class CaseReport(BaseModel):
    """Everything recorded about one investigated alert."""

    version: int = Field(REPORT_VERSION, description="Report format version.")
    case_id: str = Field(description="Case id (the alert id).")
    alert: dict[str, Any] = Field(default_factory=dict, description="The alert as read from the workspace.")
    decision: CaseDecision = Field(description="The decision.")
    narrative: str = Field("", description="SAR narrative with [E#] citations (empty for clear closes).")
    verification: Verification = Field(default_factory=Verification, description="Grounding check result.")
    actions: list[Action] = Field(default_factory=list, description="Recommended actions.")
    evidence: list[Evidence] = Field(default_factory=list, description="The evidence ledger of the case.")
    playbooks_cited: list[str] = Field(default_factory=list, description="Playbook passages cited (PB:...).")
    scorecards: dict[str, Any] = Field(default_factory=dict, description="Per-typology scorecard results.")
    model: str = Field("rules", description="Model backend and name.")
    style: str = Field("rules", description="rules, router or native.")
    prompt_version: str = Field("", description="Hash of the prompts used.")
    playbook_version: str = Field("", description="Hash of the playbooks used.")
    timings_ms: dict[str, float] = Field(default_factory=dict, description="Milliseconds per node.")
    tokens: dict[str, int] = Field(default_factory=dict, description="Prompt/completion tokens used.")
    trace: list[dict[str, Any]] = Field(default_factory=list, description="Every node, tool and model call.")
    notes: list[str] = Field(default_factory=list, description="What a reader should know (budget stops, overrides).")
    created_at: str = Field("", description="When the case was recorded (UTC ISO).")
    opened_by: str = Field("", description="Who opened (ran) the investigation; four-eyes keeps them from "
                                           "approving its account-affecting actions.")
    opened_by_source: str = Field("", description="How that name was known: --as, SLEUTH_ANALYST or os-user.")
    filings: list[dict[str, Any]] = Field(default_factory=list, description="Reports filed with an FIU from "
                                          "this case: format, profile, file, sha256, by, when.")


#: Report fields that measure time, not the case: two runs of one alert differ only in these.
VOLATILE = ("created_at", "timings_ms")


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report (as JSON data) without its time stamps and timings: what two runs must agree on."""
    out = {k: v for k, v in report.items() if k not in VOLATILE}
    out["evidence"] = [{k: v for k, v in e.items() if k != "elapsed_ms"} for e in report.get("evidence", [])]
    out["trace"] = [{k: v for k, v in t.items() if k != "ms"} for t in report.get("trace", [])]
    return out
