"""Validation problems and how they are reported to a user.

A problem names the file, the row and the column, in the `file:row:column: message` form that
editors and grep understand. Row convention (the same for every check):
- CSV: the line number in the file as a text editor shows it. The header is line 1, so the first
  data row is line 2. (A quoted value spanning several lines shifts later rows; rare in exports.)
- Parquet: the 1-based row number; row 0 means the file's schema (for example a missing column).
- Problems about the whole file (empty, binary, missing) use row 1 for CSV and 0 for Parquet, and
  `-` as the column when no single column is at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_SHOWN = 20


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located precisely enough to fix it."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


@dataclass
class ProblemList:
    """Problems found so far: a bounded sample per check plus the exact total count.

    Checks over millions of rows can find millions of problems; each check keeps at most
    `MAX_SHOWN` samples (its first rows) and adds its full count, so memory stays bounded and the
    report can still say how many there are.
    """

    samples: list[tuple[int, Problem]] = field(default_factory=list)
    total: int = 0

    def add(self, problem: Problem, order: int = 0) -> None:
        """Add one problem; `order` sorts files (the contract's table order) before rows."""
        self.samples.append((order, problem))
        self.total += 1

    def add_counted(self, problems: list[Problem], count: int, order: int = 0) -> None:
        """Add a sample of a check's problems and the check's full count."""
        self.samples.extend((order, p) for p in problems)
        self.total += max(count, len(problems))

    def __bool__(self) -> bool:
        return self.total > 0

    def shown(self, limit: int = MAX_SHOWN) -> list[Problem]:
        """The first problems, by file then row, as the report lists them."""
        ordered = sorted(self.samples, key=lambda op: (op[0], op[1].file, op[1].row, op[1].column))
        return [p for _, p in ordered[:limit]]

    def lines(self, limit: int = MAX_SHOWN) -> list[str]:
        """One line per shown problem, then `... and N more problems` when some were left out."""
        shown = self.shown(limit)
        out = [str(p) for p in shown]
        if self.total > len(shown):
            out.append(f"... and {self.total - len(shown)} more problems")
        return out

    def report(self, source: str, limit: int = MAX_SHOWN) -> str:
        """The multi-line message for `InputInvalid`: a heading, then one problem a line."""
        noun = "problem" if self.total == 1 else "problems"
        head = f"{self.total} {noun} in {source}; nothing was loaded and the workspace is unchanged:"
        return "\n".join([head, *self.lines(limit)])
