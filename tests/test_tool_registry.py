"""The one tool registry: what makes two calls the same call (the router and native guards rely on it)."""

from __future__ import annotations

from tools.registry import call_key

ALERT = {"alert_id": "ALT-1", "account_id": "ACC-000001", "created_at": "2026-01-01 00:00:00"}


def test_a_playbook_step_and_the_same_call_by_name_are_one_call() -> None:
    step = call_key("profile", ALERT, {})
    assert step == call_key("profile", ALERT, {"account_id": "ACC-000001"})
    # what a runner records beside the arguments (as-of time, window) is not part of the call
    assert step == call_key("profile", ALERT, {"account_id": "ACC-000001", "as_of": "2026-01-01", "window_days": 30})
    assert step != call_key("profile", ALERT, {"account_id": "ACC-000002"})


def test_options_and_defaults_tell_calls_apart() -> None:
    assert call_key("exposure", ALERT, {"max_hops": 3}) != call_key("exposure", ALERT, {"max_hops": 1})
    assert call_key("trace", ALERT, {"direction": "out", "hops": 2}) != call_key("trace", ALERT, {"direction": "in", "hops": 2})
    assert call_key("cycles", ALERT, {}) != call_key("exposure", ALERT, {})


def test_calls_that_do_not_validate_are_compared_as_given() -> None:
    assert call_key("teleport", ALERT, {"x": 1}) == call_key("teleport", ALERT, {"x": 1})
    assert call_key("teleport", ALERT, {"x": 1}) != call_key("teleport", ALERT, {"x": 2})
    assert call_key("profile", ALERT, {"account_id": 5}) != call_key("profile", ALERT, {"account_id": 6})
