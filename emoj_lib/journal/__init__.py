"""The emotional journal: an append-only CSV store of faces and predictions, and mood analytics.

:class:`Journal` stores :class:`Entry` rows (made from a :class:`~emoj_lib.recognizer.FaceReading` with
:meth:`Entry.from_reading`), amendments (the user's label, notes, tags), deletions and optional photos;
reading gives a :class:`JournalData` (``entries`` DataFrame, ``changes`` history, ``problems``,
``deleted``). The analytics functions summarise ``entries`` into DataFrames and draw them with seaborn
(imported only when plotting).

Modules, one concept each: :mod:`~emoj_lib.journal.entry` (:class:`Entry` and its checks),
:mod:`~emoj_lib.journal.fileformat` (the file format, documented there), :mod:`~emoj_lib.journal.records`
(the csv tokenizer with offsets), :mod:`~emoj_lib.journal.rows` (per-row checks),
:mod:`~emoj_lib.journal.checks` (per-column checks), :mod:`~emoj_lib.journal.problems`,
:mod:`~emoj_lib.journal.reader` (:func:`read_journal`, :class:`JournalData`), :mod:`~emoj_lib.journal.files`
(owner-only files, no symbolic links), :mod:`~emoj_lib.journal.photos`, :mod:`~emoj_lib.journal.tail`,
:mod:`~emoj_lib.journal.deletion`, :mod:`~emoj_lib.journal.store` (:class:`Journal`),
:mod:`~emoj_lib.journal.export` (:func:`export_csv`), :mod:`~emoj_lib.journal.repair`
(:func:`repair_journal`) and :mod:`~emoj_lib.journal.analytics`.
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
from emoj_lib.journal.export import EXPORT_COLUMNS, earlier_exports, export_csv, exports_dir
from emoj_lib.journal.fileformat import AMENDABLE, COLUMNS, SCHEMA_VERSION, escape_text, unescape_text
from emoj_lib.journal.files import PermissionNotice, make_private, private_dir, secure_open, write_private
from emoj_lib.journal.photos import PHOTOS
from emoj_lib.journal.problems import JournalWarning
from emoj_lib.journal.reader import JournalData, read_journal
from emoj_lib.journal.repair import RepairReport, repair_journal
from emoj_lib.journal.store import Journal, LeftoverNotice

__all__ = [
    "AMENDABLE",
    "COLUMNS",
    "EMOTION_COLORS",
    "EXPORT_COLUMNS",
    "PHOTOS",
    "SCHEMA_VERSION",
    "SOURCES",
    "Entry",
    "Journal",
    "JournalData",
    "JournalWarning",
    "LeftoverNotice",
    "PermissionNotice",
    "RepairReport",
    "calendar_table",
    "correction_rate",
    "correction_table",
    "daily_mood",
    "earlier_exports",
    "effective_emotion",
    "escape_text",
    "export_csv",
    "exports_dir",
    "make_private",
    "mood_vectors",
    "plot_calendar",
    "plot_corrections",
    "plot_mood",
    "plot_time_of_day",
    "plot_weekly_mix",
    "private_dir",
    "read_journal",
    "repair_journal",
    "secure_open",
    "time_of_day",
    "unescape_text",
    "weekly_mix",
    "write_private",
]
