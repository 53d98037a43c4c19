"""How journal entries read to a person: short ids, note starts, a table of entries, and the HTML report.

The app's history, ``emoj journal list`` and the HTML report (:func:`write_report`) say the same things the same
way through these functions. The report is one self-contained HTML file (charts and faces as inline PNG images,
no script, nothing fetched), written owner-only: it opens offline in any browser.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from emoj_lib.config import FACE_SIZE
from emoj_lib.data.pixels import parse_pixels

__all__ = [
    "NOTE_START",
    "SHORT_ID",
    "entries_table",
    "entry_tags",
    "figure_png",
    "filter_entries",
    "note_start",
    "parse_tags",
    "reading_text",
    "report_html",
    "short_id",
    "week_summary",
    "write_report",
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


# ------------------------------------------------------------------------------------------------ HTML report

REPORT_CHARTS: tuple[tuple[str, str, tuple[float, float]], ...] = (
    ("How you felt", "plot_mood", (9.5, 3.6)),
    ("Each day's main emotion", "plot_calendar", (9.5, 3.2)),
    ("Week by week", "plot_weekly_mix", (9.5, 3.6)),
    ("Time of day", "plot_time_of_day", (8.0, 3.6)),
    ("Corrections", "plot_corrections", (8.0, 3.6)),
)
"""The charts of the report: heading, function of :mod:`emoj_lib.journal.analytics`, figure size in inches."""


def figure_png(draw: Callable[..., Any], *args: Any, figsize: tuple[float, float] = (9, 3.6), dpi: int = 90,
               **kwargs: Any) -> bytes:
    """Draw a plot on a new figure (no pyplot, no global state) and return it as PNG bytes.

    ``draw`` takes ``ax=`` (e.g. :func:`emoj_lib.journal.plot_mood`); ``*args`` and ``**kwargs`` are passed to it.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    draw(*args, ax=fig.subplots(), **kwargs)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _face_png(pixels: object) -> bytes | None:
    """Return the PNG of a journal pixel string (48x48 gray), or None if it is not one."""
    from PIL import Image

    values, _ = parse_pixels(pixels)
    if values is None:
        return None
    buf = io.BytesIO()
    Image.fromarray(values.reshape(FACE_SIZE, FACE_SIZE)).save(buf, format="PNG")
    return buf.getvalue()


def week_summary(entries: pd.DataFrame) -> pd.DataFrame:
    """Return one row per week with entries (newest first): its Monday, entries, main emotion, mix, notes.

    The main emotion and the mix count each entry's emotion: your label when you gave one, else the model's
    reading (:func:`~emoj_lib.journal.analytics.effective_emotion`).
    """
    from emoj_lib.journal.analytics import _local, effective_emotion
    from emoj_lib.labels import EMOTIONS

    columns = ["week", "entries", "main emotion", "mix", "labelled by you", "notes"]
    if entries.empty:
        return pd.DataFrame(columns=columns)
    days = _local(entries).dt.normalize()
    week = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    emotion = effective_emotion(entries).astype(str)
    rows = []
    for start, idx in entries.groupby(week.to_numpy()).groups.items():
        counts = emotion.loc[idx].value_counts()
        counts = counts.reindex([e for e in EMOTIONS if e in counts.index])
        ordered = counts.sort_values(ascending=False, kind="stable")
        rows.append({"week": pd.Timestamp(start).strftime("%d %b %Y"), "entries": len(idx),
                     "main emotion": ordered.index[0],
                     "mix": ", ".join(f"{e} {n}" for e, n in ordered.items()),
                     "labelled by you": int(entries.loc[idx, "user_label"].notna().sum()),
                     "notes": int((entries.loc[idx, "note"].fillna("").str.strip() != "").sum())})
    return pd.DataFrame(rows, columns=columns).iloc[::-1].reset_index(drop=True)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;
