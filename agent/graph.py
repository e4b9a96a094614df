"""The investigation graph: from an alert id to a recorded, cited case decision.

intake -> retrieve_playbooks -> gather_evidence -> investigate -> assess -> draft_narrative
       -> verify (-> revise -> verify, once) -> recommend -> record (-> await_approval, in chat)
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.context import InvestigationContext
from agent.nodes.act import after_record, await_approval, recommend, record
from agent.nodes.assess import assess
from agent.nodes.gather import gather_evidence
from agent.nodes.intake import intake
from agent.nodes.investigate import investigate
from agent.nodes.narrate import after_verify, draft_narrative, revise, verify_narrative
from agent.nodes.retrieve import retrieve_playbooks
from agent.state import CaseState


def build_graph(checkpointer: Any | None = None) -> Any:
    """Compile the graph; chat passes a checkpointer so approvals can interrupt and resume."""
    builder = StateGraph(CaseState, context_schema=InvestigationContext)
    builder.add_node("intake", intake)
    builder.add_node("retrieve_playbooks", retrieve_playbooks)
    builder.add_node("gather_evidence", gather_evidence)
    builder.add_node("investigate", investigate)
    builder.add_node("assess", assess)
    builder.add_node("draft_narrative", draft_narrative)
    builder.add_node("verify", verify_narrative)
    builder.add_node("revise", revise)
    builder.add_node("recommend", recommend)
    builder.add_node("record", record)
    builder.add_node("await_approval", await_approval)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "retrieve_playbooks")
    builder.add_edge("retrieve_playbooks", "gather_evidence")
    builder.add_edge("gather_evidence", "investigate")
    builder.add_edge("investigate", "assess")
    builder.add_edge("assess", "draft_narrative")
    builder.add_edge("draft_narrative", "verify")
    builder.add_conditional_edges("verify", after_verify, ["revise", "recommend"])
    builder.add_edge("revise", "verify")
    builder.add_edge("recommend", "record")
    builder.add_conditional_edges("record", after_record, ["await_approval", END])
    builder.add_conditional_edges("await_approval", after_record, ["await_approval", END])
    return builder.compile(name="sleuth-investigation", checkpointer=checkpointer)


graph = build_graph()
