"""The journal app: take or upload a photo, see the emotion read in the face, confirm or correct it, save it.

>>> app = JournalApp()  # ~/emoj-journal (or $EMOJ_JOURNAL_DIR), the user's current model  # doctest: +SKIP
>>> app  # in a notebook, or served by `voila notebooks/05_journal.ipynb`  # doctest: +SKIP

Everything runs in the kernel on the user's machine: the photo goes from the browser to the kernel, the
entry to the journal folder, and nothing anywhere else.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np

from emoj_lib.errors import EmojError, ImageReadError
from emoj_lib.journal import SOURCES, Entry, Journal
from emoj_lib.journal.report import parse_tags
from emoj_lib.labels import EMOTIONS
from emoj_lib.personal.journal import MODEL_ENV, model_version, reading_version
from emoj_lib.ui.camera import CameraError, CameraWidget, LocalCamera, explain_camera_error
from emoj_lib.ui.history import HistoryView
from emoj_lib.ui.page import Scroller, in_voila
from emoj_lib.ui.render import draw_faces, encode_image, enlarge, escape, probability_bars
from emoj_lib.ui.yourmodel import YourModelView

__all__ = ["MODEL_ENV", "JournalApp", "journal_model", "model_version", "resolve_model_path"]

log = logging.getLogger(__name__)


_UPLOAD_LABEL = (
    "<style>.emoj-upload{font-size:0!important}"
    ".emoj-upload i,.emoj-upload::after{font-size:var(--jp-widgets-font-size,13px)}"
    '.emoj-upload::after{content:"Upload a photo";margin-left:4px}</style>')
"""ipywidgets' upload button always writes "<description> (<files held>)"; the app empties it after each photo,
so it would always say "(0)": its own text is hidden and the label drawn by CSS instead."""

_STYLES = {
    "info": ("#0d47a1", "#e3f2fd"),
    "success": ("#1b5e20", "#e8f5e9"),
    "warning": ("#7a4f01", "#fff8e1"),
    "error": ("#b71c1c", "#ffebee"),
}


def journal_model(journal_folder: str | os.PathLike[str] | None = None,
                  model_path: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Return the model a journal uses and its version: the one call site of the app and ``emoj journal add``.

    An explicit ``model_path`` wins (its version read from its card, ``""`` without one); else the journal's rule,
    :func:`emoj_lib.personal.journal_model` (its chosen personal model, else ``$EMOJ_MODEL``, else the shipped one).
    """
    if model_path is None:
        from emoj_lib.personal import journal_model as journal_rule

        return journal_rule(journal_folder)
    from emoj_lib.cards import read_card

    path = Path(model_path).expanduser()
    try:
        card = read_card(path)
    except (OSError, EmojError):
        card = {}
    return path, model_version(card)


def resolve_model_path(journal_folder: str | os.PathLike[str] | None = None,
                       model_path: str | os.PathLike[str] | None = None) -> Path:
    """Return the model the app uses (the path of :func:`journal_model`; the file may not exist)."""
    return journal_model(journal_folder, model_path)[0]


def _is_encoded(data: bytes) -> bool:
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))


