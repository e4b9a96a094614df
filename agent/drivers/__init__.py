"""One driver per style, chosen once per case: what the model does in investigate, narrative and revise.

- `rules` (no chat model, and the learned backend): no investigation loop, the template narrative;
- `router` (a small local model): one narrow step at a time under a grammar, a short cited summary
  on top of the template;
- `native` (a capable endpoint): the model calls the tools itself and writes the whole narrative.

Nodes ask `ctx.driver` and never branch on the style. Who makes the decision is the model's property
(`ModelInfo.decides`), not the style's: see `agent.nodes.assess`.
"""

from __future__ import annotations

from typing import Any, Protocol

from agent.context import InvestigationContext
from agent.state import CaseState

Written = tuple[str, dict[str, int], list[str]]  # narrative, token counts, notes


class Driver(Protocol):
    """The model-driven halves of the investigation's nodes."""

    name: str
    reads_traces: bool  # playbook `trace` steps feed only a model (the scorecards read no trace facts)
    revises: bool  # whether an unsupported claim gets one revision before it is removed

    def investigate(self, state: CaseState, ctx: InvestigationContext, update: dict[str, Any]) -> None:
        """Follow leads with the tools within the case's budgets; add trace, notes, steps and tokens."""

    def write(self, state: CaseState, ctx: InvestigationContext, template: str) -> Written:
        """The narrative from the template's facts (the template is every fact, cited)."""

    def revise(self, state: CaseState, ctx: InvestigationContext, template: str, unsupported: list[str]) -> Written:
        """One revision of the narrative given the verifier's unsupported claims."""


def driver_for(style: str, has_model: bool) -> Driver:
    """The driver of a style; without a chat model, `rules` whatever the style says."""
    if not has_model or style == "rules":
        from agent.drivers.rules import RulesDriver

        return RulesDriver()
    if style == "native":
        from agent.drivers.native import NativeDriver

        return NativeDriver()
    if style == "router":
        from agent.drivers.router import RouterDriver

        return RouterDriver()
    raise ValueError(f"unknown style {style!r}")
