"""Progress bars with an ETA on stderr for the long commands (evaluation, notebooks, training epochs).

The bars are tqdm's, written to stderr so that a command's output (stdout) stays clean for pipes and files.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["CountingModel", "epoch_progress", "progress_bar"]


def progress_bar(total: int | None, desc: str, *, unit: str = "it", leave: bool = True, **options: Any):
    """Return a tqdm bar on stderr (ETA and rate included).

    It is hidden when stderr is not a terminal and ``$EMOJ_PROGRESS`` is not set (so logs and tests stay short).
    """
    import os

    from tqdm.auto import tqdm

    show = sys.stderr.isatty() or bool(os.environ.get("EMOJ_PROGRESS"))
    return tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr, disable=not show,
                dynamic_ncols=True, **options)


class CountingModel:
    """A Keras model that advances a progress bar by the number of faces of every forward pass.

    Everything but calling the model is passed through to the model itself.
    """

    def __init__(self, model: Any, bar: Any) -> None:
        self._model = model
        self._bar = bar

    def __call__(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the model on a batch (in inference mode) and count its faces."""
        kwargs.setdefault("training", False)
        out = self._model(batch, *args, **kwargs)
        self._bar.update(len(batch))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def epoch_progress():
    """Return a Keras callback drawing a bar per epoch (batches done, ETA) on stderr.

    The bar of a finished epoch stays, as one line with its loss and validation accuracy.
    """
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.bar = None

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            total = self.params.get("steps") if self.params else None
            self.bar = progress_bar(total, f"epoch {epoch + 1}/{self.params.get('epochs', '?')}", unit="batch")

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.bar is not None:
                self.bar.update(1)
                if logs and "loss" in logs:
                    self.bar.set_postfix(loss=f"{float(logs['loss']):.3f}", refresh=False)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.bar is not None:
                if logs and "val_accuracy" in logs:
                    self.bar.set_postfix(loss=f"{float(logs.get('loss', 0)):.3f}",
                                         val_accuracy=f"{float(logs['val_accuracy']):.3f}")
                self.bar.close()
                self.bar = None

    return EpochProgress()
