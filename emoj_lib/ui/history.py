"""The history part of the journal app: the latest entries with their faces, and the mood charts."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from emoj_lib.config import FACE_SIZE
from emoj_lib.journal import Journal, JournalWarning, plot_mood, plot_time_of_day, plot_weekly_mix
from emoj_lib.journal.report import note_start
from emoj_lib.ui.render import encode_image, enlarge, escape, figure_png

__all__ = ["CHARTS", "HistoryView", "face_from_pixels"]

log = logging.getLogger(__name__)

CHARTS: dict[str, tuple[Callable[..., Any], tuple[float, float]]] = {
    "Mood over time": (plot_mood, (9.5, 3.6)),
    "Weekly mix": (plot_weekly_mix, (9.5, 3.6)),
    "Time of day": (plot_time_of_day, (7.0, 3.6)),
}
"""The charts of the history, by tab title: the plotting function and the figure size in inches."""


def face_from_pixels(pixels: str) -> np.ndarray | None:
    """Return the 48x48 face of a journal ``pixels`` string, or None if it is not one."""
    try:
        face = np.array(pixels.split(), dtype=np.int16)
    except (AttributeError, ValueError):
        return None
    if face.size != FACE_SIZE * FACE_SIZE or face.min() < 0 or face.max() > 255:
        return None
    return face.reshape(FACE_SIZE, FACE_SIZE).astype(np.uint8)


def _caption(row: pd.Series) -> str:
    """Return the text under a history tile: local time, your label or the model's reading, the start of the note.

    Plain HTML in an ``HTML`` widget: the whole note is its ``title`` (hover text). Widgets of the Box family
    have no tooltip in the frontend, so nothing here sets one on a box.
    """
    when = pd.Timestamp(row["local_time"]).strftime("%a %d %b %H:%M")
    predicted, label = str(row["emotion"]), row["user_label"]
    if isinstance(label, str) and label and label != predicted:
        what = f"<b>{escape(label)}</b> (model: {predicted} {row['confidence']:.0%})"
    elif isinstance(label, str) and label:
        what = f"<b>{escape(label)}</b> &#10003; {row['confidence']:.0%}"
    else:
        what = f"{predicted} {row['confidence']:.0%}?"
    note = row.get("note", "")
    title = f' title="{escape(note)}"' if isinstance(note, str) and note.strip() else ""
    lines = [f'<span class="emoj-when">{when}</span>', f'<span class="emoj-what">{what}</span>']
    if title:
        lines.append(f'<i class="emoj-note">{escape(note_start(note))}</i>')
    return (f'<div class="emoj-caption"{title} style="font-size:0.8em;line-height:1.25;text-align:center;'
            f'overflow-wrap:anywhere">' + "<br>".join(lines) + "</div>")


class HistoryView(widgets.VBox):
    """The latest journal entries with their faces (a small grid), and the mood charts.

    Parameters
    ----------
    journal : Journal
        The journal shown.
    size : int
        How many of the latest entries the grid shows.
    charts : bool
        Draw the mood charts (:data:`CHARTS`).

    Notes
    -----
    :meth:`refresh` reads the journal again (the app calls it after every save); :attr:`entries` holds
    the entries it read.

    """

    def __init__(self, journal: Journal, *, size: int = 12, charts: bool = True) -> None:
        if not isinstance(journal, Journal):
            raise TypeError(f"journal must be a Journal, got {type(journal).__name__}")
        if not isinstance(size, int | np.integer) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive number of entries, got {size!r}")
        self.journal = journal
        self.size = int(size)
        self.entries: pd.DataFrame = pd.DataFrame()
        self.summary = widgets.HTML()
        self.faces = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, 140px)", grid_gap="6px", width="100%"))
        self.chart_images: dict[str, widgets.Image] = {}
        children: list[widgets.Widget] = [widgets.HTML("<h3>Your journal</h3>"), self.summary, self.faces]
        if charts:
            self.chart_images = {title: widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
                                 for title in CHARTS}
            self.charts = widgets.Tab(children=list(self.chart_images.values()), titles=list(CHARTS))
            children.append(self.charts)
        else:
            self.charts = None
        super().__init__(children=children)
        self.add_class("emoj-history")
        self.refresh()

    def refresh(self) -> pd.DataFrame:
        """Read the journal again and redraw the grid and the charts; return the entries read."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JournalWarning)
            data = self.journal.read(on_error="skip", pixels=True)
        problems = sum(1 for w in caught if issubclass(w.category, JournalWarning))
        entries = data.entries.sort_values("timestamp", kind="stable")
        self.entries = entries
        if entries.empty:
            self.summary.value = "<p>No entries yet: take or upload a photo above to write the first one.</p>"
        else:
            first, last = (pd.Timestamp(t).strftime("%d %b %Y") for t in entries["local_time"].iloc[[0, -1]])
            labelled = int(entries["user_label"].notna().sum())
            self.summary.value = (f"<p>{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} from {first} to "
                                  f"{last}, {labelled} labelled by you. The latest "
                                  f"{min(self.size, len(entries))}:</p>")
        if problems:
            self.summary.value += (f"<p>Some rows of {escape(self.journal.path)} could not be read "
                                   f"({len(data.problems)}); they are left out.</p>")
        tiles = []
        for _, row in entries.iloc[::-1].head(self.size).iterrows():
            face = face_from_pixels(row.get("pixels", ""))
            picture = widgets.Image(value=encode_image(enlarge(face, 2)) if face is not None else b"", format="png",
                                    layout=widgets.Layout(width="96px", height="96px"))
            tile = widgets.VBox([picture, widgets.HTML(_caption(row))],
                                layout=widgets.Layout(align_items="center", width="140px"))
            tiles.append(tile)
        self.faces.children = tiles
        if self.charts is not None:
            self.charts.layout.display = "none" if entries.empty else ""
        for title, image in self.chart_images.items():
            if entries.empty:
                image.value = b""
                continue
            draw, figsize = CHARTS[title]
            try:
                image.value = figure_png(draw, entries, figsize=figsize)
            except Exception:  # a chart must never break the journal
                log.exception("could not draw %s", title)
                image.value = b""
        return entries

    def save_charts(self, folder: str | os.PathLike[str]) -> dict[str, Path]:
        """Write the charts shown as PNG files into ``folder`` (created); return their paths by chart title.

        The files are named after the titles (``mood_over_time.png``, ``weekly_mix.png``...).
        """
        if not self.chart_images:
            raise ValueError("this history was made with charts=False: there are no charts to save")
        folder = Path(folder).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for title, image in self.chart_images.items():
            if image.value:
                path = folder / (title.lower().replace(" ", "_") + ".png")
                path.write_bytes(image.value)
                out[title] = path
        return out