color:#222}
h1{margin-bottom:0.2em} .lead{color:#555} img.chart{max-width:100%;display:block;margin:0.5em 0 1.5em}
table{border-collapse:collapse;margin:0.5em 0 1.5em} th,td{padding:4px 10px;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top} th{background:#f4f4f4}
.entry{display:flex;gap:14px;padding:8px 0;border-bottom:1px solid #eee} .entry img{width:96px;height:96px;
image-rendering:pixelated;border-radius:4px} .when{color:#555;font-size:0.9em} .note{white-space:pre-wrap}
.tags{color:#555;font-size:0.9em} .emotion{display:inline-block;width:0.8em;height:0.8em;border-radius:2px;
margin-right:4px}
"""


def _entry_html(entry_id: str, row: pd.Series) -> str:
    from emoj_lib.journal.analytics import EMOTION_COLORS

    esc = html.escape
    face = _face_png(row.get("pixels", ""))
    picture = f'<img alt="face" src="{_data_uri(face)}">' if face else '<div style="width:96px"></div>'
    label = user_label(row)
    emotion = label or str(row["emotion"])
    swatch = f'<span class="emotion" style="background:{EMOTION_COLORS.get(emotion, "#999")}"></span>'
    if label and label != row["emotion"]:
        what = f"{swatch}<b>{esc(label)}</b> (you; the model read {esc(reading_text(row))})"
    elif label:
        what = f"{swatch}<b>{esc(label)}</b> (you agreed with the model, {float(row['confidence']):.0%})"
    else:
        what = f"{swatch}{esc(reading_text(row))} (the model's reading)"
    note = row.get("note", "")
    parts = [f'<div class="when">{esc(pd.Timestamp(row["local_time"]).strftime(TIME_FORMAT))} &middot; '
             f"{esc(short_id(entry_id))}</div>", f"<div>{what}</div>"]
    if isinstance(note, str) and note.strip():
        parts.append(f'<div class="note">{esc(note)}</div>')
    if row.get("tags"):
        parts.append(f'<div class="tags">tags: {esc(", ".join(row["tags"]))}</div>')
    return f'<div class="entry">{picture}<div>{"".join(parts)}</div></div>'


def _summary_html(entries: pd.DataFrame) -> str:
    from emoj_lib.journal.analytics import correction_rate

    first, last = (pd.Timestamp(t).strftime("%d %B %Y") for t in entries["local_time"].iloc[[0, -1]])
    rate = correction_rate(entries).loc["all"]
    corrected = (f"; you corrected the model on {int(rate['corrected'])} of them ({rate['rate']:.0%})"
                 if rate["labelled"] else "")
    n = len(entries)
    return (f'<p class="lead">{n} entr{"y" if n == 1 else "ies"} from {first} to {last}; '
            f"{int(rate['labelled'])} labelled by you{corrected}.</p>")


def report_html(entries: pd.DataFrame, *, title: str = "My emoJ journal", charts: bool = True) -> str:
    """Return the journal report as one self-contained HTML page (no script, nothing fetched).

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read(pixels=True).entries`` (without pixels the entries have no faces).
    title : str
        The page's heading.
    charts : bool
        Include the charts (:data:`REPORT_CHARTS`, as inline PNG images).

    Returns
    -------
    str
        The page: summary, charts, a per-week summary and every entry (newest first) with its face.

    """
    from emoj_lib.journal import analytics

    esc = html.escape
    entries = entries.sort_values("timestamp", kind="stable")
    made = datetime.now().astimezone().strftime("%d %B %Y %H:%M")
    body = [f"<h1>{esc(title)}</h1>"]
    if entries.empty:
        body.append('<p class="lead">No entries yet.</p>')
    else:
        body.append(_summary_html(entries))
        if charts:
            for heading, name, size in REPORT_CHARTS:
                png = figure_png(getattr(analytics, name), entries, figsize=size, dpi=80)
                body.append(f'<h2>{esc(heading)}</h2><img class="chart" alt="{esc(heading)}" src="{_data_uri(png)}">')
        weeks = week_summary(entries)
        body.append("<h2>Each week in numbers</h2>" + weeks.to_html(index=False, border=0, escape=True))
        body.append("<h2>Every entry, newest first</h2>")
        body.extend(_entry_html(eid, row) for eid, row in entries.iloc[::-1].iterrows())
    body.append(f'<p class="lead" style="margin-top:2em">Made by emoJ on {esc(made)}. This file holds faces and '
                "notes: keep it private.</p>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
            f"<body>{''.join(body)}</body></html>\n")


def write_report(journal: Any, path: str | os.PathLike[str], *, title: str = "My emoJ journal",
                 charts: bool = True) -> Path:
    """Write the journal's HTML report (:func:`report_html`) to ``path``, owner-only (0600); return the path.

    ``journal`` is a :class:`~emoj_lib.journal.Journal` (read with its faces) or an entries DataFrame.
    """
    from emoj_lib.journal.files import write_private

    entries = journal if isinstance(journal, pd.DataFrame) else journal.read(pixels=True).entries
    return write_private(Path(path), report_html(entries, title=title, charts=charts).encode("utf-8"))
