"""The personal adapter: per-emotion prototypes of the user's own faces, mixed into the model's judgement.

No training run: from the user's labelled faces (their embeddings, see :mod:`emoj_lib.personal.features`)
the adapter keeps one prototype per emotion the user labelled, the mean of the unit-length embeddings
centred on the user's own mean face embedding (centring removes what all of a person's faces share: who
they are). A face's cosine similarity ``s_c`` to each prototype moves the model's probabilities *within the
emotions the user labelled*:

    q(c) ∝ p(c) · exp(strength · s_c)      for c among the labelled emotions L,
    p'(c) = p(L) · q(c)                     (the model's total for L is kept),
    p'(u) = p(u)                            for emotions the user never labelled,

then a temperature makes the probabilities honest: ``p_out ∝ p'^(1 / temperature)``. The model alone keeps
deciding between labelled and never-labelled emotions. ``strength`` and ``temperature`` default to
:data:`DEFAULT_STRENGTH` and :data:`DEFAULT_TEMPERATURE`; :func:`fit_adapter` checks them against the user's
own entries by leave-one-out (k-fold above :data:`MAX_LOO` entries) and falls back to the base model
(strength 0) when the evidence says the adapter does not help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emoj_lib.evaluation import expected_calibration_error
from emoj_lib.labels import EMOTIONS

DEFAULT_STRENGTH = 80.0
"""Prototype strength used unless the user's own entries show a better one (chosen on JAFFE, see
``benchmarks/bench_personal.py``: accuracy rises with it up to about 80 at one shot per emotion). Its
``--lopo`` check chooses it on six persons and scores the seventh: it picks 160 for every person, with
the same accuracy within a point (k = 1: 77.5 % against 76.7 % with 80), so 80 is not an in-sample win."""

DEFAULT_TEMPERATURE = 8.0
"""Temperature of the adapted probabilities unless the user's entries can fit one (chosen on JAFFE for
the lowest negative log-likelihood at strength 80)."""

STRENGTHS = (0.0, 20.0, 40.0, 80.0, 160.0)
"""Strengths the leave-one-out compares (0 is the base model)."""

TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 16.0)
"""Temperatures the leave-one-out compares when enough entries allow fitting one."""

MAX_LOO = 200
"""Up to this many labelled entries the evidence is leave-one-out; above it, 10-fold cross-validation."""

MIN_FIT_TEMPERATURE = 20
"""Fewest labelled entries, in emotions labelled at least twice, needed to fit the temperature."""

_N = len(EMOTIONS)
_EPS = 1e-12


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), _EPS)


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def adapt_probabilities(proba: np.ndarray, features: np.ndarray, centre: np.ndarray, prototypes: np.ndarray,
                        classes: np.ndarray, strength: float, temperature: float = 1.0) -> np.ndarray:
    """Return adapted probabilities (N, 7): the formula of this module's docstring.

    Parameters
    ----------
    proba, features : np.ndarray
        The model's probabilities (N, 7) and embeddings (N, D) of the faces.
    centre : np.ndarray
        (D,) the user's mean embedding.
    prototypes : np.ndarray
        (len(classes), D) unit prototypes.
    classes : np.ndarray
        The emotion indices the prototypes stand for.
    strength, temperature : float
        See the module docstring.
    """
    p = np.asarray(proba, np.float64)
    out = p.copy()
    if strength > 0 and len(classes) >= 2:
        s = _unit(np.asarray(features, np.float64) - centre) @ prototypes.T
        q = _softmax_rows(np.log(p[:, classes] + _EPS) + strength * s)
        out[:, classes] = p[:, classes].sum(axis=1, keepdims=True) * q
    if temperature != 1.0:
        out = _softmax_rows(np.log(out + _EPS) / temperature)
    return out.astype(np.float32)


def class_prototypes(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(centre, prototypes, classes)``: the mean embedding and one unit prototype per labelled emotion."""
    centre = features.mean(axis=0)
    a = _unit(features - centre)
    classes = np.unique(labels)
    protos = _unit(np.stack([a[labels == c].mean(axis=0) for c in classes])) if len(classes) else \
        np.zeros((0, features.shape[1]))
    return centre, protos, classes


