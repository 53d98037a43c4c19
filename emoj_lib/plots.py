"""Pictures of faces: grids of 48x48 faces with captions, faces per emotion, a model's worst mistakes.

Every function draws on one matplotlib axes (a new figure when ``ax`` is None) and returns it, so a
grid can sit in a figure of several panels. The faces are tiled into one image (no axes per face),
which keeps a grid of a few hundred faces fast to draw. matplotlib is imported when a function is called.

>>> ax = plot_faces(fer.images[:16], [EMOTIONS[k] for k in fer.labels[:16]])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emoj_lib.labels import EMOTIONS

_GAP = 4  # pixels between faces
_LINE = 11  # pixels of caption band per line of text


def _as_faces(images) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 1), got {x.shape}")
    return x


def _draw_grid(ax, faces: np.ndarray, cells: list[tuple[int, int]], captions: Sequence[str] | None,
               nrows: int, ncols: int, fontsize: float):
    """Tile ``faces[i]`` at grid cell ``cells[i]`` (row, column) with its caption underneath; return the axes."""
    h, w = faces.shape[1:]
    lines = max((str(c).count("\n") + 1 for c in captions), default=0) if captions is not None else 0
    band = lines * _LINE
    cell_h, cell_w = h + band + _GAP, w + _GAP
    canvas = np.full((nrows * cell_h, ncols * cell_w), np.nan, np.float32)
    for face, (r, c) in zip(faces, cells, strict=True):
        canvas[r * cell_h:r * cell_h + h, c * cell_w:c * cell_w + w] = face
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("gray").with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
    if captions is not None:
        for caption, (r, c) in zip(captions, cells, strict=True):
            ax.text(c * cell_w + w / 2, r * cell_h + h + 1, str(caption), ha="center", va="top",
                    fontsize=fontsize, linespacing=1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _axes(ax, nrows: int, ncols: int, size: float, band_lines: int = 0):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    height = nrows * size * (1 + band_lines * _LINE / 48) + 0.3
    _, ax = plt.subplots(figsize=(max(ncols * size, 2.0), max(height, 1.0)))
    return ax


def plot_faces(images, titles: Sequence[str] | None = None, *, ncols: int = 8, ax=None, size: float = 1.2,
               fontsize: float = 7, title: str | None = None):
    """Draw faces as a grid, each with an optional caption underneath; return the axes.

    Parameters
    ----------
    images : array-like
        Faces (N, H, W) or (N, H, W, 1), uint8 or float in 0..255 (e.g. mean faces).
    titles : sequence of str, optional
        One caption per face (may contain a newline).
    ncols : int
        Faces per row.
    ax : matplotlib.axes.Axes, optional
        Where to draw (a new figure sized to the grid if None).
    size : float
        Inches per face, for a new figure.
    fontsize : float
        Caption font size.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; with no face it holds the words "no faces".

    Raises
    ------
    ValueError
        If the images are not a stack of 2-D faces, ``titles`` has another length, or ``ncols < 1``.

    """
    faces = _as_faces(images) if len(images) else np.zeros((0, 48, 48), np.float32)
    if ncols < 1:
        raise ValueError(f"ncols must be positive, got {ncols}")
    if titles is not None:
        titles = list(titles)
        if len(titles) != len(faces):
            raise ValueError(f"{len(titles)} titles for {len(faces)} faces")
    n = len(faces)
    ncols = min(ncols, max(n, 1))
    nrows = max(-(-n // ncols), 1)
    lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles else 0
    ax = _axes(ax, nrows, ncols, size, lines)
    if title:
        ax.set_title(title)
    if n == 0:
        ax.text(0.5, 0.5, "no faces", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    cells = [(i // ncols, i % ncols) for i in range(n)]
    return _draw_grid(ax, faces, cells, titles, nrows, ncols, fontsize)


def plot_emotion_grid(data, per_emotion: int = 8, *, seed: int = 0, ax=None, size: float = 1.0):
    """Draw up to ``per_emotion`` random faces of every emotion, one row per emotion; return the axes.

    Parameters
    ----------
    data : FerData
        Labelled faces (unlabelled ones are ignored).
    per_emotion : int
        Faces per row; an emotion with fewer faces shows them all.
    seed : int
        Seeds which faces are drawn.
    ax : matplotlib.axes.Axes, optional
        Where to draw (a new figure if None).
    size : float
        Inches per face, for a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; each row is labelled with the emotion and its number of faces.

    """
    if per_emotion < 1:
        raise ValueError(f"per_emotion must be positive, got {per_emotion}")
    rng = np.random.default_rng(seed)
    faces, cells, names = [], [], []
    for k, emotion in enumerate(EMOTIONS):
        idx = np.flatnonzero(data.labels == k)
        chosen = np.sort(rng.choice(idx, size=min(per_emotion, len(idx)), replace=False))
        faces += [data.images[i] for i in chosen]
        cells += [(k, j) for j in range(len(chosen))]
        names.append(f"{emotion} ({len(idx):,})")
    ax = _axes(ax, len(EMOTIONS), per_emotion + 1, size)
    stack = np.stack(faces).astype(np.float32) if faces else np.zeros((0, *data.images.shape[1:]), np.float32)
    _draw_grid(ax, stack, cells, None, len(EMOTIONS), per_emotion, 7)
    cell_h = data.images.shape[1] + _GAP
    ax.set_yticks([k * cell_h + data.images.shape[1] / 2 for k in range(len(EMOTIONS))], names)
    ax.tick_params(axis="y", length=0)
    return ax


def plot_mistakes(images, mistakes, *, ncols: int = 8, ax=None, size: float = 1.2, title: str | None = None):
    """Draw the faces of a :func:`~emoj_lib.evaluation.worst_mistakes` table, captioned; return the axes.

    Parameters
    ----------
    images : array-like
        The faces that were evaluated (the table's ``index`` points into them).
    mistakes : pandas.DataFrame
        Columns ``index``, ``true``, ``predicted``, ``confidence``.
    ncols : int
        Faces per row.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    size : float
        Inches per face, for a new figure.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Each face captioned "true / predicted" and the predicted class's probability.

    """
    faces = np.asarray(images)[mistakes["index"].to_numpy(np.int64)]
    captions = [f"{t}\nas {p} {c:.2f}" for t, p, c in
                zip(mistakes["true"], mistakes["predicted"], mistakes["confidence"], strict=True)]
    return plot_faces(faces, captions, ncols=ncols, ax=ax, size=size, title=title)
