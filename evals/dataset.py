"""Case sets: the labelled case files (JSONL, docs/case-files.md) the eval harness scores against.

A case file is ground truth, so it is validated strictly before anything runs: a typo in a label
would otherwise silently score as a model error. Every problem is reported as
`file:line: message` (an `InputInvalid`), the way compilers report, so the line can be fixed.
Extra keys (a generator's scenario name, say) are kept: they cost nothing and help a reader.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools.errors import InputInvalid
from tools.schema import ACTIONS, DISPOSITIONS, TYPOLOGIES

ACTIONABLE = ("escalate", "sar")


class LabelledCase(BaseModel):
    """One labelled alert: what a careful investigator decided, and the facts that decision rests on."""

    model_config = ConfigDict(extra="allow", frozen=True)

    alert_id: str = Field(min_length=1, description="The alert to investigate (must exist in the workspace).")
    disposition: str = Field(description="True disposition: close, escalate or sar.")
    typology: str = Field(description="True typology from the shared vocabulary; 'none' for a benign alert.")
    key_txn_ids: list[str] = Field(default_factory=list, description="Transactions a good case flags.")
    related_accounts: list[str] = Field(default_factory=list, description="Other accounts a good case names.")
    expected_actions: list[str] = Field(default_factory=list, description="Actions policy calls for.")
    notes: str = Field("", description="Free text for humans; never scored.")

    @field_validator("disposition")
    @classmethod
    def _disposition(cls, v: str) -> str:
        if v not in DISPOSITIONS:
            raise ValueError(f"disposition {v!r} is not one of {', '.join(DISPOSITIONS)}")
        return v

    @field_validator("typology")
    @classmethod
    def _typology(cls, v: str) -> str:
        if v not in TYPOLOGIES:
            raise ValueError(f"typology {v!r} is not in the shared vocabulary ({', '.join(TYPOLOGIES)})")
        return v

    @field_validator("expected_actions")
    @classmethod
    def _actions(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if a not in ACTIONS]
        if bad:
            raise ValueError(f"unknown action(s) {', '.join(map(repr, bad))}; use {', '.join(ACTIONS)}")
        return v

    @property
    def actionable(self) -> bool:
        """True for escalate and sar: the alert needs a human or a report."""
        return self.disposition in ACTIONABLE


@dataclass(frozen=True)
class CaseSet:
    """A validated case file: its cases in file order, and what identifies the file."""

    name: str
    path: Path
    sha256: str
    cases: list[LabelledCase]

    def __len__(self) -> int:
        return len(self.cases)

    def by_id(self) -> dict[str, LabelledCase]:
        """Cases keyed by alert id."""
        return {c.alert_id: c for c in self.cases}


def _pydantic_message(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def load_cases(path: Path | str) -> CaseSet:
    """Read and validate a case file; raise InputInvalid("file:line: message") on the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise InputInvalid(f"{path}: case file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputInvalid(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    cases: list[LabelledCase] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputInvalid(f"{path}:{lineno}: not valid JSON: {e.msg} (column {e.colno})") from e
        if not isinstance(obj, dict):
            raise InputInvalid(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        try:
            case = LabelledCase.model_validate(obj)
        except ValidationError as e:
            raise InputInvalid(f"{path}:{lineno}: {_pydantic_message(e)}") from e
        if case.alert_id in first_line:
            raise InputInvalid(
                f"{path}:{lineno}: duplicate alert_id {case.alert_id!r} (first on line {first_line[case.alert_id]})")
        first_line[case.alert_id] = lineno
        cases.append(case)
    if not cases:
        raise InputInvalid(f"{path}: no cases (expected one JSON object a line)")
    return CaseSet(name=path.stem, path=path, sha256=hashlib.sha256(raw).hexdigest(), cases=cases)
