"""A real ``kill -9`` of writers keeping photos: no acknowledged row lost, no file left over.

The trials are those of ``benchmarks/bench_faults.py`` (which prints the figures); here they are bounded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_faults.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_faults", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_kill_9_with_photos_loses_nothing_and_leaves_nothing(tmp_path):
    out = _bench().kill_trials(tmp_path / "journal", trials=30)
    assert out["acknowledged"] > 100  # the writers did get work acknowledged before being killed
    assert out["lost"] == 0 and out["photo_missing"] == 0 and out["amend_lost"] == 0
    assert out["leftovers_after_reopen"] == 0


def test_concurrent_writers_with_photos(tmp_path):
    out = _bench().concurrent_writers(tmp_path / "journal", writers=3, appends=20)
    assert out["acknowledged"] == 60 and out["exit_codes_nonzero"] == 0
    assert out["lost"] == 0 and out["photo_missing"] == 0 and out["amend_lost"] == 0


@pytest.mark.slow
def test_every_torn_offset_reads_and_repairs(tmp_path):
    out = _bench().torn_offsets(tmp_path / "journal", step=211)
    assert out["offsets"] > 40
    assert out["read_errors"] == 0 and out["earlier_rows_lost"] == 0 and out["append_after_failed"] == 0
