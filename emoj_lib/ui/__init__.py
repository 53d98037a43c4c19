"""The journal app in Jupyter and Voila: camera and upload, the emotion read in the face, corrections, history.

- :class:`JournalApp`: the whole app (``app = JournalApp(); app`` in a notebook; ``voila
  notebooks/05_journal.ipynb`` serves it without code);
- :class:`CameraWidget`: the browser's webcam as a widget (anywidget, inline JavaScript, no CDN);
  :class:`LocalCamera`: a camera of the machine running the kernel (OpenCV);
- :class:`HistoryView`: the latest entries with their faces, and the mood charts;
- :mod:`emoj_lib.ui.page`: whether Voila serves the app, and scrolling the page to its result;
  ``notebooks/05_journal.ipynb`` shows the app (``emoj app`` serves a copy of it).

Importing this package imports ipywidgets and anywidget, not TensorFlow (the model is loaded by the app).
"""

from emoj_lib.ui.app import MODEL_ENV, JournalApp, journal_model, resolve_model_path
from emoj_lib.ui.camera import CAMERA_ERRORS, CameraError, CameraWidget, LocalCamera, explain_camera_error
from emoj_lib.ui.history import CHARTS, HistoryView

__all__ = [
    "CAMERA_ERRORS",
    "CHARTS",
    "MODEL_ENV",
    "CameraError",
    "CameraWidget",
    "HistoryView",
    "JournalApp",
    "LocalCamera",
    "explain_camera_error",
    "journal_model",
    "resolve_model_path",
]
