"""Evaluation: predictions, accuracy tables, per-class reports, confusion matrices, comparisons.

Conventions: ``y_true`` are integer labels in :data:`~emoj_lib.labels.EMOTIONS` order; predictions are
either integer labels or probability rows (N, 7) (then the argmax counts). Every table covers all 7
classes, present or not. Confusion matrices have true classes as rows and predicted classes as columns;
"row-normalised" divides each row by its total (recall on the diagonal).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emoj_lib.inference import check_tta
from emoj_lib.inference import predict_proba as predict_proba  # the one inference function, re-exported
from emoj_lib.labels import EMOTIONS


def _labels(pred: np.ndarray) -> np.ndarray:
    p = np.asarray(pred)
    return p.argmax(axis=1) if p.ndim == 2 else p.astype(np.int64)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the fraction of faces whose predicted label (or argmax probability) is the true one."""
    t, p = np.asarray(y_true), _labels(y_pred)
    if len(t) != len(p):
        raise ValueError(f"{len(t)} true labels for {len(p)} predictions")
    return float((t == p).mean()) if len(t) else float("nan")


def classification_table(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Return precision, recall, F1 and support per emotion, plus macro and weighted averages.

    Examples
    --------
    >>> classification_table([0, 0, 3], [0, 3, 3]).loc["angry", "recall"]
    0.5

    """
    from sklearn.metrics import precision_recall_fscore_support

    t, p = np.asarray(y_true), _labels(y_pred)
    k = list(range(len(EMOTIONS)))
    prec, rec, f1, sup = precision_recall_fscore_support(t, p, labels=k, zero_division=0)
    table = pd.DataFrame({"precision": prec, "recall": rec, "f1": f1, "support": sup}, index=list(EMOTIONS))
    present = table.support > 0
    macro = table.loc[present, ["precision", "recall", "f1"]].mean()
    weighted = (table[["precision", "recall", "f1"]].mul(table.support, axis=0).sum() / max(table.support.sum(), 1))
    total = int(table.support.sum())  # before the average rows are added
    table.loc["macro avg"] = [*macro, total]
    table.loc["weighted avg"] = [*weighted, total]
    table["support"] = table["support"].astype(int)
    return table


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the F1 score averaged over the emotions present in ``y_true``."""
    return float(classification_table(y_true, y_pred).loc["macro avg", "f1"])


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, normalize: str | None = None) -> pd.DataFrame:
    """Return the confusion matrix (true emotions as rows, predicted as columns).

    Parameters
    ----------
    y_true, y_pred : np.ndarray
        True labels; predicted labels or probabilities.
    normalize : {None, "true"}
        ``None`` for counts, ``"true"`` to divide every row by its total (rows without faces stay 0).

    """
    if normalize not in (None, "true"):
        raise ValueError(f"normalize must be None or 'true', got {normalize!r}")
    t, p = np.asarray(y_true, np.int64), _labels(y_pred)
    k = len(EMOTIONS)
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    frame = pd.DataFrame(cm, index=pd.Index(EMOTIONS, name="true"), columns=pd.Index(EMOTIONS, name="predicted"))
    if normalize == "true":
        totals = frame.sum(axis=1).replace(0, 1)
        frame = frame.div(totals, axis=0)
    return frame


