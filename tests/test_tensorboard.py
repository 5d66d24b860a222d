"""keras.callbacks.TensorBoard writes real event files: read back with TensorBoard's own reader and
served by a real ``tensorboard`` process on 127.0.0.1."""
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

import minikeras as keras  # noqa: E402
from minikeras.callbacks.tensorboard_events import encode_png  # noqa: E402


def read(folder):
    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def series(acc, tag):
    return [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]


def small_model():
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(3, activation="softmax", name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture
def data(rng):
    x = rng.normal(size=(100, 6)).astype("float32")
    return x, np.argmax(x[:, :3], axis=1)


def test_epoch_scalars_match_history(tmp_path, data):
    x, y = data
    model = small_model()
    history = model.fit(x, y, epochs=3, batch_size=20, validation_split=0.2, verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(tmp_path / "run")])
    train, val = read(tmp_path / "run" / "train"), read(tmp_path / "run" / "validation")
    for name in ("loss", "accuracy"):
        assert series(train, f"epoch_{name}") == [(i, pytest.approx(v, rel=1e-6))
                                                  for i, v in enumerate(history.history[name])]
        assert series(val, f"epoch_{name}") == [(i, pytest.approx(v, rel=1e-6))
                                                for i, v in enumerate(history.history[f"val_{name}"])]
    assert [v for _, v in series(train, "epoch_learning_rate")] == pytest.approx([0.05] * 3)
    # after each validation pass, at the optimizer's step count (4 batches an epoch)
    assert [s for s, _ in series(val, "evaluation_loss_vs_iterations")] == [4, 8, 12]


def test_batch_scalars_every_n_batches(tmp_path, data):
    x, y = data
    model = small_model()
    model.fit(x, y, epochs=2, batch_size=10, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(tmp_path, update_freq=3)])
    steps = [s for s, _ in series(read(tmp_path / "train"), "batch_loss")]
    assert steps == [3, 6, 9, 12, 15, 18]
    every = keras.callbacks.TensorBoard(tmp_path / "b", update_freq="batch")
    model.fit(x, y, epochs=1, batch_size=50, verbose=0, callbacks=[every])
    assert [s for s, _ in series(read(tmp_path / "b" / "train"), "batch_accuracy")] == [1, 2]


def test_histograms_images_and_graph(tmp_path, data):
    x, y = data
    model = small_model()
    model.fit(x, y, epochs=3, verbose=0,   # histograms after epochs 0 and 2 (the last)
              callbacks=[keras.callbacks.TensorBoard(tmp_path, histogram_freq=2, write_images=True)])
    train = read(tmp_path / "train")
    tags = train.Tags()
    kernel = [t for t in tags["tensors"] if t.endswith("/histogram") and "hidden" in t and "kernel" in t]
    assert len(kernel) == 1
    events = train.Tensors(kernel[0])
    assert [e.step for e in events] == [0, 2]
    buckets = tensor_util.make_ndarray(events[-1].tensor_proto)          # (left, right, count) rows
    assert buckets[:, 2].sum() == 6 * 8
    w = model.get_layer("hidden").kernel.value
    assert buckets[0, 0] == pytest.approx(w.min(), abs=1e-6) and buckets[-1, 1] == pytest.approx(w.max(), abs=1e-6)
    image = [t for t in tags["tensors"] if t.endswith("/image") and "hidden" in t and "kernel" in t][0]
    width, height, png = tensor_util.make_ndarray(train.Tensors(image)[-1].tensor_proto)[:3]
    assert (int(width), int(height)) == (8, 6) and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert train.Tags()["graph"]   # the op graph ...
    conceptual = json.loads(tensor_util.make_ndarray(train.Tensors("keras")[0].tensor_proto).item())
    assert conceptual["class_name"] == "Sequential"   # ... and Keras's conceptual graph
    graph = train.Graph()
    assert {"hidden", "out"} <= {n.name.split("/")[-1] for n in graph.node}


def test_png_encoder_round_trips_through_zlib():
    import zlib
    pixels = (np.arange(12, dtype=np.uint8).reshape(3, 4) * 20)
    png = encode_png(pixels)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (4, 3)
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(3, 5)
    np.testing.assert_array_equal(rows[:, 1:], pixels)