def _folds(n: int, seed: int) -> list[np.ndarray]:
    if n <= MAX_LOO:
        return [np.array([i]) for i in range(n)]
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(f) for f in np.array_split(order, 10)]


def held_out_probabilities(features: np.ndarray, labels: np.ndarray, proba: np.ndarray,
                           strengths=STRENGTHS, *, seed: int = 0) -> dict[float, np.ndarray]:
    """Return, per strength, each entry's adapted probabilities from an adapter fitted without it.

    Leave-one-out up to :data:`MAX_LOO` entries, else 10-fold cross-validation (temperature 1).
    """
    out = {s: np.zeros_like(proba, dtype=np.float32) for s in strengths}
    for test in _folds(len(labels), seed):
        keep = np.ones(len(labels), bool)
        keep[test] = False
        if keep.any():
            centre, protos, classes = class_prototypes(features[keep], labels[keep])
        else:
            centre, protos, classes = features.mean(axis=0), np.zeros((0, features.shape[1])), np.array([], int)
        for s in strengths:
            out[s][test] = adapt_probabilities(proba[test], features[test], centre, protos, classes, s)
    return out


@dataclass
class PrototypeAdapter:
    """A fitted adapter: prototypes, the chosen strength and temperature, and the evidence that chose them.

    Attributes
    ----------
    centre, prototypes, classes
        The user's mean embedding, the unit prototypes and the emotions they stand for.
    strength, temperature
        As chosen (strength 0: the adapter falls back to the base model).
    evidence : dict
        How they were chosen: ``entries``, ``method`` (``leave-one-out`` or ``10-fold``), held-out
        accuracy per strength, ``base_accuracy``, ``adapted_accuracy``, ``base_ece``, ``adapted_ece``
        (expected calibration error of the held-out probabilities), ``reason``.
    """

    centre: np.ndarray
    prototypes: np.ndarray
    classes: np.ndarray
    strength: float
    temperature: float
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether the adapter changes anything (else it returns the base model's probabilities)."""
        return self.strength > 0 and len(self.classes) >= 2

    def transform(self, proba: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Return the adapted probabilities (N, 7) of faces given the model's probabilities and embeddings."""
        if not self.active:
            return np.asarray(proba, np.float32)
        return adapt_probabilities(proba, features, self.centre, self.prototypes, self.classes, self.strength,
                                   self.temperature)

    def apply(self, model, crops: np.ndarray) -> np.ndarray:
        """Return the adapted probabilities (N, 7) of 48x48 uint8 face crops read by ``model``."""
        from emoj_lib.personal.features import embed

        proba, feats = embed(model, crops)
        return self.transform(proba, feats)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready account of the adapter: what it chose and why."""
        return {"method": "prototypes", "strength": self.strength, "temperature": self.temperature,
                "emotions": [EMOTIONS[c] for c in self.classes], **self.evidence}


def _choose_strength(correct: dict[float, int], default: float, margin: int) -> tuple[float, str]:
    """Keep ``default`` unless another strength is better by ``margin`` held-out entries; 0 if base is."""
    best = max(correct, key=lambda s: (correct[s], s == default))
    if correct[0.0] >= correct[default] + margin and correct[0.0] >= correct[best]:
        return 0.0, "the base model was better on your held-out entries"
    if best != default and correct[best] >= correct[default] + margin:
        return best, "this strength was best on your held-out entries"
    return default, "default strength (the held-out evidence did not favour another)"


def _fit_temperature(loo: np.ndarray, labels: np.ndarray, eligible: np.ndarray) -> float | None:
    if eligible.sum() < MIN_FIT_TEMPERATURE:
        return None
    p, y = loo[eligible], labels[eligible]

    def nll(t: float) -> float:
        q = _softmax_rows(np.log(p.astype(np.float64) + _EPS) / t)
        return float(-np.log(q[np.arange(len(y)), y] + _EPS).mean())

    return min(TEMPERATURES, key=nll)


def fit_adapter(features: np.ndarray, labels: np.ndarray, proba: np.ndarray, *,
                strength: float | None = None, temperature: float | None = None,
                margin: int | None = None, seed: int = 0) -> PrototypeAdapter:
    """Fit a :class:`PrototypeAdapter` on a user's labelled faces.

    Parameters
    ----------
    features, labels, proba : np.ndarray
        Embeddings (N, D), emotion indices (N,) and the base model's probabilities (N, 7) of the faces.
    strength, temperature : float, optional
        Force these (no choice); by default the strength is chosen by leave-one-out among
        :data:`STRENGTHS` (keeping :data:`DEFAULT_STRENGTH` unless another is better by ``margin``
        entries, 0 when the base model is), and the temperature fitted when enough entries allow.
    margin : int, optional
        Held-out entries by which an alternative must win (default: 1, or 2 % of the entries).
    seed : int
        Seeds the folds above :data:`MAX_LOO` entries.
    """
    features = np.asarray(features, np.float64)
    labels = np.asarray(labels, np.int64)
    proba = np.asarray(proba, np.float64)
    if not (len(features) == len(labels) == len(proba)):
        raise ValueError(f"features, labels and proba differ in length: {len(features)}, {len(labels)}, "
                         f"{len(proba)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= _N):
        raise ValueError(f"labels must be emotion indices 0..{_N - 1}")
    centre, protos, classes = class_prototypes(features, labels) if len(labels) else \
        (np.zeros(features.shape[1]), np.zeros((0, features.shape[1])), np.array([], np.int64))
    evidence: dict[str, Any] = {"entries": len(labels),
                                "method": "leave-one-out" if len(labels) <= MAX_LOO else "10-fold"}
    strengths = tuple(sorted({0.0, DEFAULT_STRENGTH, *STRENGTHS} | ({strength} if strength else set())))
    held = held_out_probabilities(features, labels, proba, strengths, seed=seed) if len(labels) >= 2 else {}
    correct = {s: int((h.argmax(axis=1) == labels).sum()) for s, h in held.items()}
    margin = margin if margin is not None else max(1, round(0.02 * len(labels)))
    if strength is not None:
        chosen, reason = float(strength), "given"
    elif len(classes) < 2 or not held:
        chosen, reason = DEFAULT_STRENGTH, "fewer than two emotions labelled: nothing to adapt yet"
    else:
        chosen, reason = _choose_strength(correct, DEFAULT_STRENGTH, margin)
    counts = np.bincount(labels, minlength=_N)
    eligible = counts[labels] >= 2 if len(labels) else np.zeros(0, bool)
    fitted = _fit_temperature(held[chosen], labels, eligible) if held and chosen > 0 else None
    temp = float(temperature) if temperature is not None else (fitted or DEFAULT_TEMPERATURE)
    if held:
        adapted = _softmax_rows(np.log(held[chosen].astype(np.float64) + _EPS) / (temp if chosen else 1.0))
        evidence.update(
            held_out_accuracy={str(s): round(c / len(labels), 4) for s, c in correct.items()},
            base_accuracy=round(correct[0.0] / len(labels), 4),
            adapted_accuracy=round(correct[chosen] / len(labels), 4),
            base_ece=round(expected_calibration_error(held[0.0], labels), 4),
            adapted_ece=round(expected_calibration_error(adapted, labels), 4))
    evidence.update(reason=reason, temperature_fitted=fitted is not None and temperature is None)
    return PrototypeAdapter(centre, protos, classes, chosen, temp if chosen else 1.0, evidence)

