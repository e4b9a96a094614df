"""One-off steps a user waits for the first time (exporting the embedding model, embedding the
playbooks, assembling the bundled local model) say what they do and, after, how long it took.

Why a helper: these run deep inside a command (`sleuth investigate` on a fresh machine exports the
embedding graph before its first search), where a silent pause of seconds to a minute reads as a hang.
The lines go to stderr, so `--json` output on stdout stays clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def first_use(what: str) -> Iterator[None]:
    """Print `what ...` on stderr, run the block, then `what: done in N s` (or that it failed)."""
    print(f"{what} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        yield
    except BaseException:
        print(f"{what}: failed after {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        raise
    print(f"{what}: done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
