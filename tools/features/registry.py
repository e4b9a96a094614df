"""Feature definitions: one record per feature (name, group, unit, description, when NULL).

A feature is defined once, here and in its group's SQL (`tools/features/groups/*.py`); the batch
build, the single-alert entry point, the `features` evidence step and docs/features.md all read the
same records, so no feature is computed two ways.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """One generic feature of an alert's account window against its own baseline.

    `default` is the value when the account has nothing the feature measures (no flows, no logins):
    0.0 for counts and shares, the documented sentinel for hops, None where "unknown" differs from
    zero (then `null_when` says when).
    """

    name: str
    group: str
    unit: str
    description: str
    default: float | None = 0.0
    null_when: str = ""

    @property
    def nullable(self) -> bool:
        return self.default is None or bool(self.null_when)


def check_unique(features: list[Feature]) -> None:
    """Feature names are column names and fact names: unique and snake_case."""
    import re

    seen: set[str] = set()
    for f in features:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,62}", f.name):
            raise ValueError(f"feature name {f.name!r} is not snake_case")
        if f.name in seen:
            raise ValueError(f"feature {f.name!r} is defined twice")
        if f.name == "alert_id":
            raise ValueError("alert_id is the key column, not a feature")
        seen.add(f.name)
