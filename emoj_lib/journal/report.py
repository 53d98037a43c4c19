"""How journal entries read to a person: short ids, the start of a note, the reading in words, a table of entries.

The app's history, ``emoj journal list`` and the HTML report (:func:`write_report`) say the same things the same
way through these functions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = [
    "NOTE_START",
    "SHORT_ID",
    "entries_table",
    "entry_tags",
    "filter_entries",
    "note_start",
    "parse_tags",
    "reading_text",
    "short_id",
]

NOTE_START = 60
"""How many characters of a note a list or a tile shows."""

SHORT_ID = 8
"""How many characters of an entry id are shown (and enough to name an entry on the command line)."""

TIME_FORMAT = "%a %d %b %Y %H:%M"
"""How an entry's local time is written."""


def short_id(entry_id: str) -> str:
    """Return the first :data:`SHORT_ID` characters of an entry id."""
    return str(entry_id)[:SHORT_ID]


def note_start(note: object, length: int = NOTE_START) -> str:
    """Return the start of a note on one line, cut at ``length`` characters with an ellipsis ("" for no note)."""
    if not isinstance(note, str) or not note.strip():
        return ""
    text = " ".join(note.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "\u2026"


def user_label(row: pd.Series) -> str:
    """Return the user's label of an entry row, or "" when they gave none."""
    label = row.get("user_label")
    return label if isinstance(label, str) and label else ""


def reading_text(row: pd.Series) -> str:
    """Return the model's reading of an entry row in words: ``"happy 87%"``."""
    return f"{row['emotion']} {float(row['confidence']):.0%}"


def entries_table(entries: pd.DataFrame) -> pd.DataFrame:
    """Return journal entries as a table a person reads: when, id, your label, the model's reading, note, tags.

    Parameters
    ----------
    entries : pandas.DataFrame
        ``JournalData.entries`` (indexed by entry id), in the order to show.

    Returns
    -------
    pandas.DataFrame
        String columns ``when`` (local time), ``id`` (short), ``your label``, ``model``, ``note`` (its start) and
        ``tags``; one row per entry.

    """
    rows = [{
        "when": pd.Timestamp(row["local_time"]).strftime(TIME_FORMAT),
        "id": short_id(entry_id),
        "your label": user_label(row) or "-",
        "model": reading_text(row),
        "note": note_start(row.get("note", ""), 40),
        "tags": ", ".join(row.get("tags", ()) or ()),
    } for entry_id, row in entries.iterrows()]
    return pd.DataFrame(rows, columns=["when", "id", "your label", "model", "note", "tags"])


def parse_tags(text: str) -> tuple[str, ...]:
    """Return the tags typed in a field: separated by commas or semicolons, stripped, empty ones dropped."""
    seen: dict[str, None] = {}
    for tag in str(text).replace(";", ",").split(","):
        if tag.strip():
            seen.setdefault(tag.strip())
    return tuple(seen)


def entry_tags(entries: pd.DataFrame) -> list[str]:
    """Return every tag used in the entries, sorted."""
    if "tags" not in entries or entries.empty:
        return []
    return sorted({tag for tags in entries["tags"] for tag in (tags or ())})


def filter_entries(entries: pd.DataFrame, *, start: Any = None, end: Any = None, emotion: str | None = None,
                   tag: str | None = None, text: str = "") -> pd.DataFrame:
    """Return the entries that match every filter given (all of them by default), in their order.

    Parameters
    ----------
    entries : pandas.DataFrame
        ``JournalData.entries``.
    start, end : date, optional
        The first and last day (local time, both included).
    emotion : str, optional
        The entry's emotion: your label when you gave one, else the model's reading.
    tag : str, optional
        One of the entry's tags.
    text : str
        Words the note contains (case is ignored).

    """
    from emoj_lib.journal.analytics import effective_emotion

    keep = pd.Series(True, index=entries.index)
    if entries.empty:
        return entries
    day = pd.to_datetime(entries["local_time"]).dt.date
    if start is not None:
        keep &= day >= pd.Timestamp(start).date()
    if end is not None:
        keep &= day <= pd.Timestamp(end).date()
    if emotion:
        keep &= (effective_emotion(entries) == emotion).to_numpy()
    if tag:
        keep &= entries["tags"].map(lambda tags: tag in (tags or ()))
    if text.strip():
        keep &= entries["note"].fillna("").str.contains(text.strip(), case=False, regex=False)
    return entries[keep.to_numpy()]
