"""Sampling and splitting faces: stratified by emotion, and group-aware (no person on both sides).

One stratified sampler and one split rule for the whole library: stage 1's ``sample`` option, stage 2's
holdout and validation, and the personal benchmarks all use these.
"""

from __future__ import annotations

import numpy as np


def stratified_sample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Return sorted indices of a random sample of ``n`` of ``labels``, stratified when every class allows.

    Parameters
    ----------
    labels : np.ndarray
        Class indices (``-1``, unlabelled, counts as one more class).
    n : int
        Sample size; all indices when ``n >= len(labels)``.
    seed : int
        Seeds the draw.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    idx = np.arange(len(labels))
    if n >= len(labels):
        return idx
    _, counts = np.unique(labels, return_counts=True)
    ok = counts.min() >= 2 and min(n, len(labels) - n) >= len(counts)
    chosen, _ = train_test_split(idx, train_size=n, random_state=seed, stratify=labels if ok else None)
    return np.sort(chosen)


def stratified_split(labels: np.ndarray, fraction: float, seed: int,
                     groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(rest, part)`` sorted index arrays with about ``fraction`` of the faces in ``part``.

    Without ``groups``: a stratified random split (plain random when a class has a single face). With
    ``groups`` (one name per face, e.g. the person): whole groups go to one side, about ``fraction`` of
    the faces in ``part`` (at least one group on each side); no group is ever on both sides.

    Raises
    ------
    ValueError
        If ``groups`` has fewer than two distinct groups or a different length than ``labels``.
    """
    labels = np.asarray(labels)
    if groups is None:
        n_part = min(max(1, round(fraction * len(labels))), len(labels) - 1)
        part = stratified_sample(labels, n_part, seed)
        return np.setdiff1d(np.arange(len(labels)), part), part
    groups = np.asarray(groups).astype(str)
    if len(groups) != len(labels):
        raise ValueError(f"groups has {len(groups)} names for {len(labels)} faces")
    names, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if len(names) < 2:
        raise ValueError(f"a group-aware split needs at least two groups, got {len(names)}")
    order = np.random.default_rng(seed).permutation(len(names))
    target = fraction * len(labels)
    taken: list[int] = []
    total = 0
    for g in order[:-1]:  # the last group always stays on the rest side
        if taken and abs(total + sizes[g] - target) > abs(total - target):
            continue
        taken.append(g)
        total += sizes[g]
    part_mask = np.isin(inverse, taken)
    return np.flatnonzero(~part_mask), np.flatnonzero(part_mask)
