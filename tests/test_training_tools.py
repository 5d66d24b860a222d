"""The learning-rate finder, OneCycleScheduler and the live training plot."""
import math

import numpy as np
import pytest

import minikeras as keras


def blobs(rng, n=640):
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, :4].sum(1) > 0).astype("int64")


def classifier(optimizer):
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_find_learning_rate_sweeps_exponentially_and_restores_the_model(rng):
    x, y = blobs(rng)
    model = classifier(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    model.fit(x, y, epochs=1, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    slots = [np.array(v.value, copy=True) for v in model.optimizer.variables]
    result = keras.utils.find_learning_rate(model, x, y, min_rate=1e-4, max_rate=10, batch_size=32,
                                            stop_factor=None)
    assert len(result.rates) == 20 and result.rates[0] == pytest.approx(1e-4)
    ratios = np.array(result.rates[1:]) / np.array(result.rates[:-1])
    assert ratios == pytest.approx((10 / 1e-4) ** (1 / 20), rel=1e-5)     # 1e-4 * factor**20 = 10
    assert result.suggested_rate == pytest.approx(result.min_loss_rate / 10)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert all(np.array_equal(a, np.asarray(v.value)) for a, v in zip(slots, model.optimizer.variables))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_the_sweep_stops_once_the_loss_explodes_and_batch_losses_are_unaveraged(rng):
    x, y = blobs(rng, 3200)
    model = classifier(keras.optimizers.SGD())
    finder = keras.callbacks.ExponentialLearningRate(factor=1.25, stop_factor=4)
    model.optimizer.learning_rate = 1e-3
    seen = []

    class Raw(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[Raw(), finder])
    assert len(finder.losses) < 100                     # stopped before the end of the epoch
    running = np.cumsum(finder.losses) / np.arange(1, len(finder.losses) + 1)
    assert running == pytest.approx(seen[:len(running)], rel=1e-4)


def test_lr_finder_plot(rng):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    x, y = blobs(rng)
    result = keras.utils.find_learning_rate(classifier("sgd"), x, y)
    ax = result.plot(Figure().add_subplot())
    assert ax.get_xscale() == "log" and len(ax.lines) == 3


@pytest.mark.parametrize("optimizer, attribute", [(lambda: keras.optimizers.SGD(momentum=0.9), "momentum"),
                                                  (lambda: keras.optimizers.Adam(), "beta_1"),
                                                  (lambda: keras.optimizers.SGD(), None)])
def test_one_cycle_schedule(rng, optimizer, attribute):
    x, y = blobs(rng)   # 640 rows, batch 64: 10 steps an epoch, 40 in all
    model = classifier(optimizer())
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            opt = self.model.optimizer
            seen.append((float(opt.learning_rate), getattr(opt, attribute) if attribute else None))
    sched = keras.callbacks.OneCycleScheduler(max_rate=0.1)
    model.fit(x, y, batch_size=64, epochs=4, verbose=0, callbacks=[sched, Spy()])
    rates = [r for r, _ in seen]
    assert len(rates) == 40
    # 4 annealing steps (10%), the cycle in 2 halves of 18: 0.01 -> 0.1 -> 0.01, then down to 1e-5
    assert rates[0] == pytest.approx(0.01) and rates[18] == pytest.approx(0.1)
    assert rates[36] == pytest.approx(0.01) and rates[-1] < 0.01 and rates[-1] >= 1e-5
    assert np.all(np.diff(rates[:19]) > 0) and np.all(np.diff(rates[18:]) < 0)
    if attribute:
        moms = [m for _, m in seen]
        assert moms[0] == pytest.approx(0.95) and moms[18] == pytest.approx(0.85) and moms[-1] == pytest.approx(0.95)
    else:
        assert sched.momentums == [] and model.optimizer.momentum == 0
    assert sched.schedule(40) == (pytest.approx(sched.last_rate), 0.95)


def test_one_cycle_needs_a_max_rate():
    with pytest.raises(ValueError, match="max_rate"):
        keras.callbacks.OneCycleScheduler(100)


def test_live_plot_redraws_train_and_validation_curves(rng, tmp_path):
    x, y = blobs(rng)
    plot = keras.callbacks.LivePlot(path=tmp_path / "curves.png")
    history = classifier("adam").fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[plot])
    axes = plot.figure.axes
    assert [a.get_title() for a in axes] == ["loss", "accuracy"]
    train, val = axes[0].lines
    assert list(train.get_ydata()) == pytest.approx(history.history["loss"])
    assert list(val.get_ydata()) == pytest.approx(history.history["val_loss"])
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    only = keras.callbacks.LivePlot(metrics=["accuracy"], every=2)
    classifier("adam").fit(x, y, epochs=3, verbose=0, callbacks=[only])
    assert len(only.figure.axes) == 1 and len(only.figure.axes[0].lines[0].get_ydata()) == 3
    assert math.isfinite(only.history["loss"][-1])
