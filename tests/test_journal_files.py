"""Journal files on disk: ownership, modes, symbolic links, OS errors, photos, crash leftovers, strict rows."""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from conftest import journal_entry
from PIL import Image

from emoj_lib.errors import EmojError, ImageReadError, StorageError, UnsafeFileError
from emoj_lib.journal import (
    Entry,
    Journal,
    JournalWarning,
    LeftoverNotice,
    PermissionNotice,
    make_private,
    private_dir,
    read_journal,
    secure_open,
    write_private,
)

TZ = timezone(timedelta(hours=3))
OTHER_UID = 54321


def make_entry(rng: np.random.Generator, **kw) -> Entry:
    return journal_entry(rng, **({"source": "camera", "timestamp": datetime(2025, 6, 1, 8, 0, tzinfo=TZ)} | kw))


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def journal(tmp_path, rng) -> Journal:
    j = Journal.create(tmp_path / "j", fsync=False)
    j.append(make_entry(rng))
    return j


# ------------------------------------------------------------------------------------- existing files

def test_loose_modes_of_own_files_are_tightened_with_a_notice(journal, rng):
    os.chmod(journal.path, 0o644)
    os.chmod(journal.folder, 0o755)
    with pytest.warns(PermissionNotice, match=r"journal.csv was readable by other users \(mode 644\)"):
        Journal.open(journal.folder).read()
    assert mode(journal.path) == 0o600 and mode(journal.folder) == 0o700
    os.chmod(journal.folder, 0o755)
    with pytest.warns(PermissionNotice, match="mode 755"):
        Journal(journal.folder, fsync=False).append(make_entry(rng))
    assert mode(journal.folder) == 0o700


@pytest.mark.parametrize("target", ["file", "folder"])
def test_writable_by_others_is_refused(journal, rng, target):
    path = journal.path if target == "file" else journal.folder
    os.chmod(path, 0o666 if target == "file" else 0o777)
    before = journal.path.read_bytes()
    with pytest.raises(UnsafeFileError, match=f"{path} is writable by every user.*chmod"):
        Journal(journal.folder).append(make_entry(rng))
    os.chmod(journal.folder, 0o700)
    assert journal.path.read_bytes() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
@pytest.mark.parametrize("target", ["file", "folder"])
def test_not_owned_is_refused(journal, rng, target):
    os.chmod(journal.path, 0o666)  # the planted file of issue 10: another user's, writable by all
    os.chmod(journal.path, 0o600)
    os.chown(journal.path if target == "file" else journal.folder, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafeFileError, match="belongs to another user"):
        Journal(journal.folder).append(make_entry(rng))
    with pytest.raises(UnsafeFileError, match="belongs to another user"):
        read_journal(journal.folder)


@pytest.mark.parametrize("existing", [False, True])
def test_symlinked_journal_file_is_never_followed(tmp_path, rng, existing):
    folder = tmp_path / "j"
    folder.mkdir(mode=0o700)
    target = tmp_path / "elsewhere.csv"
    if existing:
        target.write_bytes(b"")
        target.chmod(0o644)
    (folder / "journal.csv").symlink_to(target)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        Journal(folder).append(make_entry(rng))
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        Journal.open(folder)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        read_journal(folder)
    assert target.exists() == existing
    if existing:
        assert target.read_bytes() == b"" and mode(target) == 0o644


def test_symlinked_photos_folder_is_refused(journal, tmp_path, rng):
    elsewhere = tmp_path / "public"
    elsewhere.mkdir()
    (journal.folder / "photos").symlink_to(elsewhere)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        journal.append(make_entry(rng), photo=rng.integers(0, 256, (8, 8), dtype=np.uint8))
    assert not list(elsewhere.iterdir())


