import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from emoj_lib.displays import ComparisonDisplay, ConfusionMatrixDisplay, HistoryDisplay
from emoj_lib.labels import EMOTIONS

Y_TRUE = np.array([0, 0, 0, 3, 3, 6, 6, 6, 6, 1])
BEFORE = np.array([0, 3, 3, 3, 3, 6, 4, 4, 0, 0])
AFTER = np.array([0, 0, 3, 3, 3, 6, 6, 4, 0, 1])


def test_confusion_display_keeps_numbers_and_draws_on_given_axes():
    fig, ax = plt.subplots()
    disp = ConfusionMatrixDisplay.from_predictions(Y_TRUE, AFTER, ax=ax, title="t")
    assert disp.ax_ is ax and disp.figure_ is fig
    assert disp.confusion_matrix.loc["neutral", "neutral"] == pytest.approx(0.5)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(EMOTIONS)
    counts = ConfusionMatrixDisplay.from_predictions(Y_TRUE, AFTER, normalize=None)
    assert counts.confusion_matrix.to_numpy().sum() == 10
    again = counts.plot(ax=ax)
    assert again is counts and counts.ax_ is ax
    plt.close("all")


def test_comparison_display_before_after():
    disp = ComparisonDisplay.from_predictions(Y_TRUE, BEFORE, AFTER)
    assert disp.summary.loc["before", "accuracy"] == pytest.approx(0.4)
    assert disp.summary.loc["after", "accuracy"] == pytest.approx(0.7)
    assert disp.table.loc["angry", "recall_before"] == pytest.approx(1 / 3)
    assert disp.table.loc["angry", "change"] == pytest.approx(1 / 3)
    assert disp.table.loc["all", "support"] == 10
    assert len(disp.axes_) == 3 and disp.figure_ is disp.axes_[0].figure
    assert disp.before.confusion_matrix.loc["disgust", "angry"] == 1.0
    plt.close("all")


def test_history_display_whole_epoch_ticks_and_title():
    history = pd.DataFrame({"epoch": [0, 1, 2], "loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.7, 1.6],
                            "accuracy": [0.3, 0.5, 0.6], "val_accuracy": [0.3, 0.4, 0.45]})
    disp = HistoryDisplay.from_history(history, title="run 7")
    disp.figure_.canvas.draw()
    ticks = disp.axes_[0].get_xticks()
    visible = ticks[(ticks >= 1) & (ticks <= 3)]
    assert len(visible) and np.allclose(visible, np.round(visible))
    assert disp.figure_._suptitle.get_text() == "run 7"
    assert list(disp.axes_[0].lines[0].get_xdata()) == [1, 2, 3]
    plt.close("all")
