"""Callbacks: hook order and counts, EarlyStopping, ModelCheckpoint, LearningRateScheduler,
ReduceLROnPlateau, CSVLogger, LambdaCallback, TerminateOnNaN (seed exercises 26-28, 45).

Monitored values are scripted by a callback placed before the one under test, so the
expected epochs are exact; the same scripts run through the real Keras 3 for comparison."""
import csv
import math
import os
import warnings

import numpy as np
import pytest

import minikeras
from minikeras import callbacks as cbs


# ----------------------------------------------------------------------------- helpers
def _data(n=50, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32") + 0.3).astype("float32")
    return x, y


def _model(keras=minikeras, lr=0.01, metrics=("mae",)):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse", metrics=list(metrics))
    return model


def _script(keras, key, values):
    """A callback that overwrites ``logs[key]`` with ``values[epoch]`` (it must come first in the list)."""
    class Script(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs[key] = float(values[epoch])
    return Script()


def _fit(keras, callbacks, epochs, validation=True, **kw):
    x, y = _data()
    model = _model(keras, **kw)
    vd = (x[:10], y[:10]) if validation else None
    hist = model.fit(x, y, epochs=epochs, batch_size=16, validation_data=vd, verbose=0, callbacks=callbacks)
    return model, hist


class Recorder(minikeras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []
        self.weights = []
        self.epoch_logs = []

    def on_train_begin(self, logs=None): self.events.append("train_begin")
    def on_train_end(self, logs=None): self.events.append("train_end")
    def on_epoch_begin(self, epoch, logs=None): self.events.append(f"epoch_begin{epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end{epoch}")
        self.epoch_logs.append(dict(logs))
        self.weights.append([w.copy() for w in self.model.get_weights()])

    def on_train_batch_begin(self, batch, logs=None): self.events.append(f"tb_begin{batch}")
    def on_train_batch_end(self, batch, logs=None): self.events.append(f"tb_end{batch}")
    def on_test_begin(self, logs=None): self.events.append("test_begin")
    def on_test_end(self, logs=None): self.events.append("test_end")
    def on_test_batch_begin(self, batch, logs=None): self.events.append(f"vb_begin{batch}")
    def on_test_batch_end(self, batch, logs=None): self.events.append(f"vb_end{batch}")


def _same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(np.asarray(u), np.asarray(v)) for u, v in zip(a, b))


# ----------------------------------------------------------------------------- hooks
def test_hook_order_and_counts():
    rec = Recorder()
    _fit(minikeras, [rec], epochs=2)  # 50 samples, batch 16 -> 4 steps; 10 validation samples -> 1 step
    epoch = lambda e: ([f"epoch_begin{e}"] + [f"tb_{k}{i}" for i in range(4) for k in ("begin", "end")]
                       + ["test_begin", "vb_begin0", "vb_end0", "test_end", f"epoch_end{e}"])
    assert rec.events == ["train_begin"] + epoch(0) + epoch(1) + ["train_end"]


def test_hook_order_matches_keras(keras_ref):
    def run(keras):
        events = []

        class Rec(keras.callbacks.Callback):
            def on_train_begin(self, logs=None): events.append("train_begin")
            def on_train_end(self, logs=None): events.append("train_end")
            def on_epoch_begin(self, epoch, logs=None): events.append(("epoch_begin", epoch))
            def on_epoch_end(self, epoch, logs=None): events.append(("epoch_end", epoch, sorted(logs)))
            def on_train_batch_end(self, batch, logs=None): events.append(("batch_end", batch, sorted(logs)))
            def on_test_begin(self, logs=None): events.append("test_begin")
            def on_test_batch_end(self, batch, logs=None): events.append(("test_batch_end", batch))
            def on_test_end(self, logs=None): events.append(("test_end", sorted(logs)))
        _fit(keras, [Rec()], epochs=2)
        return events

    assert run(minikeras) == run(keras_ref)


@pytest.mark.parametrize("n,bs", [(50, 16), (64, 32), (7, 128)])
def test_batch_end_runs_ceil_n_over_bs_per_epoch(n, bs):
    class LossHistory(minikeras.callbacks.Callback):  # the S4 per-batch loss history
        def on_train_begin(self, logs=None):
            self.losses = []

        def on_batch_end(self, batch, logs=None):
            self.losses.append(logs["loss"])

    x, y = _data(n)
    hist = LossHistory()
    _model().fit(x, y, epochs=3, batch_size=bs, verbose=0, callbacks=[hist])
    assert len(hist.losses) == 3 * math.ceil(n / bs)
    assert all(np.isfinite(hist.losses))


def test_custom_callback_sees_model_params_and_logs():
    seen = {}

    class Ratio(minikeras.callbacks.Callback):  # the S0 val/train ratio callback
        def on_epoch_end(self, epoch, logs=None):
            seen["model"] = self.model
            seen["params"] = dict(self.params)
            seen.setdefault("ratio", []).append(logs["val_loss"] / logs["loss"])
            seen["keys"] = sorted(logs)

    model, hist = _fit(minikeras, [Ratio()], epochs=2)
    assert seen["model"] is model
    assert seen["params"] == {"epochs": 2, "steps": 4, "verbose": 0}
    assert seen["keys"] == ["loss", "mae", "val_loss", "val_mae"]
    expected = np.array(hist.history["val_loss"]) / np.array(hist.history["loss"])
    np.testing.assert_allclose(seen["ratio"], expected)


def test_lambda_callback_hooks():
    counts = {"batch": 0, "epochs": [], "begin": 0, "end": 0, "test": 0}
    lam = cbs.LambdaCallback(
        on_train_begin=lambda logs: counts.__setitem__("begin", counts["begin"] + 1),
        on_epoch_end=lambda epoch, logs: counts["epochs"].append((epoch, "val_loss" in logs)),
        on_train_batch_end=lambda batch, logs: counts.__setitem__("batch", counts["batch"] + 1),
        on_train_end=lambda logs: counts.__setitem__("end", counts["end"] + 1),
        on_test_begin=lambda logs: counts.__setitem__("test", counts["test"] + 1))
    assert isinstance(lam, cbs.LambdaCallback) and isinstance(lam, cbs.Callback)
    _fit(minikeras, [lam], epochs=2)
    assert counts == {"batch": 8, "epochs": [(0, True), (1, True)], "begin": 1, "end": 1, "test": 2}
    with pytest.raises(TypeError, match="unknown hooks"):
        cbs.LambdaCallback(on_epoch_ended=print)


# ----------------------------------------------------------------------------- EarlyStopping
def test_early_stopping_stops_at_best_plus_patience_and_restores_best_weights():
    losses = [1.0, 0.8, 0.5, 0.6, 0.7, 0.55, 0.9, 0.4, 0.3, 0.2]
    rec = Recorder()
    es = cbs.EarlyStopping(patience=3, restore_best_weights=True)
    model, hist = _fit(minikeras, [_script(minikeras, "val_loss", losses), es, rec], epochs=10)
    best = 2
    assert len(hist.history["loss"]) == best + 3 + 1
    assert es.stopped_epoch == best + 3 and es.best_epoch == best and es.best == 0.5
    assert model.stop_training
    assert _same_weights(model.get_weights(), rec.weights[best])
    assert not _same_weights(model.get_weights(), rec.weights[-1])


def test_early_stopping_restores_best_weights_at_train_end_without_stopping():
    losses = [1.0, 0.5, 0.6, 0.7]
    rec = Recorder()
    model, hist = _fit(minikeras, [_script(minikeras, "val_loss", losses),
                                   cbs.EarlyStopping(patience=5, restore_best_weights=True), rec], epochs=4)
    assert len(hist.history["loss"]) == 4
    assert _same_weights(model.get_weights(), rec.weights[1])


def test_early_stopping_without_restore_keeps_last_weights():
    rec = Recorder()
    model, _ = _fit(minikeras, [_script(minikeras, "val_loss", [1.0, 0.5, 0.6, 0.7]),
                                cbs.EarlyStopping(patience=1), rec], epochs=4)
    assert len(rec.weights) == 3
    assert _same_weights(model.get_weights(), rec.weights[-1])


ES_CASES = [
    ("val_loss", [1.0, 0.8, 0.5, 0.6, 0.7, 0.55, 0.9, 0.4], dict(patience=3)),
    ("val_loss", [1.0, 0.8, 0.5, 0.6, 0.7, 0.55, 0.9, 0.4], dict(patience=0)),
    ("val_loss", [1.0, 0.97, 0.96, 0.99, 0.5, 0.4, 0.3, 0.2], dict(patience=2, min_delta=0.05)),
    ("val_loss", [1.0, 0.97, 0.96, 0.99, 0.5, 0.4, 0.3, 0.2], dict(patience=2)),
    ("val_loss", [1.0, 0.9, 0.95, 0.95, 0.95, 0.3, 0.2, 0.1], dict(patience=2, baseline=0.45)),
    ("val_loss", [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], dict(patience=2, baseline=0.75)),
    ("val_loss", [0.5, 0.9, 0.9, 0.9, 0.8, 0.1, 0.9, 0.9], dict(patience=1, start_from_epoch=3)),
    ("val_mae", [0.5, 0.6, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8], dict(patience=2)),
    ("val_mae", [0.5, 0.6, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8], dict(patience=2, mode="max")),
    ("val_score", [0.1, 0.2, 0.3, 0.25, 0.2, 0.1, 0.1, 0.1], dict(patience=2, mode="max", min_delta=-0.01)),
]


def _early_stopping_run(keras, monitor, values, kwargs):
    es = keras.callbacks.EarlyStopping(monitor=monitor, restore_best_weights=True, **kwargs)
    _, hist = _fit(keras, [_script(keras, monitor, values), es], epochs=len(values))
    return len(hist.history["loss"]), es.stopped_epoch, es.best_epoch, es.wait


@pytest.mark.parametrize("monitor,values,kwargs", ES_CASES)
def test_early_stopping_options_match_keras(keras_ref, monitor, values, kwargs):
    assert (_early_stopping_run(minikeras, monitor, values, kwargs)
            == _early_stopping_run(keras_ref, monitor, values, kwargs))


def test_early_stopping_options_exact():
    def run(values, **kwargs):
        return _early_stopping_run(minikeras, "val_loss", values, kwargs)[:3]  # epochs run, stopped, best

    # min_delta: 0.97/0.96/0.99 are not 0.05 better than 1.0 -> stops at epoch 2; without it at epoch 4.
    assert run([1.0, 0.97, 0.96, 0.99, 0.98, 0.4], patience=2, min_delta=0.05) == (3, 2, 0)
    assert run([1.0, 0.97, 0.96, 0.99, 0.98, 0.4], patience=2) == (5, 4, 2)
    # baseline: improving on the best but not on the baseline does not reset the patience counter.
    assert run([1.0, 0.9, 0.95, 0.95, 0.95, 0.3], patience=2, baseline=0.45) == (3, 2, 1)
    assert run([1.0, 0.9, 0.95, 0.95, 0.95, 0.3], patience=2) == (4, 3, 1)
    # start_from_epoch=3: epochs 0-2 are not monitored (no stop at epoch 1 despite 0.5 -> 0.9).
    assert run([0.5, 0.9, 0.9, 0.9, 0.8, 0.1, 0.9, 0.9], patience=1, start_from_epoch=3) == (7, 6, 5)
    assert run([0.5, 0.9, 0.9, 0.9, 0.8, 0.1, 0.9, 0.9], patience=1) == (2, 1, 0)
    # mode="min" on a custom key; mode="max" inverts the meaning of the same numbers.
    assert run([0.5, 0.6, 0.4, 0.45, 0.5], patience=1, mode="max")[:2] == (3, 2)


def test_early_stopping_mode_auto_infers_direction():
    accuracy = [0.5, 0.6, 0.7, 0.65, 0.6, 0.9]
    es = cbs.EarlyStopping(monitor="val_accuracy", patience=2)
    _, hist = _fit(minikeras, [_script(minikeras, "val_accuracy", accuracy), es], epochs=6)
    assert es.monitor_op(1.0, 0.0)  # "max"
    assert len(hist.history["loss"]) == 5 and es.best == 0.7
    es = cbs.EarlyStopping(monitor="val_loss")
    es.set_model(_model())
    es._set_monitor_op()
    assert es.monitor_op(0.0, 1.0)  # "min"
    with pytest.raises(ValueError, match="mode='max'"):
        _fit(minikeras, [_script(minikeras, "val_xyz", [1, 2]), cbs.EarlyStopping(monitor="val_xyz")], epochs=2)


def test_early_stopping_missing_monitor_warns_with_available_keys():
    es = cbs.EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match=r"`val_loss` which is not available.*loss,mae"):
        _, hist = _fit(minikeras, [es], epochs=2, validation=False)
    assert len(hist.history["loss"]) == 2


# ----------------------------------------------------------------------------- ModelCheckpoint
def _saving_available():
    try:
        from minikeras import saving  # noqa: F401
        return hasattr(saving, "load_model")
    except ImportError:
        return False


def _patched_model_saves(model, calls):
    model.save = lambda filepath, overwrite=True, **kw: calls.append(("model", filepath))
    model.save_weights = lambda filepath, overwrite=True: calls.append(("weights", filepath))


def test_model_checkpoint_save_best_only_saves_on_improvement(tmp_path, monkeypatch):
    calls = []
    x, y = _data()
    model = _model()
    _patched_model_saves(model, calls)
    path = os.path.join(str(tmp_path), "sub", "ckpt_{epoch:02d}_{val_loss:.2f}.keras")
    ck = cbs.ModelCheckpoint(path, save_best_only=True)
    model.fit(x, y, epochs=5, batch_size=16, validation_data=(x[:10], y[:10]), verbose=0,
              callbacks=[_script(minikeras, "val_loss", [0.9, 0.5, 0.7, 0.3, 0.3]), ck])
    names = [os.path.basename(p) for _, p in calls]
    assert names == ["ckpt_01_0.90.keras", "ckpt_02_0.50.keras", "ckpt_04_0.30.keras"]
    assert all(kind == "model" for kind, _ in calls)
    assert os.path.isdir(os.path.join(str(tmp_path), "sub")) and ck.best == 0.3


def test_model_checkpoint_every_epoch_weights_only_threshold_and_batches(tmp_path):
    calls = []
    x, y = _data()
    model = _model()
    _patched_model_saves(model, calls)
    ck = cbs.ModelCheckpoint(str(tmp_path / "w_{epoch}.weights.h5"), save_weights_only=True)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[ck])
    assert [(k, os.path.basename(p)) for k, p in calls] == [("weights", f"w_{e}.weights.h5") for e in (1, 2, 3)]

    calls.clear()  # initial_value_threshold: the first value must beat it; mode="max" for a custom key
    ck = cbs.ModelCheckpoint(str(tmp_path / "m{epoch}.keras"), monitor="score", mode="max",
                             save_best_only=True, initial_value_threshold=0.5)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0,
              callbacks=[_script(minikeras, "score", [0.4, 0.6, 0.55, 0.8]), ck])
    assert [os.path.basename(p) for _, p in calls] == ["m2.keras", "m4.keras"]

    calls.clear()  # save_freq in batches: 4 steps per epoch, every 3 batches over 2 epochs -> 2 saves
    ck = cbs.ModelCheckpoint(str(tmp_path / "b_{epoch}_{batch}.keras"), save_freq=3)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[ck])
    assert [os.path.basename(p) for _, p in calls] == ["b_1_3.keras", "b_2_2.keras"]

    with pytest.raises(ValueError, match="save_freq"):
        cbs.ModelCheckpoint("x.keras", save_freq="batch")
    with pytest.raises(KeyError, match="val_acc"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cbs.ModelCheckpoint(str(tmp_path / "{val_acc}.keras"))])


