"""Snapshot of the investigation graph's topology, and the graph that langgraph.json points at.

A change to the graph's shape must be deliberate: update EXPECTED_NODES / EXPECTED_EDGES here in
the same commit (and docs/graph.md if the flow changed).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from langgraph.graph.state import CompiledStateGraph

from agent.graph import build_graph

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_NODES = [
    "__end__", "__start__", "assess", "await_approval", "draft_narrative", "gather_evidence", "intake",
    "investigate", "recommend", "record", "retrieve_playbooks", "revise", "verify",
]

# (source, target, conditional)
EXPECTED_EDGES = [
    ("__start__", "intake", False),
    ("assess", "draft_narrative", False),
    ("await_approval", "__end__", True),
    ("await_approval", "await_approval", True),
    ("draft_narrative", "verify", False),
    ("gather_evidence", "investigate", False),
    ("intake", "retrieve_playbooks", False),
    ("investigate", "assess", False),
    ("recommend", "record", False),
    ("record", "__end__", True),
    ("record", "await_approval", True),
    ("retrieve_playbooks", "gather_evidence", False),
    ("revise", "verify", False),
    ("verify", "recommend", True),
    ("verify", "revise", True),
]


def topology(compiled: CompiledStateGraph) -> tuple[list[str], list[tuple[str, str, bool]]]:
    g = compiled.get_graph()
    return sorted(g.nodes), sorted((e.source, e.target, bool(e.conditional)) for e in g.edges)


def test_topology_matches_snapshot() -> None:
    nodes, edges = topology(build_graph())
    assert nodes == EXPECTED_NODES
    assert edges == EXPECTED_EDGES


def test_design_flow_is_a_path_through_the_graph() -> None:
    """docs/graph.md's main line, node after node, is made of the graph's edges."""
    _, edges = topology(build_graph())
    pairs = {(s, t) for s, t, _ in edges}
    flow = ["__start__", "intake", "retrieve_playbooks", "gather_evidence", "investigate", "assess",
            "draft_narrative", "verify", "recommend", "record", "__end__"]
    assert all((a, b) in pairs for a, b in zip(flow, flow[1:], strict=False))
    assert {("verify", "revise"), ("revise", "verify")} <= pairs  # the revision loop


def test_checkpointer_does_not_change_the_shape() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    assert topology(build_graph(InMemorySaver())) == topology(build_graph())


def test_langgraph_json_loads_the_graph() -> None:
    """Load the graph the way the LangGraph CLI / Studio does: by file path and attribute."""
    config = json.loads((ROOT / "langgraph.json").read_text(encoding="utf-8"))
    assert config["dependencies"] == ["."]
    spec = config["graphs"]["sleuth"]
    file_part, attr = spec.rsplit(":", 1)
    path = (ROOT / file_part).resolve()
    assert path.is_file(), spec
    module_spec = importlib.util.spec_from_file_location("sleuth_langgraph_entry", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    compiled = getattr(module, attr)
    assert isinstance(compiled, CompiledStateGraph)
    assert compiled.name == "sleuth-investigation"
    assert topology(compiled) == (EXPECTED_NODES, EXPECTED_EDGES)
