"""The journal's live adapter and the one rule for a journal's model (tiny model, generated faces)."""

import os
import shutil

import numpy as np
import pytest
from conftest import learnable_faces

from emoj_lib.cards import read_card, write_card
from emoj_lib.journal import Entry, Journal
from emoj_lib.labels import EMOTIONS
from emoj_lib.personal import (
    JournalAdapter,
    journal_model,
    journal_recognizer,
    reading_version,
    your_model,
)
from emoj_lib.recognizer import Recognizer, default_model_path


def _entries(faces, proba, labelled=True):
    return [Entry(img, (0, 0, 48, 48), p, "webcam", "tiny", "1",
                  user_label=EMOTIONS[y] if labelled else None)
            for img, p, y in zip(faces.images, proba, faces.labels, strict=True)]


def test_adapter_follows_saves_edits_and_deletes(tmp_path, tiny_model, rng):
    base = Recognizer(tiny_model)
    faces = learnable_faces(rng, 28, "Journal", transpose=True)  # a kind of face the model never saw
    probe = learnable_faces(rng, 14, "Journal", transpose=True).images
    journal = Journal(tmp_path / "j", fsync=False)
    rec = journal_recognizer(journal.folder, model_path=tiny_model)
    assert isinstance(rec.adapter, JournalAdapter)
    p_empty = rec.predict(probe)
    np.testing.assert_allclose(p_empty, base.predict(probe), atol=1e-5)  # nothing labelled: the base model
    assert reading_version(rec) == rec.model_version

    entries = _entries(faces, base.predict(faces.images))
    for e in entries[:14]:
        journal.append(e)
    p_saved = rec.predict(probe)  # no explicit refresh: the journal changed
    assert len(rec.adapter.faces.labels) == 14 and rec.adapter.adapter.active
    assert not np.allclose(p_saved, p_empty, atol=1e-3)
    assert reading_version(rec).endswith("+adapter-14")

    victim = entries[0]
    journal.amend(victim.entry_id, label="surprise" if victim.user_label != "surprise" else "fear")
    p_edited = rec.predict(probe)
    i = list(rec.adapter.faces.entry_ids).index(victim.entry_id)
    assert EMOTIONS[rec.adapter.faces.labels[i]] != victim.user_label
    assert not np.allclose(p_edited, p_saved, atol=1e-6)

    # a deletion: the journal file is replaced by one without the entry (as Journal.delete or a repair does)
    rebuilt = Journal(tmp_path / "rebuilt", fsync=False)
    for e in entries[1:14]:
        rebuilt.append(e)
    os.replace(rebuilt.path, journal.path)
    rec.predict(probe)
    assert victim.entry_id not in set(rec.adapter.faces.entry_ids)
    assert all(key[0] != victim.entry_id for key in rec.adapter._cache)
    assert len(rec.adapter.faces.labels) == 13

    journal.amend(entries[1].entry_id, label=None)  # un-labelling leaves it out too
    rec.predict(probe)
    assert len(rec.adapter.faces.labels) == 12


def test_your_model(tmp_path, tiny_model, rng):
    base = Recognizer(tiny_model)
    faces = learnable_faces(rng, 42, "Journal", transpose=True)
    journal = Journal(tmp_path / "j", fsync=False)
    for e in _entries(faces, base.predict(faces.images)):
        journal.append(e)
    journal.append(_entries(faces, base.predict(faces.images), labelled=False)[0])  # unlabelled: not counted
    view = your_model(journal.folder, journal_recognizer(journal.folder, model_path=tiny_model))
    assert view.labelled.sum() == 42 and (view.labelled == 6).all()
    assert len(view.curve) == 42 and list(view.curve["entries"]) == list(range(42))
    assert 0 <= view.base_accuracy <= 1 and 0 <= view.personal_accuracy <= 1
    assert view.personal_accuracy >= view.base_accuracy
    assert view.adapter["entries"] == 42 and view.adapter["method"] == "leave-one-out"
    assert view.curve["personal_accuracy"].iloc[-1] == pytest.approx(view.curve["personal_correct"].mean())


def _personal(folder, tiny_model, version, choice):
    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    dest = models / f"personal-v{version}.keras"
    shutil.copyfile(tiny_model, dest)
    card = dict(read_card(tiny_model), version=version)
    if choice is not None:
        card["choice"] = {"use_finetuned": choice}
    write_card(dest, card)
    return dest


def test_journal_model_rule(tmp_path, tiny_model, monkeypatch):
    monkeypatch.delenv("EMOJ_MODEL", raising=False)
    folder = tmp_path / "j"
    path, version = journal_model(folder)
    assert path == default_model_path() and version == read_card(default_model_path())["date"]
    monkeypatch.setenv("EMOJ_MODEL", str(tiny_model))
    assert journal_model(folder) == (tiny_model, read_card(tiny_model)["date"])
    v1 = _personal(folder, tiny_model, 1, None)  # a card from before the choice: used
    assert journal_model(folder) == (v1, "1")
    _personal(folder, tiny_model, 2, False)  # not chosen (the adapter did better): skipped
    assert journal_model(folder) == (v1, "1")
    v3 = _personal(folder, tiny_model, 3, True)
    assert journal_model(folder) == (v3, "3")
    assert journal_recognizer(folder).model_path == v3


def test_cli_predict_with_a_journal(tmp_path, tiny_model, rng, capsys):
    import json

    from PIL import Image
    from skimage import data as skdata

    from emoj_lib.cli import main

    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(skdata.astronaut()).save(photo)
    base = Recognizer(tiny_model)
    faces = learnable_faces(rng, 28, "Journal", transpose=True)
    journal = Journal(tmp_path / "j", fsync=False)
    for e in _entries(faces, base.predict(faces.images)):
        journal.append(e)
    assert main(["predict", str(photo), "--model", str(tiny_model), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["predict", str(photo), "--model", str(tiny_model), "--journal", str(journal.folder), "--json"]) == 0
    adapted = json.loads(capsys.readouterr().out)
    p0, p1 = (r[0]["faces"][0]["probabilities"] for r in (plain, adapted))
    assert p0 != p1  # the journal's adapter changed the reading


def test_your_model_view_shows_counts_accuracies_and_the_curve(tmp_path, tiny_model, rng):
    from emoj_lib.ui.yourmodel import YourModelView

    base = Recognizer(tiny_model)
    faces = learnable_faces(rng, 21, "Journal", transpose=True)
    journal = Journal(tmp_path / "j", fsync=False)
    rec = journal_recognizer(journal.folder, model_path=tiny_model)
    view = YourModelView(journal.folder, lambda: rec)
    view.refresh_if_shown()
    assert view.summary.value == ""  # nothing computed until asked for
    view.refresh()
    assert "Labelled so far: 0" in view.summary.value and view.curve.value == b""
    for e in _entries(faces, base.predict(faces.images)):
        journal.append(e)
    view.refresh()
    counts = np.bincount(faces.labels, minlength=7)
    row = "".join(f"<td style='padding:0 8px;text-align:center'>{c}</td>" for c in counts)
    assert row in view.summary.value and "leave-one-out" in view.summary.value
    assert bytes(view.curve.value).startswith(b"\x89PNG")
    ym = your_model(journal.folder, rec)
    assert f"{100 * ym.personal_accuracy:.0f} %" in view.summary.value