def test_model_checkpoint_file_naming_matches_keras(keras_ref, tmp_path):
    def run(keras, folder):
        x, y = _data()
        model = _model(keras)
        ck = keras.callbacks.ModelCheckpoint(str(folder / "ckpt_{epoch:02d}_{val_loss:.2f}.weights.h5"),
                                             save_best_only=True, save_weights_only=True)
        model.fit(x, y, epochs=4, batch_size=16, validation_data=(x[:10], y[:10]), verbose=0,
                  callbacks=[_script(keras, "val_loss", [0.9, 0.95, 0.4, 0.41]), ck])
        return sorted(os.listdir(folder))

    if not _saving_available():
        pytest.skip("minikeras.saving (save_weights) is not available yet")
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    assert run(minikeras, tmp_path / "a") == run(keras_ref, tmp_path / "b") == [
        "ckpt_01_0.90.weights.h5", "ckpt_03_0.40.weights.h5"]


def test_model_checkpoint_best_model_reloads(tmp_path):
    if not _saving_available():
        pytest.skip("minikeras.saving (load_model) is not available yet")
    from minikeras import saving
    x, y = _data()
    model = _model()
    rec = Recorder()
    path = str(tmp_path / "best.keras")
    model.fit(x, y, epochs=4, batch_size=16, validation_data=(x[:10], y[:10]), verbose=0,
              callbacks=[_script(minikeras, "val_loss", [0.9, 0.3, 0.5, 0.6]),
                         cbs.ModelCheckpoint(path, save_best_only=True), rec])
    restored = saving.load_model(path)
    assert _same_weights(restored.get_weights(), rec.weights[1])
    best = _model()
    best.set_weights(rec.weights[1])
    np.testing.assert_allclose(restored.predict(x, verbose=0), best.predict(x, verbose=0), rtol=1e-6)


