import keras
import numpy as np
import pytest

from emoj_lib.cards import ModelCardError, preprocessing, read_card, write_card
from emoj_lib.distill import distill, soft_targets
from emoj_lib.ensemble import Ensemble
from emoj_lib.faces import CropOptions
from emoj_lib.inference import predict_proba


def constant(k):
    def model(x):
        p = np.zeros((len(x), 7), np.float32)
        p[:, k] = 1
        return p
    return model


def test_ensemble_averages_with_weights():
    faces = np.zeros((3, 48, 48), np.uint8)
    p = predict_proba(Ensemble([constant(0), constant(3)]), faces)
    np.testing.assert_allclose(p[:, [0, 3]], 0.5)
    p = predict_proba(Ensemble([constant(0), constant(3)], weights=[3, 1]), faces)
    np.testing.assert_allclose(p[0, [0, 3]], [0.75, 0.25])
    with pytest.raises(ValueError, match="weights"):
        Ensemble([constant(0)], weights=[1, 2])
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


@pytest.fixture
def second_model(tmp_path):
    from emoj_lib.models import build_model

    model = build_model("emojnet", width=4, depth=1, dense=8)
    path = tmp_path / "second.keras"
    model.save(path)
    write_card(path, {"labels": read_card_labels(), "name": "second"})
    return path


def read_card_labels():
    from emoj_lib.labels import EMOTIONS

    return list(EMOTIONS)


def test_recognizer_over_several_models(tiny_model, second_model, learnable):
    from emoj_lib.recognizer import Recognizer

    faces = learnable.images[:6]
    a, b = Recognizer(tiny_model).predict(faces), Recognizer(second_model).predict(faces)
    both = Recognizer([tiny_model, second_model])
    np.testing.assert_allclose(both.predict(faces), (a + b) / 2, atol=1e-5)
    assert both.backend == "keras" and "second" in both.name
    card = read_card(second_model)
    card["input"] = {"preprocessing": preprocessing(crop=CropOptions(margin=0.3))}
    write_card(second_model, card)
    with pytest.raises(ModelCardError, match="fed differently"):
        Recognizer([tiny_model, second_model])


def test_evaluate_command_reports_the_ensemble(tiny_model, second_model, learnable, tmp_path):
    import json

    from emoj_lib.cli import main
    from emoj_lib.data import write_fer_csv
    from emoj_lib.evaluation import confusion_matrix
    from emoj_lib.recognizer import Recognizer

    csv = write_fer_csv(tmp_path / "faces.csv", learnable.images, learnable.labels, learnable.usage)
    assert main(["evaluate", str(tiny_model), str(second_model), "--fer", str(csv), "--split", "PrivateTest",
                 "--no-tta", "--out", str(tmp_path / "rep")]) == 0
    report = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    test = learnable.split("PrivateTest")
    a, b = Recognizer(tiny_model).predict(test.images), Recognizer(second_model).predict(test.images)
    expected = confusion_matrix(test.labels, (a + b) / 2).to_dict(orient="index")
    assert expected != confusion_matrix(test.labels, a).to_dict(orient="index")  # the test can tell them apart
    assert report["splits"]["PrivateTest"]["confusion"] == expected
    assert "second" in report["model"]


def test_soft_targets_soften_and_mix():
    def model(x):
        p = np.full((len(x), 7), 0.02, np.float32)
        p[:, 3] = 0.88
        return p

    faces = np.zeros((4, 48, 48), np.uint8)
    t1 = soft_targets(model, faces, tta="none")
    t3 = soft_targets(model, faces, temperature=3.0, tta="none")
    np.testing.assert_allclose(t3.sum(axis=1), 1, rtol=1e-5)
    assert t3[0, 3] < t1[0, 3] and t3[0, 3] == t3.max()
    mixed = soft_targets(model, faces, tta="none", labels=np.array([0, 0, 0, 0]), label_weight=0.5)
    assert mixed[0, 0] == pytest.approx(0.5 + 0.5 * 0.02)
    with pytest.raises(ValueError, match="needs labels"):
        soft_targets(model, faces, label_weight=0.5)


