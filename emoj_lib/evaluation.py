"""Evaluation: predictions, accuracy tables, per-class reports, confusion matrices, comparisons.

Conventions: ``y_true`` are integer labels in :data:`~emoj_lib.labels.EMOTIONS` order; predictions are
either integer labels or probability rows (N, 7) (then the argmax counts). Every table covers all 7
classes, present or not. Confusion matrices have true classes as rows and predicted classes as columns;
"row-normalised" divides each row by its total (recall on the diagonal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoj_lib.labels import EMOTIONS


def _labels(pred: np.ndarray) -> np.ndarray:
    p = np.asarray(pred)
    return p.argmax(axis=1) if p.ndim == 2 else p.astype(np.int64)


def predict_proba(model, images: np.ndarray, *, batch_size: int = 256, tta: bool = False) -> np.ndarray:
    """Return the model's class probabilities (N, 7) for uint8 faces (N, 48, 48).

    Parameters
    ----------
    model : keras.Model
        A model from :mod:`emoj_lib.models` (float32 0..255 input).
    images : np.ndarray
        Faces (N, 48, 48) or (N, 48, 48, 1).
    batch_size : int
        Faces per forward pass.
    tta : bool
        Test-time augmentation: average the probabilities of each face and its mirror image.

    """
    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if len(x) == 0:
        return np.zeros((0, len(EMOTIONS)), np.float32)
    out = []
    for i in range(0, len(x), batch_size):
        batch = x[i:i + batch_size]
        p = np.asarray(model(batch, training=False), np.float32)
        if tta:
            p = (p + np.asarray(model(batch[:, :, ::-1], training=False), np.float32)) / 2
        out.append(p)
    return np.concatenate(out)


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
    table.loc["macro avg"] = [*macro, table.support.sum()]
    table.loc["weighted avg"] = [*weighted, table.support.sum()]
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


def evaluate_splits(model, data, *, splits: list[str] | None = None, tta: bool = False,
                    batch_size: int = 256) -> pd.DataFrame:
    """Return an accuracy table: one row per split with ``n``, ``accuracy``, ``macro_f1``, ``top2_accuracy``.

    Parameters
    ----------
    model : keras.Model
        The model to evaluate.
    data : FerData
        Labelled faces; unlabelled ones are left out.
    splits : list of str, optional
        The splits to report (default: all present).
    tta : bool
        Also report accuracy and macro F1 with flip test-time augmentation (columns ``*_tta``).
    batch_size : int
        Faces per forward pass.

    """
    rows = {}
    for split in splits or data.splits():
        part = data.split(split)
        part = part.subset(part.labels >= 0)
        proba = predict_proba(model, part.images, batch_size=batch_size)
        row = split_metrics(part.labels, proba)
        if tta:
            p2 = predict_proba(model, part.images, batch_size=batch_size, tta=True)
            row["accuracy_tta"] = accuracy(part.labels, p2)
            row["macro_f1_tta"] = macro_f1(part.labels, p2)
        rows[split] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("split")


def compare_models(results: dict[str, pd.DataFrame], split: str) -> pd.DataFrame:
    """Put the rows for one split of several :func:`evaluate_splits` tables side by side (one row per model)."""
    return pd.DataFrame({name: table.loc[split] for name, table in results.items()}).T.rename_axis("model")


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, normalize: str | None = "true", ax=None,
                          title: str | None = None):
    """Draw the confusion matrix as a seaborn heatmap with the emotion names; return the axes.

    Parameters
    ----------
    y_true, y_pred : np.ndarray
        True labels; predicted labels or probabilities.
    normalize : {"true", None}
        Row-normalised fractions (default) or counts.
    ax : matplotlib.axes.Axes, optional
        Where to draw (a new figure if None).
    title : str, optional
        Axes title.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    cm = confusion_matrix(y_true, y_pred, normalize=normalize)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    sns.heatmap(cm, annot=True, fmt=".2f" if normalize else "d", cmap="Blues", cbar=False, ax=ax,
                vmin=0, vmax=1 if normalize else None, square=True)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return ax


def plot_history(history: pd.DataFrame, *, axes=None):
    """Draw training curves (loss and accuracy, training and validation, per epoch); return the axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4))
    epoch = history["epoch"] + 1 if "epoch" in history else np.arange(1, len(history) + 1)
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + metric in history:
                ax.plot(epoch, history[prefix + metric], style, label=(prefix or "train_") + metric)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
        ax.grid(alpha=0.3)
    return axes


def worst_mistakes(y_true: np.ndarray, proba: np.ndarray, n: int = 16) -> pd.DataFrame:
    """Return the ``n`` most confident wrong predictions: ``index``, ``true``, ``predicted``, ``confidence``."""
    t = np.asarray(y_true)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != t)
    order = wrong[np.argsort(-proba[wrong, pred[wrong]])][:n]
    return pd.DataFrame({"index": order, "true": [EMOTIONS[i] for i in t[order]],
                         "predicted": [EMOTIONS[i] for i in pred[order]], "confidence": proba[order, pred[order]]})


def evaluation_report(model, data, out_dir, *, splits: list[str] | None = None, tta: bool = True,
                      history: pd.DataFrame | None = None, name: str = "model") -> dict:
    """Evaluate a model on every split and write the report: ``metrics.json`` and PNG figures.

    Writes, in ``out_dir``: ``metrics.json`` (accuracy table, per-class tables and confusion matrices of
    every split), ``confusion_<split>.png`` (row-normalised) and ``curves.png`` when a history is given.

    Parameters
    ----------
    model : keras.Model
        The model.
    data : FerData
        Labelled faces with their splits.
    out_dir : str or Path
        The report folder (created).
    splits : list of str, optional
        The splits to report (default: all).
    tta : bool
        Also report flip test-time augmentation.
    history : pandas.DataFrame, optional
        The training log, drawn as curves.
    name : str
        Model name written in the report.

    Returns
    -------
    dict
        What ``metrics.json`` holds.
    """
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"model": name, "splits": {}}
    table = {}
    for split in splits or data.splits():
        part = data.split(split)
        part = part.subset(part.labels >= 0)
        proba = predict_proba(model, part.images)
        row = split_metrics(part.labels, proba)
        if tta:
            p2 = predict_proba(model, part.images, tta=True)
            row.update(accuracy_tta=accuracy(part.labels, p2), macro_f1_tta=macro_f1(part.labels, p2))
        table[split] = row
        report["splits"][split] = {
            **row,
            "per_class": classification_table(part.labels, proba).round(4).to_dict(orient="index"),
            "confusion": confusion_matrix(part.labels, proba).to_dict(orient="index"),
        }
        fig, ax = plt.subplots(figsize=(6.5, 5.5))
        plot_confusion_matrix(part.labels, proba, ax=ax, title=f"{name}: {split} ({len(part)} faces, "
                              f"accuracy {row['accuracy']:.3f})")
        fig.tight_layout()
        fig.savefig(out / f"confusion_{split}.png", dpi=110)
        plt.close(fig)
    if history is not None and len(history):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        plot_history(history, axes=axes)
        fig.tight_layout()
        fig.savefig(out / "curves.png", dpi=110)
        plt.close(fig)
    report["table"] = table
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
