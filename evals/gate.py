"""`sleuth eval gate RUN`: fail CI when a run scores below the bar set for its case set and backend.

Messages name sections as `test.rules`, not `[test.rules]`: the CLI prints through rich, whose
markup would swallow anything in square brackets.

The bars live in `evals/thresholds.toml` (documented there). The gate reads only the run log, so
it can be re-checked later against a changed bar without re-running anything.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from evals.headline import fmt
from evals.log import RunLog
from evals.runner import backend_of
from evals.scorers.base import flat_metrics
from tools.errors import InputInvalid

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")
MAX_SUFFIX = "_max"


@dataclass(frozen=True)
class Check:
    """One threshold against the run's value."""

    metric: str
    op: str
    threshold: float | int
    value: float | None
    present: bool

    @property
    def ok(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.threshold if self.op == ">=" else self.value <= self.threshold

    def line(self) -> str:
        """One line for the terminal: what failed and by how much."""
        if not self.present:
            return f"{self.metric}: not in this run (misspelt, or its scorer did not run); required {self.op} {fmt(self.threshold)}"
        if self.value is None:
            return f"{self.metric}: undefined (n/a) in this run; required {self.op} {fmt(self.threshold)}"
        return f"{self.metric} = {fmt(self.value)}, required {self.op} {fmt(self.threshold)}"


def load_thresholds(path: Path) -> dict[str, dict[str, float | int]]:
    """Every `[set.backend]` section of a thresholds file, as 'set.backend' -> {key: number}."""
    if not path.is_file():
        raise InputInvalid(f"{path}: thresholds file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputInvalid(f"{path}: not valid TOML: {e}") from e
    sections: dict[str, dict[str, float]] = {}
    for case_set, backends in data.items():
        if not isinstance(backends, dict):
            raise InputInvalid(f"{path}: top-level key {case_set!r} must hold sections like {case_set}.rules")
        for backend, keys in backends.items():
            if not isinstance(keys, dict):
                raise InputInvalid(f"{path}: {case_set}.{backend} must be a section (a table of metric = number)")
            for key, value in keys.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InputInvalid(f"{path}: {case_set}.{backend}: {key} = {value!r} is not a number")
            sections[f"{case_set}.{backend}"] = dict(keys)  # ints stay ints: "<= 0" reads better than "<= 0.000"
    return sections


def section_name(log: RunLog) -> str:
    """The section a run is gated by: its case set and the backend that actually ran."""
    return f"{log.case_set.name}.{backend_of(log.backend)}"


def gate(log: RunLog, path: Path = DEFAULT_THRESHOLDS, section: str | None = None) -> tuple[str, list[Check]]:
    """The section used and every check of it against the run."""
    sections = load_thresholds(path)
    name = section or section_name(log)
    if name not in sections:
        raise InputInvalid(f"{path}: no section {name!r} for this run (sections: {', '.join(sorted(sections)) or 'none'}; "
                           "pick one with --section)")
    flat = flat_metrics(log.metrics)
    checks = []
    for key, threshold in sections[name].items():
        metric, op = (key.removesuffix(MAX_SUFFIX), "<=") if key.endswith(MAX_SUFFIX) else (key, ">=")
        checks.append(Check(metric, op, threshold, flat.get(metric), metric in flat))
    return name, checks