def test_arguments_are_checked_and_profile_batch_is_accepted(tmp_path):
    keras.callbacks.TensorBoard(tmp_path, profile_batch=(100, 200))
    keras.callbacks.TensorBoard(tmp_path, profile_batch="10,20")
    for bad in ((5, 2), -1, "a,b", (1, 2, 3)):
        with pytest.raises(ValueError, match="profile_batch"):
            keras.callbacks.TensorBoard(tmp_path, profile_batch=bad)
    with pytest.raises(ValueError, match="update_freq"):
        keras.callbacks.TensorBoard(tmp_path, update_freq="sometimes")
    with pytest.raises(NotImplementedError, match="embeddings"):
        keras.callbacks.TensorBoard(tmp_path, embeddings_freq=1)


def test_tuner_trials_get_their_own_runs_and_hparams(tmp_path, data):
    import minikeras.tuner as kt
    from tensorboard.plugins.hparams import plugin_data_pb2
    x, y = data

    def build(hp):
        model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(hp.Int("units", 4, 8, step=4)),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=hp.Choice("opt", ["sgd", "adam"]), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, executions_per_trial=2, seed=0,
                            directory=tmp_path, project_name="p")
    tuner.search(x, y, epochs=1, validation_split=0.2, verbose=0,
                 callbacks=[keras.callbacks.TensorBoard(tmp_path / "logs")])
    for trial in tuner.oracle.trials.values():
        for execution in (0, 1):
            run = tmp_path / "logs" / trial.trial_id / f"execution{execution}"
            assert series(read(run / "validation"), "epoch_accuracy")
            content = read(run).PluginTagToContent("hparams")["_hparams_/session_start_info"]
            info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
            assert info.group_name == trial.trial_id
            assert info.hparams["units"].number_value == trial.hyperparameters.values["units"]
            assert info.hparams["opt"].string_value == trial.hyperparameters.values["opt"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, body=None):
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_tensorboard_server_lists_the_runs_scalars_and_hparams(tmp_path, data, array_backend):
    if array_backend != "numpy":
        pytest.skip("one server check is enough")
    exe = pathlib.Path(sys.executable).with_name("tensorboard")
    if not exe.exists() and shutil.which("tensorboard") is None:
        pytest.skip("the tensorboard command is not installed")
    x, y = data
    logs = tmp_path / "logs"
    model = small_model()
    model.fit(x, y, epochs=2, validation_split=0.2, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(logs / "run_1", histogram_freq=1)])
    import minikeras.tuner as kt

    def build(hp):
        m = small_model()
        m.compile(optimizer=hp.Choice("opt", ["sgd", "adam"]), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
        return m
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, seed=0, directory=tmp_path,
                            project_name="p")
    tuner.search(x, y, epochs=1, validation_split=0.2, verbose=0,
                 callbacks=[keras.callbacks.TensorBoard(logs / "tuner")])
    port = _free_port()
    server = subprocess.Popen([str(exe if exe.exists() else shutil.which("tensorboard")), "--logdir", str(logs),
                               "--host", "127.0.0.1", "--port", str(port), "--load_fast", "false"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        runs = None
        for _ in range(120):   # at most about a minute for the server to come up and read the logs
            try:
                runs = _get(f"{base}/data/runs")
                if runs:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                pytest.fail(f"tensorboard exited: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.5)
        assert {"run_1/train", "run_1/validation", "tuner/0/execution0/validation"} <= set(runs)
        tags = _get(f"{base}/data/plugin/scalars/tags")
        assert {"epoch_loss", "epoch_accuracy"} <= set(tags["run_1/validation"])
        points = _get(f"{base}/data/plugin/scalars/scalars?run=run_1/train&tag=epoch_loss")
        assert [p[1] for p in points] == [0, 1]
        assert points[0][2] == pytest.approx(model.history.history["loss"][0], rel=1e-6)
        plugins = _get(f"{base}/data/plugins_listing")
        assert all(plugins[name]["enabled"] for name in ("scalars", "histograms", "graphs", "hparams"))
        # the HPARAMS tab: one session group per trial, with its values and the logged metrics
        experiment = _get(f"{base}/data/plugin/hparams/experiment", {"experimentName": ""})
        assert [h["name"] for h in experiment["hparamInfos"]] == ["opt"]
        assert {"group": "validation", "tag": "epoch_accuracy"} in [m["name"] for m in experiment["metricInfos"]]
        groups = _get(f"{base}/data/plugin/hparams/session_groups",
                      {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"],
                       "colParams": [], "startIndex": 0, "sliceSize": 10})
        by_name = {g["name"]: g["hparams"]["opt"] for g in groups["sessionGroups"]}
        assert by_name == {tid: t.hyperparameters.values["opt"] for tid, t in tuner.oracle.trials.items()}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
