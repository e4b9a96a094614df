"""Synthetic exchange data with planted, labelled AML/fraud typologies (docs/data-spec.md).

`generate(out_dir, accounts, days, seed)` writes the contract tables of tools/schema.py plus the
labels (cases.jsonl, truth/) that only the eval harness reads.
"""

from evals.synth.api import generate

__all__ = ["generate"]
