"""The emotional journal: an append-only CSV store of faces and predictions, and mood analytics.

:class:`Journal` stores :class:`Entry` rows (made from a :class:`~emoj_lib.recognizer.FaceReading` with
:meth:`Entry.from_reading`), amendments (the user's label, notes, tags) and optional photos; reading gives
a :class:`JournalData` (``entries`` DataFrame, ``changes`` history, ``problems``). The analytics functions
summarise ``entries`` into DataFrames and draw them with seaborn (imported only when plotting).

Modules: :mod:`~emoj_lib.journal.entry` (:class:`Entry`), :mod:`~emoj_lib.journal.fileformat` (the file
format, documented there), :mod:`~emoj_lib.journal.reader` (:func:`read_journal`, :class:`JournalData`),
:mod:`~emoj_lib.journal.store` (:class:`Journal`) and :mod:`~emoj_lib.journal.analytics`.
"""

from emoj_lib.journal.analytics import (
    EMOTION_COLORS,
    calendar_table,
    correction_rate,
    correction_table,
    daily_mood,
    effective_emotion,
    mood_vectors,
    plot_calendar,
    plot_corrections,
    plot_mood,
    plot_time_of_day,
    plot_weekly_mix,
    time_of_day,
    weekly_mix,
)
from emoj_lib.journal.entry import SOURCES, Entry
from emoj_lib.journal.fileformat import AMENDABLE, COLUMNS, SCHEMA_VERSION
from emoj_lib.journal.reader import JournalData, JournalWarning, read_journal
from emoj_lib.journal.store import Journal

__all__ = [
    "AMENDABLE",
    "COLUMNS",
    "EMOTION_COLORS",
    "SCHEMA_VERSION",
    "SOURCES",
    "Entry",
    "Journal",
    "JournalData",
    "JournalWarning",
    "calendar_table",
    "correction_rate",
    "correction_table",
    "daily_mood",
    "effective_emotion",
    "mood_vectors",
    "plot_calendar",
    "plot_corrections",
    "plot_mood",
    "plot_time_of_day",
    "plot_weekly_mix",
    "read_journal",
    "time_of_day",
    "weekly_mix",
]