class JournalApp(widgets.VBox):
    """The emoJ journal app: photo sources, the reading of the face, confirm/correct and save, the history.

    Parameters
    ----------
    journal : Journal, str or PathLike, optional
        The journal, or its folder (default :func:`emoj_lib.config.journal_dir`: ``$EMOJ_JOURNAL_DIR`` or
        ``~/emoj-journal``).
    model_path : str or PathLike, optional
        The model (default :func:`resolve_model_path`: the journal's latest chosen personal model, else
        ``$EMOJ_MODEL``, else the shipped model); read through the journal's adapter. A model that cannot be
        loaded leaves the app usable for the history, with a message saying why.
    recognizer : Recognizer, optional
        An already loaded recognizer (instead of ``model_path``; not both).
    local_camera : int, LocalCamera or None
        The camera of the machine running the kernel (an OpenCV index, or a :class:`LocalCamera`);
        None: no such source.
    history_size : int
        How many of the latest entries the history grid shows.
    charts : bool
        Draw the mood charts in the history.

    Attributes
    ----------
    journal : Journal
    recognizer : Recognizer or None
        None if the model could not be loaded (:attr:`model_error` says why).
    readings : list of FaceReading
        The faces of the current photo, largest first.
    camera, upload, local_button : widgets
        The three photo sources (browser camera, upload, the kernel machine's camera).
    message : ipywidgets.HTML
        What the app says to the user (found faces, no face, saved, errors).
    face_choice, label, note, keep_photo, save_button : widgets
        The face to save (when there are several), the user's label (preset to the prediction), a note,
        whether to keep the photo beside the journal, and Save.
    history : HistoryView
        The latest entries and the mood charts, redrawn after each save.

    """

    def __init__(
        self,
        journal: Journal | str | os.PathLike[str] | None = None,
        *,
        model_path: str | os.PathLike[str] | None = None,
        recognizer: Any = None,
        local_camera: int | LocalCamera | None = 0,
        history_size: int = 12,
        charts: bool = True,
    ) -> None:
        if recognizer is not None and model_path is not None:
            raise ValueError("give model_path or recognizer, not both")
        self.journal = journal if isinstance(journal, Journal) else Journal(journal)
        self.recognizer = None
        self.model_error = ""
        if recognizer is not None:
            self.recognizer = recognizer
            self.model_path = Path(recognizer.model_path)
        else:
            self.model_path, _ = journal_model(self.journal.folder, model_path)
            self._load_model()
        if local_camera is None or isinstance(local_camera, LocalCamera):
            self.local_camera = local_camera
        else:
            self.local_camera = LocalCamera(local_camera)

        self.readings: list[Any] = []
        self.photo: np.ndarray | None = None
        self.photo_bytes: bytes | None = None
        self.source: str | None = None
        self.saved: Entry | None = None

        self._build_sources()
        self._build_result()
        self.message = widgets.HTML()
        self.message.add_class("emoj-message")
        self.history = HistoryView(self.journal, size=history_size, charts=charts)
        self.history.on_models_removed = self._models_removed
        self.your_model = YourModelView(self.journal.folder, lambda: self.recognizer)
        self.voila = in_voila()
        self.header = widgets.HTML(self._header())
        self.scroller = Scroller(".emoj-result")
        super().__init__(children=[self.header, self.sources, self.message, self.result, self.history,
                                   self.your_model, self.scroller])
        self.add_class("emoj-app")
        if self.model_error:
            self.say("error", self.model_error)
        else:
            self.say("info", "Take a photo with the camera or upload one.")

    # ------------------------------------------------------------------------------------------- set-up

    def _load_model(self) -> None:
        from emoj_lib.personal import journal_recognizer

        if not self.model_path.is_file():
            self.model_error = (f"No emotion model at {escape(self.model_path)}: photos cannot be read until it "
                                "is there (the history still works).")
            return
        try:
            self.recognizer = journal_recognizer(self.journal.folder, model_path=self.model_path)
        except Exception as exc:  # a broken model must not break the journal
            log.exception("could not load %s", self.model_path)
            self.model_error = f"The emotion model {escape(self.model_path)} could not be loaded: {escape(exc)}"

    def _models_removed(self, models: list[Path]) -> None:
        """Stop reading faces with a personal model that a deletion removed (use the journal's rule again)."""
        if self.model_path not in models:
            return
        self.recognizer, self.model_error = None, ""
        self.model_path, _ = journal_model(self.journal.folder)
        self._load_model()
        self.header.value = self._header()
        self.your_model.refresh_if_shown()

    def _header(self) -> str:
        hint = "" if self.voila else (" &middot; to use it as an app without code: <code>emoj app</code>")
        return (f"<p style='color:#555'>Journal: <code>{escape(self.journal.folder)}</code> &middot; "
                f"{self._model_description()} &middot; everything stays on this computer{hint}.</p>")

    def _model_description(self) -> str:
        if self.recognizer is None:
            return "no emotion model"
        kind = "your personal model" if self.model_path.parent == self.journal.folder / "models" else "model"
        return f"{kind} <code>{escape(self.recognizer.name)}</code>"

    def _build_sources(self) -> None:
        self.camera = CameraWidget()
        self.camera.observe(self._on_capture, names="captures")
        self.camera.observe(self._on_camera_error, names="error")
        camera_box = widgets.VBox([widgets.HTML(
            "<p>Start the camera, look at it, and take a photo. The picture goes only to this journal.</p>"),
            self.camera])

        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload a photo",
                                         icon="upload")
        self.upload.add_class("emoj-upload")
        self.upload.observe(self._on_upload, names="value")
        upload_box = widgets.VBox([widgets.HTML("<p>A photo of your face (JPEG, PNG...).</p>" + _UPLOAD_LABEL),
                                   self.upload])

        self.local_button = widgets.Button(description="Take a photo", icon="camera",
                                           layout=widgets.Layout(width="auto"))
        self.local_button.on_click(lambda _: self.take_local_photo())
        self.local_retry = widgets.Button(description="Look for a camera again", layout=widgets.Layout(width="auto"))
        self.local_retry.on_click(lambda _: self._probe_local_camera())
        self.local_status = widgets.HTML()
        local_box = widgets.VBox([widgets.HTML(
            "<p>A camera attached to the computer that runs Python (the same computer as this browser only when "
            "both run here).</p>"), widgets.HBox([self.local_button, self.local_retry]), self.local_status])
        self._probe_local_camera()

        boxes, titles = [camera_box, upload_box], ["Browser camera", "Upload a photo"]
        if not self.local_button.disabled:  # the tab of the computer's camera only when there is one
            boxes.append(local_box)
            titles.append("Camera of this computer")
        self.sources = widgets.Tab(children=boxes, titles=titles)

    def _build_result(self) -> None:
        self.photo_view = widgets.Image(format="jpeg", layout=widgets.Layout(max_width="480px"))
        self.face_choice = widgets.Dropdown(description="Face", options=[], layout=widgets.Layout(width="auto"))
        self.face_choice.observe(self._on_face_choice, names="value")
        self.crop_view = widgets.Image(format="png", layout=widgets.Layout(width="144px", height="144px"))
        self.explain_view = widgets.Image(format="png", layout=widgets.Layout(width="144px", height="144px"))
        self.explain_view.add_class("emoj-explain")
        self.prediction = widgets.HTML()
        self.bars = widgets.HTML()
        self.label = widgets.ToggleButtons(options=list(EMOTIONS), description="You feel",
                                           style={"button_width": "74px"})
        self.label.add_class("emoj-label")
        self.note = widgets.Textarea(placeholder="A note (optional): what happened, where you are...",
                                     layout=widgets.Layout(width="100%", height="60px"))
        self.note.add_class("emoj-note")
        self.tags = widgets.Text(placeholder="tags (optional), separated by commas: work, family...",
                                 layout=widgets.Layout(width="100%"))
        self.tags.add_class("emoj-tags")
        self.keep_photo = widgets.Checkbox(value=False, description="Keep the photo in my journal folder",
                                           indent=False)
        self.save_button = widgets.Button(description="Save to my journal", button_style="success", icon="check",
                                          disabled=True, layout=widgets.Layout(width="auto"))
        self.save_button.add_class("emoj-save")
        self.save_button.on_click(lambda _: self.save())
        looked = widgets.VBox([self.explain_view, widgets.HTML(
            '<small title="Grad-CAM on the model\'s last convolutional block: the warmer, the more that part of the '
            'face spoke for the emotion read">where the model looked</small>')])
        reading = widgets.VBox([self.face_choice, widgets.HBox([self.crop_view, looked, self.prediction]), self.bars],
                               layout=widgets.Layout(margin="0 0 0 16px"))
        self.result = widgets.VBox([
            widgets.HBox([self.photo_view, reading], layout=widgets.Layout(flex_flow="row wrap")),
            self.label, self.note, self.tags, widgets.HBox([self.save_button, self.keep_photo])],
            layout=widgets.Layout(display="none", border="1px solid #ddd", padding="8px"))
        self.result.add_class("emoj-result")

    def _probe_local_camera(self) -> None:
        if self.local_camera is None:
            why = "no camera of this computer was given to the app"
        else:
            why = self.local_camera.probe()
        self.local_button.disabled = bool(why)
        self.local_retry.layout.display = "" if why and self.local_camera is not None else "none"
        if why:
            self.local_status.value = (f"<p>Not available: {escape(why)}. Use the browser camera or upload a "
                                       "photo instead.</p>")
        elif self.local_camera is not None:  # no reason not to use it: it exists
            self.local_status.value = f"<p>Camera {escape(self.local_camera.device)} is ready.</p>"

    # ----------------------------------------------------------------------------------------- messages

    def say(self, kind: str, html_text: str) -> None:
        """Show a message to the user.

        Parameters
        ----------
        kind : {"info", "success", "warning", "error"}
            Its colour.
        html_text : str
            The message (HTML: escape what comes from outside).

        """
        color, background = _STYLES[kind]
        self.message.value = (f'<div class="emoj-{kind}" data-kind="{kind}" style="color:{color};'
                              f'background:{background};padding:6px 10px;border-radius:4px">{html_text}</div>')

    # ------------------------------------------------------------------------------------------- photos

    def _on_capture(self, change: dict[str, Any]) -> None:
        if self.camera.frame:
            self.analyze_photo(self.camera.frame, source="webcam")

    def _on_camera_error(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.say("warning", f"The browser camera is not available: {escape(explain_camera_error(change['new']))}. "
                                "You can still upload a photo (tab &ldquo;Upload a photo&rdquo;).")

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        data = bytes(item["content"])
        self.upload.value = ()  # so that uploading the same file again is seen
        self.analyze_photo(data, source="upload", name=item.get("name", ""))

    def take_local_photo(self) -> list[Any]:
        """Take a photo with the camera of the machine running the kernel and read it (see :meth:`analyze_photo`)."""
        if self.local_camera is None:
            self.say("warning", "No camera of this computer was given to the app.")
            return []
        try:
            frame = self.local_camera.grab()
        except CameraError as exc:
            self.say("warning", f"{escape(exc)}. Use the browser camera or upload a photo instead.")
            self._probe_local_camera()
            return []
        return self.analyze_photo(frame, source="camera")

    def analyze_photo(self, photo: Any, *, source: str, name: str = "") -> list[Any]:
        """Find the faces of a photo, read their emotions and show the result (nothing is saved yet).

        Parameters
        ----------
        photo : bytes, path, PIL image or np.ndarray
            Anything :func:`emoj_lib.faces.load_image` reads.
        source : {"webcam", "upload", "file", "camera"}
            Where it came from (recorded with the entry).
        name : str
            The photo's name, for messages.

        Returns
        -------
        list of FaceReading
            The faces found, largest first (the largest is selected); empty when there is none, when the
            photo cannot be read or when there is no model (the message says which).

        """
        from emoj_lib.faces import load_image

        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        self._clear()
        what = f"the photo {escape(name)}" if name else "the photo"
        if self.recognizer is None:
            self.say("error", self.model_error)
            return []
        self.say("info", f"Looking for faces in {what}...")
        if isinstance(photo, bytearray | memoryview):
            photo = bytes(photo)
        try:
            # the recognizer alone decodes the photo for reading (as `emoj journal add` and `emoj predict` do);
            # the app decodes it again only to show it
            readings = self.recognizer.analyze(photo, policy="all")
            image = load_image(photo) if readings else None
        except ImageReadError as exc:
            self.say("error", f"Could not read {what}: {escape(exc)}. Nothing was saved.")
            return []
        if not readings:
            self.say("warning", f"No face found in {what}, so nothing was saved. Face the camera, in good light, "
                                "with your whole face in the picture, and try again.")
            return []
        self.photo, self.source, self.readings = image, source, list(readings)
        if isinstance(photo, bytes) and _is_encoded(photo):
            self.photo_bytes = photo
        else:
            self.photo_bytes = None
        self.face_choice.options = [(self._face_name(i, r), i) for i, r in enumerate(readings)]
        self.face_choice.layout.display = "" if len(readings) > 1 else "none"
        self.select_face(0)
        self.result.layout.display = ""
        self.scroller.scroll()  # the result may be below the fold (a phone, a small window)
        if len(readings) == 1:
            self.say("info", "Found your face. Check the emotion below, correct it if it is wrong, and save.")
        else:
            self.say("info", f"Found {len(readings)} faces; the largest (1) is selected. Choose yours under "
                             "&ldquo;Face&rdquo; if it is another one, then save.")
        return self.readings

    @staticmethod
    def _face_name(i: int, reading: Any) -> str:
        x, y, w, h = reading.box.as_tuple()
        return f"{i + 1}: {w}x{h} px at ({x}, {y})" + (" - the largest" if i == 0 else "")

    def _clear(self) -> None:
        self.readings, self.photo, self.photo_bytes, self.source, self.saved = [], None, None, None, None
        self.result.layout.display = "none"
        self.save_button.disabled = True

    # ------------------------------------------------------------------------------------------ reading

    @property
    def reading(self) -> Any:
        """The selected face reading (None before a photo with a face)."""
        if not self.readings or self.face_choice.value is None:
            return None
        return self.readings[self.face_choice.value]

    def select_face(self, index: int) -> None:
        """Select which face of the photo to save (0: the largest)."""
        if not 0 <= index < len(self.readings):
            raise IndexError(f"face {index} out of range: the photo has {len(self.readings)} face(s)")
        if self.face_choice.value != index:
            self.face_choice.value = index  # _on_face_choice shows it
        else:
            self._show_reading(index)

    def _on_face_choice(self, change: dict[str, Any]) -> None:
        if change["new"] is not None and self.readings:
            self._show_reading(change["new"])

    def _show_reading(self, index: int) -> None:
        reading = self.readings[index]
        if self.photo is None:  # readings always come with their photo
            raise RuntimeError("a face reading without its photo")
        self.photo_view.value = encode_image(draw_faces(self.photo, [r.box for r in self.readings], index),
                                             "jpeg", quality=85)
        self.crop_view.value = encode_image(enlarge(reading.crop, 3))
        self.explain_view.value = encode_image(self._explanation(reading))
        self.prediction.value = (f'<div class="emoj-prediction" data-emotion="{reading.emotion}" '
                                 f'style="padding:0 12px"><p>The model reads</p>'
                                 f'<h3 style="margin:0">{reading.emotion}</h3>'
                                 f"<p>{reading.confidence:.0%} sure</p></div>")
        self.bars.value = probability_bars(reading.probabilities, highlight=reading.emotion)
        self.label.value = reading.emotion
        self.saved = None
        self.save_button.disabled = False
        self.save_button.description = "Save to my journal"

    def _explanation(self, reading) -> np.ndarray:
        """Return the enlarged crop with the Grad-CAM map of the emotion read on top (:mod:`emoj_lib.explain`)."""
        from emoj_lib.explain import explain, overlay

        if self.recognizer is None:  # readings come from the recognizer
            raise RuntimeError("a face reading without a recognizer")
        heatmap = explain(self.recognizer.model, reading.crop, emotion=reading.emotion)
        return overlay(enlarge(reading.crop, 3), heatmap)

    # ------------------------------------------------------------------------------------------- saving

    @property
    def model_version(self) -> str:
        """The version recorded with each entry: the model's (card ``version``, else ``date``) [+ the adapter's tag]."""
        if self.recognizer is None:
            return ""
        return reading_version(self.recognizer)

    def save(self) -> Entry | None:
        """Save the selected face with the chosen label and the note as a journal entry.

        The label chosen (preset to the prediction) is recorded as the user's label: saving confirms or
        corrects the model. The photo itself is kept beside the journal only if :attr:`keep_photo` is ticked.

        Returns
        -------
        Entry or None
            The entry written; None if there was nothing to save (the message says why).

        """
        reading = self.reading
        if reading is None:
            self.say("warning", "Take or upload a photo with a face first.")
            return None
        if self.saved is not None:
            self.say("info", "This face is already in your journal. Take another photo for a new entry.")
            return None
        label = self.label.value
        photo = None
        if self.keep_photo.value:
            photo = self.photo_bytes if self.photo_bytes is not None else self.photo
        if self.recognizer is None or self.source is None:  # a reading comes from the recognizer, with its source
            raise RuntimeError("a face reading without its recognizer or photo source")
        try:
            entry = Entry.from_reading(reading, source=self.source, model=self.recognizer.name,
                                       model_version=self.model_version, user_label=label, note=self.note.value,
                                       tags=parse_tags(self.tags.value))
            self.journal.append(entry, photo=photo)
        except (OSError, ValueError, TypeError) as exc:
            log.exception("could not save the entry")
            self.say("error", f"Could not save the entry: {escape(exc)}")
            return None
        self.saved = entry
        self.save_button.disabled = True
        self.save_button.description = "Saved"
        when = entry.timestamp.strftime("%H:%M") if isinstance(entry.timestamp, datetime) else ""
        if label == reading.emotion:
            what = f"<b>{label}</b> (you confirmed the model)"
        else:
            what = f"<b>{label}</b> (you corrected the model's &ldquo;{reading.emotion}&rdquo;)"
        kept = " with the photo" if photo is not None else ""
        self.note.value = self.tags.value = ""
        self.history.refresh()
        self.your_model.refresh_if_shown()
        self.say("success", f"Saved to your journal at {when}{kept}: {what}.")
        return entry
