"""The history part of the journal app: every entry with its face, filters, pages, edit and delete, and the charts.

:class:`HistoryView` shows the entries that match its filters (days, emotion, tag, words of the note), a page at
a time, newest first. Each tile shows the local time, your label or the model's reading with its probability, and
the start of the note; its "Edit" button opens the editor (label, note, tags; delete after a confirmation).
"""

from __future__ import annotations

import base64
import logging
import os
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from emoj_lib.config import FACE_SIZE
from emoj_lib.data.pixels import parse_pixels
from emoj_lib.journal import (
    Journal,
    JournalWarning,
    earlier_exports,
    exports_dir,
    plot_calendar,
    plot_corrections,
    plot_mood,
    plot_time_of_day,
    plot_weekly_mix,
)
from emoj_lib.journal.report import entry_tags, filter_entries, note_start, parse_tags, short_id
from emoj_lib.labels import EMOTIONS
from emoj_lib.personal.finetune import models_made_from
from emoj_lib.ui.render import encode_image, enlarge, escape, figure_png

__all__ = ["CHARTS", "HistoryView", "face_from_pixels"]

log = logging.getLogger(__name__)

CHARTS: dict[str, tuple[Callable[..., Any], tuple[float, float]]] = {
    "Mood over time": (plot_mood, (9.5, 3.6)),
    "Calendar": (plot_calendar, (9.5, 3.2)),
    "Weekly mix": (plot_weekly_mix, (9.5, 3.6)),
    "Time of day": (plot_time_of_day, (8.0, 3.6)),
    "Corrections": (plot_corrections, (8.0, 3.6)),
}
"""The charts of the history, by tab title: the plotting function and the figure size in inches. A chart is drawn
when its tab is shown."""

ANY = "any"
"""The choice of the emotion and tag filters that keeps every entry."""


def face_from_pixels(pixels: str) -> np.ndarray | None:
    """Return the 48x48 face of a journal ``pixels`` string, or None if it is not one."""
    values, _ = parse_pixels(pixels)
    return None if values is None else values.reshape(FACE_SIZE, FACE_SIZE)


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
    tags = row.get("tags", ())
    if tags:
        lines.append('<span class="emoj-tags" style="color:#555">' + escape(", ".join(tags)) + "</span>")
    return (f'<div class="emoj-caption"{title} style="font-size:0.8em;line-height:1.25;text-align:center;'
            f'overflow-wrap:anywhere">' + "<br>".join(lines) + "</div>")


