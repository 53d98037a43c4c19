"""Display objects in scikit-learn's manner: compute once, draw on any axes, keep the numbers.

``Display.from_predictions(...)`` computes the figures and draws them (on ``ax`` or a new figure);
``display.plot(ax=...)`` draws again elsewhere. Every display keeps what it drew (``confusion_matrix``,
``table``...) and the matplotlib objects ``figure_`` and ``ax_`` (or ``axes_``).

>>> disp = ConfusionMatrixDisplay.from_predictions(test.labels, proba, title="PrivateTest")  # doctest: +SKIP
>>> disp.confusion_matrix.loc["happy", "happy"], disp.figure_  # doctest: +SKIP
>>> ComparisonDisplay.from_predictions(held.labels, before_proba, after_proba)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emoj_lib.evaluation import accuracy, classification_table, confusion_matrix, macro_f1


def _new_axes(ax, ncols: int = 1, size: tuple[float, float] = (6.5, 5.5)):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, axes = plt.subplots(1, ncols, figsize=(size[0] * ncols, size[1]))
    return axes


@dataclass
class ConfusionMatrixDisplay:
    """A confusion matrix (true emotions as rows, predicted as columns) drawn as an annotated heatmap.

    Attributes
    ----------
    confusion_matrix : pandas.DataFrame
        The numbers drawn: counts, or row-normalised fractions when ``normalize="true"``.
    normalize : {"true", None}
        How the counts were normalised.
    title : str or None
        The axes title.
    figure_, ax_ : matplotlib objects
        Set by :meth:`plot`.
    """

    confusion_matrix: pd.DataFrame
    normalize: str | None = "true"
    title: str | None = None
    figure_: Any = field(default=None, repr=False)
    ax_: Any = field(default=None, repr=False)

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, normalize: str | None = "true", title: str | None = None,
                         ax=None, cmap: str = "Blues") -> ConfusionMatrixDisplay:
        """Compute the matrix of true labels against predicted labels (or probabilities) and draw it."""
        disp = cls(confusion_matrix(y_true, y_pred, normalize=normalize), normalize, title)
        return disp.plot(ax=ax, cmap=cmap)

    def plot(self, ax=None, *, cmap: str = "Blues", colorbar: bool = False) -> ConfusionMatrixDisplay:
        """Draw the matrix on ``ax`` (a new figure if None); return self."""
        import seaborn as sns

        ax = _new_axes(ax)
        sns.heatmap(self.confusion_matrix, annot=True, fmt=".2f" if self.normalize else "d", cmap=cmap,
                    cbar=colorbar, ax=ax, vmin=0, vmax=1 if self.normalize else None, square=True)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if self.title:
            ax.set_title(self.title)
        self.ax_, self.figure_ = ax, ax.figure
        return self


@dataclass
class ComparisonDisplay:
    """Before and after (for example a model before and after fine-tuning) on the same faces.

    Draws three panels: the row-normalised confusion matrix before, the one after, and the recall of every
    emotion before and after as paired bars.

    Attributes
    ----------
    table : pandas.DataFrame
        Per emotion (and ``all``): ``support``, ``recall_before``, ``recall_after``, ``change``; the ``all``
        row holds accuracy, and :attr:`summary` accuracy and macro F1.
    summary : pandas.DataFrame
        Rows ``before`` and ``after``, columns ``n``, ``accuracy``, ``macro_f1``.
    before, after : ConfusionMatrixDisplay
        The two matrices.
    figure_, axes_ : matplotlib objects
        Set by :meth:`plot`.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    before: ConfusionMatrixDisplay
    after: ConfusionMatrixDisplay
    names: tuple[str, str] = ("before", "after")
    title: str | None = None
    figure_: Any = field(default=None, repr=False)
    axes_: Any = field(default=None, repr=False)

    @classmethod
    def from_predictions(cls, y_true, before, after, *, names: tuple[str, str] = ("before", "after"),
                         title: str | None = None, axes=None) -> ComparisonDisplay:
        """Compare two sets of predictions (labels or probabilities) of the same faces and draw them."""
        t = np.asarray(y_true)
        tb, ta = classification_table(t, before), classification_table(t, after)
        emotions = tb.index[:-2]
        table = pd.DataFrame({"support": tb.loc[emotions, "support"],
                              "recall_before": tb.loc[emotions, "recall"],
                              "recall_after": ta.loc[emotions, "recall"]})
        table.loc["all"] = [len(t), accuracy(t, before), accuracy(t, after)]
        table["support"] = table["support"].astype(int)
        table["change"] = table.recall_after - table.recall_before
        summary = pd.DataFrame({"n": [len(t)] * 2, "accuracy": [accuracy(t, before), accuracy(t, after)],
                                "macro_f1": [macro_f1(t, before), macro_f1(t, after)]}, index=list(names))
        cms = [ConfusionMatrixDisplay(confusion_matrix(t, p, normalize="true"), "true",
                                      f"{name}: accuracy {summary.loc[name, 'accuracy']:.3f}")
               for name, p in zip(names, (before, after), strict=True)]
        return cls(table, summary, cms[0], cms[1], (names[0], names[1]), title).plot(axes=axes)

    def plot(self, axes=None) -> ComparisonDisplay:
        """Draw the three panels on ``axes`` (three matplotlib axes; a new figure if None); return self."""
        axes = _new_axes(axes, ncols=3, size=(5.5, 4.8))
        self.before.plot(ax=axes[0])
        self.after.plot(ax=axes[1])
        rows = self.table.drop(index="all")
        y = np.arange(len(rows))
        for offset, col, name in ((-0.2, "recall_before", self.names[0]), (0.2, "recall_after", self.names[1])):
            axes[2].barh(y + offset, rows[col], height=0.4, label=name)
        axes[2].set_yticks(y, list(rows.index))
        axes[2].invert_yaxis()
        axes[2].set_xlim(0, 1)
        axes[2].set_xlabel("recall (share of each emotion's faces read correctly)")
        axes[2].legend(loc="lower right")
        axes[2].set_title("recall per emotion")
        self.axes_, self.figure_ = axes, axes[0].figure
        if self.title:
            self.figure_.suptitle(self.title)
        return self