def split_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Return ``n``, ``accuracy``, ``macro_f1`` and ``top2_accuracy`` for one split."""
    t = np.asarray(y_true)
    top2 = np.argsort(proba, axis=1)[:, -2:]
    return {"n": len(t), "accuracy": accuracy(t, proba), "macro_f1": macro_f1(t, proba),
            "top2_accuracy": float((top2 == t[:, None]).any(axis=1).mean()) if len(t) else float("nan")}


@dataclass
class SplitResult:
    """The evaluation of one split: its labels, the probabilities without and with TTA, and the metrics row."""

    split: str
    labels: np.ndarray
    proba: np.ndarray
    proba_tta: np.ndarray | None
    row: dict[str, float]


def evaluate_split_results(model, data, *, splits: list[str] | None = None, tta: str | bool = False,
                           batch_size: int = 256) -> Iterator[SplitResult]:
    """Yield a :class:`SplitResult` per split: the one evaluation loop behind every table and report.

    Unlabelled faces are left out. With ``tta`` (``"flip"``, ``"tencrop"``; ``True`` means flip) the row
    also holds ``accuracy_tta`` and ``macro_f1_tta``.
    """
    mode = check_tta(tta)
    for split in splits or data.splits():
        part = data.split(split)
        part = part.subset(part.labels >= 0)
        proba = predict_proba(model, part.images, batch_size=batch_size)
        row = split_metrics(part.labels, proba)
        proba_tta = None
        if mode != "none":
            proba_tta = predict_proba(model, part.images, batch_size=batch_size, tta=mode)
            row.update(accuracy_tta=accuracy(part.labels, proba_tta), macro_f1_tta=macro_f1(part.labels, proba_tta))
        yield SplitResult(split, part.labels, proba, proba_tta, row)


def evaluate_splits(model, data, *, splits: list[str] | None = None, tta: str | bool = False,
                    batch_size: int = 256) -> pd.DataFrame:
    """Return an accuracy table: one row per split with ``n``, ``accuracy``, ``macro_f1``, ``top2_accuracy``.

    Parameters
    ----------
    model : keras.Model or callable
        The model to evaluate (see :func:`emoj_lib.inference.predict_proba`).
    data : FerData
        Labelled faces; unlabelled ones are left out.
    splits : list of str, optional
        The splits to report (default: all present).
    tta : {"none", "flip", "tencrop"} or bool
        Also report accuracy and macro F1 with this test-time augmentation (columns ``*_tta``);
        ``True`` means ``"flip"``.
    batch_size : int
        Faces per forward pass.

    """
    rows = {r.split: r.row for r in evaluate_split_results(model, data, splits=splits, tta=tta,
                                                           batch_size=batch_size)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("split")


def paired_comparison(right: np.ndarray, base_right: np.ndarray) -> dict[str, float]:
    """Compare two readers of the same faces: the faces each gets right and the other wrong, and whether that differs.

    Parameters
    ----------
    right, base_right : numpy.ndarray of bool
        Which faces the reader, and the one it is compared with, read right (same faces, same order).

    Returns
    -------
    dict
        ``gained`` (right here, wrong in the base), ``lost`` (the reverse) and ``p``: the two-sided exact
        sign-test p-value of that difference (exact McNemar test; 1 when they never disagree).
    """
    r, b = np.asarray(right, bool), np.asarray(base_right, bool)
    if r.shape != b.shape:
        raise ValueError(f"the two readers cover different faces: {r.shape} against {b.shape}")
    gained, lost = int((r & ~b).sum()), int((~r & b).sum())
    n, k = gained + lost, min(gained, lost)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return {"gained": gained, "lost": lost, "p": p}


def _against(r: SplitResult, base: SplitResult) -> dict[str, float]:
    """Return the ``vs_*`` columns of a split's row: the base's accuracy, the paired comparison, plain and TTA."""
    if len(r.labels) != len(base.labels) or (r.labels != base.labels).any():
        raise ValueError(f"{r.split}: the two models were not evaluated on the same faces")
    row = {"vs_accuracy": base.row["accuracy"],
           **{f"vs_{k}": v for k, v in paired_comparison(r.proba.argmax(1) == r.labels,
                                                          base.proba.argmax(1) == base.labels).items()}}
    if r.proba_tta is not None and base.proba_tta is not None:
        row["vs_accuracy_tta"] = base.row["accuracy_tta"]
        row.update({f"vs_{k}_tta": v for k, v in paired_comparison(r.proba_tta.argmax(1) == r.labels,
                                                                    base.proba_tta.argmax(1) == base.labels).items()})
    return row


def compare_models(results: dict[str, pd.DataFrame], split: str) -> pd.DataFrame:
    """Put the rows for one split of several :func:`evaluate_splits` tables side by side (one row per model)."""
    return pd.DataFrame({name: table.loc[split] for name, table in results.items()}).T.rename_axis("model")


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, normalize: str | None = "true", ax=None,
                          title: str | None = None):
    """Draw the confusion matrix with the emotion names; return the axes.

    A shortcut for :meth:`emoj_lib.displays.ConfusionMatrixDisplay.from_predictions` (which also keeps the
    numbers drawn).
    """
    from emoj_lib.displays import ConfusionMatrixDisplay

    return ConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize=normalize, ax=ax, title=title).ax_


def plot_history(history: pd.DataFrame, *, axes=None, title: str | None = "training curves"):
    """Draw training curves (loss and accuracy, training and validation, whole epochs); return the axes.

    A shortcut for :meth:`emoj_lib.displays.HistoryDisplay.from_history`.
    """
    from emoj_lib.displays import HistoryDisplay

    return HistoryDisplay.from_history(history, axes=axes, title=title).axes_


def worst_mistakes(y_true: np.ndarray, proba: np.ndarray, n: int = 16) -> pd.DataFrame:
    """Return the ``n`` most confident wrong predictions: ``index``, ``true``, ``predicted``, ``confidence``."""
    t = np.asarray(y_true)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != t)
    order = wrong[np.argsort(-proba[wrong, pred[wrong]])][:n]
    return pd.DataFrame({"index": order, "true": [EMOTIONS[i] for i in t[order]],
                         "predicted": [EMOTIONS[i] for i in pred[order]], "confidence": proba[order, pred[order]]})


def evaluation_report(model, data, out_dir, *, splits: list[str] | None = None, tta: str | bool = "flip",
                      history: pd.DataFrame | None = None, name: str = "model", against=None,
                      against_name: str = "base") -> dict:
    """Evaluate a model on every split and write the report: ``metrics.json`` and PNG figures.

    Writes, in ``out_dir``: ``metrics.json`` (accuracy table, per-class tables and confusion matrices of
    every split, and the TTA mode), ``confusion_<split>.png`` (row-normalised) and ``curves.png`` when a
    history is given.

    Parameters
    ----------
    model : keras.Model or callable
        The model.
    data : FerData
        Labelled faces with their splits.
    out_dir : str or Path
        The report folder (created).
    splits : list of str, optional
        The splits to report (default: all).
    tta : {"none", "flip", "tencrop"} or bool
        Also report this test-time augmentation (columns ``*_tta``).
    history : pandas.DataFrame, optional
        The training log, drawn as curves.
    name : str
        Model name written in the report.
    against : keras.Model or callable, optional
        A model to compare with on the same faces: each split's row then also holds its accuracy
        (``vs_accuracy``), the faces gained and lost against it and the exact McNemar p-value (``vs_gained``,
        ``vs_lost``, ``vs_p``; with ``_tta`` too when TTA is on), from :func:`paired_comparison`.
    against_name : str
        Its name in the report.

    Returns
    -------
    dict
        What ``metrics.json`` holds.
    """
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    from emoj_lib.displays import ConfusionMatrixDisplay, HistoryDisplay

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"model": name, "tta": check_tta(tta), "splits": {}}
    if against is not None:
        report["against"] = against_name
    bases = evaluate_split_results(against, data, splits=splits, tta=tta) if against is not None else None
    for r in evaluate_split_results(model, data, splits=splits, tta=tta):
        report["splits"][r.split] = {
            **r.row,
            **(_against(r, next(bases)) if bases is not None else {}),
            "per_class": classification_table(r.labels, r.proba).round(4).to_dict(orient="index"),
            "confusion": confusion_matrix(r.labels, r.proba).to_dict(orient="index"),
        }
        disp = ConfusionMatrixDisplay.from_predictions(
            r.labels, r.proba, title=f"{name}: {r.split} ({len(r.labels)} faces, accuracy {r.row['accuracy']:.3f})")
        disp.figure_.tight_layout()
        disp.figure_.savefig(out / f"confusion_{r.split}.png", dpi=110)
        plt.close(disp.figure_)
    if history is not None and len(history):
        curves = HistoryDisplay.from_history(history, title=f"{name}: training curves")
        curves.figure_.tight_layout()
        curves.figure_.savefig(out / "curves.png", dpi=110)
        plt.close(curves.figure_)
    report["table"] = {split: {k: v for k, v in entry.items() if k not in ("per_class", "confusion")}
                       for split, entry in report["splits"].items()}
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def expected_calibration_error(proba: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Return the expected calibration error (equal-width confidence bins) of probabilities vs labels."""
    proba, labels = np.asarray(proba), np.asarray(labels)
    if len(labels) == 0:
        return float("nan")
    conf, right = proba.max(axis=1), proba.argmax(axis=1) == labels
    which = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(conf[which == b].mean() - right[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))
