"""The code version a run records: `git describe` and the commit, when the code lives in git."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from evals.log import CodeVersion

REPO_ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):  # no git, not a repository, or it hung
        return None
    return out.stdout.strip() or None


def code_version() -> CodeVersion:
    """git describe/commit/dirty (None outside a repository) and the installed package version."""
    try:
        package = metadata.version("sleuth")
    except metadata.PackageNotFoundError:
        package = ""
    describe = _git("describe", "--always", "--dirty", "--tags")
    return CodeVersion(describe=describe, commit=_git("rev-parse", "HEAD"),
                       dirty=describe.endswith("-dirty") if describe else None, package=package)
