"""FIU profiles: the reporting entity's ids, contacts and the FIU's lookup codes, per format.

Looked up at `$SLEUTH_FIU_PROFILES`, else `<workspace>/fiu_profiles.toml`, else the committed
`examples/fiu_profiles.toml`, whose values are illustrative (the caller says so when it is used).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.errors import InputInvalid
from tools.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fiu_profiles.toml"
FORMATS = ("goaml", "fincen-sar")


@dataclass(frozen=True)
class Profile:
    """One FIU profile of one format."""

    format: str
    name: str
    values: dict[str, Any]
    path: Path
    illustrative: bool

    def get(self, dotted: str) -> Any:
        """A value by dotted path (`reporting_person.email`), or None."""
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


def profiles_path(settings: Settings) -> Path:
    """Where the profiles file is looked up (see the module docstring)."""
    if override := os.environ.get("SLEUTH_FIU_PROFILES"):
        return Path(override).expanduser()
    local = settings.home / "fiu_profiles.toml"
    return local if local.exists() else EXAMPLE


def load_profile(settings: Settings, fmt: str, name: str | None) -> Profile:
    """The named profile of a format (the only one when `name` is None)."""
    if fmt not in FORMATS:
        raise InputInvalid(f"unknown format {fmt!r}: use {' or '.join(FORMATS)}")
    path = profiles_path(settings)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputInvalid(f"no FIU profiles file at {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputInvalid(f"{path}: not a readable TOML file ({e})") from None
    section = raw.get(fmt) or {}
    if not section:
        raise InputInvalid(f"{path}: no [{fmt}.NAME] profile")
    if name is None:
        if len(section) > 1:
            raise InputInvalid(f"{path}: several {fmt} profiles ({', '.join(sorted(section))}): pick one with --profile")
        name = next(iter(section))
    if name not in section:
        raise InputInvalid(f"{path}: no {fmt} profile {name!r} (have {', '.join(sorted(section))})")
    return Profile(fmt, name, section[name], path, bool(raw.get("illustrative", False)))
