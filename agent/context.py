"""Run-scoped context of the investigation graph: configuration plus the injected dependencies.

Configuration fields carry a description (shown in LangGraph Studio). The chat model is built in
one place (`agent.llm.models.build_chat_model`) and injected here, so tests pass a fake one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tools.db import Database
from tools.evidence import EvidenceLedger
from tools.playbooks.load import PlaybookSet
from tools.settings import Settings


@dataclass(kw_only=True)
class InvestigationContext:
    """Everything a node may use besides the state."""

    settings: Settings = field(metadata={"description": "Workspace and tool settings."})
    db: Database = field(metadata={"description": "Read-only workspace database."})
    ledger: EvidenceLedger = field(
        default_factory=EvidenceLedger, metadata={"description": "The case's evidence ledger (E1, E2, ...)."})
    model: Any | None = field(
        default=None, metadata={"description": "Injected chat model (None for the rules backend)."})
    model_name: str = field(default="rules",
                            metadata={"description": "Backend name: rules, learned:<id>, local, openai:<m>."})
    learned: Any | None = field(
        default=None, metadata={"description": "Trained learned model (agent.learned): the learned backend's "
                                               "judgement, and facts for a chat model; None for rules."})
    style: Literal["rules", "router", "native"] = field(
        default="rules", metadata={"description": "How the model investigates: no model, router or native tools."})
    max_steps: int = field(default=6, metadata={"description": "Most tool calls in the investigate loop."})
    max_tokens: int = field(default=6000, metadata={"description": "Token budget for the case's model calls."})
    interactive: bool = field(
        default=False, metadata={"description": "Chat mode: interrupt for approval of account-affecting actions."})
    record: bool = field(default=True, metadata={"description": "Write the case store and audit log."})
    playbook_k: int = field(default=3, metadata={"description": "Playbooks retrieved per alert."})
    _playbooks: PlaybookSet | None = field(default=None, repr=False)

    @property
    def playbooks(self) -> PlaybookSet:
        """The playbooks of this case, read once: every node of a case sees the same version (an
        edit mid-case applies from the next case) and none pays for the files' stat again."""
        if self._playbooks is None:
            from tools.playbooks.load import load_playbooks

            self._playbooks = load_playbooks()
        return self._playbooks
