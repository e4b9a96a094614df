"""Four-eyes approvals through the CLI and on cases triage recorded: the analyst who opened a case
cannot approve or reject its account-affecting actions, the decider needs a permitting role, a
missing or malformed roles file refuses in one line, and identity is recorded with its source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.approvals import ApprovalRefused, check, identity, load_roles, with_identity
from agent.cli import app
from agent.store import CaseStore
from tools.errors import InputInvalid
from tools.schema import ACCOUNT_AFFECTING_ACTIONS
from tools.settings import Settings, load_settings

EXAMPLE_ROLES = Path(__file__).resolve().parents[1] / "examples" / "roles.toml"


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = load_settings(home=tmp_path / "ws")
    settings.home.mkdir(parents=True)
    shutil.copy(EXAMPLE_ROLES, settings.home / "roles.toml")
    return settings


def test_example_roles_parse(home: Settings) -> None:
    roles = load_roles(home)
    assert roles.roles_of("carol") == ("approver",)
    assert roles.allows("carol", "freeze_account") and not roles.allows("alice", "freeze_account")
    assert roles.allows("bob", "restrict_p2p") and not roles.allows("bob", "offboard")


@pytest.mark.parametrize("text, message", [
    ("[roles.boss]\napprove = []\n", "roles.boss: unknown role"),
    ("[roles.approver]\napprove = ['launch_missiles']\n", "unknown action 'launch_missiles'"),
    ("[users.x]\nroles = ['king']\n", "users.x.roles: unknown role 'king'"),
    ("[users\n", "not a readable TOML file"),
])
def test_malformed_roles_file_is_one_line(home: Settings, text: str, message: str) -> None:
    (home.home / "roles.toml").write_text(text)
    with pytest.raises(InputInvalid, match=message):
        load_roles(home)


def test_check_rules(home: Settings) -> None:
    check(home, "freeze_account", "carol", opened_by="alice")
    check(home, "escalate_l2", "alice", opened_by="alice")  # not account-affecting: no four-eyes
    with pytest.raises(ApprovalRefused, match="carol opened this case and cannot also approve"):
        check(home, "freeze_account", "carol", opened_by="carol")
    with pytest.raises(ApprovalRefused, match="carol decided this case"):
        check(home, "freeze_account", "carol", opened_by="alice", decided_by="carol")
    with pytest.raises(ApprovalRefused, match=r"bob \(analyst, reviewer in .*\) may not approve or reject offboard"):
        check(home, "offboard", "bob", opened_by="alice")
    with pytest.raises(ApprovalRefused, match="mallory \\(no role"):
        check(home, "freeze_account", "mallory", opened_by="alice")
    with pytest.raises(ApprovalRefused, match="does not record who opened it"):
        check(home, "freeze_account", "carol", opened_by="")
    (home.home / "roles.toml").unlink()
    with pytest.raises(ApprovalRefused, match="no roles file at"):
        check(home, "freeze_account", "carol", opened_by="alice")


def test_roles_file_override(home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("[roles.approver]\napprove = ['freeze_account']\n[users.dave]\nroles = ['approver']\n")
    monkeypatch.setenv("SLEUTH_ROLES_FILE", str(other))
    check(home, "freeze_account", "dave", opened_by="alice")
    with pytest.raises(ApprovalRefused, match="carol \\(no role"):
        check(home, "freeze_account", "carol", opened_by="alice")


def test_identity_records_its_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SLEUTH_ANALYST", raising=False)
    monkeypatch.setenv("USER", "osname")
    s = load_settings(home=tmp_path)
    assert identity(s).source == "os-user"
    assert identity(with_identity(s, "carol")) == type(identity(s))("carol", "--as")
    monkeypatch.setenv("SLEUTH_ANALYST", "erin")
    assert identity(load_settings(home=tmp_path)) == type(identity(s))("erin", "SLEUTH_ANALYST")
    assert identity(load_settings(home=tmp_path, analyst="frank")).source == "--as"


# --- the CLI, on cases recorded by triage ---------------------------------------------------------

@pytest.fixture(scope="module")
def triaged(agent_settings: Settings, generated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Triage (run as alice) of the generated SARs whose policy holds an account-affecting action."""
    from agent.runner import Investigator

    cases = [json.loads(line) for line in (generated_dir / "cases.jsonl").read_text().splitlines() if line.strip()]
    picked: list[tuple[str, list[tuple[int, str]]]] = []
    with Investigator(agent_settings, "rules", record=False) as inv:
        for c in sorted(cases, key=lambda c: c["alert_id"]):
            if c["disposition"] == "sar":
                rep = inv.investigate(c["alert_id"])
                pending = [(a.index, a.action) for a in rep.actions if a.action in ACCOUNT_AFFECTING_ACTIONS]
                if pending:
                    picked.append((c["alert_id"], pending))
            if len(picked) == 2:
                break
    assert picked, "no SAR with an account-affecting action in the generated data"
    home = tmp_path_factory.mktemp("approvals") / "home"
    shutil.copytree(agent_settings.home, home, ignore=shutil.ignore_patterns("cases", "audit.jsonl", "triage"))
    shutil.copy(EXAMPLE_ROLES, home / "roles.toml")
    ids = home / "ids.txt"
    ids.write_text("".join(a + "\n" for a, _ in picked))
    res = CliRunner().invoke(app, ["triage", "--alerts", str(ids), "--workers", "1", "--model", "rules",
                                   "--as", "alice", "--home", str(home)])
    assert res.exit_code == 0, res.output
    return {"home": home, "picked": picked}


