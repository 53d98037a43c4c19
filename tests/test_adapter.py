"""The personal adapter on generated embeddings: two shifted "people", a fallback, unlabelled emotions."""

import numpy as np
import pytest

from emoj_lib.personal.adapter import (
    DEFAULT_STRENGTH,
    adapt_probabilities,
    expected_calibration_error,
    fit_adapter,
)

D = 32


def _softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _person(rng, n_per_class, shift, identity, noise=0.6):
    """Faces of one person: class c looks like class (c + shift) % 7 of the base model's space."""
    directions = np.eye(7, D) * 3.0
    labels = np.repeat(np.arange(7), n_per_class)
    seen_as = (labels + shift) % 7
    expression = directions[seen_as] + rng.normal(0, noise, (len(labels), D))
    proba = _softmax(expression @ directions.T / 3.0 * 1.5)  # the base model reads the shifted class
    features = expression + identity  # the embedding also carries who the person is
    return features, labels, proba


@pytest.mark.parametrize("shift", [0, 1])
def test_adapter_gains_for_a_shifted_person_and_does_not_hurt_an_easy_one(rng, shift):
    identity = rng.normal(0, 2.0, D)
    feats, labels, proba = _person(rng, 6, shift, identity)
    shots = np.concatenate([np.flatnonzero(labels == c)[:2] for c in range(7)])
    test = np.setdiff1d(np.arange(len(labels)), shots)
    ad = fit_adapter(feats[shots], labels[shots], proba[shots])
    before = (proba[test].argmax(1) == labels[test]).mean()
    after = (ad.transform(proba[test], feats[test]).argmax(1) == labels[test]).mean()
    if shift:
        assert before < 0.3 and after > before + 0.5 and ad.strength > 0
    else:
        assert before > 0.8 and after >= before
    assert ad.evidence["method"] == "leave-one-out" and ad.evidence["entries"] == 14


def test_adapter_falls_back_on_contradictory_labels(rng):
    feats, labels, proba = _person(rng, 6, 0, rng.normal(0, 2.0, D))
    wrong = rng.permutation(labels)  # labels that contradict the faces (and each other)
    ad = fit_adapter(feats, wrong, proba)
    assert ad.strength == 0 and not ad.active
    assert "base model was better" in ad.evidence["reason"]
    np.testing.assert_allclose(ad.transform(proba, feats), proba.astype(np.float32))
    forced = fit_adapter(feats, wrong, proba, strength=DEFAULT_STRENGTH)
    assert (forced.transform(proba, feats).argmax(1) == labels).mean() < (proba.argmax(1) == labels).mean()


def test_unlabelled_emotions_keep_the_base_model(rng):
    feats, labels, proba = _person(rng, 4, 1, rng.normal(0, 2.0, D))
    labelled = np.isin(labels, [3, 4, 6])
    ad = fit_adapter(feats[labelled], labels[labelled], proba[labelled], temperature=1.0)
    out = ad.transform(proba, feats)
    assert list(ad.classes) == [3, 4, 6] and ad.active
    np.testing.assert_allclose(out[:, [0, 1, 2, 5]], proba[:, [0, 1, 2, 5]], rtol=1e-5)
    np.testing.assert_allclose(out[:, [3, 4, 6]].sum(1), proba[:, [3, 4, 6]].sum(1), rtol=1e-5)
    assert not np.allclose(out[:, [3, 4, 6]], proba[:, [3, 4, 6]], atol=1e-3)


def test_temperature_softens_and_probabilities_sum_to_one(rng):
    feats, _labels, proba = _person(rng, 3, 1, rng.normal(0, 2.0, D))
    centre = feats.mean(0)
    protos = np.eye(7, D)
    sharp = adapt_probabilities(proba, feats, centre, protos, np.arange(7), 40.0, 1.0)
    soft = adapt_probabilities(proba, feats, centre, protos, np.arange(7), 40.0, 8.0)
    np.testing.assert_allclose(soft.sum(1), 1, rtol=1e-5)
    assert (soft.max(1) < sharp.max(1) + 1e-6).all() and (soft.argmax(1) == sharp.argmax(1)).all()


def test_too_few_labels_change_nothing(rng):
    feats, labels, proba = _person(rng, 2, 1, rng.normal(0, 2.0, D))
    one = labels == 3
    ad = fit_adapter(feats[one], labels[one], proba[one])
    assert not ad.active
    np.testing.assert_allclose(ad.transform(proba, feats), proba.astype(np.float32))
    empty = fit_adapter(np.zeros((0, D)), np.zeros(0, int), np.zeros((0, 7)))
    assert not empty.active
    with pytest.raises(ValueError, match="differ in length"):
        fit_adapter(feats, labels[:-1], proba)
    with pytest.raises(ValueError, match="emotion indices"):
        fit_adapter(feats, labels + 7, proba)


def test_expected_calibration_error():
    proba = np.array([[0.9, 0.1] + [0] * 5, [0.9, 0.1] + [0] * 5])
    assert expected_calibration_error(proba, np.array([0, 1])) == pytest.approx(0.4)
    assert expected_calibration_error(proba, np.array([0, 0])) == pytest.approx(0.1)