class EntryEditor(widgets.VBox):
    """Change an entry's label, note and tags, or delete it after a confirmation (part of :class:`HistoryView`)."""

    def __init__(self, on_done: Callable[[str, str], None],
                 made_from: Callable[[str], list[Path]] | None = None) -> None:
        self.on_done = on_done
        self.made_from = made_from  # the personal models made from an entry, named in the confirmation
        self.entry_id: str | None = None
        self.title = widgets.HTML()
        self.face = widgets.Image(format="png", layout=widgets.Layout(width="144px", height="144px"))
        self.label = widgets.Dropdown(options=[("(no label: the model's reading)", ""), *[(e, e) for e in EMOTIONS]],
                                      description="You felt", layout=widgets.Layout(width="auto"))
        self.note = widgets.Textarea(placeholder="A note", layout=widgets.Layout(width="100%", height="60px"))
        self.tags = widgets.Text(placeholder="tags, separated by commas", description="Tags",
                                 layout=widgets.Layout(width="100%"))
        self.save_button = widgets.Button(description="Save changes", button_style="primary", icon="check")
        self.delete_button = widgets.Button(description="Delete...", button_style="", icon="trash")
        self.close_button = widgets.Button(description="Close")
        self.confirm_text = widgets.HTML()
        self.confirm_button = widgets.Button(description="Yes, delete it for good", button_style="danger")
        self.cancel_button = widgets.Button(description="Keep it")
        self.confirm = widgets.HBox([self.confirm_text, self.confirm_button, self.cancel_button],
                                    layout=widgets.Layout(display="none", flex_flow="row wrap"))
        for button, css in ((self.save_button, "emoj-edit-save"), (self.delete_button, "emoj-edit-delete"),
                            (self.confirm_button, "emoj-delete-confirm"), (self.cancel_button, "emoj-delete-cancel"),
                            (self.close_button, "emoj-edit-close")):
            button.add_class(css)
        self.note.add_class("emoj-edit-note")
        self.tags.add_class("emoj-edit-tags")
        self.save_button.on_click(lambda _: self.on_done("save", self.entry_id or ""))
        self.delete_button.on_click(lambda _: self.ask_delete())
        self.confirm_button.on_click(lambda _: self.on_done("delete", self.entry_id or ""))
        self.cancel_button.on_click(lambda _: self.cancel_delete())
        self.close_button.on_click(lambda _: self.close_editor())
        fields = widgets.VBox([self.label, self.note, self.tags], layout=widgets.Layout(flex="1 1 300px"))
        super().__init__(children=[
            self.title, widgets.HBox([self.face, fields], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.save_button, self.delete_button, self.close_button]), self.confirm],
            layout=widgets.Layout(display="none", border="1px solid #90caf9", padding="8px", margin="8px 0"))
        self.add_class("emoj-editor")

    def show_entry(self, entry_id: str, row: pd.Series) -> None:
        """Show an entry's fields for editing."""
        self.entry_id = entry_id
        when = pd.Timestamp(row["local_time"]).strftime("%A %d %B %Y, %H:%M")
        self.title.value = (f"<b>Entry {escape(short_id(entry_id))}</b> of {when}: the model read "
                            f"<b>{row['emotion']}</b> ({row['confidence']:.0%}).")
        face = face_from_pixels(row.get("pixels", ""))
        self.face.value = encode_image(enlarge(face, 3)) if face is not None else b""
        label = row["user_label"]
        self.label.value = label if isinstance(label, str) and label in EMOTIONS else ""
        self.note.value = row["note"] if isinstance(row["note"], str) else ""
        self.tags.value = ", ".join(row["tags"] or ())
        self.cancel_delete()
        self.layout.display = ""

    def ask_delete(self) -> None:
        """Ask for a confirmation before deleting."""
        models = self.made_from(self.entry_id) if self.made_from is not None and self.entry_id else []
        also = (f" and your personal model{'s' if len(models) > 1 else ''} "
                f"{escape(', '.join(p.stem for p in models))} made from it" if models else "")
        self.confirm_text.value = ("<span style='color:#b71c1c'>Delete this entry, its face and its kept photo"
                                   f"{also} from your journal folder? This cannot be undone.</span>&nbsp;")
        self.confirm.layout.display = ""

    def cancel_delete(self) -> None:
        """Hide the delete confirmation."""
        self.confirm.layout.display = "none"

    def close_editor(self) -> None:
        """Hide the editor."""
        self.entry_id = None
        self.cancel_delete()
        self.layout.display = "none"


