"""The workspace database: where it is, whether it is there, and building it from the sample.

`make demo` and `make test` run `sleuth workspace ensure`, which must be quick and harmless when the
workspace already exists (it never reloads or touches an existing database) and, on a fresh clone,
loads the committed sample `data_samples/sample/` found next to the installed packages (an editable
install, as the Makefile does) or under the current directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.data.load import LoadSummary, load_folder
from tools.errors import WorkspaceMissing
from tools.settings import Settings

SAMPLE_RELATIVE = Path("data_samples") / "sample"


def repo_root() -> Path:
    """The folder holding the `tools` package (the repository for an editable install)."""
    return Path(__file__).resolve().parents[2]


def default_sample_dir() -> Path:
    """`data_samples/sample` beside the packages, else under the current directory."""
    for base in (repo_root(), Path.cwd()):
        candidate = base / SAMPLE_RELATIVE
        if candidate.is_dir():
            return candidate
    return repo_root() / SAMPLE_RELATIVE


@dataclass
class EnsureResult:
    """What `ensure_workspace` did: nothing (already there) or a load."""

    db_path: Path
    created: bool
    summary: LoadSummary | None = None


def workspace_exists(settings: Settings) -> bool:
    """True when the workspace database file is present."""
    return settings.db_path.is_file()


def ensure_workspace(settings: Settings, sample: Path | None = None,
                     progress: Callable[[str, float], None] | None = None) -> EnsureResult:
    """Load the sample into the workspace if the database is missing; otherwise do nothing."""
    if workspace_exists(settings):
        return EnsureResult(settings.db_path, created=False)
    folder = Path(sample) if sample is not None else default_sample_dir()
    if not folder.is_dir():
        raise WorkspaceMissing(
            f"no workspace at {settings.db_path} and no sample data at {folder}: run "
            f"`sleuth data generate --out {folder}` (or point --sample at a contract folder), "
            "then `sleuth workspace ensure`")
    summary = load_folder(folder, settings, progress)
    return EnsureResult(settings.db_path, created=True, summary=summary)


def read_meta(settings: Settings) -> dict[str, str]:
    """The workspace's `meta` table as a dict (raises WorkspaceMissing when there is none)."""
    from tools.db import Database

    with Database.open(settings) as db:
        return {k: v for k, v in db.execute("SELECT key, value FROM meta").rows}
