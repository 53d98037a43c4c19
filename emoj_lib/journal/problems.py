"""Problems found while reading a journal: rows skipped or not applied, in file order."""

from __future__ import annotations

import pandas as pd

PROBLEM_COLUMNS = {"line": "int64", "kind": "str", "entry_id": "str", "field": "str", "problem": "str"}
"""Columns (and dtypes) of :attr:`JournalData.problems <emoj_lib.journal.reader.JournalData.problems>`."""

PROBLEM_KINDS: tuple[str, ...] = ("truncated", "malformed", "duplicate", "orphan")
"""``truncated`` (cut short by a crash), ``malformed``, ``duplicate`` (entry id used twice), ``orphan``
(an amendment of an entry not in the journal)."""

ERROR_KINDS: tuple[str, ...] = ("malformed", "duplicate")
"""The kinds that ``on_error="raise"`` raises."""


class JournalWarning(UserWarning):
    """Rows of a journal were skipped or not applied (cut short by a crash, damaged, duplicated...)."""


class ProblemLog:
    """The problems found while reading one file; :meth:`frame` gives them as a DataFrame sorted by line."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, str, str]] = []

    def add(self, line: int, kind: str, problem: str, *, entry_id: str = "", fld: str = "") -> None:
        """Record a problem at ``line`` (1-based) of kind ``kind`` (see :data:`PROBLEM_KINDS`)."""
        self.rows.append((line, kind, entry_id, fld, problem))

    def mark_truncated(self, index: int) -> None:
        """Turn problem ``index`` into a ``truncated`` one (a later writer marked its row cut short)."""
        line, _, entry_id, fld, problem = self.rows[index]
        self.rows[index] = (line, "truncated", entry_id, fld,
                            f"row cut short (a crash?); a later writer marked it ({problem})")

    def first_error(self) -> tuple[int, str, str] | None:
        """Return ``(line, field, problem)`` of the first error (see :data:`ERROR_KINDS`), or None."""
        errors = [r for r in self.rows if r[1] in ERROR_KINDS]
        if not errors:
            return None
        line, _, _, fld, problem = min(errors, key=lambda r: r[0])
        return line, fld, problem

    def frame(self) -> pd.DataFrame:
        """Return the problems as a DataFrame (:data:`PROBLEM_COLUMNS`), sorted by line."""
        if not self.rows:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in PROBLEM_COLUMNS.items()})
        df = pd.DataFrame(sorted(self.rows, key=lambda r: r[0]), columns=list(PROBLEM_COLUMNS))
        return df.astype(PROBLEM_COLUMNS)

    def summary(self) -> str:
        """One line: how many rows, of which kinds, and their line numbers (the first 10)."""
        table = self.frame()
        kinds = ", ".join(f"{n} {k}" for k, n in table["kind"].value_counts().items())
        lines = ", ".join(map(str, table["line"].iloc[:10]))
        more = f" and {len(table) - 10} more" if len(table) > 10 else ""
        return (f"{len(table)} row(s) skipped or not applied ({kinds}) at line(s) {lines}{more}; first: "
                f"{table['problem'].iloc[0]}")