def band_teacher(x):
    """A teacher that knows the learnable faces' rule: the emotion is the bright band's row // 6."""
    k = np.clip(x[..., 0].mean(axis=2).argmax(axis=1) // 6, 0, 6)
    p = np.full((len(x), 7), 0.05, np.float32)
    p[np.arange(len(x)), k] = 0.7
    return p


def test_distill_a_student_from_a_teacher_ensemble(learnable, tmp_path):
    from emoj_lib.models import build_model

    teacher = Ensemble([band_teacher, band_teacher])
    train, test = learnable.split("Training"), learnable.split("PrivateTest")
    assert (predict_proba(teacher, test.images).argmax(1) == test.labels).mean() == 1.0
    keras.utils.set_random_seed(0)  # the student's first weights (agreement over seeds 0-5: 0.43-0.80)
    student = build_model("emojnet", width=8, depth=2, dense=32, bn_momentum=0.8)
    before = (predict_proba(student, test.images).argmax(1) == test.labels).mean()
    result = distill(teacher, student, train, learnable.split("PublicTest"), run_dir=tmp_path / "s", epochs=10,
                     learning_rate=5e-3, temperature=2.0, label_weight=0.0, batch_size=32, verbose=0)
    assert result.targets.shape == (len(train), 7) and len(result.history) == 10
    np.testing.assert_allclose(result.targets.max(axis=1), result.targets[0].max())  # softened, not one-hot
    assert result.targets.max() < 0.7
    agree = (predict_proba(result.model, test.images).argmax(1) == predict_proba(teacher, test.images).argmax(1))
    assert agree.mean() >= 0.35 and agree.mean() > before + 0.15  # chance 1/7: it learns the rule, no label seen


def test_train_student_from_model_files_keeps_its_card_and_resumes(learnable, tiny_model, tmp_path, monkeypatch):
    import sys

    from emoj_lib.cards import read_card
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.distill import DistillConfig, train_student
    from emoj_lib.errors import RunFolderError

    config = DistillConfig(epochs=2, learning_rate=1e-3, batch_size=32, augmentation=Augmentation.none())
    result = train_student([tiny_model, tiny_model], config, init=tiny_model, fer=learnable,
                           run_dir=tmp_path / "d", verbose=0)
    card = read_card(result.model_path)
    training = card["training"]
    assert training["method"] == "distillation" and len(training["teachers"]) == 2 and training["tta"] == "tencrop"
    assert training["init"]["path"] == str(tiny_model) and training["epochs_run"] == 2
    assert card["data"]["selection_split"] == "PublicTest" and "PrivateTest" in card["metrics"]
    targets = np.load(tmp_path / "d" / "targets.npy")
    assert targets.shape == (210, 7) and np.allclose(targets.sum(axis=1), 1, atol=1e-5)

    def no_teacher(*args, **kwargs):
        raise AssertionError("the targets of a resumed run are read back, not computed again")

    distill_module = sys.modules["emoj_lib.distill"]  # the package's distill is the function
    monkeypatch.setattr(distill_module, "teacher_probabilities", no_teacher)
    again = train_student([tiny_model, tiny_model], config, init=tiny_model, fer=learnable,
                          run_dir=tmp_path / "d", verbose=0)
    assert len(again.history) == 2
    with pytest.raises(RunFolderError, match="temperature"):
        train_student([tiny_model], DistillConfig(epochs=2, temperature=3.0), fer=learnable, run_dir=tmp_path / "d")


def test_students_of_the_same_teachers_share_their_probabilities(learnable, tiny_model, second_model, tmp_path):
    from emoj_lib.cards import load_model
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.distill import TEACHER_CACHE, DistillConfig, soften, taught_faces, train_student
    from emoj_lib.training import TrainConfig, stage1_data

    config = DistillConfig(epochs=1, batch_size=32, augmentation=Augmentation.none(), tta="flip")
    train_student([tiny_model, second_model], config, init=tiny_model, fer=learnable, run_dir=tmp_path / "a",
                  verbose=0)
    faces = taught_faces(stage1_data(learnable, TrainConfig())["train"], config.label_weight)
    teacher = Ensemble([load_model(tiny_model)[0], load_model(second_model)[0]])
    expected = soft_targets(teacher, faces.images, temperature=2.0, tta="flip", labels=faces.labels,
                            label_weight=0.3)
    np.testing.assert_allclose(np.load(tmp_path / "a" / "targets.npy"), expected, atol=1e-5)  # the ensemble's
    cached = sorted((tmp_path / TEACHER_CACHE).iterdir())
    assert len(cached) == 2 and all(f.suffix == ".npy" and ".part" not in f.name for f in cached)

    planted = np.zeros((len(faces), 7), np.float32)
    planted[:, 2] = 1  # what a student taught from the cache would learn, whatever the teachers say
    for f in cached:
        np.save(f, planted)
    hotter = DistillConfig(epochs=1, batch_size=32, augmentation=Augmentation.none(), tta="flip", temperature=3.0)
    train_student([tiny_model, second_model], hotter, init=tiny_model, fer=learnable, run_dir=tmp_path / "b",
                  verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "b" / "targets.npy"),
                               soften(planted, temperature=3.0, labels=faces.labels, label_weight=0.3), atol=1e-6)
    ten = DistillConfig(epochs=1, batch_size=32, augmentation=Augmentation.none(), tta="none")
    train_student([tiny_model], ten, init=tiny_model, fer=learnable, run_dir=tmp_path / "c", verbose=0)
    assert len(list((tmp_path / TEACHER_CACHE).iterdir())) == 3  # another augmentation is another reading


