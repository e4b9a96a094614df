"""Fund-flow pictures for humans: the case file's embedded PNG and chat's /trace files."""

from __future__ import annotations

import base64
import datetime as dt
import tempfile
from pathlib import Path

from tools.db import Database


def case_picture_b64(db: Database, account_id: str, as_of: str | None, hops: int = 2) -> str | None:
    """A base64 PNG of the funds in and out of the subject (2 hops each way) around the alert."""
    from tools.graph.picture import render_png
    from tools.graph.trace import trace_walk

    when = dt.datetime.fromisoformat(as_of) if as_of else None
    walk = trace_walk(db, account_id, "both", hops, as_of=when)
    if len(walk.nodes) <= 1:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = render_png(walk, Path(tmp) / "flow.png", title=f"Fund flow around {account_id} ({hops} hops each way)")
        return base64.b64encode(path.read_bytes()).decode("ascii")


def trace_pictures(db: Database, account_id: str, direction: str, hops: int, as_of: str | None,
                   stem: Path) -> list[Path]:
    """PNG and interactive HTML of a trace, named after `stem`."""
    from tools.graph.picture import render_html, render_png
    from tools.graph.trace import trace_walk

    when = dt.datetime.fromisoformat(as_of) if as_of else None
    walk = trace_walk(db, account_id, direction, hops, as_of=when)
    title = f"{account_id}: {direction} {hops} hops"
    return [render_png(walk, stem.with_suffix(".png"), title=title),
            render_html(walk, stem.with_suffix(".html"), title=title)]
