"""The playbook front matter: a validated contract between playbook authors and the agent.

Every field is executed by something: `triggers` and `keywords` feed retrieval; `evidence_steps`
are run by the agent's gather_evidence node; `red_flags`, `mitigating_factors`,
`disposition_policy` and `typology_signal` form the scorecard of the `rules` backend (see
`agent/scorecard.py`); `actions` drive recommend; `narrative` drives draft_narrative and the
narrative completeness score. Unknown fields are rejected so nothing is written that nothing reads.

Structure is checked by pydantic; meaning (expressions parse, facts exist and are gathered by one
of the playbook's own evidence steps, SQL is one read-only SELECT whose columns are the declared
facts) is checked by `semantic_issues`, which returns every problem rather than the first.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tools.facts import FACTS
from tools.playbooks.expr import ExprError, compile_expr
from tools.registry import TOOLS
from tools.schema import ACTIONS, TYPOLOGIES

ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
FACT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")

REQUIRED_SECTIONS = (
    "What it is",
    "How it looks on an exchange",
    "Investigation steps",
    "Red flags",
    "How to clear",
    "What to file",
    "Sources",
)

# Parameters a playbook sql step may use; gather_evidence binds them (DuckDB `$name` parameters).
SQL_PARAMS = ("account", "alert_ts", "window_start", "alert_id")

# The tools an evidence step may name and their arguments come from the registry (tools.registry):
# a step takes the tool's typed arguments except `account_id` (a step runs on the case's account).
STEP_TOOLS = tuple(name for name, t in TOOLS.items() if t.step)
if TYPE_CHECKING:
    ToolName = str
else:
    ToolName = Literal[STEP_TOOLS]
LEGACY_DIRECTIONS = {"forward": "out", "backward": "in"}

# Placeholders a narrative template may use besides the playbook's facts; the drafting node fills them.
NARRATIVE_CONTEXT = (
    "account", "alert_id", "rule_id", "alert_ts", "window_start", "window_end", "title", "typology",
    "red_flags", "mitigating_factors", "key_txns", "evidence_ids", "actions",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceStep(_Strict):
    """One tool call gather_evidence runs for every case that retrieves this playbook."""

    id: str = Field(description="Step id, unique in the playbook (snake_case).")
    tool: ToolName
    args: dict[str, Any] = Field(default_factory=dict)
    why: str = Field(min_length=10, description="What the step establishes, for the investigator and the trace.")
    facts: list[str] = Field(default_factory=list, description="sql steps only: result columns that become facts.")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError(f"{v!r} is not a snake_case id")
        return v

    @model_validator(mode="after")
    def _args(self) -> EvidenceStep:
        model = TOOLS[self.tool].args
        allowed = sorted(set(model.model_fields) - {"account_id"})
        for key in self.args:
            if key not in allowed:
                raise ValueError(f"tool {self.tool} takes no argument {key!r} (allowed: {allowed or 'none'})")
        old = self.args.get("direction")
        if isinstance(old, str) and old in LEGACY_DIRECTIONS:
            raise ValueError(f"direction {old!r} is the old word: write {LEGACY_DIRECTIONS[old]!r} (in, out or both)")
        if self.tool == "sql" and "query" not in self.args:
            raise ValueError("a sql step needs args.query")
        try:
            model.model_validate({**self.args, "account_id": "ACC-000000"} if "account_id" in model.model_fields
                                 else self.args, strict=True)  # the case's account, filled in when the step runs
        except ValidationError as e:
            raise ValueError("; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())) from None
        if self.tool == "sql":
            if not self.facts:
                raise ValueError("a sql step must declare the facts (result columns) it produces")
        elif self.facts:
            raise ValueError("only sql steps declare facts; other tools' facts are in tools/facts.py")
        return self


class WeightedCheck(_Strict):
    """A red flag (adds its weight) or mitigating factor (subtracts it) when `check` is true."""

    id: str
    description: str = Field(min_length=10)
    check: str
    weight: float = Field(gt=0, le=100)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError(f"{v!r} is not a snake_case id")
        return v


class HardRule(_Strict):
    """A floor on the disposition whatever the score, e.g. a direct sanctioned counterparty is a SAR."""

    when: str
    at_least: Literal["escalate", "sar"]
    why: str = Field(min_length=10)


class DispositionPolicy(_Strict):
    """Score thresholds (score = red flag weights hit - mitigating weights hit) and hard floors."""

    escalate_at: float = Field(ge=0)
    sar_at: float = Field(gt=0)
    hard_rules: list[HardRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _order(self) -> DispositionPolicy:
        if self.sar_at <= self.escalate_at:
            raise ValueError("sar_at must be above escalate_at")
        return self


class SignalTerm(_Strict):
    """One term of the typology signal: `weight` counts when `when` holds (negative = "not this one").

    The signal of a playbook is the sum of its terms' weights whose `when` is true. Convention: the
    positive weights of a playbook sum to about 1.0, so a clear case of the typology scores near
    1.0 and unrelated activity near 0, and signals of different playbooks compare; the rules engine
    names the typology whose signal is highest among the retrieved playbooks.
    """

    when: str
    weight: float = Field(ge=-1, le=1)
    why: str = ""


class Actions(_Strict):
    """Recommended actions per disposition; account-affecting ones await human approval."""

    close: list[str]
    escalate: list[str]
    sar: list[str]

    @field_validator("close", "escalate", "sar")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if a not in ACTIONS]
        if bad:
            raise ValueError(f"unknown action(s) {', '.join(bad)} (known: {', '.join(ACTIONS)})")
        if not v:
            raise ValueError("at least one action")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> Actions:
        if "file_sar" not in self.sar:
            raise ValueError("sar actions must include file_sar")
        if "file_sar" in self.close or "file_sar" in self.escalate:
            raise ValueError("file_sar belongs to the sar disposition only")
        return self


class Narrative(_Strict):
    """What a SAR narrative for this typology must state, and a fact-filled template for `rules` mode."""

    must_state: list[str] = Field(min_length=3)
    template: str = Field(min_length=40)


class FrontMatter(_Strict):
    """The YAML front matter of one playbook file."""

    purpose: Literal["investigation", "lift_review"] = "investigation"
    typology: str | None = None
    typologies: list[str] | None = None
    title: str = Field(min_length=5)
    version: str
    triggers: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(min_length=3)
    evidence_steps: list[EvidenceStep] = Field(min_length=1)
    red_flags: list[WeightedCheck] = Field(default_factory=list)
    mitigating_factors: list[WeightedCheck] = Field(default_factory=list)
    disposition_policy: DispositionPolicy
    typology_signal: list[SignalTerm]
    actions: Actions
    narrative: Narrative
    lift_conditions: list[WeightedCheck] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> str:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return str(v)
        return v

    @field_validator("typology_signal", mode="before")
    @classmethod
    def _one_signal(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("triggers")
    @classmethod
    def _triggers(cls, v: list[str]) -> list[str]:
        for t in v:
            if not re.match(r"^[A-Z][A-Z0-9-]{2,31}$", t):
                raise ValueError(f"{t!r} is not a rule id (like TM-STRUCT-01)")
        return v

    @model_validator(mode="after")
    def _typologies(self) -> FrontMatter:
        if self.purpose == "lift_review":
            # a restriction-lift playbook serves no typology: it is retrieved like the others but is
            # never an alert's candidate (candidates are looked up by typology)
            if self.typology is not None or self.typologies is not None:
                raise ValueError("a lift_review playbook serves no typology")
            if not self.lift_conditions:
                raise ValueError("a lift_review playbook needs lift_conditions")
            return self
        if self.lift_conditions:
            raise ValueError("lift_conditions belong to a lift_review playbook")
        if (self.typology is None) == (self.typologies is None):
            raise ValueError("give exactly one of typology or typologies")
        for t in self.all_typologies:
            if t not in TYPOLOGIES:
                raise ValueError(f"unknown typology {t!r} (known: {', '.join(TYPOLOGIES)})")
        return self

    @property
    def all_typologies(self) -> list[str]:
        """The typologies this playbook serves (one for most)."""
        return [self.typology] if self.typology is not None else list(self.typologies or [])


def sql_facts(fm: FrontMatter) -> dict[str, str]:
    """Facts declared by this playbook's sql steps: name -> step id."""
    return {f: s.id for s in fm.evidence_steps if s.tool == "sql" for f in s.facts}