def test_train_student_of_another_shape_records_its_own(learnable, tiny_model, tmp_path):
    from emoj_lib.cards import load_model, read_card
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.distill import DistillConfig, train_student

    config = DistillConfig(epochs=1, batch_size=32, augmentation=Augmentation.none(), tta="none",
                           architecture="emojnet", hyperparameters={"width": 4, "depth": 2, "dense": 16})
    result = train_student([tiny_model], config, fer=learnable, run_dir=tmp_path / "narrow", verbose=0)
    card, teacher_card = read_card(result.model_path), read_card(tiny_model)
    assert card["hyperparameters"]["width"] == 4 and teacher_card["hyperparameters"]["width"] == 8
    assert card["parameters"] == result.model.count_params() < teacher_card["parameters"]
    assert load_model(result.model_path)[0].count_params() == card["parameters"]  # the card rebuilds this model
    import keras

    assert getattr(keras.saving.load_model(result.model_path), "optimizer", None) is None  # weights only
    assert card["training"]["hyperparameters"] == {"width": 4, "depth": 2, "dense": 16}
    # only the width given: the rest of the teacher's shape is kept
    wider = train_student([tiny_model], DistillConfig(epochs=1, batch_size=32, tta="none",
                                                      augmentation=Augmentation.none(), hyperparameters={"width": 6}),
                          fer=learnable, run_dir=tmp_path / "wider", verbose=0)
    shape = read_card(wider.model_path)["hyperparameters"]
    assert shape["width"] == 6 and shape["depth"] == teacher_card["hyperparameters"]["depth"] == 2
    with pytest.raises(ValueError, match="init"):
        train_student([tiny_model], config, init=tiny_model, fer=learnable, run_dir=tmp_path / "both")


def test_evaluate_command_compares_with_another_model_on_the_same_faces(tiny_model, second_model, learnable,
                                                                        tmp_path, capsys):
    import json

    from emoj_lib.cli import main
    from emoj_lib.data import write_fer_csv
    from emoj_lib.evaluation import paired_comparison
    from emoj_lib.recognizer import Recognizer

    csv = write_fer_csv(tmp_path / "faces.csv", learnable.images, learnable.labels, learnable.usage)
    assert main(["evaluate", str(tiny_model), "--against", str(second_model), "--fer", str(csv), "--split",
                 "PrivateTest", "--no-tta", "--out", str(tmp_path / "rep")]) == 0
    row = json.loads((tmp_path / "rep" / "metrics.json").read_text())["table"]["PrivateTest"]
    test = learnable.split("PrivateTest")
    right = Recognizer(tiny_model).predict(test.images).argmax(1) == test.labels
    base = Recognizer(second_model).predict(test.images).argmax(1) == test.labels
    assert (right != base).any()  # the test can tell them apart
    expected = paired_comparison(right, base)
    assert (row["vs_gained"], row["vs_lost"]) == (expected["gained"], expected["lost"])
    assert row["vs_accuracy"] == pytest.approx(base.mean()) and row["accuracy"] == pytest.approx(right.mean())
    assert "exact McNemar" in capsys.readouterr().out
