"""The "your model" view of the journal app: how the journal's personal adapter reads *your* faces.

It shows what :func:`emoj_lib.personal.your_model` computes from your labelled entries: how many you labelled per
emotion, the accuracy of the model alone and with your adapter on your own entries (each entry read by an adapter
fitted without it, leave-one-out), their calibration, what the adapter chose and why, and the learning curve of your
journal as it grew (each entry read by an adapter fitted on the entries before it only).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import ipywidgets as widgets

from emoj_lib.labels import EMOTIONS
from emoj_lib.ui.render import escape, figure_png

__all__ = ["YourModelView", "plot_learning_curve", "your_model_html"]

log = logging.getLogger(__name__)

MIN_CURVE = 3
"""Fewest labelled entries for which the learning curve is drawn."""


def _pct(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.0f} %"


def your_model_html(ym: Any) -> str:
    """Return the summary of a :class:`~emoj_lib.personal.YourModel` as HTML (counts, accuracies, the choice)."""
    counts = "".join(f"<td style='padding:0 8px;text-align:center'>{int(ym.labelled[e])}</td>" for e in EMOTIONS)
    names = "".join(f"<th style='padding:0 8px'>{e}</th>" for e in EMOTIONS)
    total = int(ym.labelled.sum())
    if total < 2:
        return ("<p>Label or confirm a few entries (at least two emotions) and your personal model starts learning "
                f"your face. Labelled so far: {total}.</p>")
    choice = ym.adapter
    strength = float(choice.get("strength", 0.0))
    used = "on" if strength > 0 and choice.get("emotions") else "off (the model alone reads you better so far)"
    return (
        f"<table><tr><th></th>{names}</tr><tr><td>your labels</td>{counts}</tr></table>"
        f"<p>On your {total} labelled entries, each read without itself (leave-one-out): the model alone "
        f"<b>{_pct(ym.base_accuracy)}</b>, your personal model <b>{_pct(ym.personal_accuracy)}</b>. "
        f"Calibration error (lower is more honest): {ym.base_ece:.3f} &rarr; {ym.personal_ece:.3f}.</p>"
        f"<p>Your adapter is {used}; it adapts {escape(', '.join(choice.get('emotions', [])) or 'no emotion yet')} "
        f"(strength {strength:g}): {escape(str(choice.get('reason', '')))}.</p>")


def plot_learning_curve(curve: Any, ax: Any = None) -> Any:
    """Draw the journal's learning curve (accuracy so far of the model alone and of your personal model).

    Parameters
    ----------
    curve : pandas.DataFrame
        :attr:`emoj_lib.personal.YourModel.curve`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3))
    n = curve["entries"] + 1
    ax.plot(n, 100 * curve["base_accuracy"], color="#888", label="the model alone")
    ax.plot(n, 100 * curve["personal_accuracy"], color="#2a7", lw=2, label="your personal model")
    ax.set_xlabel("labelled entries in your journal")
    ax.set_ylabel("right so far (%)")
    ax.set_ylim(0, 100)
    ax.set_title("How your model learned you (each entry read before it was learnt)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="lower right", frameon=False)
    return ax


class YourModelView(widgets.VBox):
    """A collapsible "Your model" section: what the personal adapter learnt from your labels.

    Parameters
    ----------
    journal_folder : Path
        The journal.
    recognizer : callable
        Returns the app's current :func:`~emoj_lib.personal.journal_recognizer` (or None without a model).
    """

    def __init__(self, journal_folder: Any, recognizer: Any) -> None:
        self.journal_folder = journal_folder
        self._recognizer = recognizer
        self.summary = widgets.HTML()
        self.curve = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.update_button = widgets.Button(description="Show how your model is doing", icon="refresh")
        self.update_button.on_click(lambda _: self.refresh())
        self.shown = False
        super().__init__(children=[widgets.HTML("<h3>Your model</h3>"), self.update_button, self.summary,
                                   self.curve])
        self.add_class("emoj-your-model")

    def refresh(self) -> None:
        """Compute the figures from the journal as it is now and show them."""
        from emoj_lib.personal import your_model

        rec = self._recognizer()
        self.shown = True
        self.update_button.description = "Update"
        if rec is None:
            self.summary.value = "<p>No emotion model: nothing to personalise.</p>"
            return
        try:
            ym = your_model(self.journal_folder, rec)
        except Exception as exc:  # the view must never break the journal
            log.exception("your model")
            self.summary.value = f"<p>Could not compute your model's figures: {escape(str(exc))}</p>"
            return
        self.summary.value = your_model_html(ym)
        enough = len(ym.curve) >= MIN_CURVE
        self.curve.value = figure_png(plot_learning_curve, ym.curve, figsize=(7, 3)) if enough else b""
        self.curve.layout.display = "" if enough else "none"

    def refresh_if_shown(self) -> None:
        """Refresh after a change of the journal, if the figures are on screen."""
        if self.shown:
            self.refresh()
