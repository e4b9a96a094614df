"""Documents refer only to files that are in the repository: Markdown links, and repository paths
written in backticks (`docs/graph.md`, `tools/schema.py`), resolve to existing files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
PATH_RE = re.compile(r"`((?:agent|tools|evals|docs|playbooks|tests|data_samples)/[\w./-]+\.(?:md|py|toml|jsonl|json))")


def _documents() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
        files = [ROOT / line for line in out.stdout.splitlines()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every Markdown file
        files = [p for p in ROOT.rglob("*.md") if ".venv" not in p.parts and ".sleuth" not in p.parts]
    return [f for f in files if f.exists()]


def dangling(doc: Path) -> list[str]:
    """The targets in `doc` that name no file of the repository."""
    text = doc.read_text(encoding="utf-8")
    missing = []
    for target in LINK_RE.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            missing.append(target)
    for target in PATH_RE.findall(text):
        if not (ROOT / target).exists() and not (doc.parent / target).exists():
            missing.append(target)
    return missing


def test_documents_refer_only_to_files_in_the_repository() -> None:
    docs = _documents()
    assert any(d.name == "README.md" and d.parent == ROOT for d in docs)
    problems = {str(d.relative_to(ROOT)): m for d in docs if (m := dangling(d))}
    assert problems == {}


def test_the_checker_finds_a_dangling_reference(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("See [the design](DESIGN.md), `docs/nothing-here.md` and [ok](x.md).", encoding="utf-8")
    assert dangling(doc) == ["DESIGN.md", "docs/nothing-here.md"]
