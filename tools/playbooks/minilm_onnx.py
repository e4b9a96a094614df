"""The bundled MiniLM run by ONNX Runtime, from a graph exported once per machine by
`tools.playbooks.minilm.MiniLM.export_onnx` (the same forward pass, traced with its weights).

Why: a triage or eval worker that embeds with torch imports torch first (0.9 s of its start-up),
and ONNX Runtime runs this small graph faster on one thread: 9.9 against 13.2 ms for a one-query
embedding in float32, 4.2 ms in the int8 form `quantize` makes (measured on 200 alert queries).
The float32 vectors match the torch pass and sentence-transformers within 1e-5
(`tests/test_retrieval.py`), and each other across CPUs (docs/cpu-independence.md). This module
imports no torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidProtobuf

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def load_tokenizer(model_dir: Path, max_seq_length: int | None = None) -> Any:
    """The model's fast tokenizer, truncating at its `max_seq_length` and padding to the batch."""
    from tokenizers import Tokenizer

    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if max_seq_length is None:
        st_cfg = model_dir / "sentence_bert_config.json"
        max_seq_length = json.loads(st_cfg.read_text(encoding="utf-8"))["max_seq_length"] if st_cfg.exists() else 256
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_seq_length)
    tokenizer.enable_padding(pad_id=int(cfg.get("pad_token_id", 0)))
    return tokenizer


def optimized_path(onnx_path: Path) -> Path:
    """Where ONNX Runtime's optimized form of a graph is kept: named by the runtime's version and
    the graph file's size and time, so a graph made again is optimized again."""
    import onnxruntime as ort

    st = onnx_path.stat()
    return onnx_path.with_name(f"{onnx_path.stem}.ort{ort.__version__}.{st.st_size}-{st.st_mtime_ns}.onnx")


class OnnxMiniLM:
    """The same encoder run by ONNX Runtime over an exported graph (float32 or int8), on `threads`
    threads."""

    def __init__(self, onnx_path: Path, model_dir: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        self.tokenizer = load_tokenizer(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = max(1, threads)
        options.log_severity_level = 3
        # ONNX Runtime optimizes the graph at every load (0.15 s of the int8 graph's 0.19 s); the
        # optimized graph is kept beside it and loaded as it is (the same vectors, bit for bit).
        optimized = optimized_path(onnx_path)
        if optimized.exists():
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            try:
                self.session = ort.InferenceSession(str(optimized), options, providers=["CPUExecutionProvider"])
                return
            except (InvalidProtobuf, Fail):  # damaged: optimize the graph again
                optimized.unlink(missing_ok=True)
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        staged = optimized.with_suffix(f".{os.getpid()}.tmp")
        options.optimized_model_filepath = str(staged)
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        try:
            os.replace(staged, optimized)
        except OSError:  # a read-only cache: optimize at every load, as before
            staged.unlink(missing_ok=True)
            return
        for old in onnx_path.parent.glob(f"{onnx_path.stem}.ort*.onnx"):
            if old != optimized:  # made from an earlier copy of the graph
                old.unlink(missing_ok=True)

    def encode(self, texts: list[str]) -> Any:
        """Unit-length sentence embeddings (a float32 numpy array, one row per text)."""
        import numpy as np

        enc = self.tokenizer.encode_batch(texts)
        feed = {name: np.array([getattr(e, attr) for e in enc], dtype=np.int64)
                for name, attr in zip(INPUTS, ("ids", "attention_mask", "type_ids"), strict=True)}
        return self.session.run(None, feed)[0]


def quantize(source: Path, target: Path) -> None:
    """Write the int8 form of an exported float32 graph, atomically: weights quantized once per
    output channel (signed 8-bit), activations quantized on the fly per call (dynamic quantization).

    Why: the one-query embedding is compute-bound (76 tokens on average for an alert), and on a
    CPU with 8-bit dot-product instructions (AVX-512 VNNI) it runs in about 4.2 instead of 10-12 ms.
    Against the float32 vectors the cosine is 0.992 on average and at least 0.988 over 150 sample
    alert queries (0.975 for a one-letter text). What it trades: the vectors depend on the CPU
    (without VNNI, ONNX Runtime's u8s8 kernels saturate 16-bit sums; measured under
    `qemu-x86_64 -cpu Haswell`, docs/cpu-independence.md), so it is opt-in
    (`SLEUTH_EMBED_ENGINE=int8`). Needs the `onnx` package, like the export.
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    # torch's exporter stores the weights as Constant nodes; the quantizer only looks at initializers.
    nodes = []
    for node in model.graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
        else:
            nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_suffix(f".{os.getpid()}.float.tmp")
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(model, str(staged))
    logging.disable(logging.WARNING)  # the quantizer logs advice about pre-processing we do not need
    try:
        quantize_dynamic(str(staged), str(tmp), per_channel=True, weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
        staged.unlink(missing_ok=True)
    os.replace(tmp, target)