class _Ran:
    def __init__(self, exit_code: int, output: str) -> None:
        self.exit_code, self.output = exit_code, output


@pytest.fixture
def _cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the console-script entry point in-process (user errors become one line there)."""
    import sys

    from agent.cli import main

    def run(home: Path, *args: str) -> _Ran:
        monkeypatch.setattr(sys, "argv", ["sleuth", *args, "--home", str(home)])
        try:
            main()
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
        out = capsys.readouterr()
        return _Ran(code, out.out + out.err)

    return run


def test_triaged_cases_record_who_opened_them(triaged: dict[str, Any], _cli: Any) -> None:
    settings = load_settings(home=triaged["home"])
    for alert_id, _ in triaged["picked"]:
        rep = CaseStore(settings).load(alert_id)
        assert (rep.opened_by, rep.opened_by_source) == ("alice", "--as")
    res = _cli(triaged["home"], "actions", "list", "--json")
    assert res.exit_code == 0, res.output
    listed = {(r["case_id"], r["index"]) for r in json.loads(res.output)}
    assert listed == {(a, i) for a, pend in triaged["picked"] for i, _ in pend}


def test_cli_refuses_the_analyst_and_an_unpermitted_user_then_records_a_permitted_one(
        triaged: dict[str, Any], _cli: Any) -> None:
    home = triaged["home"]
    alert_id, pending = triaged["picked"][0]
    index, action = pending[0]
    res = _cli(home, "actions", "approve", alert_id, str(index), "--as", "alice")
    assert res.exit_code == 3
    assert f"alice opened this case and cannot also approve or reject its {action}" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) <= 2
    res = _cli(home, "actions", "reject", alert_id, str(index), "--as", "alice")
    assert res.exit_code == 3  # dismissing the freeze is a decision too
    if action in ("freeze_account", "offboard"):
        res = _cli(home, "actions", "approve", alert_id, str(index), "--as", "bob")
        assert res.exit_code == 3 and f"may not approve or reject {action}" in res.output
    res = _cli(home, "actions", "approve", alert_id, str(index), "--as", "carol")
    assert res.exit_code == 0, res.output
    assert f"{index}. {action}: approved by carol (--as)" in res.output
    res = _cli(home, "actions", "approve", alert_id, str(index), "--as", "carol")
    assert res.exit_code == 2 and "not pending (approved by carol)" in res.output
    rep = CaseStore(load_settings(home=home)).load(alert_id)
    a = rep.actions[index - 1]
    assert (a.status, a.decided_by, a.decided_by_source) == ("approved", "carol", "--as")
    events = [json.loads(line) for line in (home / "audit.jsonl").read_text().splitlines()]
    decided = [e for e in events if e["event"] in ("action_approved", "action_rejected")]
    assert [(e["case_id"], e["by"], e["opened_by"]) for e in decided] == [(alert_id, "carol", "alice")]
    res = _cli(home, "audit", "verify")
    assert res.exit_code == 0 and "audit log intact" in res.output


def test_cli_unknown_case_is_one_line(triaged: dict[str, Any], _cli: Any) -> None:
    res = _cli(triaged["home"], "actions", "approve", "ALT-NOPE", "1", "--as", "carol")
    assert res.exit_code == 1 and "no case 'ALT-NOPE'" in res.output
