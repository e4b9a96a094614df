"""The forward pass of the bundled all-MiniLM-L6-v2 in plain torch: BERT encoder, mean pooling, L2.

Why not `SentenceTransformer(...).encode`: importing sentence-transformers pulls in transformers,
about 3 s of start-up for every triage or eval worker (0.9 s for this module, torch included),
and its per-call module machinery cost a third of a one-query embedding (15.7 ms against 11.7 ms
on one thread, measured on 200 alert queries). This is the same computation from the same weights
and tokenizer file with the same torch kernels (linear, layer norm, scaled dot-product attention,
erf GELU): `tests/test_retrieval.py` checks it against sentence-transformers to 1e-5. It is also
what `tools.playbooks.minilm_onnx` runs, exported once per machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name


class MiniLM:
    """A BERT sentence encoder (`modules.json`: Transformer -> mean Pooling -> Normalize)."""

    def __init__(self, path: Path, max_seq_length: int | None = None) -> None:
        from safetensors.torch import load_file

        from tools.playbooks.minilm_onnx import load_tokenizer

        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        if not pooling.get("pooling_mode_mean_tokens") or cfg.get("hidden_act") != "gelu":
            raise ValueError(f"{path} is not a mean-pooled BERT (GELU) sentence encoder")
        self.heads = int(cfg["num_attention_heads"])
        self.hidden = int(cfg["hidden_size"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg["layer_norm_eps"])
        weights = load_file(str(path / "model.safetensors"))
        self.w: dict[str, torch.Tensor] = {k.removeprefix("bert."): v for k, v in weights.items()}
        self.tokenizer: Any = load_tokenizer(path, max_seq_length)

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> torch.Tensor:
        """Unit-length sentence embeddings, one row per text (padded to the longest in the batch)."""
        return self.forward(*self.tokenize(texts))

    def tokenize(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token ids, attention mask and token types, padded to the longest text."""
        enc = self.tokenizer.encode_batch(texts)
        return (torch.tensor([e.ids for e in enc]), torch.tensor([e.attention_mask for e in enc]),
                torch.tensor([e.type_ids for e in enc]))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """Encoder, mean pooling over the unmasked tokens, L2 normalisation (traceable for ONNX)."""
        w, (n, length) = self.w, ids.shape
        hidden, heads = self.hidden, self.heads
        dim = hidden // heads
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length].unsqueeze(0)
             + w["embeddings.token_type_embeddings.weight"][types])
        x = F.layer_norm(x, (hidden,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        blocked = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def linear(t: torch.Tensor, name: str, p: str = p) -> torch.Tensor:
                return F.linear(t, w[f"{p}{name}.weight"], w[f"{p}{name}.bias"])

            def split(t: torch.Tensor) -> torch.Tensor:
                return t.view(n, length, heads, dim).transpose(1, 2)

            q, k, v = (split(linear(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            att = F.scaled_dot_product_attention(q, k, v, attn_mask=blocked).transpose(1, 2).reshape(n, length, hidden)
            x = F.layer_norm(linear(att, "attention.output.dense") + x, (hidden,),
                             w[f"{p}attention.output.LayerNorm.weight"], w[f"{p}attention.output.LayerNorm.bias"],
                             self.eps)
            ff = linear(F.gelu(linear(x, "intermediate.dense")), "output.dense")
            x = F.layer_norm(ff + x, (hidden,), w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"],
                             self.eps)
        keep = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)

    def export_onnx(self, path: Path) -> None:
        """Write this encoder as an ONNX graph (weights included) for ONNX Runtime, atomically.
        Needs the `onnx` package (torch's exporter writes through it)."""
        import os
        import warnings

        from tools.playbooks.minilm_onnx import INPUTS

        encoder = self

        class Traced(torch.nn.Module):
            def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
                return encoder.forward(ids, mask, types)

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        example = self.tokenize(["an example", "a second, longer example sentence"])
        axes = {"n": 0, "length": 1}
        # The TorchScript exporter on purpose: the newer torch.export one needs onnxscript as well.
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(Traced().eval(), example, str(tmp), input_names=list(INPUTS), output_names=["embedding"],
                              dynamic_axes={name: {i: a for a, i in axes.items()} for name in INPUTS},
                              opset_version=17, dynamo=False)
        os.replace(tmp, path)
