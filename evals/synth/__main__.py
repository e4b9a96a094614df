"""`python -m evals.synth`: regenerate a dataset (and optionally the committed dev/test case split).

The committed sample is `python -m evals.synth --out data_samples/sample --split evals/cases`.
The user-facing command is `sleuth data generate`; this entry point exists so the sample and its
case split can be rebuilt reproducibly without the CLI.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.synth.api import generate
from evals.synth.labels import split_cases
from evals.synth.worlds import resolve


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, generate, optionally split cases.jsonl into dev.jsonl/test.jsonl."""
    ap = argparse.ArgumentParser(prog="python -m evals.synth", description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--format", dest="fmt", default="parquet", choices=("parquet", "csv"))
    ap.add_argument("--alerts", type=int, default=None)
    ap.add_argument("--txns", type=int, default=None, help="background transactions (default accounts*days*0.14)")
    ap.add_argument("--world", default="default",
                    help="world: a name of evals/synth/worlds.py, random (drawn from the seed) or a .json file")
    ap.add_argument("--split", type=Path, default=None, help="write dev.jsonl/test.jsonl (60/40) here")
    args = ap.parse_args(argv)
    summary = generate(args.out, args.accounts, args.days, args.seed, args.fmt, args.alerts,
                       lambda stage, f: None, txns=args.txns, world=resolve(args.world, args.seed))
    if args.split is not None:
        cases = [json.loads(line) for line in (args.out / "cases.jsonl").read_text().splitlines()]
        dev, test = split_cases(cases)
        args.split.mkdir(parents=True, exist_ok=True)
        for name, part in (("dev", dev), ("test", test)):
            (args.split / f"{name}.jsonl").write_text("".join(json.dumps(c) + "\n" for c in part))
        summary["split"] = {"dev": len(dev), "test": len(test)}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