# ----------------------------------------------------------------------------- learning rate
def test_learning_rate_scheduler_exponential_decay():
    def exponential_decay_fn(epoch):
        return 0.01 * 0.1 ** (epoch / 20)

    seen = []
    probe = cbs.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    x, y = _data(16)
    model = _model(lr=0.5)
    hist = model.fit(x, y, epochs=21, batch_size=16, verbose=0,
                     callbacks=[cbs.LearningRateScheduler(exponential_decay_fn), probe])
    np.testing.assert_allclose(seen, [exponential_decay_fn(e) for e in range(21)], rtol=1e-6)
    assert seen[20] == pytest.approx(0.001, rel=1e-6)
    np.testing.assert_allclose(hist.history["learning_rate"], seen, rtol=1e-6)


def test_learning_rate_scheduler_two_argument_form_and_effect():
    x, y = _data(16)
    model = _model(lr=0.1)
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                     callbacks=[cbs.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    np.testing.assert_allclose(hist.history["learning_rate"], [0.05, 0.025, 0.0125], rtol=1e-6)
    # A zero learning rate really freezes SGD training.
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cbs.LearningRateScheduler(lambda e: 0.0)])
    assert _same_weights(before, model.get_weights())
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cbs.LearningRateScheduler(lambda e: "fast")])


