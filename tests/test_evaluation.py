import numpy as np
import pandas as pd
import pytest

from emoj_lib.evaluation import (
    accuracy,
    classification_table,
    compare_models,
    confusion_matrix,
    macro_f1,
    split_metrics,
)
from emoj_lib.labels import EMOTIONS

Y_TRUE = np.array([0, 0, 0, 3, 3, 6, 6, 6, 6, 1])
Y_PRED = np.array([0, 0, 3, 3, 3, 6, 6, 4, 0, 1])


def test_accuracy_and_probabilities():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.7)
    proba = np.eye(7)[Y_PRED] * 0.9 + 0.1 / 7
    assert accuracy(Y_TRUE, proba) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="10 true labels for 3"):
        accuracy(Y_TRUE, Y_PRED[:3])


def test_classification_table_known_answers():
    t = classification_table(Y_TRUE, Y_PRED)
    assert t.loc["angry", "precision"] == pytest.approx(2 / 3)
    assert t.loc["angry", "recall"] == pytest.approx(2 / 3)
    assert t.loc["happy", "precision"] == pytest.approx(2 / 3) and t.loc["happy", "recall"] == 1.0
    assert t.loc["neutral", "recall"] == pytest.approx(0.5) and t.loc["neutral", "precision"] == 1.0
    assert t.loc["sad", "support"] == 0 and t.loc["disgust", "f1"] == 1.0
    assert t.loc["macro avg", "support"] == 10
    present = ["angry", "disgust", "happy", "neutral"]
    assert t.loc["macro avg", "f1"] == pytest.approx(t.loc[present, "f1"].mean())
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx(t.loc[present, "f1"].mean())


def test_confusion_matrix_counts_and_normalised():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert list(cm.index) == list(EMOTIONS) and list(cm.columns) == list(EMOTIONS)
    assert cm.loc["angry", "happy"] == 1 and cm.loc["neutral", "sad"] == 1 and cm.to_numpy().sum() == 10
    norm = confusion_matrix(Y_TRUE, Y_PRED, normalize="true")
    assert norm.loc["neutral", "neutral"] == pytest.approx(0.5)
    assert norm.loc["sad"].sum() == 0
    np.testing.assert_allclose(norm.loc[["angry", "disgust", "happy", "neutral"]].sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="normalize"):
        confusion_matrix(Y_TRUE, Y_PRED, normalize="all")


def test_split_metrics_top2_and_compare():
    proba = np.full((3, 7), 0.01)
    proba[0, [0, 3]] = [0.5, 0.4]  # true 3: second
    proba[1, [1, 2]] = [0.6, 0.3]  # true 6: missed
    proba[2, 6] = 0.9  # true 6: first
    m = split_metrics(np.array([3, 6, 6]), proba)
    assert m["accuracy"] == pytest.approx(1 / 3) and m["top2_accuracy"] == pytest.approx(2 / 3)
    a = pd.DataFrame({"accuracy": [0.5]}, index=["PrivateTest"])
    b = pd.DataFrame({"accuracy": [0.6]}, index=["PrivateTest"])
    table = compare_models({"a": a, "b": b}, "PrivateTest")
    assert table.loc["b", "accuracy"] == 0.6


def test_plots_and_report(tmp_path, tiny_model, learnable):
    import json

    import matplotlib.pyplot as plt

    from emoj_lib.cards import load_model
    from emoj_lib.evaluation import evaluation_report, plot_confusion_matrix, plot_history, worst_mistakes

    ax = plot_confusion_matrix(Y_TRUE, Y_PRED)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(EMOTIONS)
    plt.close("all")
    history = pd.DataFrame({"epoch": [0, 1], "loss": [2.0, 1.5], "val_loss": [2.1, 1.7],
                            "accuracy": [0.3, 0.5], "val_accuracy": [0.3, 0.4]})
    axes = plot_history(history)
    assert len(axes[0].lines) == 2
    plt.close("all")
    proba = np.eye(7)[Y_PRED] * 0.5 + 0.5 / 7
    worst = worst_mistakes(Y_TRUE, proba, n=2)
    assert len(worst) == 2 and (worst.true != worst.predicted).all()
    model, _ = load_model(tiny_model)
    report = evaluation_report(model, learnable, tmp_path / "rep", history=history, name="tiny")
    saved = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert saved["table"]["PrivateTest"]["n"] == 70 == report["splits"]["PrivateTest"]["n"]
    assert sum(sum(row.values()) for row in saved["splits"]["PrivateTest"]["confusion"].values()) == 70
    for f in ("confusion_Training.png", "confusion_PrivateTest.png", "curves.png"):
        assert (tmp_path / "rep" / f).stat().st_size > 1000


