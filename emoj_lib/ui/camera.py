"""Cameras: the webcam of the browser showing the notebook (an anywidget widget), and a camera on the kernel's machine.

:class:`CameraWidget` asks the browser for its camera with ``getUserMedia``, shows the live preview and,
on "Take photo", sends the frame to the kernel as JPEG bytes (:attr:`CameraWidget.frame`, with
:attr:`CameraWidget.captures` counting the photos taken). Errors (access refused, no camera, a page
that is not a secure context) go to :attr:`CameraWidget.error`; :func:`explain_camera_error` turns them
into a sentence for the user. The widget's JavaScript is inline: it loads nothing from anywhere, and the
frame goes only to the kernel that displays it.

:class:`LocalCamera` reads a frame from a camera attached to the machine that runs the kernel
(``cv2.VideoCapture``), which is the same machine as the browser's only when both run locally.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anywidget
import numpy as np
import traitlets

from emoj_lib.errors import EmojError

__all__ = ["CAMERA_ERRORS", "CameraError", "CameraWidget", "LocalCamera", "explain_camera_error"]


class CameraError(EmojError):
    """A camera could not be opened or gave no picture."""


_ESM = r"""
const ERR_UNSUPPORTED = "UnsupportedError: this page has no camera access (navigator.mediaDevices is missing: "
  + "the page must be served over https or from localhost)";

function button(label, name) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.className = "jupyter-button widget-button emoj-camera-button";
  b.dataset.emoj = name;
  return b;
}

function render({ model, el }) {
  el.classList.add("emoj-camera");
  const video = document.createElement("video");
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  video.className = "emoj-camera-video";
  const canvas = document.createElement("canvas");
  const start = button("Start camera", "start");
  const capture = button("Take photo", "capture");
  const stop = button("Stop camera", "stop");
  const controls = document.createElement("div");
  controls.className = "emoj-camera-controls";
  controls.append(start, capture, stop);
  const status = document.createElement("div");
  status.className = "emoj-camera-status";
  el.append(video, controls, status);

  let stream = null;

  function show(state, text) {
    el.dataset.emojStatus = state;
    status.textContent = text;
    capture.disabled = state !== "streaming";
    stop.disabled = !(state === "streaming" || state === "starting");
    start.disabled = state === "streaming" || state === "starting";
    video.style.display = state === "streaming" ? "" : "none";
  }

  function report(state, error) {
    model.set("status", state);
    model.set("error", error);
    model.save_changes();
  }

  function stopStream() {
    if (stream) {
      for (const track of stream.getTracks()) track.stop();
    }
    stream = null;
    video.srcObject = null;
  }

  async function startCamera() {
    if (stream) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show("error", "No camera access on this page. You can upload a photo instead.");
      report("error", ERR_UNSUPPORTED);
      return;
    }
    show("starting", "Asking for the camera...");
    report("starting", "");
    try {
      const wanted = { width: { ideal: model.get("width") }, height: { ideal: model.get("height") } };
      stream = await navigator.mediaDevices.getUserMedia({ video: wanted, audio: false });
      video.srcObject = stream;
      await video.play();
      show("streaming", "Camera on: the picture stays in this page until you take a photo.");
      report("streaming", "");
    } catch (err) {
      stopStream();
      const name = (err && err.name) || "Error";
      const message = (err && err.message) || String(err);
      show("error", "The camera could not be started. You can upload a photo instead.");
      report("error", name + ": " + message);
    }
  }

  function stopCamera() {
    stopStream();
    show("stopped", "Camera off.");
    report("stopped", "");
  }

  function takePhoto() {
    if (!stream || video.readyState < 2 || !video.videoWidth) {
      show(stream ? "streaming" : "idle", "Start the camera first.");
      return;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(async (blob) => {
      if (!blob) {
        report("error", "EncodingError: the browser could not encode the photo");
        return;
      }
      const bytes = await blob.arrayBuffer();
      model.set("frame", new DataView(bytes));
      model.set("captures", model.get("captures") + 1);
      model.save_changes();
      status.textContent = "Photo taken (" + canvas.width + "x" + canvas.height + ").";
    }, "image/jpeg", model.get("quality"));
  }

  start.addEventListener("click", startCamera);
  stop.addEventListener("click", stopCamera);
  capture.addEventListener("click", takePhoto);
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "start") startCamera();
    else if (msg && msg.type === "stop") stopCamera();
    else if (msg && msg.type === "capture") takePhoto();
  });

  show("idle", "The camera starts only when you ask. Nothing leaves this computer.");
  if (model.get("autostart")) startCamera();
  return () => stopStream();
}

