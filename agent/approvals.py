"""Four-eyes approvals: who may decide an account-affecting action, from `roles.toml`.

Why: a freeze, a P2P restriction, a blocked address or an offboarding acts on a customer. The
person who opened or decided the case must not be the one who approves (or dismisses) that
action, and the one who does must hold a role that may approve it. Chat (`/approve`, `/reject`),
the case store's approve path used by the CLI and triage's cases, and restriction-lift requests all
ask `check` here, so the rule lives in one place.

Identity is a name, never a credential: `--as NAME` when given, else `$SLEUTH_ANALYST`, else the OS
user. Each decision records the name and where it came from (`--as`, `SLEUTH_ANALYST`, `os-user`).

The roles file is `$SLEUTH_ROLES_FILE` if set, else `<workspace>/roles.toml`. Without one, nothing
account-affecting can be approved (a missing file is a refusal, not an open door). Format
(`examples/roles.toml`):

    [roles.approver]
    approve = ["freeze_account", "restrict_p2p", "block_address", "offboard", "thaw", "unbind"]
    [users.carol]
    roles = ["approver"]
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.errors import InputInvalid, SleuthError
from tools.schema import ACCOUNT_AFFECTING_ACTIONS
from tools.settings import Settings

ROLES = ("analyst", "reviewer", "approver")
LIFT_ACTIONS = ("thaw", "unbind")
APPROVABLE = (*ACCOUNT_AFFECTING_ACTIONS, *LIFT_ACTIONS)


class ApprovalRefused(SleuthError):
    """The approver may not decide this action (same person as the case's analyst, or no role)."""

    exit_code = 3


@dataclass(frozen=True)
class Identity:
    """Who is acting, and how we know: `--as`, `SLEUTH_ANALYST` or `os-user`."""

    name: str
    source: str


def identity(settings: Settings) -> Identity:
    """The acting user from the settings (`--as` sets `analyst` as an override)."""
    if "analyst" not in settings.model_fields_set:
        return Identity(settings.analyst, "os-user")
    if os.environ.get("SLEUTH_ANALYST") == settings.analyst:
        return Identity(settings.analyst, "SLEUTH_ANALYST")
    return Identity(settings.analyst, "--as")


def with_identity(settings: Settings, as_name: str | None) -> Settings:
    """Settings acting as `as_name` when given (the `--as` flag)."""
    if as_name is None:
        return settings
    if not as_name.strip():
        raise InputInvalid("--as needs a name")
    return settings.model_copy(update={"analyst": as_name.strip()})


@dataclass(frozen=True)
class Roles:
    """Users' roles and what each role may approve."""

    path: Path
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    may_approve: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def roles_of(self, name: str) -> tuple[str, ...]:
        return self.users.get(name, ())

    def allows(self, name: str, action: str) -> bool:
        return any(action in self.may_approve.get(role, ()) for role in self.roles_of(name))


def roles_path(settings: Settings) -> Path:
    """Where the roles file is looked up: `$SLEUTH_ROLES_FILE`, else `<workspace>/roles.toml`."""
    override = os.environ.get("SLEUTH_ROLES_FILE")
    return Path(override).expanduser() if override else settings.home / "roles.toml"


def load_roles(settings: Settings) -> Roles:
    """Parse and check the roles file; a malformed one is one clear line."""
    path = roles_path(settings)
    if not path.exists():
        raise ApprovalRefused(f"no roles file at {path}: account-affecting actions cannot be approved "
                              f"(copy examples/roles.toml there and edit it; see docs/approvals.md)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputInvalid(f"{path}: not a readable TOML file ({e})") from None
    may: dict[str, tuple[str, ...]] = {}
    for role, spec in (raw.get("roles") or {}).items():
        if role not in ROLES:
            raise InputInvalid(f"{path}: roles.{role}: unknown role (one of {', '.join(ROLES)})")
        actions = tuple((spec or {}).get("approve", []))
        if bad := [a for a in actions if a not in APPROVABLE]:
            raise InputInvalid(f"{path}: roles.{role}.approve: unknown action {bad[0]!r} "
                               f"(one of {', '.join(APPROVABLE)})")
        may[role] = actions
    users: dict[str, tuple[str, ...]] = {}
    for name, spec in (raw.get("users") or {}).items():
        roles = tuple((spec or {}).get("roles", []))
        if bad := [r for r in roles if r not in ROLES]:
            raise InputInvalid(f"{path}: users.{name}.roles: unknown role {bad[0]!r} (one of {', '.join(ROLES)})")
        users[name] = roles
    return Roles(path, users, may)


def check(settings: Settings, action: str, approver: str, *, opened_by: str | None,
          decided_by: str | None = None, what: str = "case") -> None:
    """Refuse, with one line, unless `approver` may decide `action` of a case someone else handled.

    Only account-affecting and lift actions need it; anything else is a no-op."""
    if action not in APPROVABLE:
        return
    if not opened_by:
        raise ApprovalRefused(f"the {what} does not record who opened it, so four-eyes cannot be checked: "
                              f"re-investigate it before approving {action}")
    if approver in {opened_by, decided_by}:
        role = "opened" if approver == opened_by else "decided"
        raise ApprovalRefused(f"{approver} {role} this {what} and cannot also approve or reject its {action}: "
                              f"a second, permitted user must (four-eyes)")
    roles = load_roles(settings)
    if not roles.allows(approver, action):
        held = ", ".join(roles.roles_of(approver)) or "no role"
        raise ApprovalRefused(f"{approver} ({held} in {roles.path}) may not approve or reject {action}")


def decide_action(settings: Settings, case_id: str, index: int, approve: bool, who: Identity, *,
                  actions: list[dict[str, Any]] | None = None, opened_by: str | None = None,
                  persist: bool = True) -> list[dict[str, Any]]:
    """Approve or reject action `index` of a case after the four-eyes check; the one path that records it.

    The stored case is the truth when it exists (an action decided elsewhere, e.g. by the CLI while
    a chat thread still waits, is not decided twice); `actions`/`opened_by` serve a case not stored.
    Writes the decision to the case store and the audit log. Returns the case's actions."""
    from agent.report import Action
    from agent.store import CaseStore, atomic_write, audit

    store = CaseStore(settings)
    report = store.load(case_id) if persist and store.path(case_id).exists() else None
    if report is not None:
        actions, opened_by = [a.model_dump() for a in report.actions], report.opened_by
    elif actions is None:
        store.load(case_id)  # raises NotFound with its one line
    current = [dict(a) for a in actions or []]
    target = next((a for a in current if a["index"] == index), None)
    if target is None or target["status"] != "pending_approval":
        pending = [str(a["index"]) for a in current if a["status"] == "pending_approval"]
        state = f" ({target['status'].replace('_', ' ')} by {target.get('decided_by')})" \
            if target is not None and target.get("decided_by") else ""
        raise InputInvalid(f"action {index} of {case_id} is not pending{state}; pending: {', '.join(pending) or 'none'}")
    check(settings, target["action"], who.name, opened_by=opened_by)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    target.update(status="approved" if approve else "rejected", decided_by=who.name, decided_at=now,
                  decided_by_source=who.source)
    audit(settings, "action_approved" if approve else "action_rejected", case_id=case_id, action=target["action"],
          index=index, by=who.name, by_source=who.source, opened_by=opened_by)
    if report is not None:
        report.actions = [Action.model_validate(a) for a in current]
        atomic_write(store.path(case_id), report.model_dump_json(indent=1))
    return current


def pending_actions(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
    """(case id, opened by, action) for every action waiting for approval in the case store."""
    from agent.store import CaseStore

    store = CaseStore(settings)
    out = []
    for case_id in store.ids():
        report = store.load(case_id)
        out += [(case_id, report.opened_by, a.model_dump()) for a in report.actions if a.status == "pending_approval"]
    return out