def test_a_planted_photo_link_is_replaced_not_followed(journal, tmp_path, rng):
    e = make_entry(rng)
    (journal.folder / "photos").mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (journal.folder / "photos" / f"{e.entry_id}.png").symlink_to(victim)
    journal.append(e, photo=rng.integers(0, 256, (8, 8), dtype=np.uint8))
    assert victim.read_bytes() == b"keep"
    assert not journal.photo_path(e.entry_id).is_symlink()


def test_private_helpers_are_owner_only_under_umask_000(tmp_path):
    old = os.umask(0)
    try:
        runs = private_dir(tmp_path / "j" / "models" / "runs" / "personal-v1")
        model = write_private(runs / "model.keras", b"weights")
        fd = secure_open(runs / "log.txt", os.O_WRONLY | os.O_CREAT)
        os.close(fd)
        other = runs / "made-by-keras"
        other.mkdir()
        (other / "variables.h5").write_bytes(b"x")
        make_private(other)
    finally:
        os.umask(old)
    for folder in (tmp_path / "j", tmp_path / "j" / "models", runs, other):
        assert mode(folder) == 0o700, folder
    for f in (model, runs / "log.txt", other / "variables.h5"):
        assert mode(f) == 0o600, f
    assert not list(runs.glob(".*.tmp"))


# ------------------------------------------------------------------------------------------- OS errors

def test_full_disk_is_one_line_naming_the_path(journal, rng, monkeypatch):
    before = journal.path.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StorageError, match=rf"cannot write {journal.path}: the disk is full") as info:
        journal.append(make_entry(rng))
    assert "\n" not in str(info.value) and isinstance(info.value, EmojError)
    monkeypatch.undo()
    assert journal.path.read_bytes() == before


def test_reading_opens_for_reading_only(journal, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *args, **kw):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", read_only)
    assert len(Journal.open(journal.folder).read()) == 1
    with pytest.raises(StorageError, match="read-only: use a writable journal folder"):
        journal.amend(journal.read().entries.index[0], note="x")


def test_a_folder_where_the_file_should_be(tmp_path, rng):
    (tmp_path / "journal.csv").mkdir()
    with pytest.raises(EmojError, match=r"journal.csv.*folder") as info:
        Journal(tmp_path).append(make_entry(rng))
    assert "\n" not in str(info.value)
    with pytest.raises(UnsafeFileError, match="is a folder"):
        read_journal(tmp_path / "journal.csv")


# ---------------------------------------------------------------------------------------------- photos

def exif_jpeg() -> bytes:
    image = Image.new("RGB", (40, 20), (200, 10, 10))
    image.paste((10, 200, 10), (0, 0, 10, 20))  # a green stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    exif[0x010F] = "SecretCam"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif, comment=b"my secret comment")
    return buf.getvalue()


def test_kept_photos_are_upright_and_without_metadata(journal, rng):
    data = exif_jpeg()
    assert b"SecretCam" in data and b"my secret comment" in data
    e = journal.append(make_entry(rng), photo=data)
    kept = journal.photo_path(e.entry_id)
    raw = kept.read_bytes()
    assert kept.suffix == ".jpg" and b"Exif" not in raw and b"SecretCam" not in raw and b"secret comment" not in raw
    with Image.open(kept) as image:
        assert image.size == (20, 40)  # orientation applied to the pixels
        assert not image.getexif() and "comment" not in image.info
        assert image.getpixel((10, 2))[1] > 150  # the left stripe is now at the top
    assert mode(kept) == 0o600


@pytest.mark.parametrize(("photo", "message"), [(b"GIF89a" + b"\0" * 20, "not a JPEG or PNG"),
                                              (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "damaged PNG"),
                                              ("fifo", r"camera\.jpg: not a regular file")])
def test_bad_photos_write_nothing(journal, rng, tmp_path, photo, message):
    if photo == "fifo":
        photo = tmp_path / "camera.jpg"
        os.mkfifo(photo)
    before = journal.path.read_bytes()
    with pytest.raises(ImageReadError, match=message):
        journal.append(make_entry(rng), photo=photo)
    assert journal.path.read_bytes() == before
    assert not list((journal.folder / "photos").glob("*")) if (journal.folder / "photos").exists() else True


