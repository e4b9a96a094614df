"""The investigation graph runs from plain, serialisable configuration, as LangGraph Studio and the
LangGraph API run it: the input `{"alert_id": ...}` and a context dict (or none of its fields), which
LangGraph turns into an `InvestigationContext` when the run starts. Settings, database and model are
then loaded, opened and built by the context itself; code that injects them (tests, the runner) is
unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.context import ROUTER_MAX_STEPS, InvestigationContext
from agent.graph import graph
from agent.runner import Investigator
from tools.settings import Settings, load_settings


def _first_alert(settings: Settings) -> str:
    from tools.db import Database

    with Database.open(settings) as db:
        return str(db.scalar("SELECT min(alert_id) FROM alerts"))


@pytest.fixture()
def home(agent_settings: Settings, tmp_path: Path) -> Path:
    """A private, writable copy of the session's workspace (the run records its case)."""
    dest = tmp_path / "ws"
    shutil.copytree(agent_settings.home, dest)
    return dest


def test_langgraph_json_points_at_this_graph() -> None:
    config = json.loads((Path(__file__).resolve().parents[1] / "langgraph.json").read_text(encoding="utf-8"))
    assert config["graphs"]["sleuth"] == "./agent/graph.py:graph"
    fields = graph.get_context_jsonschema()["properties"]  # the form Studio shows: plain values only
    assert {"home", "model_name", "max_steps", "max_tokens", "record"} <= set(fields)
    assert not {"settings", "db", "ledger", "model", "learned", "_playbooks"} & set(fields)


def test_a_run_from_a_context_dict_equals_the_runners(home: Path) -> None:
    settings = load_settings(home=home)  # only for the expected report and the alert id
    alert_id = _first_alert(settings)
    out = graph.invoke({"alert_id": alert_id}, context={"home": str(home), "model_name": "rules", "record": False})
    report = out["report"]
    with Investigator(settings, "rules", record=False) as inv:
        expected = inv.investigate(alert_id)
    assert report["case_id"] == alert_id and report["model"] == "rules"
    assert report["decision"] == expected.decision.model_dump(mode="json")
    assert report["narrative"] == expected.narrative


def test_an_empty_context_takes_every_default_from_the_settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEUTH_HOME", str(home))
    monkeypatch.setenv("SLEUTH_INVESTIGATE_MAX_STEPS", "4")
    alert_id = _first_alert(load_settings(home=home))
    out = graph.invoke({"alert_id": alert_id}, context={})
    assert out["report"]["case_id"] == alert_id
    assert (home / "cases" / f"{alert_id}.json").exists()  # recorded in the configured workspace
    ctx = InvestigationContext()
    assert ctx.settings.home == home and ctx.model_name == "rules" and ctx.model is None
    assert ctx.max_steps == 4 and ctx.max_tokens == ctx.settings.investigate_max_tokens
    assert ctx.ledger.row_cap == ctx.settings.evidence_row_cap
    ctx.db.close()


def test_injected_dependencies_are_kept(agent_settings: Settings) -> None:
    """What a caller injects is used as given: nothing is loaded, opened or built again."""
    from agent.llm.fake import FakeChatModel
    from tools.db import Database
    from tools.evidence import EvidenceLedger

    fake = FakeChatModel(responses=[])
    with Database.open(agent_settings) as db:
        ledger = EvidenceLedger(5)
        ctx = InvestigationContext(settings=agent_settings, db=db, ledger=ledger, model=fake, model_name="local",
                                   style="router", max_steps=2, max_tokens=10)
        assert (ctx.settings, ctx.db, ctx.ledger, ctx.model) == (agent_settings, db, ledger, fake)
        assert (ctx.model_name, ctx.max_steps, ctx.max_tokens) == ("local", 2, 10)
        routed = InvestigationContext(settings=agent_settings, db=db, model=fake, model_name="local", style="router")
        assert routed.max_steps == min(agent_settings.investigate_max_steps, ROUTER_MAX_STEPS)


def test_an_unknown_backend_in_the_context_is_one_clear_error(home: Path) -> None:
    from tools.errors import InputInvalid

    with pytest.raises(InputInvalid, match="unknown model backend 'gpu'"):
        InvestigationContext(home=str(home), model_name="gpu")
