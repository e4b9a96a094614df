"""The rules driver: the playbooks' steps are the evidence and the template is the narrative."""

from __future__ import annotations

from typing import Any

from agent.context import InvestigationContext
from agent.drivers import Written
from agent.state import CaseState


class RulesDriver:
    """No model: nothing to investigate, write or revise."""

    name = "rules"
    reads_traces = False
    revises = False

    def investigate(self, state: CaseState, ctx: InvestigationContext, update: dict[str, Any]) -> None:
        return None

    def write(self, state: CaseState, ctx: InvestigationContext, template: str) -> Written:
        return template, {}, []

    def revise(self, state: CaseState, ctx: InvestigationContext, template: str, unsupported: list[str]) -> Written:
        return state.get("narrative", template), {}, []
