import os
import stat

import numpy as np
import pytest
from conftest import learnable_faces

from emoj_lib.cards import file_sha256
from emoj_lib.journal import Entry, Journal
from emoj_lib.labels import EMOTIONS
from emoj_lib.personal import PersonalizationError, current_model, journal_model, personal_versions, personalize
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
    second = personalize(journal, base_model=result.model_path, config=config, replay_data=replay)
    assert second.card["base_model"]["path"].endswith("personal-v1.keras")
    assert [v for v, _ in personal_versions(journal.folder)] == [1, 2]
    assert np.isfinite(Recognizer(second.model_path).predict(faces.images[:3])).all()