def test_learning_rate_scheduler_piecewise_constant_matches_keras(keras_ref):
    def piecewise(epoch):
        boundaries, values = np.array([2, 4]), np.array([0.1, 0.05, 0.01])
        return float(values[np.argmax(boundaries > epoch) if (boundaries > epoch).any() else -1])

    def run(keras):
        _, hist = _fit(keras, [keras.callbacks.LearningRateScheduler(piecewise)], epochs=6, validation=False)
        return hist.history["learning_rate"]

    ours = run(minikeras)
    np.testing.assert_allclose(ours, [0.1, 0.1, 0.05, 0.05, 0.01, 0.01], rtol=1e-6)
    np.testing.assert_allclose(ours, run(keras_ref), rtol=1e-6)


RLR_CASES = [
    ([1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8], dict(factor=0.5, patience=2)),
    ([1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8], dict(factor=0.5, patience=1, cooldown=2)),
    ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], dict(factor=0.1, patience=1, min_lr=0.0005)),
    ([1.0, 0.99995, 0.9999, 0.5, 0.5, 0.5, 0.49, 0.48, 0.47, 0.46], dict(factor=0.2, patience=2)),
]


def _rlr_run(keras, values, kwargs):
    cb = keras.callbacks.ReduceLROnPlateau(**kwargs)
    _, hist = _fit(keras, [_script(keras, "val_loss", values), cb], epochs=len(values))
    return hist.history["learning_rate"]


