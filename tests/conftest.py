"""Shared fixtures: seeds, small generated FER data, and the shared data root."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from emoj_lib import config
from emoj_lib.data import FerData


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def small_fer(rng) -> FerData:
    """30 random faces: 20 Training, 5 PublicTest, 5 PrivateTest, every emotion present in Training."""
    images = rng.integers(0, 256, (30, 48, 48), dtype=np.uint8)
    labels = np.concatenate([np.arange(20) % 7, rng.integers(0, 7, 10)])
    usage = np.array(["Training"] * 20 + ["PublicTest"] * 5 + ["PrivateTest"] * 5, dtype=object)
    return FerData(images, labels, usage, source="small_fer")


def shared_path(path: Path) -> Path:
    """Return ``path`` if the shared data holds it; skip the test outside CI, fail in CI."""
    if path.exists():
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"shared data missing in CI: {path}")
    pytest.skip(f"shared data not available: {path}")


@pytest.fixture(scope="session")
def require_shared():
    """The :func:`shared_path` check, as a fixture."""
    return shared_path


@pytest.fixture(scope="session")
def shared_fer():
    """The full shared FER2013 (read once per session)."""
    from emoj_lib.data import read_fer_csv

    return read_fer_csv(shared_path(config.fer2013_path()))


def learnable_faces(rng, n, usage, transpose=False):
    """Faces whose emotion is drawn as a bright band at a class-specific height: easy to learn.

    ``transpose=True`` draws the band vertically: a "kind of face" a model trained on the first kind
    has never seen.
    """
    labels = np.arange(n) % 7
    images = rng.integers(0, 90, (n, 48, 48)).astype(np.uint8)
    for i, k in enumerate(labels):
        images[i, 6 * k:6 * k + 6, :] = 230
    if transpose:
        images = images.transpose(0, 2, 1).copy()
    return FerData(images, labels, usage, source="learnable" + ("-T" if transpose else ""))


@pytest.fixture
def learnable(rng):
    """350 learnable faces: 210 Training, 70 PublicTest, 70 PrivateTest."""
    return FerData.concat([learnable_faces(rng, 210, "Training"), learnable_faces(rng, 70, "PublicTest"),
                           learnable_faces(rng, 70, "PrivateTest")])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A small emojnet trained 3 epochs on learnable faces, saved with its card (path)."""
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.training import TrainConfig, train_stage1

    rng = np.random.default_rng(99)
    data = FerData.concat([learnable_faces(rng, 280, "Training"), learnable_faces(rng, 70, "PublicTest"),
                           learnable_faces(rng, 70, "PrivateTest")])
    config = TrainConfig(hyperparameters={"width": 8, "depth": 2, "dense": 32, "bn_momentum": 0.8},
                         epochs=3, batch_size=32,
                         learning_rate=3e-3, augmentation=Augmentation.none(), patience=None, seed=1)
    return train_stage1(config, fer=data, run_dir=tmp_path_factory.mktemp("tiny"), verbose=0).model_path


def journal_entry(rng: np.random.Generator, **fields):
    """Return a journal Entry with a random face and probabilities; ``fields`` override the defaults."""
    from datetime import datetime, timedelta, timezone

    from emoj_lib.journal import Entry

    values = {"face": rng.integers(0, 256, (48, 48), dtype=np.uint8), "box": (1, 2, 30, 40),
              "probabilities": rng.dirichlet(np.ones(7)), "source": "file", "model": "m", "model_version": "1",
              "timestamp": datetime(2025, 6, 1, 20, 0, tzinfo=timezone(timedelta(hours=1)))}
    return Entry(**(values | fields))
