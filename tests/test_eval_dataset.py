"""Case files: valid ones load in order with a hash; bad ones fail with file:line: message."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evals.dataset import load_cases
from tools.errors import InputInvalid

GOOD = {"alert_id": "ALT-1", "disposition": "sar", "typology": "structuring", "key_txn_ids": ["TX-1"],
        "related_accounts": [], "expected_actions": ["file_sar"], "notes": "", "scenario": "kept"}


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loads_in_order_with_hash_and_extras(tmp_path: Path) -> None:
    second = {**GOOD, "alert_id": "ALT-2", "disposition": "close", "typology": "none", "expected_actions": ["close"]}
    path = write(tmp_path, [json.dumps(GOOD), "", json.dumps(second)])
    cs = load_cases(path)
    assert cs.name == "dev" and len(cs) == 2
    assert [c.alert_id for c in cs.cases] == ["ALT-1", "ALT-2"]
    assert cs.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cs.cases[0].actionable and not cs.cases[1].actionable
    assert cs.cases[0].model_extra == {"scenario": "kept"}


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "dev.jsonl:2: not valid JSON"),
    ("[1, 2]", "dev.jsonl:2: expected a JSON object, got list"),
    (json.dumps({**GOOD, "alert_id": "ALT-9", "typology": "ponzi"}), "dev.jsonl:2: typology: typology 'ponzi'"),
    (json.dumps({**GOOD, "alert_id": "ALT-9", "disposition": "maybe"}), "dev.jsonl:2: disposition: disposition 'maybe'"),
    (json.dumps({**GOOD, "alert_id": "ALT-9", "expected_actions": ["nuke"]}), "dev.jsonl:2: expected_actions: unknown action(s) 'nuke'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "disposition"} | {"alert_id": "ALT-9"}), "dev.jsonl:2: disposition: Field required"),
    (json.dumps(GOOD), "dev.jsonl:2: duplicate alert_id 'ALT-1' (first on line 1)"),
])
def test_bad_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, [json.dumps(GOOD), line])
    with pytest.raises(InputInvalid) as err:
        load_cases(path)
    assert str(err.value).startswith(str(tmp_path / message.split(":")[0]) + ":" + message.split(":", 1)[1])


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputInvalid, match="case file not found"):
        load_cases(tmp_path / "nope.jsonl")
    with pytest.raises(InputInvalid, match="no cases"):
        load_cases(write(tmp_path, [""]))
