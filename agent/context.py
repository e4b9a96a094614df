"""Run-scoped context of the investigation graph: configuration plus the injected dependencies.

Configuration fields carry a description (shown in LangGraph Studio). Code that runs the graph
(`agent.runner.Investigator`, the chat session, tests) injects the settings, database and model. The
LangGraph API and Studio can pass only plain, serialisable values (`{"home": ..., "model_name":
"rules", "max_steps": 3}`, or nothing at all) and build the context with them; then
`__post_init__`, which runs when the run starts, loads the settings (defaults from `tools.settings`),
opens the workspace database read-only and builds the backend through the one backend lookup
(`agent.llm.models.build_chat_model`). Tests still pass a fake model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict
from pydantic.json_schema import SkipJsonSchema

from tools.db import Database
from tools.evidence import EvidenceLedger
from tools.playbooks.load import PlaybookSet
from tools.settings import Settings

if TYPE_CHECKING:
    from agent.drivers import Driver

#: A small local model gets at most this many router steps: each costs it ~5-15 s on 2 cores, and
#: the playbooks' evidence steps have already gathered the baseline facts.
ROUTER_MAX_STEPS = 3


@dataclass(kw_only=True)
class InvestigationContext:
    """Everything a node may use besides the state. The injected objects are left out of the JSON
    schema LangGraph Studio shows: a run configures them through `home` and `model_name`."""

    __pydantic_config__ = ConfigDict(arbitrary_types_allowed=True)  # LangGraph validates a context dict

    home: str | None = field(
        default=None, metadata={"description": "Workspace directory (default: $SLEUTH_HOME or ./.sleuth)."})
    settings: Annotated[Settings, SkipJsonSchema()] = field(
        default=None, metadata={"description": "Workspace and tool settings (default: loaded for `home`)."})  # type: ignore[assignment]
    db: Annotated[Database, SkipJsonSchema()] = field(
        default=None, metadata={"description": "Read-only workspace database (default: opened at run start)."})  # type: ignore[assignment]
    ledger: Annotated[EvidenceLedger, SkipJsonSchema()] = field(
        default=None, metadata={"description": "The case's evidence ledger (E1, E2, ...)."})  # type: ignore[assignment]
    model: Annotated[Any | None, SkipJsonSchema()] = field(
        default=None, metadata={"description": "Injected chat model (None for the rules backend)."})
    model_name: str = field(
        default=None, metadata={"description": "Backend: rules, learned, local or openai:<model> (default: settings' "  # type: ignore[assignment]
                                              "model, $SLEUTH_MODEL or rules)."})
    learned: Annotated[Any | None, SkipJsonSchema()] = field(
        default=None, metadata={"description": "Trained learned model (agent.learned): the learned backend's "
                                               "judgement, and facts for a chat model; None for rules."})
    style: Literal["rules", "router", "native"] = field(
        default="rules", metadata={"description": "How the model investigates: no model, router or native tools."})
    model_decides: bool = field(
        default=True, metadata={"description": "Whether the chat model makes the decision in assess (the bundled "
                                               "local model does not: agent.llm.models.ModelInfo.decides)."})
    max_steps: int = field(
        default=None, metadata={"description": "Most tool calls in the investigate loop (default: settings; "  # type: ignore[assignment]
                                              f"at most {ROUTER_MAX_STEPS} for a router model)."})
    max_tokens: int = field(
        default=None, metadata={"description": "Token budget for the case's model calls (default: settings)."})  # type: ignore[assignment]
    interactive: bool = field(
        default=False, metadata={"description": "Chat mode: interrupt for approval of account-affecting actions."})
    record: bool = field(default=True, metadata={"description": "Write the case store and audit log."})
    playbook_k: int = field(default=3, metadata={"description": "Playbooks retrieved per alert."})
    _playbooks: Annotated[PlaybookSet | None, SkipJsonSchema()] = field(default=None, repr=False)
    _driver: Annotated[Any | None, SkipJsonSchema()] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Fill what the caller did not inject, from plain configuration and the settings."""
        if self.settings is None:
            from pathlib import Path

            from tools.settings import load_settings

            self.settings = load_settings(home=Path(self.home) if self.home else None)
        if self.ledger is None:
            self.ledger = EvidenceLedger(self.settings.evidence_row_cap)
        if self.model_name is None:
            self.model_name = self.settings.model
        if self.model is None and self.learned is None and self.model_name != "rules":
            from agent.llm.models import build_chat_model

            self.model, info = build_chat_model(self.model_name, self.settings)
            self.style, self.learned, self.model_decides = info.style, info.learned, info.decides
            self.model_name = info.label
        if self.max_steps is None:
            steps = self.settings.investigate_max_steps
            self.max_steps = min(steps, ROUTER_MAX_STEPS) if self.style == "router" else steps
        if self.max_tokens is None:
            self.max_tokens = self.settings.investigate_max_tokens
        if self.db is None:
            self.db = Database.open(self.settings)

    @property
    def driver(self) -> Driver:
        """The driver of this case's style (`agent.drivers`), chosen once: nodes never branch on the style."""
        if self._driver is None:
            from agent.drivers import driver_for

            self._driver = driver_for(self.style, self.model is not None)
        return self._driver

    @property
    def playbooks(self) -> PlaybookSet:
        """The playbooks of this case, read once: every node of a case sees the same version (an
        edit mid-case applies from the next case) and none pays for the files' stat again."""
        if self._playbooks is None:
            from tools.playbooks.load import load_playbooks

            self._playbooks = load_playbooks()
        return self._playbooks