def test_reduce_lr_on_plateau_factor_patience_cooldown_min_lr():
    lr = _rlr_run(minikeras, *RLR_CASES[0])
    # best 0.9 at epoch 1; 2 epochs without improvement -> halve at epoch 3 and again at 5; 0.8 resets
    np.testing.assert_allclose(lr, [0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.0025, 0.00125],
                               rtol=1e-6)
    lr = _rlr_run(minikeras, *RLR_CASES[2])  # never improves: 0.01 -> 0.001 -> 0.0005 (min_lr) and stays
    np.testing.assert_allclose(lr, [0.01, 0.01, 0.001, 0.0005] + [0.0005] * 6, rtol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        cbs.ReduceLROnPlateau(factor=1.5)


@pytest.mark.parametrize("values,kwargs", RLR_CASES)
def test_reduce_lr_on_plateau_matches_keras(keras_ref, values, kwargs):
    np.testing.assert_allclose(_rlr_run(minikeras, values, kwargs), _rlr_run(keras_ref, values, kwargs),
                               rtol=1e-6)


# ----------------------------------------------------------------------------- CSVLogger / NaN
def _read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_content_and_append(tmp_path):
    path = str(tmp_path / "log.csv")
    _, hist = _fit(minikeras, [cbs.CSVLogger(path)], epochs=3)
    rows = _read_csv(path)
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], hist.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([float(r[3]) for r in rows[1:]], hist.history["val_loss"], rtol=1e-6)
    _fit(minikeras, [cbs.CSVLogger(path, append=True)], epochs=2)
    rows = _read_csv(path)
    assert len(rows) == 1 + 3 + 2 and rows[0][0] == "epoch" and rows[4][0] == "0"
    _fit(minikeras, [cbs.CSVLogger(path)], epochs=1)
    assert len(_read_csv(path)) == 2