class HistoryView(widgets.VBox):
    """The journal's entries with their faces (filtered, a page at a time, newest first), an editor, and the charts.

    Parameters
    ----------
    journal : Journal
        The journal shown.
    size : int
        How many entries a page shows.
    charts : bool
        Draw the mood charts (:data:`CHARTS`) of the entries that match the filters.

    Notes
    -----
    :meth:`refresh` reads the journal again (the app calls it after every save); :attr:`entries` holds every
    entry read and :attr:`matching` those that match the filters, newest first.

    """

    def __init__(self, journal: Journal, *, size: int = 12, charts: bool = True) -> None:
        if not isinstance(journal, Journal):
            raise TypeError(f"journal must be a Journal, got {type(journal).__name__}")
        if not isinstance(size, int | np.integer) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive number of entries, got {size!r}")
        self.journal = journal
        self.on_models_removed: Callable[[list[Path]], None] | None = None
        self.size = int(size)
        self.page = 0
        self._busy = False
        self._charted: dict[str, tuple[str, ...]] = {}
        self.entries: pd.DataFrame = pd.DataFrame()
        self.matching: pd.DataFrame = pd.DataFrame()
        self.summary = widgets.HTML()
        self.message = widgets.HTML()
        self.message.add_class("emoj-history-message")
        self._build_filters()
        self._build_pager()
        self.faces = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, 140px)", grid_gap="6px", width="100%"))
        self.faces.add_class("emoj-tiles")
        self.editor = EntryEditor(self._edited, lambda entry_id: models_made_from(journal.folder, entry_id))
        self.chart_images: dict[str, widgets.Image] = {}
        children: list[widgets.Widget] = [widgets.HTML("<h3>Your journal</h3>"), self.summary, self.filters,
                                          self.message, self.editor, self.faces, self.pager]
        self.charts: widgets.Tab | None = None
        if charts:
            self.chart_images = {title: widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
                                 for title in CHARTS}
            self.charts = widgets.Tab(children=list(self.chart_images.values()), titles=list(CHARTS))
            self.charts.observe(lambda _: self._draw_charts(self.matching), names="selected_index")
            children.append(self.charts)
        super().__init__(children=children)
        self.add_class("emoj-history")
        self.refresh()

    # ------------------------------------------------------------------------------------------ set-up

    def _build_filters(self) -> None:
        narrow = widgets.Layout(width="auto")
        self.start = widgets.DatePicker(description="From", layout=narrow)
        self.end = widgets.DatePicker(description="to", layout=narrow, style={"description_width": "initial"})
        self.emotion = widgets.Dropdown(options=[ANY, *EMOTIONS], value=ANY, description="Emotion", layout=narrow)
        self.tag = widgets.Dropdown(options=[ANY], value=ANY, description="Tag", layout=narrow)
        self.search = widgets.Text(placeholder="words in the note", description="Note", continuous_update=False,
                                   layout=widgets.Layout(width="240px"))
        self.search.add_class("emoj-search")
        self.clear_button = widgets.Button(description="All entries", layout=narrow)
        self.clear_button.on_click(lambda _: self.clear_filters())
        self.export_button = widgets.Button(description="Export (CSV + report)", icon="download", layout=narrow,
                                            tooltip="a CSV without faces and an HTML report")
        self.export_button.add_class("emoj-export")
        self.export_button.on_click(lambda _: self.export())
        for control in (self.start, self.end, self.emotion, self.tag, self.search):
            control.observe(self._on_filter, names="value")
        self.filters = widgets.HBox([self.start, self.end, self.emotion, self.tag, self.search, self.clear_button,
                                     self.export_button],
                                    layout=widgets.Layout(flex_flow="row wrap", align_items="center"))

    def _build_pager(self) -> None:
        self.newer_button = widgets.Button(description="Newer", icon="chevron-left")
        self.older_button = widgets.Button(description="Older", icon="chevron-right")
        self.newer_button.add_class("emoj-newer")
        self.older_button.add_class("emoj-older")
        self.page_label = widgets.HTML()
        self.newer_button.on_click(lambda _: self.show(page=self.page - 1))
        self.older_button.on_click(lambda _: self.show(page=self.page + 1))
        self.pager = widgets.HBox([self.newer_button, self.page_label, self.older_button],
                                  layout=widgets.Layout(align_items="center"))

    def _on_filter(self, change: dict[str, Any]) -> None:
        if not self._busy:
            self.show(page=0)

    # ----------------------------------------------------------------------------------------- reading

    def refresh(self) -> pd.DataFrame:
        """Read the journal again and redraw the tiles and the charts; return the entries read."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JournalWarning)
            data = self.journal.read(on_error="skip", pixels=True) if self.journal.path.is_file() else None
        entries = pd.DataFrame() if data is None else data.entries.sort_values("timestamp", kind="stable")
        self.entries = entries
        problems = sum(1 for w in caught if issubclass(w.category, JournalWarning))
        if entries.empty:
            self.summary.value = "<p>No entries yet: take or upload a photo above to write the first one.</p>"
        else:
            first, last = (pd.Timestamp(t).strftime("%d %b %Y") for t in entries["local_time"].iloc[[0, -1]])
            labelled = int(entries["user_label"].notna().sum())
            self.summary.value = (f"<p>{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} from {first} to "
                                  f"{last}, {labelled} labelled by you.</p>")
        if problems and data is not None:
            self.summary.value += (f"<p>Some rows of {escape(self.journal.path)} could not be read "
                                   f"({len(data.problems)}); they are left out.</p>")
        self._busy = True
        try:
            chosen = self.tag.value
            self.tag.options = [ANY, *entry_tags(entries)]
            self.tag.value = chosen if chosen in self.tag.options else ANY
        finally:
            self._busy = False
        self._charted = {}
        self.filters.layout.display = "none" if entries.empty else "flex"
        self.show(page=self.page)
        return entries

    def clear_filters(self) -> None:
        """Show every entry again."""
        self._busy = True
        try:
            self.start.value = self.end.value = None
            self.emotion.value = self.tag.value = ANY
            self.search.value = ""
        finally:
            self._busy = False
        self.show(page=0)

    def show(self, page: int = 0) -> pd.DataFrame:
        """Show one page of the entries that match the filters (0: the newest); return the entries of the page."""
        entries = self.entries
        if not entries.empty:
            entries = filter_entries(entries, start=self.start.value, end=self.end.value,
                                     emotion=None if self.emotion.value == ANY else self.emotion.value,
                                     tag=None if self.tag.value == ANY else self.tag.value, text=self.search.value)
        self.matching = entries.iloc[::-1]
        pages = max(1, -(-len(self.matching) // self.size))
        self.page = min(max(0, page), pages - 1)
        shown = self.matching.iloc[self.page * self.size:(self.page + 1) * self.size]
        self.faces.children = [self._tile(entry_id, row) for entry_id, row in shown.iterrows()]
        self.newer_button.disabled = self.page == 0
        self.older_button.disabled = self.page >= pages - 1
        if self.matching.empty:
            self.page_label.value = "" if self.entries.empty else "&nbsp;No entry matches these filters.&nbsp;"
        else:
            first = self.page * self.size + 1
            self.page_label.value = (f"&nbsp;{first}-{first + len(shown) - 1} of {len(self.matching)}"
                                     f"{'' if len(self.matching) == len(self.entries) else ' matching'}&nbsp;")
        self.pager.layout.display = "none" if self.entries.empty else "flex"
        self._draw_charts(self.matching)
        return shown

    def _tile(self, entry_id: str, row: pd.Series) -> widgets.VBox:
        face = face_from_pixels(row.get("pixels", ""))
        picture = widgets.Image(value=encode_image(enlarge(face, 2)) if face is not None else b"", format="png",
                                layout=widgets.Layout(width="96px", height="96px"))
        edit = widgets.Button(description="Edit", layout=widgets.Layout(width="64px", height="24px"))
        edit.add_class("emoj-edit")
        edit.on_click(lambda _, eid=entry_id: self.edit(eid))
        tile = widgets.VBox([picture, widgets.HTML(_caption(row)), edit],
                            layout=widgets.Layout(align_items="center", width="140px"))
        tile.add_class("emoj-tile")
        return tile

    def _draw_charts(self, entries: pd.DataFrame, titles: list[str] | None = None) -> None:
        """Draw the charts of ``titles`` (default: the one whose tab is shown) for these entries, if not drawn yet."""
        if self.charts is None:
            return
        self.charts.layout.display = "none" if entries.empty else ""
        if titles is None:
            titles = [list(CHARTS)[self.charts.selected_index or 0]]
        key = tuple(entries.index)
        for title in titles:
            if self._charted.get(title) == key:
                continue
            self._charted[title] = key
            image = self.chart_images[title]
            draw, figsize = CHARTS[title]
            try:
                image.value = figure_png(draw, entries, figsize=figsize) if not entries.empty else b""
            except Exception:  # a chart must never break the journal
                log.exception("could not draw %s", title)
                image.value = b""

    # ----------------------------------------------------------------------------------------- editing

    def edit(self, entry_id: str) -> None:
        """Open the editor on an entry."""
        if entry_id not in self.entries.index:
            raise KeyError(f"no entry {entry_id!r} in {self.journal.path}")
        self.message.value = ""
        self.editor.show_entry(entry_id, self.entries.loc[entry_id])

    def _edited(self, action: str, entry_id: str) -> None:
        if not entry_id:
            return
        if action == "save":
            self.save_edit()
        else:
            self.delete(entry_id)

    def save_edit(self) -> bool:
        """Record the editor's label, note and tags for its entry (only what changed); return whether it did."""
        entry_id, editor = self.editor.entry_id, self.editor
        if entry_id is None:
            return False
        row = self.entries.loc[entry_id]
        old_label = row["user_label"] if isinstance(row["user_label"], str) else ""
        changes: dict[str, Any] = {}
        if editor.label.value != old_label:
            changes["label"] = editor.label.value or None
        if editor.note.value != (row["note"] if isinstance(row["note"], str) else ""):
            changes["note"] = editor.note.value
        if parse_tags(editor.tags.value) != tuple(row["tags"] or ()):
            changes["tags"] = parse_tags(editor.tags.value)
        if not changes:
            self._say("Nothing changed.")
            return False
        try:
            self.journal.amend(entry_id, **changes)
        except (OSError, ValueError, KeyError) as exc:
            self._say(f"Could not save the changes: {escape(exc)}", error=True)
            return False
        self.refresh()
        self.editor.show_entry(entry_id, self.entries.loc[entry_id])
        words = {"label": "your label", "note": "the note", "tags": "the tags"}
        self._say(f"Saved: {', '.join(words[k] for k in changes)} of entry {escape(short_id(entry_id))}.")
        return True

    def delete(self, entry_id: str) -> bool:
        """Delete an entry for good (its face, its kept photo, the personal models made from it); return whether it did.

        The app asks first; :attr:`on_models_removed` is called with the personal models removed, if any.
        """
        try:
            models = self.journal.delete(entry_id)
        except (OSError, ValueError, KeyError) as exc:
            self._say(f"Could not delete the entry: {escape(exc)}", error=True)
            return False
        self.editor.close_editor()
        self.refresh()
        also = ""
        if models:
            names = ", ".join(p.stem for p in models)
            also = (f" Your personal model{'s' if len(models) > 1 else ''} {escape(names)}, made from it, "
                    f"{'were' if len(models) > 1 else 'was'} removed too (<code>emoj journal personalize</code> "
                    "makes a new one).")
            if self.on_models_removed is not None:
                self.on_models_removed(models)
        if earlier_exports(self.journal.folder):
            also += (f" Exports you made earlier (in <code>{escape(exports_dir(self.journal.folder))}</code>) are "
                     "your copies and are left as they are.")
        self._say(f"Deleted entry {escape(short_id(entry_id))}: its face and photo are gone from your journal "
                  f"folder.{also}")
        return True

    def export(self, folder: str | os.PathLike[str] | None = None) -> list[Path]:
        """Write a CSV without the faces and the HTML report of every entry; offer them as downloads; return them.

        The files go to ``folder`` (default ``<journal>/exports``), named after the time of the export.
        """
        from emoj_lib.journal import export_csv
        from emoj_lib.journal.report import write_report

        out = Path(folder) if folder is not None else exports_dir(self.journal.folder)
        stem = "emoj-journal-" + datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            out.mkdir(mode=0o700, parents=True, exist_ok=True)
            data = self.journal.read(pixels=True)
            written = [export_csv(data, out / f"{stem}.csv"), write_report(data.entries, out / f"{stem}.html")]
        except (OSError, ValueError) as exc:
            self._say(f"Could not export the journal: {escape(exc)}", error=True)
            return []
        links = " and ".join(
            f'<a download="{escape(p.name)}" href="data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()}">'
            f"{escape(p.name)}</a>" for p, mime in zip(written, ("text/csv", "text/html"), strict=True))
        self._say(f"Exported to {escape(out)}: {links} (click to download a copy).")
        return written

    def _say(self, text: str, *, error: bool = False) -> None:
        color = "#b71c1c" if error else "#1b5e20"
        self.message.value = f'<p class="emoj-history-{"error" if error else "info"}" style="color:{color}">{text}</p>'

    def save_charts(self, folder: str | os.PathLike[str]) -> dict[str, Path]:
        """Write the charts shown as PNG files into ``folder`` (created); return their paths by chart title.

        The files are named after the titles (``mood_over_time.png``, ``weekly_mix.png``...).
        """
        if not self.chart_images:
            raise ValueError("this history was made with charts=False: there are no charts to save")
        self._draw_charts(self.matching, list(CHARTS))
        folder = Path(folder).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for title, image in self.chart_images.items():
            if image.value:
                path = folder / (title.lower().replace(" ", "_") + ".png")
                path.write_bytes(image.value)
                out[title] = path
        return out
