import errno
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from emoj_lib.cards import ModelCardError, load_model, read_card, write_card
from emoj_lib.data.pipeline import Augmentation, TrainingBatches, make_dataset
from emoj_lib.errors import RunFolderError, StorageError
from emoj_lib.models import build_model
from emoj_lib.training import TrainConfig, cosine_schedule, fit_model, read_log, resume_epoch, train_stage1

SMALL = {"width": 8, "depth": 2, "dense": 32}


def test_stage1_end_to_end(tmp_path, learnable):
    config = TrainConfig(hyperparameters=SMALL, epochs=2, batch_size=32, learning_rate=3e-3,
                         augmentation=Augmentation.none(), patience=None, seed=3)
    result = train_stage1(config, fer=learnable, run_dir=tmp_path / "run", verbose=0)
    assert result.model_path.is_file() and (tmp_path / "run" / "model.json").is_file()
    assert list(result.history.epoch) == [0, 1]
    assert set(result.metrics.index) == {"Training", "PublicTest", "PrivateTest"}
    card = read_card(result.model_path)
    for key in ("architecture", "hyperparameters", "data", "labels", "input", "training", "metrics", "date",
                "git_commit", "versions"):
        assert key in card
    assert card["data"]["train_faces"] == 210 and card["data"]["selection_split"] == "PublicTest"
    assert card["training"]["epochs_run"] == 2 and card["hyperparameters"]["width"] == 8
    assert card["metrics"]["PrivateTest"]["n"] == 70
    model, _card2 = load_model(result.model_path)
    x = learnable.images[:16, :, :, None].astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(result.model(x)), atol=1e-5)
    # the same folder with another configuration is refused
    with pytest.raises(ValueError, match="another configuration"):
        train_stage1(TrainConfig(hyperparameters=SMALL, epochs=3), fer=learnable, run_dir=tmp_path / "run")


def test_training_learns_and_is_seeded(tmp_path, learnable):
    train = learnable.split("Training")
    val = learnable.split("PublicTest")

    def run(name):
        keras.utils.set_random_seed(5)
        model = build_model("emojnet", **SMALL)
        ds = TrainingBatches(train.images, train.labels, batch_size=32, seed=5)
        vds = make_dataset(val.images, val.labels, batch_size=64)
        return fit_model(model, ds, vds, run_dir=tmp_path / name, epochs=4, learning_rate=3e-3, verbose=0)

    a, b = run("a"), run("b")
    assert a["accuracy"].iloc[-1] > 0.35 and a["loss"].iloc[-1] < a["loss"].iloc[0]  # chance is 1/7
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-4)


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


class Starts(TrainingBatches):
    """Training batches that record the epoch each stream starts at."""

    starts: list

    def stream(self, start_epoch=0):
        self.starts.append(start_epoch)
        return super().stream(start_epoch)


def test_interrupted_run_resumes_from_last_epoch(tmp_path, learnable):
    train, val = learnable.split("Training"), learnable.split("PublicTest")
    ds = Starts(train.images, train.labels, batch_size=32, augment=Augmentation(), seed=1)
    ds.starts = []
    vds = make_dataset(val.images, val.labels, batch_size=64)
    kwargs = {"run_dir": tmp_path / "r", "epochs": 4, "learning_rate": 1e-3, "verbose": 0}
    keras.utils.set_random_seed(0)
    with pytest.raises(KeyboardInterrupt):
        fit_model(build_model("emojnet", **SMALL), ds, vds, callbacks=[Interrupt()], **kwargs)
    assert list(read_log(tmp_path / "r").epoch) == [0, 1]
    assert (tmp_path / "r" / "backup").exists() and resume_epoch(tmp_path / "r") == 2
    history = fit_model(build_model("emojnet", **SMALL), ds, vds, **kwargs)
    assert list(history.epoch) == [0, 1, 2, 3]
    assert ds.starts == [0, 2]  # the resumed run goes on with epoch 2's batches, not the first epoch's again
    assert history.learning_rate.iloc[3] == pytest.approx(cosine_schedule(4, 1e-3)(3), rel=1e-5)
    assert not (tmp_path / "r" / "backup").exists() and resume_epoch(tmp_path / "r") == 0
    # the same run without the interruption: the same batches, dropout masks and updates, so the same losses
    keras.utils.set_random_seed(0)
    plain = fit_model(build_model("emojnet", **SMALL), ds, vds, **{**kwargs, "run_dir": tmp_path / "plain"})
    np.testing.assert_allclose(history.loss, plain.loss, rtol=1e-5)


