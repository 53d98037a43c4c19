"""The journal app driven from Python: photo sources, the reading shown, corrections, saving, history, the notebook."""

from __future__ import annotations

import csv
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from emoj_lib import config
from emoj_lib.cli.app import journal_notebook
from emoj_lib.journal import Entry, Journal
from emoj_lib.labels import EMOTIONS
from emoj_lib.ui import (
    MODEL_ENV,
    CameraError,
    CameraWidget,
    JournalApp,
    LocalCamera,
    explain_camera_error,
    journal_model,
    resolve_model_path,
)
from emoj_lib.ui.camera import _ESM
from emoj_lib.ui.render import draw_faces, probability_bars

JPEG, PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def recognizer(tiny_model):
    from emoj_lib.recognizer import Recognizer

    return Recognizer(tiny_model)


@pytest.fixture
def photo(require_shared):
    """A real photo with one face (JPEG bytes)."""
    return require_shared(config.photos_dir() / "deepface__img5.jpg").read_bytes()


@pytest.fixture
def couple(require_shared):
    return require_shared(config.photos_dir() / "deepface__couple.jpg").read_bytes()


@pytest.fixture
def no_face() -> bytes:
    """A generated PNG with no face: a smooth gradient with a few rectangles."""
    y, x = np.mgrid[0:240, 0:320]
    image = np.dstack([(x * 255 // 319), (y * 255 // 239), np.full_like(x, 128)]).astype(np.uint8)
    image[40:90, 60:200] = (20, 160, 40)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def make_app(tmp_path, recognizer, **options) -> JournalApp:
    options.setdefault("local_camera", None)
    options.setdefault("charts", False)
    return JournalApp(Journal(tmp_path / "journal", fsync=False), recognizer=recognizer, **options)


def upload(app: JournalApp, data: bytes, name: str = "me.jpg") -> None:
    """Do what the browser does when the user picks a file in the FileUpload widget."""
    app.upload.set_state({"value": [{"name": name, "type": "image/jpeg", "size": len(data),
                                     "content": memoryview(data), "last_modified": 1_700_000_000_000}]})


def csv_rows(journal: Journal) -> list[dict[str, str]]:
    """The rows of journal.csv as the csv module reads them (after the version line); none without a file."""
    if not journal.path.exists():
        return []
    with open(journal.path, newline="", encoding="utf-8") as fh:
        assert fh.readline().startswith("# emoj-journal v1")
        return list(csv.DictReader(fh))


def face_of(row: dict[str, str]) -> np.ndarray:
    return np.array(row["pixels"].split(), dtype=np.uint8).reshape(48, 48)


def shown_message(app: JournalApp) -> str:
    return app.message.value


# --- a face: prediction shown, corrected, saved ---------------------------------------------------------------


@pytest.mark.shared_data
def test_upload_shows_the_prediction_and_saves_the_corrected_label(tmp_path, recognizer, photo):
    app = make_app(tmp_path, recognizer, charts=True)
    assert app.save_button.disabled and app.result.layout.display == "none"
    assert "No entries yet" in app.history.summary.value and app.history.charts.layout.display == "none"
    upload(app, photo, "selfie.jpg")

    [reading] = app.readings
    assert app.upload.value == ()  # reset, so the same file can be uploaded again
    assert app.result.layout.display == "" and app.face_choice.layout.display == "none"
    assert f'data-emotion="{reading.emotion}"' in app.prediction.value
    assert f"{reading.confidence:.0%}" in app.prediction.value
    assert app.bars.value.count("<tr") == 7 and f"<b>{reading.emotion}</b>" in app.bars.value
    assert app.label.value == reading.emotion  # preset to the prediction
    assert bytes(app.photo_view.value).startswith(JPEG) and bytes(app.crop_view.value).startswith(PNG)
    assert "Found your face" in shown_message(app) and not app.save_button.disabled

    corrected = EMOTIONS[(EMOTIONS.index(reading.emotion) + 3) % 7]
    app.label.value = corrected
    app.note.value = 'long day, "really"\nsecond line é'
    app.save_button.click()

    assert "Saved to your journal" in shown_message(app) and "corrected" in shown_message(app)
    assert app.save_button.disabled and app.save_button.description == "Saved" and app.note.value == ""
    [row] = csv_rows(app.journal)
    assert row["kind"] == "entry" and row["source"] == "upload"
    assert row["emotion"] == reading.emotion and row["user_label"] == corrected
    assert row["note"] == 'long day, "really"\nsecond line é'
    assert row["model"] == recognizer.name and row["photo"] == ""
    assert [int(row[k]) for k in "xywh"] == list(reading.box.as_tuple())
    np.testing.assert_array_equal(face_of(row), reading.crop)
    np.testing.assert_allclose([float(row[f"p_{e}"]) for e in EMOTIONS], reading.probabilities, rtol=1e-6)

    # the history is redrawn: one tile, the charts drawn
    assert len(app.history.faces.children) == 1 and "1 entry" in app.history.summary.value
    assert bytes(app.history.chart_images["Mood over time"].value).startswith(PNG)  # the tab shown
    written = app.history.save_charts(tmp_path / "charts")  # draws the others
    assert sorted(p.name for p in written.values()) == ["calendar.png", "corrections.png", "mood_over_time.png",
                                                        "time_of_day.png", "weekly_mix.png"]

    # saving twice writes nothing more
    assert app.save() is None and "already in your journal" in shown_message(app)
    assert len(csv_rows(app.journal)) == 1


@pytest.mark.shared_data
def test_webcam_frame_confirmed_and_photo_kept(tmp_path, recognizer, photo):
    app = make_app(tmp_path, recognizer)
    frame = Image.open(io.BytesIO(photo)).convert("RGB")
    buf = io.BytesIO()
    frame.save(buf, format="JPEG", quality=90)
    # what the browser sends: the JPEG in `frame` and the counter, in one update
    app.camera.set_state({"frame": memoryview(buf.getvalue()), "captures": 1})
    [reading] = app.readings
    assert app.camera.frame == buf.getvalue()
    app.keep_photo.value = True
    entry = app.save()
    assert entry is not None and "you confirmed the model" in shown_message(app)
    assert "with the photo" in shown_message(app)
    [row] = csv_rows(app.journal)
    assert row["source"] == "webcam" and row["user_label"] == reading.emotion == row["emotion"]
    kept = app.journal.photo_path(entry.entry_id)  # re-encoded by the journal, without metadata
    assert kept.suffix == ".jpg" and Image.open(kept).size == frame.size
    np.testing.assert_array_equal(face_of(row), reading.crop)

    # the same frame again (a still camera) is still a new photo
    app.camera.set_state({"frame": memoryview(buf.getvalue()), "captures": 2})
    assert app.readings and app.saved is None and not app.save_button.disabled
    assert app.save_button.description == "Save to my journal"


# --- the whole flow on the astronaut portrait that ships with scikit-image (no shared data) --------------------------


@pytest.fixture(scope="module")
def astronaut_jpeg(tmp_path_factory):
    """Eileen Collins' portrait (scikit-image, public domain) as a large JPEG (1536 px: decoded at a reduced scale)."""
    from skimage import data as skdata

    image = Image.fromarray(skdata.astronaut()).resize((1536, 1536), Image.Resampling.BICUBIC)
    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    image.save(path, quality=90)
    return path


def test_the_app_reads_a_photo_as_the_command_line_does(tmp_path, recognizer, astronaut_jpeg):
    app = make_app(tmp_path, recognizer)
    upload(app, astronaut_jpeg.read_bytes(), "astronaut.jpg")
    direct = recognizer.analyze(astronaut_jpeg, policy="all")  # what `emoj predict` and `journal add` do
    assert len(app.readings) == len(direct) >= 1
    for shown, read in zip(app.readings, direct, strict=True):
        assert shown.box.as_tuple() == read.box.as_tuple()
        np.testing.assert_array_equal(shown.crop, read.crop)
        np.testing.assert_array_equal(shown.probabilities, read.probabilities)


def test_whole_flow_on_the_astronaut(tmp_path, recognizer, astronaut_jpeg):
    app = make_app(tmp_path, recognizer, charts=True)
    upload(app, astronaut_jpeg.read_bytes(), "astronaut.jpg")
    assert app.readings, "the astronaut's face must be found"
    reading = app.reading
    assert "Found your face" in shown_message(app) or "faces" in shown_message(app)
    assert app.result.layout.display == "" and not app.save_button.disabled
    assert bytes(app.photo_view.value).startswith(JPEG) and bytes(app.crop_view.value).startswith(PNG)
    assert f'data-emotion="{reading.emotion}"' in app.prediction.value and app.label.value == reading.emotion
    x, y, w, h = reading.box.as_tuple()
    assert 400 < x + w / 2 < 800 and 100 < y + h / 2 < 600  # her face, in the 1536-px photo
    # beside the crop, where the model looked: the Grad-CAM map of the emotion read, in colour on the gray crop
    from emoj_lib.explain import explain

    shown = np.asarray(Image.open(io.BytesIO(bytes(app.explain_view.value))).convert("RGB"))
    assert shown.shape == (144, 144, 3) and np.ptp(shown.astype(int), axis=2).max() > 60  # coloured, not gray
    heat = explain(recognizer.model, reading.crop, emotion=reading.emotion)
    hot = np.unravel_index(heat.argmax(), heat.shape)
    cold = np.unravel_index(heat.argmin(), heat.shape)
    spread = lambda p: np.ptp(shown[3 * p[0] + 1, 3 * p[1] + 1].astype(int))  # noqa: E731
    assert spread(hot) > spread(cold)  # the colour sits where the map is high

    corrected = EMOTIONS[(EMOTIONS.index(reading.emotion) + 1) % 7]
    app.label.value = corrected
    app.note.value = "launch day"
    app.tags.value = "space, work"
    entry = app.save()
    assert entry is not None and "you corrected the model" in shown_message(app)
    [row] = csv_rows(app.journal)
    assert row["user_label"] == corrected != row["emotion"] == reading.emotion  # the correction, not the prediction
    assert row["note"] == "launch day" and row["source"] == "upload" and row["tags"] == "space;work"
    assert app.tags.value == "" and app.note.value == ""
    np.testing.assert_array_equal(face_of(row), reading.crop)
    [tile] = app.history.faces.children
    assert "launch day" in tile.children[1].value and f"<b>{corrected}</b>" in tile.children[1].value


# --- no face, unreadable photo ----------------------------------------------------------------------------------


def test_no_face_says_so_and_saves_nothing(tmp_path, recognizer, no_face):
    app = make_app(tmp_path, recognizer)
    upload(app, no_face, "landscape.png")
    assert app.readings == [] and app.reading is None
    assert "No face found in the photo landscape.png" in shown_message(app)
    assert "nothing was saved" in shown_message(app)
    assert app.result.layout.display == "none" and app.save_button.disabled
    assert app.save() is None and "photo with a face first" in shown_message(app)
    assert csv_rows(app.journal) == []


def test_unreadable_photo(tmp_path, recognizer):
    app = make_app(tmp_path, recognizer)
    upload(app, b"this is not an image", "notes.jpg")
    assert app.readings == [] and "Could not read the photo notes.jpg" in shown_message(app)
    assert csv_rows(app.journal) == []


# --- several faces ------------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_several_faces_offer_a_choice(tmp_path, recognizer, couple):
    app = make_app(tmp_path, recognizer)
    upload(app, couple, "couple.jpg")
    readings = app.readings
    assert len(readings) >= 2
    assert readings[0].box.area >= readings[1].box.area  # largest first, and selected
    assert app.face_choice.layout.display == "" and app.face_choice.value == 0
    assert [v for _, v in app.face_choice.options] == list(range(len(readings)))
    assert "the largest" in app.face_choice.options[0][0]
    assert f"Found {len(readings)} faces" in shown_message(app)

    first_crop = app.crop_view.value
    app.face_choice.value = 1  # the user picks the second face
    assert app.reading is readings[1]
    assert app.label.value == readings[1].emotion and app.crop_view.value != first_crop
    app.save_button.click()
    [row] = csv_rows(app.journal)
    assert [int(row[k]) for k in "xywh"] == list(readings[1].box.as_tuple())
    np.testing.assert_array_equal(face_of(row), readings[1].crop)
    with pytest.raises(IndexError, match="out of range"):
        app.select_face(len(readings))


# --- camera problems: a message, and the upload still works -------------------------------------------------------


@pytest.mark.shared_data
def test_camera_refused_then_upload_works(tmp_path, recognizer, photo):
    app = make_app(tmp_path, recognizer)
    app.camera.set_state({"status": "error", "error": "NotAllowedError: Permission denied"})
    assert "camera access was refused" in shown_message(app) and "upload a photo" in shown_message(app)
    upload(app, photo)
    assert len(app.readings) == 1 and app.save() is not None
    assert len(csv_rows(app.journal)) == 1


def test_explain_camera_error():
    assert explain_camera_error("") == ""
    assert explain_camera_error("NotFoundError: Requested device not found") == (
        "no camera was found on this device (NotFoundError)")
    assert "https or from localhost" in explain_camera_error("UnsupportedError: navigator.mediaDevices is missing")
    assert explain_camera_error("WeirdError: something") == "WeirdError: something"


def test_camera_widget_traits_and_script():
    cam = CameraWidget()
    cam.set_state({"frame": memoryview(b"\xff\xd8\xffabc")})  # the frontend delivers a memoryview
    assert cam.frame == b"\xff\xd8\xffabc" and isinstance(cam.frame, bytes)
    with pytest.raises(Exception, match="quality"):
        cam.quality = 1.5
    # privacy: the script imports nothing and names no server
    assert not re.search(r"^\s*import\b|\bimport\s*\(|https?://|\bfetch\(|XMLHttpRequest|WebSocket", _ESM, re.M)
    assert "getUserMedia" in _ESM and "image/jpeg" in _ESM


# --- the camera of the kernel's machine ---------------------------------------------------------------------------


class FakeLocalCamera(LocalCamera):
    def __init__(self, image: np.ndarray | None) -> None:
        super().__init__(0)
        self.image = image

    def probe(self) -> str:
        return "" if self.image is not None else "no camera could be opened (fake)"

    def grab(self) -> np.ndarray:
        if self.image is None:
            raise CameraError("no camera could be opened (fake)")
        return self.image


@pytest.mark.shared_data
def test_local_camera_photo(tmp_path, recognizer, photo):
    image = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
    app = make_app(tmp_path, recognizer, local_camera=FakeLocalCamera(image))
    assert not app.local_button.disabled and "is ready" in app.local_status.value
    app.local_button.click()
    assert len(app.readings) == 1
    app.keep_photo.value = True
    entry = app.save()
    assert entry.source == "camera"
    assert app.journal.photo_path(entry.entry_id).suffix == ".png"  # an array is kept as PNG


def test_absent_local_camera_disables_its_button(tmp_path, recognizer):
    app = make_app(tmp_path, recognizer, local_camera=FakeLocalCamera(None))
    assert app.local_button.disabled and "Not available: no camera could be opened" in app.local_status.value
    assert app.take_local_photo() == [] and "no camera could be opened" in shown_message(app)
    if not os.path.exists("/dev/video9"):
        assert "/dev/video9 does not exist" in LocalCamera(9).probe()
    app = make_app(tmp_path, recognizer, local_camera=None)
    assert app.local_button.disabled
    with pytest.raises(ValueError, match="camera number"):
        LocalCamera(-1)


# --- the history -------------------------------------------------------------------------------------------------


def fill_journal(journal: Journal, n: int, *, seed: int = 0) -> list[Entry]:
    """Write ``n`` entries a day apart, with notes, tags and labels on some of them; return them."""
    from datetime import datetime, timedelta, timezone

    rng = np.random.default_rng(seed)
    start = datetime(2026, 3, 2, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    entries = []
    for i in range(n):
        p = rng.dirichlet(np.ones(7))
        entry = Entry(face=rng.integers(0, 256, (48, 48), dtype=np.uint8), box=(1, 2, 30, 30), probabilities=p,
                      source="file", model="m", model_version="1", timestamp=start + timedelta(days=i, hours=i % 9),
                      user_label=EMOTIONS[i % 7] if i % 3 else None,
                      note=f"note number {i}: <b>not bold</b> & a long tail " + "x" * 80 if i % 2 else "",
                      tags=("work", f"t{i % 4}") if i % 4 else ())
        journal.append(entry)
        entries.append(entry)
    return entries


def walk(widget):
    """Yield a widget and every widget below it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def test_history_tiles_render_notes_without_box_tooltips(tmp_path):
    import ipywidgets as widgets

    from emoj_lib.ui import HistoryView

    journal = Journal(tmp_path / "journal", fsync=False)
    entries = fill_journal(journal, 14)
    view = HistoryView(journal, size=12, charts=False)
    # the frontend cannot show a tooltip on a Box ("Click to show javascript error"): none may have one
    boxes = [w for w in walk(view) if isinstance(w, widgets.Box)]
    assert boxes and all(getattr(w, "tooltip", None) in (None, "") for w in boxes)
    tiles = view.faces.children
    assert len(tiles) == 12
    captions = [next(w.value for w in walk(t) if isinstance(w, widgets.HTML)) for t in tiles]
    shown = entries[::-1][:12]  # the latest first
    for entry, caption in zip(shown, captions, strict=True):
        assert entry.timestamp.strftime("%a %d %b %H:%M") in caption  # the local time of the entry
        label = entry.user_label or entry.emotion
        assert f"<b>{label}</b>" in caption or f"{entry.emotion} {entry.confidence:.0%}" in caption
        if entry.note:
            assert f"note number {entries.index(entry)}: &lt;b&gt;" in caption
            assert "\u2026" in caption and "<b>not bold</b>" not in caption  # cut, and escaped
        else:
            assert "emoj-note" not in caption


def test_history_pages_and_filters(tmp_path):
    import datetime as dt

    from emoj_lib.journal import effective_emotion
    from emoj_lib.ui import HistoryView

    journal = Journal(tmp_path / "journal", fsync=False)
    entries = fill_journal(journal, 30)
    view = HistoryView(journal, size=12, charts=False)
    ids = [e.entry_id for e in entries][::-1]  # newest first
    shown = lambda: [view.matching.index[view.page * 12 + i] for i in range(len(view.faces.children))]  # noqa: E731
    assert shown() == ids[:12] and "1-12 of 30" in view.page_label.value and view.newer_button.disabled
    view.older_button.click()
    assert shown() == ids[12:24] and "13-24 of 30" in view.page_label.value
    view.older_button.click()
    assert shown() == ids[24:] and len(view.faces.children) == 6 and view.older_button.disabled
    view.older_button.click()  # stays on the last page
    assert view.page == 2

    view.emotion.value = "sad"
    expected = [e.entry_id for e in entries[::-1] if (e.user_label or e.emotion) == "sad"]
    assert list(view.matching.index) == expected and view.page == 0 and "matching" in view.page_label.value
    assert (effective_emotion(view.matching) == "sad").all()
    view.emotion.value = "any"
    assert view.tag.options == ("any", "t1", "t2", "t3", "work")
    view.tag.value = "t2"
    assert list(view.matching.index) == [e.entry_id for e in entries[::-1] if "t2" in e.tags]
    view.tag.value = "any"
    view.search.value = "NUMBER 13"
    assert list(view.matching.index) == [entries[13].entry_id]  # the note's words, case ignored
    view.search.value = ""
    view.start.value, view.end.value = dt.date(2026, 3, 10), dt.date(2026, 3, 12)
    assert sorted(view.matching.index) == sorted(e.entry_id for e in entries[8:11])
    view.search.value = "nothing like this"
    assert view.faces.children == () and "No entry matches" in view.page_label.value
    view.clear_button.click()
    assert len(view.matching) == 30 and view.start.value is None


def test_history_charts_follow_the_tab_and_the_filters(tmp_path):
    from emoj_lib.ui import CHARTS, HistoryView

    journal = Journal(tmp_path / "journal", fsync=False)
    fill_journal(journal, 12)
    view = HistoryView(journal, size=6, charts=True)
    images = view.chart_images
    assert list(images) == list(CHARTS) and bytes(images["Mood over time"].value).startswith(PNG)
    assert images["Calendar"].value == b""  # drawn when its tab is shown
    view.charts.selected_index = 1
    calendar = bytes(images["Calendar"].value)
    assert calendar.startswith(PNG)
    view.older_button.click()  # another page: the same entries, nothing redrawn
    assert bytes(images["Calendar"].value) == calendar
    view.emotion.value = "happy"  # the charts show the entries that match
    assert bytes(images["Calendar"].value).startswith(PNG) and bytes(images["Calendar"].value) != calendar


def test_history_exports_csv_and_report(tmp_path):
    import stat

    from emoj_lib.ui import HistoryView

    journal = Journal(tmp_path / "journal", fsync=False)
    fill_journal(journal, 3)
    view = HistoryView(journal, charts=False)
    view.export_button.click()
    written = sorted((tmp_path / "journal" / "exports").iterdir())
    assert [p.suffix for p in written] == [".csv", ".html"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    assert 'download="' + written[1].name + '" href="data:text/html;base64,' in view.message.value
    assert written[1].read_text(encoding="utf-8").count('alt="face"') == 3


def test_history_edits_an_entry(tmp_path):
    from emoj_lib.ui import HistoryView

    journal = Journal(tmp_path / "journal", fsync=False)
    entries = fill_journal(journal, 5)
    view = HistoryView(journal, size=12, charts=False)
    target = entries[1]  # labelled, with a note
    tile = next(t for t in view.faces.children if "note number 1:" in t.children[1].value)
    tile.children[2].click()  # its Edit button
    editor = view.editor
    assert editor.layout.display == "" and editor.entry_id == target.entry_id
    assert editor.label.value == target.user_label and editor.note.value == target.note
    editor.label.value, editor.note.value, editor.tags.value = "", "rewritten", "home;  garden, home"
    editor.save_button.click()
    row = journal.read(pixels=False).entries.loc[target.entry_id]
    assert pd_isna(row["user_label"]) and row["note"] == "rewritten" and row["tags"] == ("home", "garden")
    assert "Saved: your label, the note, the tags" in view.message.value
    history = journal.read(pixels=False).history(target.entry_id)
    assert list(history["kind"]) == ["entry", "amend"]  # the edit keeps the entry's history
    editor.save_button.click()
    assert "Nothing changed" in view.message.value
    assert "rewritten" in " ".join(t.children[1].value for t in view.faces.children)


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_history_deletes_after_a_confirmation(tmp_path):
    from emoj_lib.ui import HistoryView

    journal = Journal(tmp_path / "journal", fsync=False)
    entries = fill_journal(journal, 4)
    view = HistoryView(journal, size=12, charts=False)
    target = entries[2]
    view.edit(target.entry_id)
    view.editor.delete_button.click()
    assert view.editor.confirm.layout.display == "" and target.entry_id in journal.read().entries.index
    view.editor.cancel_button.click()
    assert view.editor.confirm.layout.display == "none" and len(journal.read().entries) == 4
    view.editor.delete_button.click()
    view.editor.confirm_button.click()
    assert target.entry_id not in journal.read().entries.index and len(view.faces.children) == 3
    assert "Deleted entry" in view.message.value and view.editor.layout.display == "none"
    assert "Exports" not in view.message.value  # none made
    pixels = " ".join(str(v) for v in target.face.ravel())
    assert pixels.encode() not in journal.path.read_bytes()
    exported = view.export()
    view.edit(entries[0].entry_id)
    view.editor.delete_button.click()
    view.editor.confirm_button.click()
    assert "Exports you made earlier" in view.message.value and all(p.is_file() for p in exported)  # left as made


# --- the model -----------------------------------------------------------------------------------------------------


def test_model_resolution(tmp_path, monkeypatch, tiny_model):
    from emoj_lib.cards import read_card
    from emoj_lib.personal import journal_model as journal_rule

    monkeypatch.delenv(MODEL_ENV, raising=False)
    version = str(read_card(tiny_model).get("version", read_card(tiny_model)["date"]))
    assert journal_model(tmp_path, tiny_model) == (tiny_model, version)  # an explicit model wins
    assert journal_model(tmp_path) == journal_rule(tmp_path)  # else the journal's one rule
    assert resolve_model_path(tmp_path).name == "emoj_fer2013.keras"  # no personal model: the shipped one
    assert journal_model(tmp_path, tmp_path / "m.keras") == (tmp_path / "m.keras", "")  # no card: no version
    monkeypatch.setenv(MODEL_ENV, str(tiny_model))
    assert journal_model(tmp_path) == journal_rule(tmp_path) == (tiny_model, version)
    app = JournalApp(tmp_path / "journal", local_camera=None, charts=False)  # the app asks the same rule
    assert app.model_path == tiny_model and app.model_version == version


def test_missing_model_leaves_the_history_usable(tmp_path, no_face, recognizer):
    app = JournalApp(tmp_path / "journal", model_path=tmp_path / "nowhere.keras", local_camera=None, charts=False)
    assert app.recognizer is None and "No emotion model" in shown_message(app)
    upload(app, no_face)
    assert "No emotion model" in shown_message(app) and app.readings == []
    assert "No entries yet" in app.history.summary.value
    with pytest.raises(ValueError, match="not both"):
        JournalApp(tmp_path / "journal", model_path=tmp_path / "m.keras", recognizer=recognizer)
    with pytest.raises(ValueError, match="source must be one of"):
        make_app(tmp_path, recognizer).analyze_photo(no_face, source="phone")


def test_app_uses_the_model_path(tmp_path, tiny_model):
    app = JournalApp(tmp_path / "journal", model_path=tiny_model, local_camera=None, charts=False)
    assert app.recognizer is not None and app.model_path == tiny_model and not app.model_error
    from emoj_lib.cards import read_card

    card = read_card(tiny_model)
    expected = str(card["version"]) if "version" in card else str(card["date"])
    assert expected and app.model_version == expected  # from the card
    assert journal_model(tmp_path / "journal", tiny_model) == (tiny_model, expected)


def test_deleting_an_entry_its_personal_model_was_made_from(tmp_path, tiny_model, monkeypatch):
    from emoj_lib.cards import read_card
    from emoj_lib.personal.finetune import install_model

    monkeypatch.setenv(MODEL_ENV, str(tiny_model))
    journal = Journal(tmp_path / "journal", fsync=False)
    entries = fill_journal(journal, 3)
    made_from, other = entries[1].entry_id, entries[2].entry_id
    card = read_card(tiny_model) | {"stage": 3, "version": 1, "entries": [made_from]}
    (journal.folder / "models").mkdir()
    personal = install_model(tiny_model, card, journal.folder / "models" / "personal-v1.keras")
    app = JournalApp(journal, local_camera=None, charts=False)
    assert app.model_path == personal and app.recognizer.model_path == personal
    assert "your personal model" in app.header.value
    view = app.history
    view.edit(other)
    view.editor.delete_button.click()
    assert "personal" not in view.editor.confirm_text.value
    view.editor.confirm_button.click()
    assert personal.is_file() and app.model_path == personal and "personal" not in view.message.value
    view.edit(made_from)
    view.editor.delete_button.click()
    assert "and your personal model personal-v1 made from it" in view.editor.confirm_text.value
    view.editor.confirm_button.click()
    assert not personal.exists() and "personal model personal-v1, made from it, was removed" in view.message.value
    assert app.model_path == tiny_model and app.recognizer.model_path == tiny_model  # reads with the model left
    assert "your personal model" not in app.header.value and "&middot; model <code>" in app.header.value


# --- pictures ------------------------------------------------------------------------------------------------------


def test_draw_faces_scales_and_marks_the_selected_face():
    image = np.zeros((1000, 2000, 3), np.uint8)
    out = draw_faces(image, [(100, 100, 400, 400), (1000, 200, 200, 200)], selected=1, max_side=500)
    assert out.shape == (250, 500, 3)
    assert (out[50:100, 250] == (0, 200, 83)).all(axis=1).any()  # the selected box is green
    assert (out[25:125, 25] == 255).all(axis=1).any()  # the other one white
    with pytest.raises(ValueError, match="7 probabilities"):
        probability_bars([0.5, 0.5])


# --- the notebook --------------------------------------------------------------------------------------------------


def test_journal_notebook_is_committed_clean_and_thin():
    import nbformat

    nb = nbformat.read(journal_notebook(), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["tags"] == ["parameters"] and nb.cells[0].cell_type == "markdown"
    assert all(c.outputs == [] and c.execution_count is None for c in code)  # committed without outputs
    assert "JournalApp(journal_dir, model_path=model_path)" in code[1].source
    assert sum(len(c.source.splitlines()) for c in code[1:]) <= 15
    text = " ".join(c.source for c in nb.cells)
    assert "Run all cells" not in text and "voila" not in text.lower()  # nothing that only fits a notebook
    assert "print(" not in code[2].source.split("if out_dir is not None:")[0]  # no footer under Voila


def test_voila_is_detected_and_the_app_leaves_out_notebook_text(tmp_path, recognizer, monkeypatch):
    from emoj_lib.ui.page import in_voila

    monkeypatch.delenv("VOILA_SERVER_URL", raising=False)
    monkeypatch.delenv("VOILA_BASE_URL", raising=False)
    monkeypatch.delenv("VOILA_KERNEL_ID", raising=False)
    assert not in_voila()
    assert "emoj app" in make_app(tmp_path, recognizer).children[0].value
    monkeypatch.setenv("VOILA_SERVER_URL", "/")
    assert in_voila()
    app = make_app(tmp_path, recognizer)
    assert "emoj app" not in app.children[0].value and app.voila


def test_local_camera_tab_only_when_there_is_a_camera(tmp_path, recognizer):
    absent = make_app(tmp_path, recognizer, local_camera=FakeLocalCamera(None))
    assert absent.sources.titles == ("Browser camera", "Upload a photo")
    image = np.zeros((240, 320, 3), np.uint8)
    present = make_app(tmp_path, recognizer, local_camera=FakeLocalCamera(image))
    assert present.sources.titles == ("Browser camera", "Upload a photo", "Camera of this computer")


def test_result_is_scrolled_into_view(tmp_path, recognizer, astronaut_jpeg, no_face):
    app = make_app(tmp_path, recognizer)
    assert app.scroller.selector == ".emoj-result" and "emoj-result" in app.result._dom_classes
    upload(app, no_face, "landscape.png")
    assert app.scroller.requests == 0  # nothing to show
    upload(app, astronaut_jpeg.read_bytes(), "astronaut.jpg")
    assert app.scroller.requests == 1


def test_emoj_app_runs_a_copy_of_the_notebook(tmp_path):
    from emoj_lib.cli.app import JUPYTER_DATA, app_command, app_environment

    copy = tmp_path / "journal.ipynb"
    voila = app_command(copy, lab=False, port=8999, browser=False)
    assert voila[1:4] == ["-m", "voila", str(copy)] and "--template=emoj" in voila and "--Voila.port=8999" in voila
    lab = app_command(copy, lab=True, port=None, browser=True)
    assert lab[1:4] == ["-m", "jupyterlab", str(copy)] and f"--ServerApp.root_dir={tmp_path}" in lab
    env = app_environment(tmp_path / "j", None)
    assert env["JUPYTER_PATH"].split(os.pathsep)[0] == str(JUPYTER_DATA) and env["EMOJ_JOURNAL_DIR"] == str(
        (tmp_path / "j").resolve())
    template = JUPYTER_DATA / "voila" / "templates" / "emoj"
    assert "Opening your journal" in (template / "index.html.j2").read_text()
    assert '"base_template": "lab"' in (template / "conf.json").read_text()


@pytest.mark.slow
def test_journal_notebook_runs(tmp_path, tiny_model):
    from emoj_lib.notebooks import run_notebook

    journal = Journal(tmp_path / "journal", fsync=False)
    face = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    journal.append(Entry(face=face, box=(1, 2, 30, 30), probabilities=np.full(7, 1 / 7), source="file",
                         model="m", model_version="1", user_label="happy"))
    out = run_notebook(journal_notebook(), tmp_path / "05.ipynb",
                       {"journal_dir": journal.folder, "model_path": tiny_model, "out_dir": tmp_path / "charts"},
                       timeout=300)
    import nbformat

    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert not [o for o in outputs if o.output_type == "error"]
    assert (tmp_path / "charts" / "mood_over_time.png").stat().st_size > 1000
