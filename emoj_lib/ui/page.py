"""The page around the app: whether it is served by Voila, and scrolling the page to a part of the app.

Voila starts each kernel with ``VOILA_*`` variables in its environment (``VOILA_SERVER_URL``, ``VOILA_BASE_URL``...);
:func:`in_voila` reads them, so that the app leaves out what only makes sense in a notebook. :class:`Scroller` is a
small widget (anywidget, inline JavaScript, nothing loaded) that scrolls the browser to an element of the page.
"""

from __future__ import annotations

import os

import anywidget
import traitlets

__all__ = ["Scroller", "in_voila"]

VOILA_VARIABLES = ("VOILA_SERVER_URL", "VOILA_BASE_URL", "VOILA_KERNEL_ID")
"""Environment variables Voila sets in the kernels it starts."""


def in_voila() -> bool:
    """Return whether this kernel was started by Voila (the app shown as a page, without code)."""
    return any(os.environ.get(name) for name in VOILA_VARIABLES)


_SCROLL_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  model.on("change:requests", () => {
    const target = document.querySelector(model.get("selector"));
    if (target) target.scrollIntoView({ behavior: "smooth", block: "start" });
  });
}
export default { render };
"""


class Scroller(anywidget.AnyWidget):
    """An invisible widget that scrolls the page to the first element matching :attr:`selector` on :meth:`scroll`.

    Parameters
    ----------
    selector : str
        A CSS selector, e.g. ``".emoj-result"`` (the class of an ipywidget: ``widget.add_class("emoj-result")``).

    """

    _esm = _SCROLL_ESM
    selector = traitlets.Unicode("").tag(sync=True)
    requests = traitlets.Int(0).tag(sync=True)

    def __init__(self, selector: str) -> None:
        super().__init__(selector=selector)

    def scroll(self) -> None:
        """Ask the browser to scroll (a no-op when no page shows the widget)."""
        self.requests += 1
