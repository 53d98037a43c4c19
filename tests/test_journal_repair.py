"""Damaged journals: what the reader skips and reports, and what repair_journal rebuilds."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from conftest import journal_entry

from emoj_lib.errors import DataFormatError, DuplicateEntryError
from emoj_lib.journal import Entry, Journal, JournalWarning, read_journal, repair_journal

TZ = timezone(timedelta(hours=1))
HUGE = ('a "quoted", comma\nand a line break ' * 5000)  # 170,000 characters: over the csv module's field limit


def make_entry(rng: np.random.Generator, **kw) -> Entry:
    return journal_entry(rng, **({"timestamp": datetime(2025, 6, 1, 20, 0, tzinfo=TZ)} | kw))


@pytest.fixture
def filled(tmp_path, rng):
    journal = Journal.create(tmp_path / "j", fsync=False)
    made = [journal.append(make_entry(rng, note=f"note {i}, \"q\"\nline")) for i in range(4)]
    journal.amend(made[1].entry_id, label="happy")
    return journal, made


def quiet_read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JournalWarning)
        return read_journal(path, **kw)


def test_huge_fields_read_back(tmp_path, rng):
    journal = Journal.create(tmp_path, fsync=False)
    e = journal.append(make_entry(rng, note=HUGE, tags=["x" * 140_000]))
    journal.amend(e.entry_id, note=HUGE + "!")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = journal.read(on_error="raise").entries
    assert got.at[e.entry_id, "note"] == HUGE + "!" and got.at[e.entry_id, "tags"] == ("x" * 140_000,)


def test_appending_an_entry_twice_is_refused_before_writing(filled):
    journal, made = filled
    before = journal.path.read_bytes()
    with pytest.raises(DuplicateEntryError, match=made[0].entry_id):
        journal.append(made[0])
    with pytest.raises(DuplicateEntryError):
        Journal(journal.folder).append(made[2])  # a fresh object (a re-run notebook cell) too
    assert journal.path.read_bytes() == before
    assert len(journal.read(on_error="raise")) == 4


def _damage(journal: Journal, rng) -> tuple[Entry, Entry]:
    dup = make_entry(rng)
    good = make_entry(rng, note="after the damage")
    with open(journal.path, "ab") as fh:
        fh.write(b"garbage line one\n\x00\xff\xfe not utf-8\n")  # lines 12, 13
        fh.write(dup.to_row() + dup.to_row())  # lines 14, 15: the same entry twice (an old library allowed it)
        fh.write(good.to_row())  # line 16
        fh.write(b"entry,cut short")  # line 17, no line end
    return dup, good


def test_reader_skips_and_reports_damaged_rows_by_default(filled, rng):
    journal, made = filled
    dup, good = _damage(journal, rng)
    with pytest.warns(JournalWarning, match=r"4 row\(s\) skipped .* at line\(s\) 12, 13, 15, 17"):
        data = journal.read()
    assert list(data.entries.index) == [*(m.entry_id for m in made), dup.entry_id, good.entry_id]
    assert data.problems["kind"].tolist() == ["malformed", "malformed", "duplicate", "truncated"]
    with pytest.raises(DataFormatError, match="line 12"):
        journal.read(on_error="raise")


def test_repair_keeps_every_readable_row_and_a_backup(filled, rng):
    journal, made = filled
    dup, good = _damage(journal, rng)
    original = journal.path.read_bytes()
    report = repair_journal(journal.folder)
    assert report.changed and report.rows_kept == 7
    assert report.problems["line"].tolist() == [12, 13, 15, 17]
    assert report.backup.read_bytes() == original and report.backup.stat().st_mode & 0o077 == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = journal.read(on_error="raise")
    assert list(data.entries.index) == [*(m.entry_id for m in made), dup.entry_id, good.entry_id]
    assert data.entries.at[made[1].entry_id, "user_label"] == "happy"
    assert not repair_journal(journal.folder).changed  # nothing more to do
    journal.append(make_entry(rng))  # and the journal goes on
    journal.delete(dup.entry_id)  # a delete scrubs the backup too
    assert " ".join(map(str, dup.face.ravel())).encode() not in report.backup.read_bytes()


@pytest.mark.parametrize("damage", ["commas", "cut_version", "cut_header", "no_version", "bad_header", "crlf"])
def test_damaged_head_is_recoverable(filled, damage):
    journal, made = filled
    raw = journal.path.read_bytes()
    version, header, rows = raw.split(b"\n", 2)
    broken = {"commas": version + b"," * 30 + b"\n" + header + b"\n" + rows,
              "cut_version": version[:9],
              "cut_header": version + b"\n" + header[:40],
              "no_version": header + b"\n" + rows,
              "bad_header": version + b"\n" + header.replace(b"note", b"notes") + b"\n" + rows,
              "crlf": version + b"\r\n" + header + b"\r\n" + rows}[damage]
    journal.path.write_bytes(broken)
    report = repair_journal(journal.folder)
    data = quiet_read(journal.folder, on_error="raise")
    expected = [] if damage.startswith("cut") else [m.entry_id for m in made]
    assert list(data.entries.index) == expected
    assert report.backup is None or report.backup.read_bytes() == broken


def test_cut_head_reads_as_empty_and_is_written_again(tmp_path, rng):
    journal = Journal.create(tmp_path, fsync=False)
    journal.path.write_bytes(journal.path.read_bytes()[:25])  # a crash while the file was being created
    with pytest.warns(JournalWarning, match="cut short while being created"):
        assert len(journal.read()) == 0
    e = Journal(tmp_path, fsync=False).append(make_entry(rng))
    assert list(read_journal(tmp_path, on_error="raise").entries.index) == [e.entry_id]


def test_repair_refuses_what_is_not_a_journal_or_newer(tmp_path):
    (tmp_path / "journal.csv").write_text("emotion,pixels,Usage\n0,1 2 3,Training\n")
    with pytest.raises(DataFormatError, match="not an emoJ journal"):
        repair_journal(tmp_path)
    (tmp_path / "journal.csv").write_text("# emoj-journal v9\nwhatever\n")
    with pytest.raises(DataFormatError, match="newer"):
        repair_journal(tmp_path)
    assert (tmp_path / "journal.csv").read_text() == "# emoj-journal v9\nwhatever\n"
