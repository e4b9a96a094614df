"""Where learned models live in the workspace: `$SLEUTH_HOME/models/<id>/` and the `current` pointer."""

from __future__ import annotations

from pathlib import Path

from agent.learned.model import MODEL_FILE, LearnedModel
from tools.errors import InputInvalid
from tools.settings import Settings

CURRENT = "current"
NO_MODEL = "no learned model trained yet: run `sleuth model train --cases FILE` first"


def set_current(settings: Settings, folder: Path) -> None:
    """Make `folder` the workspace's current model (atomically)."""
    from agent.store import atomic_write

    settings.models_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(settings.models_dir / CURRENT, folder.name + "\n")


def model_dir(settings: Settings) -> Path | None:
    """The model folder to use: `settings.learned_model`, else the current one; None when there is none."""
    if settings.learned_model is not None:
        return Path(settings.learned_model)
    pointer = settings.models_dir / CURRENT
    if not pointer.exists():
        return None
    return settings.models_dir / pointer.read_text(encoding="utf-8").strip()


def load_learned(settings: Settings, required: bool = True) -> LearnedModel | None:
    """The learned model of this workspace; a one-line error (or None) when there is none."""
    folder = model_dir(settings)
    if folder is None or not (folder / MODEL_FILE).exists():
        if required:
            raise InputInvalid(NO_MODEL if folder is None else f"{folder} holds no learned model ({MODEL_FILE}); "
                               "run `sleuth model train --cases FILE`")
        return None
    try:
        return LearnedModel.load(folder)
    except (OSError, ValueError, KeyError) as e:
        raise InputInvalid(f"{folder}: unreadable learned model ({type(e).__name__}: {e}); retrain it") from e
