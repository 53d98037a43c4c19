import os
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import journal_entry, learnable_faces

from emoj_lib.cards import file_sha256
from emoj_lib.journal import Entry, Journal
from emoj_lib.labels import EMOTIONS
from emoj_lib.personal import (
    PersonalizationError,
    current_model,
    forget_entry,
    journal_model,
    models_made_from,
    personal_models_dir,
    personal_versions,
    personalize,
)
from emoj_lib.personal.finetune import install_model
from emoj_lib.recognizer import Recognizer, default_model_path
from emoj_lib.transfer import TransferConfig


def _fill(journal, faces, rec, labelled):
    proba = rec.predict(faces.images)
    for i, (img, p) in enumerate(zip(faces.images, proba, strict=True)):
        entry = journal.append(Entry(img, (0, 0, 48, 48), p, "webcam", "tiny", "1"))
        if i < labelled:
            journal.amend(entry.entry_id, label=EMOTIONS[faces.labels[i]])


def test_personalisation_versions_and_refusal(tmp_path, tiny_model, rng, monkeypatch):
    monkeypatch.setenv("EMOJ_MODEL", str(tiny_model))
    old = os.umask(0)  # owner-only whatever the umask
    try:
        _personalise_twice(tmp_path, tiny_model, rng)
    finally:
        os.umask(old)


def _personalise_twice(tmp_path, tiny_model, rng):
    journal = Journal(tmp_path / "journal", fsync=False)
    assert current_model(journal.folder) == default_model_path()
    rec = Recognizer(tiny_model)
    faces = learnable_faces(rng, 140, "Journal", transpose=True)  # a kind of face the model never saw
    _fill(journal, faces, rec, labelled=10)
    with pytest.raises(PersonalizationError, match=r"only 10 labelled journal entries.*at least 20"):
        personalize(journal, base_model=tiny_model)
    _fill(journal, learnable_faces(rng, 130, "Journal", transpose=True), rec, labelled=130)
    config = TransferConfig(head_epochs=2, fine_tune_epochs=8, head_learning_rate=3e-3, batch_size=16,
                            fine_tune_learning_rate=3e-3, unfreeze_blocks=2, holdout=0.25, validation=0, replay=50)
    replay = learnable_faces(rng, 70, "Training")
    result = personalize(journal, base_model=tiny_model, config=config, replay_data=replay)
    assert result.model_path == journal.folder / "models" / "personal-v1.keras"
    assert result.card["stage"] == 3 and result.card["version"] == 1 and result.card["data"]["replay_faces"] == 50
    assert result.card["data"]["faces"] == 140
    assert {"accuracy", "macro_f1"} <= set(result.after["holdout"])  # the gain itself: bench_personalize.py
    assert stat.S_IMODE(result.model_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((journal.folder / "models").stat().st_mode) == 0o700
    assert current_model(journal.folder) == result.model_path
    choice = result.card["choice"]
    assert set(choice["accuracy"]) == {"base", "base+adapter", "finetuned", "finetuned+adapter"}
    assert choice["accuracy"][choice["chosen"]] == max(choice["accuracy"].values())
    assert choice["holdout_faces"] == 35 and choice["adapter_faces"] == 105
    assert choice["accuracy"]["finetuned"] == pytest.approx(result.after["holdout"]["accuracy"], abs=1e-4)
    assert result.card["model_sha256"] == file_sha256(result.model_path)
    assert not list((journal.folder / "models").glob(".install-*"))
    for path in (journal.folder / "models").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    model_now, _ = journal_model(journal.folder)
    assert (model_now == result.model_path) == choice["use_finetuned"]
    entries = journal.read(pixels=False).entries
    labelled = entries.index[entries["user_label"].notna()]
    assert result.card["entries"] == list(labelled)  # the entries version 1 was made from
    journal.amend(labelled[0], label=None)  # version 2 is made from version 1, so from this entry too
    second = personalize(journal, base_model=result.model_path, config=config, replay_data=replay)
    assert second.card["base_model"]["path"].endswith("personal-v1.keras")
    assert [v for v, _ in personal_versions(journal.folder)] == [1, 2]
    assert set(second.card["entries"]) == set(labelled) and second.card["data"]["faces"] == 139
    assert np.isfinite(Recognizer(second.model_path).predict(faces.images[:3])).all()
    unlabelled = entries.index[entries["user_label"].isna()][0]
    assert journal.delete(unlabelled) == [] and len(personal_versions(journal.folder)) == 2
    assert journal.delete(labelled[0]) == [result.model_path, second.model_path]
    assert personal_versions(journal.folder) == [] and not (journal.folder / "models" / "runs" / "personal-v1").exists()
    assert current_model(journal.folder) == default_model_path()


def _version(journal, version: int, **card) -> Path:
    """Install a stand-in personal version (any bytes: only its card is read) with a run folder."""
    models = personal_models_dir(journal.folder)
    models.mkdir(exist_ok=True)
    (models / "runs" / f"personal-v{version}").mkdir(parents=True)
    (models / "runs" / f"personal-v{version}" / "best.weights.h5").write_bytes(b"weights")
    weights = models / "stand-in"
    weights.write_bytes(b"model %d" % version)
    return install_model(weights, {"stage": 3, "version": version, **card}, models / f"personal-v{version}.keras")


def test_deleting_an_entry_removes_the_versions_made_from_it(tmp_path, rng):
    journal = Journal(tmp_path / "journal", fsync=False)
    a, b, c, d = (journal.append(journal_entry(rng)).entry_id for _ in range(4))
    v1 = _version(journal, 1, entries=[a])
    v2 = _version(journal, 2, entries=[a, b])
    v3 = _version(journal, 3)  # a card from before the list: made from every entry, as far as anyone knows
    assert models_made_from(journal.folder, b) == [v2, v3] and models_made_from(journal.folder, "x") == [v3]
    with pytest.raises(KeyError, match="no entry 'x'"):
        journal.delete("x")
    assert [p for _, p in personal_versions(journal.folder)] == [v1, v2, v3]  # nothing changed
    assert journal.delete(c) == [v3] and [p for _, p in personal_versions(journal.folder)] == [v1, v2]
    assert journal.delete(d) == []
    assert journal.delete(b) == [v2]
    assert not v2.with_suffix(".json").exists() and not (v2.parent / "runs" / "personal-v2").exists()
    assert (v1.parent / "runs" / "personal-v1" / "best.weights.h5").is_file()
    assert journal_model(journal.folder)[0] == v1
    assert forget_entry(journal.folder, a) == [v1] and personal_versions(journal.folder) == []