# ----------------------------------------------------------------------------------------- leftovers

def test_crash_leftovers_are_cleaned_when_next_opened_for_writing(journal, rng):
    kept = journal.append(make_entry(rng), photo=rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    photos = journal.folder / "photos"
    orphan = photos / f"{'a' * 32}.jpg"  # the photo was saved, the row never written
    orphan.write_bytes(b"\xff\xd8\xff pixels of a face")
    partial = photos / f".{'b' * 32}.png.1234abcd.tmp"
    partial.write_bytes(b"half a photo")
    half_rewrite = journal.folder / ".journal.csv.5678abcd.tmp"
    half_rewrite.write_bytes(b"a delete interrupted")
    with pytest.warns(LeftoverNotice, match="removed 3 file"):
        Journal(journal.folder, fsync=False).append(make_entry(rng))
    assert not orphan.exists() and not partial.exists() and not half_rewrite.exists()
    assert journal.photo_path(kept.entry_id) is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeftoverNotice)
        Journal(journal.folder, fsync=False).append(make_entry(rng))  # nothing left to clean


@pytest.mark.parametrize("cut_in", ["pixels", "note"])
def test_the_photo_of_a_row_cut_short_by_a_crash_is_removed(journal, rng, cut_in):
    """A writer killed mid-row leaves its photo and part of its row; reading skips the row, so the photo goes."""
    photo = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    kept = journal.append(make_entry(rng), photo=photo)
    fake = f'"a note\nentry,{kept.entry_id},quoted, not a row"'  # a row start inside a quoted note
    cut = journal.append(make_entry(rng, note=fake[1:-1]), photo=photo)
    raw = journal.path.read_bytes()
    row = raw.rindex(b"\nentry," + cut.entry_id.encode()) + 1
    at = raw.index(b"not a row", row) if cut_in == "note" else row + len(raw[row:]) // 2
    journal.path.write_bytes(raw[:at])  # what SIGKILL mid-write leaves (the kept photo is already on disk)
    with pytest.warns(LeftoverNotice, match="removed 1 file"):
        again = Journal(journal.folder, fsync=False)
        again.append(make_entry(rng))
    assert again.photo_path(cut.entry_id) is None and again.photo_path(kept.entry_id) is not None
    assert cut.entry_id not in again.read().entries.index


def test_a_failed_row_write_removes_its_photo(journal, rng, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:10]))
    with pytest.raises(OSError, match="short write"):
        journal.append(make_entry(rng), photo=rng.integers(0, 256, (8, 8), dtype=np.uint8))
    monkeypatch.undo()
    assert not [p for p in (journal.folder / "photos").iterdir()]
    assert len(journal.read(on_error="raise")) == 1


# ------------------------------------------------------------------------------------ strict row checks

@pytest.mark.parametrize(("change", "field", "message"), [
    ("2303", "pixels", "2303 values"),
    ("999", "pixels", "is 999, out of range 0..255"),
    ("negative", "p_sad", "not a probability"),
    ("sum", "p_angry", "do not sum to 1"),
])
def test_rows_are_read_as_strictly_as_written(journal, rng, change, field, message):
    e = make_entry(rng)
    fields = e.to_row().decode().rstrip("\n").split(",")
    if change == "2303":
        fields[-1] = fields[-1].rsplit(" ", 1)[0]
    elif change == "999":
        fields[-1] = "999 " + fields[-1].split(" ", 1)[1]
    elif change == "negative":
        fields[14] = "-0.1"  # p_sad
    else:
        fields[10:17] = ["0.5"] * 7
    with open(journal.path, "a") as fh:
        fh.write(",".join(fields) + "\n")
    with pytest.warns(JournalWarning, match=message):
        data = journal.read()
    assert e.entry_id not in data.entries.index and len(data.entries) == 1
    assert data.problems[["line", "field"]].values.tolist() == [[4, field]]
