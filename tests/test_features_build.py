"""`sleuth features build|list`, the Parquet output, and rows held for a batch."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from agent.cli import app
from tests.features_world import World, at
from tools.features import FEATURE_NAMES, FEATURES, alert_features, compute_features, prefetch
from tools.settings import JURISDICTIONS, load_settings


def _workspace(home: Path) -> Path:
    w = World()
    w.account("A")
    w.account("B")
    for day, usd in ((-9, 9500.0), (-5, 9600.0)):
        w.txn(at(day), "fiat_deposit", "bank", "A", usd)
    w.txn(at(-3), "crypto_withdrawal", "A", "0x" + "a" * 40, 19_000.0)
    w.alert("AL-1", "A", at(0))
    w.alert("AL-2", "B", at(0))
    home.mkdir(parents=True, exist_ok=True)
    w.build(str(home / "sleuth.duckdb")).close()
    return home


def test_build_writes_parquet_with_metadata(tmp_path: Path) -> None:
    home = _workspace(tmp_path / "ws")
    res = CliRunner().invoke(app, ["features", "build", "--home", str(home), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    out = Path(summary["out"])
    assert out == home / "features" / "features.parquet" and summary["alerts"] == 2
    table = pq.read_table(out)
    assert table.column_names == ["alert_id", *FEATURE_NAMES]
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert meta["sleuth.features.digest"] == summary["digest"] and meta["sleuth.features.jurisdiction"] == "global"
    assert table.column("near_threshold_count").to_pylist() == [2.0, 0.0]
    assert not list(home.glob(".features-spill-*")) and not list(out.parent.glob(".*tmp*"))


def test_build_selects_alerts_and_refuses_bad_input(tmp_path: Path) -> None:
    home = _workspace(tmp_path / "ws")
    out = tmp_path / "two.parquet"
    res = CliRunner().invoke(app, ["features", "build", "--home", str(home), "--alerts", "AL-2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert pq.read_table(out).column("alert_id").to_pylist() == ["AL-2"]
    ids = tmp_path / "ids.txt"
    ids.write_text("AL-1\n")
    res = CliRunner().invoke(app, ["features", "build", "--home", str(home), "--alerts", str(ids), "--out", str(out)])
    assert res.exit_code == 0 and pq.read_table(out).column("alert_id").to_pylist() == ["AL-1"]
    before = out.read_bytes()
    res = CliRunner().invoke(app, ["features", "build", "--home", str(home), "--alerts", "NOPE", "--out", str(out)])
    assert res.exit_code != 0 and "unknown alert" in str(res.exception) and out.read_bytes() == before
    res = CliRunner().invoke(app, ["features", "build", "--home", str(tmp_path / "empty")])
    assert res.exit_code != 0 and "no workspace" in str(res.exception)


def test_the_jurisdiction_setting_reaches_the_build(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    home = _workspace(tmp_path / "ws")
    monkeypatch.setenv("SLEUTH_JURISDICTION", "eu")
    res = CliRunner().invoke(app, ["features", "build", "--home", str(home), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["jurisdiction"] == "eu"
    assert pq.read_table(home / "features" / "features.parquet").column("near_threshold_count").to_pylist() == [0, 0]
    monkeypatch.setenv("SLEUTH_JURISDICTION", "mars")
    res = CliRunner().invoke(app, ["features", "build", "--home", str(home)])
    assert res.exit_code != 0


def test_list_prints_every_definition() -> None:
    res = CliRunner().invoke(app, ["features", "list", "--json"])
    assert res.exit_code == 0
    listed = json.loads(res.output)
    assert [f["name"] for f in listed] == list(FEATURE_NAMES)
    assert all(f["description"] and f["unit"] and f["group"] for f in listed)


def test_prefetched_rows_are_the_statement_s_rows(tmp_path: Path) -> None:
    from tools.db import Database
    from tools.features.held import forget

    home = _workspace(tmp_path / "ws")
    db = Database(load_settings(home=home).db_path)
    us = JURISDICTIONS["us"]
    full = {r.pop("alert_id"): r for r in compute_features(db, None, us).to_pylist()}
    assert prefetch(db, ["AL-1", "AL-2", "NOPE"], us) == 2
    assert prefetch(db, ["AL-1"], us) == 0  # held
    fork = db.pool(2)[1]
    assert alert_features(fork, "AL-1", us) == full["AL-1"]  # forks share the root's rows
    fresh = compute_features(db, ["AL-2", "AL-1"], us, use_held=False)
    assert compute_features(db, ["AL-2", "AL-1"], us).equals(fresh)  # served from the held rows
    forget(db)
    assert alert_features(db, "AL-2", us) == full["AL-2"]  # computed alone
    assert len(FEATURES) == len(full["AL-2"])


def test_a_build_file_can_be_held(tmp_path: Path) -> None:
    import pytest

    from tools.db import Database
    from tools.errors import InputInvalid
    from tools.features import hold_parquet
    from tools.features.held import held_table

    home = _workspace(tmp_path / "ws")
    out = tmp_path / "f.parquet"
    assert CliRunner().invoke(app, ["features", "build", "--home", str(home), "--out", str(out)]).exit_code == 0
    db = Database(load_settings(home=home).db_path)
    assert hold_parquet(db, out) == 2
    glob = JURISDICTIONS["global"]
    assert held_table(db, ["AL-1", "AL-2"], glob, 30).equals(compute_features(db, ["AL-1", "AL-2"], glob,
                                                                                use_held=False))
    table = pq.read_table(out)
    bad = tmp_path / "bad.parquet"
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, b"sleuth.features.digest": b"x"}), bad)
    with pytest.raises(InputInvalid):
        hold_parquet(db, bad)
