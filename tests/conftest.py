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