export default { render };
"""

_CSS = """
.emoj-camera { display: flex; flex-direction: column; gap: 6px; max-width: 500px; }
.emoj-camera-video { width: 100%; max-width: 480px; background: #222; border-radius: 4px; transform: scaleX(-1); }
.emoj-camera-controls { display: flex; gap: 6px; }
.emoj-camera-status { font-size: 0.9em; color: var(--jp-ui-font-color2, #666); }
"""

CAMERA_ERRORS: dict[str, str] = {
    "NotAllowedError": "camera access was refused: allow the camera for this page in the browser's site settings",
    "SecurityError": "the browser does not allow the camera on this page",
    "NotFoundError": "no camera was found on this device",
    "OverconstrainedError": "the camera cannot give a picture of the requested size",
    "NotReadableError": "the camera is busy (used by another application) or could not be started",
    "AbortError": "the camera stopped while starting",
    "UnsupportedError": "this page has no camera access: it must be opened over https or from localhost",
    "TypeError": "this browser does not offer camera access here",
    "EncodingError": "the browser could not encode the photo",
}
"""A sentence for each error name that ``getUserMedia`` (or the widget) reports."""


def explain_camera_error(error: str) -> str:
    """Return a sentence for the user from a browser camera error.

    Parameters
    ----------
    error : str
        :attr:`CameraWidget.error`: ``"<ErrorName>: <browser message>"``.

    Returns
    -------
    str
        The explanation of the error name followed by the browser's name for it, or the raw text for an
        unknown error; ``""`` for no error.

    """
    error = (error or "").strip()
    if not error:
        return ""
    name = error.partition(":")[0].strip()
    if name in CAMERA_ERRORS:
        return f"{CAMERA_ERRORS[name]} ({name})"
    return error


def _bytes_from_json(value: Any, widget: Any) -> bytes:
    """Turn the buffer the frontend sends (a memoryview) into bytes."""
    return b"" if value is None else bytes(value)


class CameraWidget(anywidget.AnyWidget):
    """The browser's camera: a live preview and a "Take photo" button that sends a JPEG to the kernel.

    Parameters
    ----------
    width, height : int
        The picture size asked of the camera (an ideal: the camera may give another).
    quality : float
        JPEG quality of the photos, in ``(0, 1]``.
    autostart : bool
        Start the camera as soon as the widget is shown (default: only when the user clicks
        "Start camera").

    Notes
    -----
    Each photo sets :attr:`frame` and increments :attr:`captures` in one update: observe ``captures``
    (two identical photos leave ``frame`` unchanged). :meth:`start`, :meth:`stop` and :meth:`capture`
    do from Python what the buttons do, in every view of the widget.

    """

    _esm = _ESM
    _css = _CSS

    frame = traitlets.Bytes(b"", help="the last photo taken, as JPEG bytes").tag(
        sync=True, from_json=_bytes_from_json, echo_update=False)
    captures = traitlets.Int(0, help="how many photos were taken").tag(sync=True)
    status = traitlets.Unicode("idle", help="idle, starting, streaming, stopped or error").tag(sync=True)
    error = traitlets.Unicode("", help="the last camera error: '<ErrorName>: <message>'").tag(sync=True)
    width = traitlets.Int(640).tag(sync=True)
    height = traitlets.Int(480).tag(sync=True)
    quality = traitlets.Float(0.92).tag(sync=True)
    autostart = traitlets.Bool(False).tag(sync=True)

    @traitlets.validate("quality")
    def _check_quality(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not 0 < value <= 1:
            raise traitlets.TraitError(f"quality must be in (0, 1], got {value}")
        return value

    @traitlets.validate("width", "height")
    def _check_size(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value <= 0:
            raise traitlets.TraitError(f"{proposal['trait'].name} must be positive, got {value}")
        return value

    def start(self) -> None:
        """Ask the browser to start the camera (as the "Start camera" button does)."""
        self.send({"type": "start"})

    def stop(self) -> None:
        """Stop the camera in the browser."""
        self.send({"type": "stop"})

    def capture(self) -> None:
        """Take a photo in the browser (it arrives later in :attr:`frame`)."""
        self.send({"type": "capture"})


class LocalCamera:
    """A camera attached to the machine that runs the kernel, read with OpenCV.

    Parameters
    ----------
    index : int
        The OpenCV device index (``0``: the first camera, ``/dev/video0`` on Linux).
    width, height : int
        The picture size asked of the camera.
    warmup : int
        Frames read and dropped before the photo (cameras adjust their exposure over the first frames).

    """

    def __init__(self, index: int = 0, *, width: int = 640, height: int = 480, warmup: int = 5) -> None:
        if not isinstance(index, int | np.integer) or isinstance(index, bool) or index < 0:
            raise ValueError(f"index must be a camera number >= 0, got {index!r}")
        if width <= 0 or height <= 0 or warmup < 0:
            raise ValueError(f"width and height must be positive and warmup >= 0, got {width}, {height}, {warmup}")
        self.index = int(index)
        self.width, self.height, self.warmup = int(width), int(height), int(warmup)

    def __repr__(self) -> str:
        return f"LocalCamera({self.index})"

    @property
    def device(self) -> str:
        """A name of the device for messages (``/dev/videoN`` on Linux)."""
        return f"/dev/video{self.index}" if sys.platform.startswith("linux") else f"camera {self.index}"

    def _open(self):
        import cv2

        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"no camera could be opened on the machine running Python ({self.device})")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        return cap

    def probe(self) -> str:
        """Check that the camera opens; return ``""`` if it does, else why not (nothing is read).

        On Linux a missing ``/dev/videoN`` is reported without asking OpenCV (which would log warnings).
        """
        if sys.platform.startswith("linux") and not os.path.exists(self.device):
            return f"no camera on the machine running Python ({self.device} does not exist)"
        try:
            self._open().release()
        except CameraError as exc:
            return str(exc)
        return ""

    def grab(self) -> np.ndarray:
        """Take a photo: an RGB ``uint8`` array ``(H, W, 3)``.

        Raises
        ------
        CameraError
            If the camera does not open or gives no picture.

        """
        import cv2

        cap = self._open()
        try:
            frame = None
            for _ in range(self.warmup + 1):
                ok, got = cap.read()
                if ok and got is not None:
                    frame = got
            if frame is None:
                raise CameraError(f"the camera {self.device} opened but gave no picture")
        finally:
            cap.release()
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