def test_a_run_killed_while_writing_its_records_resumes_from_whole_ones(tmp_path, learnable):
    train, val = learnable.split("Training"), learnable.split("PublicTest")
    ds = TrainingBatches(train.images, train.labels, batch_size=32, augment=Augmentation(), seed=1)
    vds = make_dataset(val.images, val.labels, batch_size=64)
    kwargs = {"epochs": 4, "learning_rate": 1e-3, "verbose": 0}
    keras.utils.set_random_seed(0)
    plain = fit_model(build_model("emojnet", **SMALL), ds, vds, run_dir=tmp_path / "plain", **kwargs)
    keras.utils.set_random_seed(0)
    with pytest.raises(KeyboardInterrupt):
        fit_model(build_model("emojnet", **SMALL), ds, vds, run_dir=tmp_path / "r", callbacks=[Interrupt()],
                  **kwargs)
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["backup", "best.weights.h5", "log.csv"]

    def killed(name):
        run = tmp_path / name
        shutil.copytree(tmp_path / "r", run)
        return run, run / "backup"

    # killed between the two renames of a swap: backup.old is the epoch before, backup.new is whole
    run, backup = killed("between-renames")
    shutil.copytree(backup, run / "backup.old")
    for f in ("training_metadata.json", "seed_states.json"):
        (run / "backup.old" / f).write_text((backup / f).read_text().replace('"epoch": 2', '"epoch": 1'))
    backup.replace(run / "backup.new")
    # killed while writing the next backup: backup.new is half written, backup is whole
    run2, backup2 = killed("half-written")
    (run2 / "backup.new").mkdir()
    (run2 / "backup.new" / "latest.weights.h5").write_bytes((backup2 / "latest.weights.h5").read_bytes()[:500])
    # killed while appending to the log: its last line is cut short
    run3, _ = killed("torn-log")
    with open(run3 / "log.csv", "ab") as f:
        f.write(b"2,0.41,0.0009")
    for folder in (run, run2, run3):
        keras.utils.set_random_seed(123)  # the resumed run restores its own random states
        history = fit_model(build_model("emojnet", **SMALL), ds, vds, run_dir=folder, **kwargs)
        assert list(history.epoch) == [0, 1, 2, 3], folder.name
        np.testing.assert_allclose(history.loss, plain.loss, rtol=1e-5, err_msg=folder.name)
        assert sorted(p.name for p in folder.iterdir()) == ["best.weights.h5", "log.csv"], folder.name


def test_a_backup_that_cannot_be_read_is_named(tmp_path, learnable):
    train, val = learnable.split("Training"), learnable.split("PublicTest")
    ds = TrainingBatches(train.images, train.labels, batch_size=32, seed=1)
    vds = make_dataset(val.images, val.labels, batch_size=64)
    kwargs = {"run_dir": tmp_path / "r", "epochs": 3, "learning_rate": 1e-3, "verbose": 0}
    with pytest.raises(KeyboardInterrupt):
        fit_model(build_model("emojnet", **SMALL), ds, vds, callbacks=[Interrupt()], **kwargs)
    weights = tmp_path / "r" / "backup" / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])  # cut short by a kill before its writes were atomic
    with pytest.raises(RunFolderError, match=r"latest\.weights\.h5: cannot restore the backup of epoch 2"):
        fit_model(build_model("emojnet", **SMALL), ds, vds, **kwargs)


def test_a_full_disk_while_writing_a_backup_keeps_the_last_one(tmp_path, monkeypatch):
    from emoj_lib.checkpoints import _write, recover_backup

    model = build_model("emojnet", **SMALL)
    _write(model, tmp_path, 3)
    before = (tmp_path / "backup" / "latest.weights.h5").read_bytes()

    def full(path, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF")  # what a full disk leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model, "save_weights", full)
    with pytest.raises(StorageError, match=r"cannot write the training backup .*backup\.new: .*space"):
        _write(model, tmp_path, 4)
    recover_backup(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"] and resume_epoch(tmp_path) == 3
    assert (tmp_path / "backup" / "latest.weights.h5").read_bytes() == before


def test_cosine_schedule():
    f = cosine_schedule(10, 1e-3, 1e-5, warmup=2)
    assert f(0) < f(1) < f(2) == pytest.approx(1e-3)
    assert f(10) == pytest.approx(1e-5) and f(6) == pytest.approx((1e-3 + 1e-5) / 2)


def test_load_model_checks_card(tmp_path):
    model = build_model("emojnet", **SMALL)
    path = tmp_path / "m.keras"
    model.save(path)
    with pytest.raises(ModelCardError, match="no model card"):
        load_model(path)
    write_card(path, {"labels": ["happy", "sad"]})
    with pytest.raises(ModelCardError, match="label order"):
        load_model(path)
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(ModelCardError, match="not a valid model card"):
        load_model(path)
    other = build_model("emojnet", n_classes=3, **SMALL)
    other.save(tmp_path / "o.keras")
    write_card(tmp_path / "o.keras", {"labels": list(json.loads(json.dumps(
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])))})
    with pytest.raises(ModelCardError, match="3 outputs"):
        load_model(tmp_path / "o.keras")
