"""One stratified sampler and the group-aware split."""

import numpy as np
import pytest

from emoj_lib.data.sampling import stratified_sample, stratified_split


def test_stratified_sample_keeps_class_shares(rng):
    labels = np.repeat(np.arange(7), [100, 10, 50, 200, 80, 60, 120])
    pick = stratified_sample(labels, 124, seed=3)
    assert len(pick) == 124 and (np.diff(pick) > 0).all()
    np.testing.assert_allclose(np.bincount(labels[pick], minlength=7), np.bincount(labels) * 124 / len(labels),
                               atol=1)
    assert (stratified_sample(labels, 10_000, 0) == np.arange(len(labels))).all()
    assert (stratified_sample(labels, 124, 3) == pick).all()


def test_group_split_never_puts_a_group_on_both_sides(rng):
    for seed in range(30):
        n = int(rng.integers(20, 200))
        groups = rng.choice([f"p{i}" for i in range(int(rng.integers(2, 12)))], n)
        labels = rng.integers(0, 7, n)
        rest, part = stratified_split(labels, 0.25, seed, groups=groups)
        assert len(rest) and len(part) and len(rest) + len(part) == n
        assert not set(groups[rest]) & set(groups[part])


def test_group_split_size_and_errors():
    groups = np.repeat([f"p{i}" for i in range(10)], 10)
    _rest, part = stratified_split(np.zeros(100, int), 0.3, 0, groups=groups)
    assert len(part) == 30
    with pytest.raises(ValueError, match="at least two groups"):
        stratified_split(np.zeros(5, int), 0.3, 0, groups=["a"] * 5)
    with pytest.raises(ValueError, match="4 names for 5 faces"):
        stratified_split(np.zeros(5, int), 0.3, 0, groups=["a", "b", "a", "b"])


def test_plain_split_is_stratified():
    labels = np.repeat(np.arange(7), 20)
    rest, part = stratified_split(labels, 0.25, 0)
    assert not set(rest) & set(part) and len(rest) + len(part) == 140
    assert (np.bincount(labels[part]) == 5).all()
