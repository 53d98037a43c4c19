import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras_tuner as kt
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import learnable_faces

from emoj_lib.data import FerData, write_fer_csv
from emoj_lib.models import build_model
from emoj_lib.tuning import (
    best_train_config,
    distributed_env,
    hypermodel_class,
    make_tuner,
    plot_results,
    results_table,
    run_search,
    trials_by_tuner,
)

EMOJ = str(Path(sys.executable).with_name("emoj"))


def test_default_hyperparameters_build_the_default_network():
    model = hypermodel_class()().build(kt.HyperParameters())
    assert model.count_params() == build_model("emojnet").count_params()


def test_plot_results_draws_every_trial_against_the_hyperparameter():
    table = pd.DataFrame({"trial": ["0", "1", "2"], "score": [0.5, 0.25, np.nan], "learning_rate": [1e-3, 3e-4, 1e-4],
                          "dropout": [0.1, 0.2, 0.3], "depth": [2, 3, 2]})
    ax = plot_results(table)
    [points] = ax.collections
    scored = table.dropna(subset=["score"])  # a trial without a score (failed, or still running) is not drawn
    np.testing.assert_allclose(points.get_offsets(), scored[["learning_rate", "score"]].to_numpy())
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "val_accuracy" and ax.get_xlabel() == "learning_rate"
    assert ax.get_legend().get_title().get_text() == "depth"
    assert len({tuple(c) for c in points.get_facecolors()}) == 2  # coloured by depth (2 and 3)
    _, own = plt.subplots()
    assert plot_results(table, ax=own, param="dropout") is own and own.get_xscale() == "linear"
    np.testing.assert_allclose(own.collections[0].get_offsets()[:, 0], scored.dropout)
    plt.close("all")


@pytest.mark.slow
def test_random_search_results_and_best_config(tmp_path, learnable):
    tuner = make_tuner("random", directory=tmp_path, max_trials=2, max_depth=2, seed=1)
    run_search(tuner, learnable.split("Training"), learnable.split("PublicTest"), epochs=1)
    table = results_table(tuner)
    assert len(table) == 2 and {"score", "depth", "width", "learning_rate", "batch_size"} <= set(table.columns)
    assert table.score.iloc[0] >= table.score.iloc[1]
    config = best_train_config(tuner, epochs=3)
    assert config.hyperparameters["depth"] == table.depth.iloc[0] and config.epochs == 3
    assert table.status.eq("COMPLETED").all()
    ran = trials_by_tuner(tmp_path, "emojnet")  # the tuner records each trial it ran, with its score
    assert sorted(ran.trial) == sorted(table.trial) and ran.score.notna().all()
    scores = dict(zip(table.trial, table.score, strict=True))
    assert dict(zip(ran.trial, ran.score, strict=True)) == pytest.approx(scores)
    with pytest.raises(ValueError, match="tuner must be one of"):
        make_tuner("grid", directory=tmp_path)


def test_distributed_env_validation():
    env = distributed_env("worker", oracle_ip="127.0.0.1", oracle_port=9000, tuner_id="tuner3")
    assert env == {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "9000",
                   "KERASTUNER_TUNER_ID": "tuner3"}
    assert distributed_env("chief", oracle_ip="h", oracle_port=1)["KERASTUNER_TUNER_ID"] == "chief"
    with pytest.raises(ValueError, match="must not contain 'chief'"):
        distributed_env("worker", oracle_ip="h", oracle_port=1, tuner_id="chief2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_chief_and_two_workers_on_localhost(tmp_path, rng):
    data = FerData.concat([learnable_faces(rng, 280, "Training"), learnable_faces(rng, 70, "PublicTest")])
    csv_path = write_fer_csv(tmp_path / "faces.csv", data.images, data.labels, data.usage)
    port = _free_port()
    common = [EMOJ, "tune", "--tuner", "random", "--max-trials", "6", "--epochs", "2", "--max-depth", "2",
              "--fer", str(csv_path), "--directory", str(tmp_path / "tuning"), "--project", "p", "--quiet",
              "--oracle-ip", "127.0.0.1", "--oracle-port", str(port)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = []
    try:
        chief = subprocess.Popen([*common, "--role", "chief"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, env=env, start_new_session=True)
        procs.append(chief)
        time.sleep(3)
        for i in range(2):
            procs.append(subprocess.Popen([*common, "--role", "worker", "--tuner-id", f"tuner{i}"],
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                          start_new_session=True))
        deadline = time.monotonic() + 400
        while chief.poll() is None and time.monotonic() < deadline:
            if all(w.poll() is not None for w in procs[1:]) and any(w.returncode for w in procs[1:]):
                break  # the workers failed: the chief would wait for trials forever
            time.sleep(1)
        for w in procs[1:]:
            w_out, _ = w.communicate(timeout=max(1, deadline - time.monotonic()))
            assert w.returncode == 0, w_out
        out, _ = chief.communicate(timeout=max(1, deadline - time.monotonic()))
        assert chief.returncode == 0, out
        ran = trials_by_tuner(tmp_path / "tuning", "p")
        assert set(ran.tuner_id) == {"tuner0", "tuner1"}, ran
        assert len(ran) == 6
        assert '"best": {"trial"' in out
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
