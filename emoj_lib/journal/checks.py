"""Checking the columns of a journal's rows, all rows at once, as strictly as :class:`Entry` checks them.

:class:`ColumnCheck` flags the bad values of a column of text fields (recording each problem in the
:class:`~emoj_lib.journal.problems.ProblemLog` with its line, entry id and field) and keeps a mask of the
rows found bad; the ``check_*`` functions apply the format's rules to entry, amendment and deletion rows
and return the parsed columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from emoj_lib.journal.entry import ENTRY_ID_RE, PROB_SUM_TOLERANCE, SOURCES
from emoj_lib.journal.fileformat import AMENDABLE, PROB_COLUMNS
from emoj_lib.journal.problems import ProblemLog
from emoj_lib.labels import EMOTIONS

_TZ_RE = re.compile(r"(?:(Z)|([+-])(\d\d):?(\d\d))$")


class ColumnCheck:
    """Flag bad values of a frame of text fields (with ``line`` and ``entry_id`` columns)."""

    def __init__(self, frame: pd.DataFrame, problems: ProblemLog) -> None:
        self.frame, self.problems = frame, problems
        self.bad = np.zeros(len(frame), bool)

    def flag(self, mask: np.ndarray, fld: str, what: str) -> None:
        """Record a problem for every row of ``mask`` not already bad, then mark them bad."""
        f = self.frame
        for i in np.flatnonzero(mask & ~self.bad):
            value = str(f.at[i, fld])[:40]
            self.problems.add(int(f.at[i, "line"]), "malformed", f"{fld} is {value!r}: {what}",
                              entry_id=str(f.at[i, "entry_id"]), fld=fld)
        self.bad |= mask

    def member(self, fld: str, allowed: tuple[str, ...], what: str) -> None:
        """Flag the values of ``fld`` not in ``allowed``."""
        self.flag(~self.frame[fld].isin(allowed).to_numpy(), fld, what)

    def entry_ids(self) -> None:
        """Flag entry ids that are not 1-64 letters, digits, ``_`` or ``-``."""
        self.flag(np.array([ENTRY_ID_RE.fullmatch(v) is None for v in self.frame["entry_id"]], bool),
                  "entry_id", "not an entry id")

    def times(self) -> tuple[pd.Series, pd.Series]:
        """Flag bad timestamps; return UTC instants and wall-clock local times."""
        utc, local, bad = parse_times(self.frame["timestamp"])
        self.flag(bad, "timestamp", "not an ISO 8601 time with a UTC offset")
        return utc, local


def number_column(values: pd.Series, integer: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Parse a text column: return the values, a mask of the bad ones and what is wrong with them."""
    try:
        x = values.to_numpy().astype(np.float64)  # fast path: every value is a number
    except (ValueError, TypeError):
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if integer:
        bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
        return np.where(bad, 0, x).astype(np.int64), bad, "not a non-negative integer"
    bad = ~np.isfinite(x) | (x < 0) | (x > 1)
    return x, bad, "not a probability in [0, 1]"


def offset_minutes(text: str) -> float:
    """Return the UTC offset of an ISO 8601 time in minutes (NaN if it has none)."""
    if len(text) > 6 and text[-6] in "+-" and text[-3] == ":":  # the form written by Entry.to_row
        try:
            minutes = int(text[-5:-3]) * 60 + int(text[-2:])
        except ValueError:
            return np.nan
        return -minutes if text[-6] == "-" else minutes
    m = _TZ_RE.search(text)
    if m is None:
        return np.nan
    if m.group(1):
        return 0
    minutes = int(m.group(3)) * 60 + int(m.group(4))
    return -minutes if m.group(2) == "-" else minutes


def parse_times(values: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Parse ISO 8601 timestamps: return UTC instants, wall-clock local times and a mask of bad ones."""
    if values.empty:
        utc = pd.Series(pd.DatetimeIndex([], tz="UTC"), index=values.index, dtype="datetime64[us, UTC]")
        return utc, pd.Series([], index=values.index, dtype="datetime64[us]"), np.zeros(0, bool)
    utc = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce").astype("datetime64[us, UTC]")
    minutes = np.array([offset_minutes(t) for t in values], dtype=np.float64)
    bad = utc.isna().to_numpy() | np.isnan(minutes)
    local = (utc + pd.to_timedelta(np.nan_to_num(minutes), unit="min")).dt.tz_localize(None)
    return utc, local, bad


def check_entries(ent: pd.DataFrame, problems: ProblemLog) -> tuple[np.ndarray, dict[str, np.ndarray | pd.Series]]:
    """Check entry rows; return the mask of bad ones and the parsed columns (times, numbers)."""
    check = ColumnCheck(ent, problems)
    check.entry_ids()
    utc, local = check.times()
    check.member("source", SOURCES, f"expected one of {SOURCES}")
    parsed: dict[str, np.ndarray | pd.Series] = {"timestamp": utc, "local_time": local}
    for c in ("x", "y", "w", "h", "confidence", *PROB_COLUMNS):
        parsed[c], bad, what = number_column(ent[c], c in ("x", "y", "w", "h"))
        check.flag(bad, c, what)
    w_h = np.stack([parsed["w"], parsed["h"]]) if len(ent) else np.ones((2, 0))
    check.flag(np.asarray((w_h <= 0).any(axis=0)), "w", "the face box must have w, h > 0")
    probs = np.stack([parsed[c] for c in PROB_COLUMNS], axis=1) if len(ent) else np.zeros((0, 7))
    check.flag(np.abs(probs.sum(axis=1) - 1) > PROB_SUM_TOLERANCE, "p_angry",
               "the 7 probabilities do not sum to 1")
    check.member("emotion", EMOTIONS, f"expected one of {EMOTIONS}")
    check.member("user_label", ("", *EMOTIONS), f"expected empty or one of {EMOTIONS}")
    _duplicates(ent, check)
    return check.bad, parsed


def _duplicates(ent: pd.DataFrame, check: ColumnCheck) -> None:
    dup = ent["entry_id"].duplicated().to_numpy() & ~check.bad
    if not dup.any():
        return
    first = dict(zip(ent["entry_id"][::-1], ent["line"][::-1], strict=True))
    for i in np.flatnonzero(dup):
        eid = ent.at[i, "entry_id"]
        check.problems.add(int(ent.at[i, "line"]), "duplicate", f"entry id already used at line {first[eid]}",
                           entry_id=eid, fld="entry_id")
    check.bad |= dup


def check_amendments(amd: pd.DataFrame, problems: ProblemLog) -> tuple[np.ndarray, pd.Series]:
    """Check amendment rows; return the mask of bad ones and their UTC times."""
    check = ColumnCheck(amd, problems)
    check.entry_ids()
    utc, _ = check.times()
    check.member("user_label", ("", *EMOTIONS), f"expected empty or one of {EMOTIONS}")
    amended = amd["amended"].str.split(";")
    check.flag(~amended.map(lambda f: bool(f) and set(f) <= set(AMENDABLE)).to_numpy(bool), "amended",
               f"expected ';'-joined names among {AMENDABLE}")
    return check.bad, utc


def check_deletions(dele: pd.DataFrame, problems: ProblemLog) -> tuple[np.ndarray, pd.Series]:
    """Check deletion rows (an id and a time, every other field empty); return the bad mask and UTC times."""
    check = ColumnCheck(dele, problems)
    check.entry_ids()
    utc, _ = check.times()
    others = dele.drop(columns=["kind", "entry_id", "timestamp", "line"])
    check.flag((others != "").any(axis=1).to_numpy(), "kind", "a delete row holds only an id and a time")
    return check.bad, utc