def gathered_facts(fm: FrontMatter) -> set[str]:
    """Every fact this playbook's evidence steps produce (catalogue facts of its tools plus sql facts)."""
    return {f for s in fm.evidence_steps for f in TOOLS[s.tool].facts} | set(sql_facts(fm))


def _expr_issues(field: str, source: str, known: set[str], gathered: set[str]) -> list[tuple[str, str]]:
    try:
        expr = compile_expr(source)
    except ExprError as e:
        return [(field, f"{e} in {source!r}")]
    out = []
    for name in sorted(expr.names):
        if name not in known:
            out.append((field, f"unknown fact {name!r} (not in tools/facts.py nor declared by a sql step)"))
        elif name not in gathered:
            owner = FACTS[name][0]
            out.append((field, f"fact {name!r} comes from tool {owner!r}, which no evidence step runs"))
    return out


def semantic_issues(fm: FrontMatter) -> list[tuple[str, str]]:
    """Every meaning-level problem as (field path, message); empty when the playbook is executable."""
    from tools.playbooks.sqlcheck import sql_issues

    issues: list[tuple[str, str]] = []
    declared = sql_facts(fm)
    known = set(FACTS) | set(declared)
    gathered = gathered_facts(fm)

    seen: set[str] = set()
    for i, step in enumerate(fm.evidence_steps):
        if step.id in seen:
            issues.append((f"evidence_steps.{i}.id", f"duplicate step id {step.id!r}"))
        seen.add(step.id)
        if step.tool == "sql":
            for f in step.facts:
                if not FACT_NAME_RE.match(f):
                    issues.append((f"evidence_steps.{i}.facts", f"{f!r} is not a snake_case fact name"))
                elif f in FACTS:
                    issues.append((f"evidence_steps.{i}.facts", f"{f!r} is already a catalogue fact; pick another name"))
            issues += [(f"evidence_steps.{i}.args.query", m) for m in sql_issues(step.args["query"], step.facts)]
    if len(declared) != sum(len(s.facts) for s in fm.evidence_steps):
        issues.append(("evidence_steps", "two sql steps declare the same fact"))

    for group in ("red_flags", "mitigating_factors"):
        ids: set[str] = set()
        for i, item in enumerate(getattr(fm, group)):
            if item.id in ids:
                issues.append((f"{group}.{i}.id", f"duplicate id {item.id!r}"))
            ids.add(item.id)
            issues += _expr_issues(f"{group}.{i}.check", item.check, known, gathered)
    for i, rule in enumerate(fm.disposition_policy.hard_rules):
        issues += _expr_issues(f"disposition_policy.hard_rules.{i}.when", rule.when, known, gathered)
    for i, term in enumerate(fm.typology_signal):
        issues += _expr_issues(f"typology_signal.{i}.when", term.when, known, gathered)

    if fm.purpose == "lift_review":
        from tools.lift_facts import LIFT_FACTS

        for i, item in enumerate(fm.lift_conditions):
            issues += _expr_issues(f"lift_conditions.{i}.check", item.check, set(LIFT_FACTS), set(LIFT_FACTS))
    elif "none" not in fm.all_typologies:
        if not fm.red_flags:
            issues.append(("red_flags", "a typology playbook needs at least one red flag"))
        if sum(t.weight for t in fm.typology_signal if t.weight > 0) <= 0:
            issues.append(("typology_signal", "a typology playbook needs a term with a positive weight"))

    try:
        placeholders = {f for _, f, _, _ in string.Formatter().parse(fm.narrative.template) if f}
    except ValueError as e:
        issues.append(("narrative.template", f"bad template: {e}"))
        placeholders = set()
    for p in sorted(placeholders):
        if p not in NARRATIVE_CONTEXT and p not in gathered:
            issues.append(("narrative.template", f"placeholder {{{p}}} is neither a gathered fact nor one of "
                                                 f"{', '.join(NARRATIVE_CONTEXT)}"))
    return issues