def test_csv_logger_separator_and_header_match_keras(keras_ref, tmp_path):
    def header(keras, name, validation):
        path = str(tmp_path / name)
        _fit(keras, [keras.callbacks.CSVLogger(path, separator=";")], epochs=2, validation=validation)
        rows = _read_csv(path, ";")
        return rows[0], len(rows), [r[-1] == "NA" for r in rows[1:]]

    for validation in (True, False):
        ours = header(minikeras, "a.csv", validation)
        assert ours == header(keras_ref, "b.csv", validation)
    assert ours[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"] and ours[2] == [True, True]


def test_terminate_on_nan_stops_training(capsys):
    x, y = _data(48)
    y[20] = np.nan  # second batch of 16 (no shuffling)
    rec = Recorder()
    model = _model()
    hist = model.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0,
                     callbacks=[cbs.TerminateOnNaN(), rec])
    assert len(hist.history["loss"]) == 1 and math.isnan(hist.history["loss"][0])
    assert rec.events.count("tb_end0") == 1 and "tb_end1" in rec.events and "tb_end2" not in rec.events
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        _model().fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0,
                     callbacks=[cbs.TerminateOnNaN(raise_error=True)])


def test_terminate_on_nan_ignores_finite_losses():
    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = _model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cbs.TerminateOnNaN()])
    assert len(hist.history["loss"]) == 2