@dataclass
class HistoryDisplay:
    """Training curves: loss and accuracy per epoch, training and validation, on whole-epoch ticks.

    Attributes
    ----------
    history : pandas.DataFrame
        The training log (``epoch`` counted from 0 as Keras' CSVLogger writes it, or rows in epoch order).
    title : str or None
        The figure title.
    figure_, axes_ : matplotlib objects
        Set by :meth:`plot`.
    """

    history: pd.DataFrame
    title: str | None = None
    figure_: Any = field(default=None, repr=False)
    axes_: Any = field(default=None, repr=False)

    @classmethod
    def from_history(cls, history: pd.DataFrame, *, title: str | None = "training curves",
                     axes=None) -> HistoryDisplay:
        """Draw a training log (two panels: loss, accuracy)."""
        return cls(history, title).plot(axes=axes)

    @property
    def epochs(self) -> np.ndarray:
        """The epochs drawn, counted from 1."""
        h = self.history
        return (h["epoch"].to_numpy() + 1) if "epoch" in h else np.arange(1, len(h) + 1)

    def plot(self, axes=None) -> HistoryDisplay:
        """Draw on two axes (a new figure if None); return self."""
        from matplotlib.ticker import MaxNLocator

        axes = _new_axes(axes, ncols=2, size=(5.5, 4.0))
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
            for prefix, style, who in (("", "-", "training"), ("val_", "--", "validation")):
                if prefix + metric in self.history:
                    ax.plot(self.epochs, self.history[prefix + metric], style, label=f"{who} {metric}")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_ylabel(metric)
            ax.set_title(metric)
            ax.legend()
            ax.grid(alpha=0.3)
        self.axes_, self.figure_ = axes, axes[0].figure
        if self.title:
            self.figure_.suptitle(self.title)
        return self