def test_weighted_average_support_is_the_number_of_faces():
    t = classification_table(Y_TRUE, Y_PRED)
    assert t.loc["weighted avg", "support"] == 10 == t.loc["macro avg", "support"]
    assert t.loc[list(EMOTIONS), "support"].sum() == 10


def test_one_evaluation_loop_serves_table_and_report(tmp_path):
    from emoj_lib.data import FerData
    from emoj_lib.evaluation import evaluate_splits, evaluation_report

    def model(x):  # class from the mean brightness of the left half: deterministic and TTA-sensitive
        p = np.zeros((len(x), 7), np.float32)
        p[np.arange(len(x)), (x[:, :, :24].mean(axis=(1, 2, 3)) > 100).astype(int) * 3] = 1
        return p

    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, (12, 48, 48)).astype(np.uint8)
    images[:6, :, :24] = 250  # bright left: read as happy (3); their mirror images as angry (0)
    labels = np.array([3] * 6 + [0] * 5 + [-1])
    data = FerData(images, labels, np.array(["PrivateTest"] * 12, dtype=object))
    table = evaluate_splits(model, data, tta="flip")
    assert table.loc["PrivateTest", "n"] == 11  # the unlabelled face is left out
    assert table.loc["PrivateTest", "accuracy"] == 1.0
    assert table.loc["PrivateTest", "accuracy_tta"] == pytest.approx(5 / 11)  # ties go to the first class
    report = evaluation_report(model, data, tmp_path, tta="flip", name="fake")
    assert report["tta"] == "flip"
    assert report["table"]["PrivateTest"] == table.loc["PrivateTest"].to_dict()
    assert report["splits"]["PrivateTest"]["per_class"]["weighted avg"]["support"] == 11


def test_paired_comparison_counts_the_disagreements_and_their_exact_p():
    from emoj_lib.evaluation import paired_comparison

    base = np.array([True] * 10 + [False] * 10)
    right = np.array([True] * 9 + [False] + [True] * 6 + [False] * 4)  # 6 gained, 1 lost
    assert paired_comparison(right, base) == {"gained": 6, "lost": 1, "p": pytest.approx(16 / 128)}  # 2 (1 + 7) / 2^7
    assert paired_comparison(base, right)["gained"] == 1
    assert paired_comparison(base, base) == {"gained": 0, "lost": 0, "p": 1.0}
    assert paired_comparison(np.ones(8, bool), np.zeros(8, bool))["p"] == pytest.approx(2 / 256)
    with pytest.raises(ValueError, match="different faces"):
        paired_comparison(base, base[:5])


def test_a_report_against_another_model_compares_them_on_the_same_faces(tmp_path):
    from emoj_lib.data import FerData
    from emoj_lib.evaluation import evaluation_report

    def bright(x):  # happy (3) when the left half is bright, else angry (0)
        p = np.zeros((len(x), 7), np.float32)
        p[np.arange(len(x)), (x[:, :, :24].mean(axis=(1, 2, 3)) > 100).astype(int) * 3] = 1
        return p

    def happy(x):  # always happy
        p = np.zeros((len(x), 7), np.float32)
        p[:, 3] = 1
        return p

    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, (12, 48, 48)).astype(np.uint8)
    images[:6, :, :24] = 250
    labels = np.array([3] * 6 + [0] * 5 + [-1])  # bright: all 11 right; happy: the 6 happy faces only
    data = FerData(images, labels, np.array(["PrivateTest"] * 12, dtype=object))
    report = evaluation_report(bright, data, tmp_path, tta="flip", name="bright", against=happy,
                               against_name="happy")
    row = report["table"]["PrivateTest"]
    assert report["against"] == "happy"
    assert row["accuracy"] == 1.0 and row["vs_accuracy"] == pytest.approx(6 / 11)
    assert (row["vs_gained"], row["vs_lost"]) == (5, 0) and row["vs_p"] == pytest.approx(2 / 32)
    # flipped, the bright faces are dark and the others stay dark: only the 5 angry faces are read right
    assert row["accuracy_tta"] == pytest.approx(5 / 11) and row["vs_accuracy_tta"] == pytest.approx(6 / 11)
    assert (row["vs_gained_tta"], row["vs_lost_tta"]) == (5, 6)
    plain = evaluation_report(bright, data, tmp_path / "plain", tta="none")
    assert "against" not in plain and not any(k.startswith("vs_") for k in plain["table"]["PrivateTest"])
