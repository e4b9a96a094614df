"""Generator worlds: the default world is today's sample byte for byte, other worlds change what they
say they change (threshold, currency, sizes, layers, ids, wording, typology mix), and the committed
cross-world set is rebuilt exactly from its written-down parameters."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evals.synth import generate
from evals.synth.labels import split_cases
from evals.synth.worlds import DEFAULT, LAGOON, NAMED, WorldParams, random_world, resolve
from tools.schema import TABLES

REPO = Path(__file__).resolve().parents[1]
SMALL = {"accounts": 300, "days": 90, "seed": 5}


def _con(folder: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t.name} AS SELECT * FROM read_parquet('{folder / (t.name + '.parquet')}')")
    return con


def _cases(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "cases.jsonl").read_text().splitlines()]


def _same_files(built: Path, committed: Path) -> None:
    names = [p.relative_to(committed) for p in sorted(committed.rglob("*")) if p.is_file()]
    assert len(names) >= 10
    for name in names:
        assert filecmp.cmp(committed / name, built / name, shallow=False), name
    extra = {p.relative_to(built) for p in built.rglob("*") if p.is_file()} - set(names)
    assert not extra, extra


def test_default_world_rebuilds_the_committed_sample_and_split(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    generate(out, 2000, 365, 7, world=resolve("default", 7))
    _same_files(out, REPO / "data_samples" / "sample")
    dev, test = split_cases(_cases(out))
    for name, part in (("dev", dev), ("test", test)):
        assert (REPO / "evals" / "cases" / f"{name}.jsonl").read_text() == "".join(json.dumps(c) + "\n" for c in part)


def test_lagoon_rebuilds_the_committed_cross_world_set(tmp_path: Path) -> None:
    out = tmp_path / "lagoon"
    generate(out, 2000, 365, 1414, world=LAGOON)
    _same_files(out, REPO / "data_samples" / "lagoon")
    assert (REPO / "evals" / "cases" / "lagoon.jsonl").read_text() == (out / "cases.jsonl").read_text()
    assert json.loads((out / "truth" / "world.json").read_text())["name"] == "lagoon"


def test_threshold_currency_and_generic_wording(tmp_path: Path) -> None:
    world = WorldParams(name="t", threshold=3_000.0, currency="EUR", wording="generic",
                        rule_ids=tuple(f"R-{j}" for j in range(8)), vendor_share=0.0)
    generate(tmp_path, **SMALL, world=world)
    con = _con(tmp_path)
    label = {c["alert_id"]: c for c in _cases(tmp_path)}
    rows = con.execute("SELECT alert_id, rule_id, description, txn_ids FROM alerts").fetchall()
    assert {r[1] for r in rows} <= {f"R-{j}" for j in range(8)}
    assert all(r[2].startswith("Unusual transfer pattern") for r in rows)
    struct = [r for r in rows if label[r[0]]["typology"] == "structuring" and label[r[0]]["disposition"] == "sar"]
    assert struct
    for r in struct:
        ids = r[3].split(";")
        got = con.execute(f"SELECT asset, amount FROM transactions WHERE txn_id IN ({','.join('?' * len(ids))})",
                          ids).fetchall()
        assert got and all(a == "EUR" and 2_700 <= x < 3_000 for a, x in got), got


def test_sizes_layers_and_typology_mix(tmp_path: Path) -> None:
    world = WorldParams(name="g", typologies=("fan_in", "stack"), fan_sar=(20, 22), fan_esc=(14, 15),
                        stack_layers=3, stack_sar=(2, 2))
    generate(tmp_path, **SMALL, world=world)
    cases = _cases(tmp_path)
    assert {c["typology"] for c in cases} == {"fan_in", "stack", "none"}
    con = _con(tmp_path)
    for c in cases:
        if c["typology"] == "fan_in":
            n = con.execute("""SELECT count(DISTINCT src) FROM transactions WHERE kind = 'internal_transfer'
                               AND dst = (SELECT account_id FROM alerts WHERE alert_id = ?)
                               AND txn_id IN (SELECT unnest(string_split(txn_ids, ';')) FROM alerts
                                              WHERE alert_id = ?)""", [c["alert_id"], c["alert_id"]]).fetchone()[0]
            assert (20 <= n <= 22) if c["disposition"] == "sar" else (14 <= n <= 15), (c["alert_id"], n)
        if c["typology"] == "stack" and c["disposition"] == "sar":
            assert len(c["related_accounts"]) == 2 + 2 + 2 + 1  # three layers of two and a sink


def test_time_scale_stretches_the_story(tmp_path: Path) -> None:
    spans = {}
    for scale in (0.3, 2.0):
        out = tmp_path / str(scale)
        generate(out, **SMALL, world=WorldParams(name=f"ts{scale}", typologies=("fan_in",), time_scale=scale))
        con = _con(out)
        spans[scale] = con.execute("""SELECT median(s) FROM (SELECT a.alert_id,
              epoch(max(t.ts) - min(t.ts)) / 3600 AS s FROM alerts a, transactions t
              WHERE list_contains(string_split(a.txn_ids, ';'), t.txn_id) GROUP BY 1)""").fetchone()[0]
    assert spans[2.0] > 4 * spans[0.3], spans


def test_random_worlds_are_seeded_and_valid() -> None:
    a, b = random_world(3), random_world(3)
    assert a == b and a != random_world(4)
    for seed in range(40):
        w = random_world(seed)
        w.validate()
        assert w.fan_sar[0] >= w.fan_esc[1] and w != DEFAULT and w != LAGOON
    for w in NAMED.values():
        w.validate()


def test_bad_worlds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown world"):
        resolve("atlantis", 1)
    bad = tmp_path / "w.json"
    bad.write_text(json.dumps({"name": "x", "fan_sar": [3, 2]}))
    with pytest.raises(ValueError, match="fan_sar"):
        resolve(str(bad), 1)
    bad.write_text(json.dumps({"name": "x", "colour": "blue"}))
    with pytest.raises(ValueError, match="unknown field"):
        resolve(str(bad), 1)
    good = tmp_path / "ok.json"
    good.write_text(json.dumps({**LAGOON.to_json(), "name": "copy"}))
    assert resolve(str(good), 1).fan_sar == LAGOON.fan_sar
