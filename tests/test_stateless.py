"""Keras 3's stateless API (metrics, ``model.stateless_call``, ``optimizer.stateless_apply``),
``value_and_grad`` in place of ``jax.value_and_grad``, and the PyTorch-style bridge
(``Tensor.backward`` filling ``.grad``, ``model.zero_grad``), against Keras 3 on torch."""
import numpy as np
import pytest

import minikeras
from minikeras import ops
from minikeras.autodiff import GradientTape, Tensor, no_grad, value_and_grad


def _np(x):
    x = getattr(x, "value", x)
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- metrics
def _classes(seed=0, n=10, c=4):
    r = np.random.default_rng(seed)
    return r.integers(0, c, n), r.dirichlet(np.ones(c), n).astype("float32"), r.random(n).astype("float32")


def _binary(seed=0, n=10):
    r = np.random.default_rng(seed)
    return r.integers(0, 2, n).astype("float32"), r.random(n).astype("float32"), r.random(n).astype("float32")


METRICS = {
    "Mean": (lambda k: k.metrics.Mean(), lambda y, p: (p[:, 0],)),
    "Sum": (lambda k: k.metrics.Sum(), lambda y, p: (p[:, 0],)),
    "SparseCategoricalAccuracy": (lambda k: k.metrics.SparseCategoricalAccuracy(), lambda y, p: (y, p)),
    "SparseTopK": (lambda k: k.metrics.SparseTopKCategoricalAccuracy(k=2), lambda y, p: (y, p)),
    "MeanSquaredError": (lambda k: k.metrics.MeanSquaredError(), lambda y, p: (np.eye(4)[y], p)),
    "RootMeanSquaredError": (lambda k: k.metrics.RootMeanSquaredError(), lambda y, p: (np.eye(4)[y], p)),
    "AUC": (lambda k: k.metrics.AUC(num_thresholds=20), "binary"),
    "Precision": (lambda k: k.metrics.Precision(), "binary"),
    "Recall": (lambda k: k.metrics.Recall(thresholds=[0.3, 0.6]), "binary"),
}


def _metric_args(spec, seed):
    if spec == "binary":
        y, p, w = _binary(seed)
        return (y, p), w
    y, p, w = _classes(seed)
    return spec(y, p), w


@pytest.mark.parametrize("name", sorted(METRICS))
def test_stateless_metric_api_matches_keras(keras_ref, name):
    make, spec = METRICS[name]
    results = {}
    for lib in (minikeras, keras_ref):
        metric = make(lib)
        state = metric.variables
        for seed in (0, 1):
            args, w = _metric_args(spec, seed)
            state = metric.stateless_update_state(state, *args, sample_weight=w)
        result = metric.stateless_result(state)
        # the metric's own state never moved
        assert all(float(np.abs(_np(v)).sum()) == 0 for v in metric.variables)
        # and equals the stateful updates
        for seed in (0, 1):
            args, w = _metric_args(spec, seed)
            metric.update_state(*args, sample_weight=w)
        _close(metric.result(), result)
        fresh = metric.stateless_reset_state()
        assert all(float(np.abs(_np(v)).sum()) == 0 for v in fresh) and len(fresh) == len(metric.variables)
        assert float(np.abs(_np(metric.variables[0])).sum()) > 0  # reset_state was stateless too
        results[lib] = (result, state)
    (ours, our_state), (theirs, their_state) = results[minikeras], results[keras_ref]
    _close(ours, theirs)
    if len(our_state) == len(their_state):  # (minikeras's Precision/Recall keep one more count)
        for a, b in zip(our_state, their_state):
            _close(a, b)


def test_stateless_metric_errors():
    metric = minikeras.metrics.Mean()
    with pytest.raises(ValueError, match=r"one value per entry of Mean\(\)\.variables \(2\), got 1"):
        metric.stateless_update_state([0.0], 1.0)
    with pytest.raises(ValueError, match=r"variable 'total' of metric 'mean' has shape \(2,\), expected \(\)"):
        metric.stateless_result([np.zeros(2), 0.0])


def test_stateless_compiled_metrics_and_custom_metric():
    model = minikeras.Sequential([minikeras.Input((3,)), minikeras.layers.Dense(4, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    compiled = model.metrics[1]
    y, p, _ = _classes(n=6)
    state = compiled.stateless_update_state(compiled.variables, y, p)
    result = compiled.stateless_result(state)
    expected = float(np.mean(p.argmax(1) == y))
    assert set(result) == {"accuracy"} and float(result["accuracy"]) == pytest.approx(expected)

    class Count(minikeras.metrics.Metric):  # written the book's way, with add_weight and assign_add
        def __init__(self, name="count", **kwargs):
            super().__init__(name=name, **kwargs)
            self.n = self.add_weight(name="n", initializer="zeros")

        def update_state(self, values, sample_weight=None):
            self.n.assign_add(ops.cast(ops.shape(values)[0], "float32"))

        def result(self):
            return self.n

    c = Count()
    state = c.stateless_update_state(c.stateless_update_state(c.variables, np.ones(3)), np.ones(2))
    assert float(c.stateless_result(state)) == 5 and float(c.n) == 0


# ----------------------------------------------------------------------------- value_and_grad
def test_value_and_grad_basics():
    def f(xs, scale):
        return ops.sum(ops.square(xs[0]) * scale) + ops.sum(xs[1])

    x0, x1 = np.array([1.0, -2.0], dtype="float32"), np.ones(3, dtype="float32")
    value, (g0, g1) = value_and_grad(f)([x0, x1], 3.0)
    assert float(value) == pytest.approx(18.0) and not value.requires_grad
    np.testing.assert_allclose(g0.numpy(), 6 * x0)
    np.testing.assert_allclose(g1.numpy(), np.ones(3))
    assert isinstance(g0, Tensor)

    def g(a, b):
        return ops.sum(a * b), {"product": a * b}
    (value, aux), (ga, gb) = value_and_grad(g, argnums=(0, 1), has_aux=True)(x0, x0 + 1)
    np.testing.assert_allclose(ga.numpy(), x0 + 1)
    np.testing.assert_allclose(gb.numpy(), x0)
    assert not aux["product"].requires_grad  # aux values carry no graph

    unused = value_and_grad(lambda a, b: ops.sum(a), argnums=1)(x0, x1)[1]
    np.testing.assert_array_equal(unused.numpy(), np.zeros(3))  # as JAX: zeros, not None
    with no_grad():  # it differentiates even where recording is off around it
        np.testing.assert_allclose(value_and_grad(lambda a: ops.sum(a * a))(x0)[1].numpy(), 2 * x0)


def test_value_and_grad_errors():
    with pytest.raises(TypeError, match=r"must return a scalar, got shape \(2,\)"):
        value_and_grad(lambda a: a * 2)(np.ones(2))
    with pytest.raises(TypeError, match=r"has_aux=True\): the function must return a pair"):
        value_and_grad(lambda a: ops.sum(a), has_aux=True)(np.ones(2))
    with pytest.raises(TypeError, match="argnums=1 but the function got 1 positional"):
        value_and_grad(lambda a: ops.sum(a), argnums=1)(np.ones(2))


# ----------------------------------------------------------------------------- stateless_call
def _model(keras, regularized=False):
    reg = keras.regularizers.L2(0.01) if regularized else None
    inputs = keras.Input(shape=(5,))
    x = keras.layers.Dense(6, activation="relu", kernel_regularizer=reg)(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def _values_for(model, seed=3):
    r = np.random.default_rng(seed)
    return [r.normal(0, 0.4, tuple(v.shape)).astype("float32") for v in model.trainable_variables], \
        [r.random(tuple(v.shape)).astype("float32") + 0.5 for v in model.non_trainable_variables]


def _torch_grad(fn, values):
    import torch
    leaves = [torch.tensor(v, requires_grad=True) for v in values]
    value, aux = fn(leaves)
    return value, aux, torch.autograd.grad(value, leaves)


@pytest.mark.parametrize("training", [True, False])
def test_stateless_call_matches_keras(keras_ref, training):
    x = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
    y = np.arange(8) % 3
    seen = {}
    for lib in (minikeras, keras_ref):
        model = _model(lib, regularized=True)
        own = [_np(v).copy() for v in model.variables]
        tv, ntv = _values_for(model)
        loss_fn = lib.losses.SparseCategoricalCrossentropy()

        def loss(trainable, model=model, ntv=ntv, loss_fn=loss_fn):
            out, new_ntv, losses = model.stateless_call(trainable, ntv, x, training=training, return_losses=True)
            return loss_fn(y, out) + sum(losses), (out, new_ntv, losses)
        if lib is minikeras:
            (value, (out, new_ntv, losses)), grads = value_and_grad(loss, has_aux=True)(tv)
        else:
            value, (out, new_ntv, losses), grads = _torch_grad(loss, tv)
        assert all(np.array_equal(_np(v), o) for v, o in zip(model.variables, own))  # untouched
        seen[lib] = (value, out, new_ntv, losses, grads)
    for ours, theirs in zip(seen[minikeras], seen[keras_ref]):
        ours = ours if isinstance(ours, list) else [ours]
        theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b, rtol=1e-4, atol=1e-6)
    moved = [not np.allclose(_np(a), b) for a, b in zip(seen[minikeras][2], _values_for(_model(minikeras))[1])]
    assert all(moved) if training else not any(moved)  # BatchNormalization's moving statistics


def test_stateless_call_gradients_reach_the_given_tensors_only():
    from minikeras.autodiff import gradients
    model = minikeras.Sequential([minikeras.Input((4,)), minikeras.layers.Dense(4)])
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    kernel, bias = model.trainable_variables
    earlier = model(x)  # a graph into the model's own variables, made before the stateless call
    given = [Tensor(kernel.value * 2, requires_grad=True), Tensor(bias.value + 1, requires_grad=True)]
    out, _ = model.stateless_call(given, [], earlier)
    np.testing.assert_allclose(out.numpy(), earlier.numpy() @ given[0].value + given[1].value, rtol=1e-6)
    g_kernel2, g_bias2, g_kernel, g_bias = gradients(ops.sum(out), given + [kernel, bias])
    # sum(earlier @ K2 + b2): d/dK2 = earlier^T @ 1, d/db2 = the batch size
    np.testing.assert_allclose(g_kernel2, earlier.numpy().T @ np.ones((2, 4)), rtol=1e-5)
    np.testing.assert_allclose(g_bias2, np.full(4, 2.0))
    # the earlier graph was left alone: through `earlier` the gradient still reaches K and b
    upstream = np.ones((2, 4)) @ given[0].value.T
    np.testing.assert_allclose(g_kernel, x.T @ upstream, rtol=1e-5)
    np.testing.assert_allclose(g_bias, upstream.sum(0), rtol=1e-5)


def test_stateless_call_errors():
    model = minikeras.Sequential([minikeras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be built"):
        model.stateless_call([], [], np.ones((1, 3)))
    model.build((None, 3))
    with pytest.raises(ValueError, match=r"corresponding 1:1 to Sequential\(\)\.trainable_variables\. Received list "
                                         r"with length 1, but expected 2"):
        model.stateless_call([np.zeros((3, 2))], [], np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"has shape \(2, 3\), expected \(3, 2\)"):
        model.stateless_call([np.zeros((2, 3)), np.zeros(2)], [], np.ones((1, 3)))


# ----------------------------------------------------------------------------- stateless_apply
@pytest.mark.parametrize("make", [lambda k: k.optimizers.Adam(learning_rate=0.01),
                                  lambda k: k.optimizers.SGD(learning_rate=0.1, momentum=0.9)],
                         ids=["adam", "sgd_momentum"])
def test_stateless_apply_matches_keras(keras_ref, make):
    r = np.random.default_rng(0)
    w0 = [r.normal(size=(3, 2)).astype("float32"), r.normal(size=2).astype("float32")]
    grads = [[r.normal(size=w.shape).astype("float32") for w in w0] for _ in range(2)]
    seen = {}
    for lib in (minikeras, keras_ref):
        variables = [lib.Variable(w) for w in w0]
        opt = make(lib)
        opt.build(variables)
        own = [_np(v).copy() for v in opt.variables]
        tv, ov = [_np(v) for v in variables], [_np(v) for v in opt.variables]
        for g in grads:
            gs = g if lib is minikeras else [keras_ref.ops.convert_to_tensor(a) for a in g]
            tv, ov = opt.stateless_apply(ov, gs, tv)
        assert all(np.array_equal(_np(v), o) for v, o in zip(opt.variables, own))
        assert all(np.array_equal(_np(v), w) for v, w in zip(variables, w0))
        seen[lib] = (tv, ov)
    for ours, theirs in zip(seen[minikeras], seen[keras_ref]):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b)


def test_stateless_apply_errors():
    opt = minikeras.optimizers.Adam()
    with pytest.raises(ValueError, match="not built yet"):
        opt.stateless_apply([], [], [])
    v = minikeras.Variable(np.zeros(2, dtype="float32"))
    opt.build([v])
    with pytest.raises(ValueError, match=r"`trainable_variables` must hold 1 values"):
        opt.stateless_apply(opt.variables, [np.ones(2)], [])


# ----------------------------------------------------------------------------- Tensor.backward
def test_backward_accumulates_like_torch(keras_ref):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    seen = {}
    for lib in (minikeras, keras_ref):
        lib.utils.set_random_seed(0)
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        model.set_weights([np.arange(6, dtype="float32").reshape(3, 2) / 10, np.ones(2, dtype="float32")])
        loss_fn = lib.losses.MeanSquaredError()
        grads = []
        for _ in range(2):
            loss_fn(np.zeros((4, 2)), model(x)).backward()
            grads.append([_np(v.value.grad if lib is keras_ref else v.grad).copy() for v in model.trainable_weights])
        model.zero_grad()
        assert all((v.value.grad if lib is keras_ref else v.grad) is None for v in model.trainable_weights)
        seen[lib] = grads
    for step_ours, step_theirs in zip(seen[minikeras], seen[keras_ref]):
        for a, b in zip(step_ours, step_theirs):
            _close(a, b)
    for a, b in zip(*seen[minikeras]):
        _close(b, 2 * a)  # accumulated: the second call added the same gradient again


def test_backward_details():
    w = minikeras.Variable(np.array([1.0, 2.0], dtype="float32"))
    t = Tensor(np.array(3.0, dtype="float32"))
    with GradientTape() as tape:
        tape.watch(t)
        y = w * t
    y.backward(gradient=np.array([1.0, -1.0], dtype="float32"))  # a non-scalar needs its upstream gradient
    np.testing.assert_allclose(w.grad.numpy(), [3.0, -3.0])
    assert float(t.grad) == pytest.approx(-1.0)  # a watched tensor is a leaf too
    assert tape.gradient(ops.sum(y), w) is not None  # the tape is unaffected
    with pytest.raises(RuntimeError, match=r"needs a scalar tensor; this one has shape \(2,\)"):
        y.backward()
    with pytest.raises(RuntimeError, match="does not depend on any variable"):
        Tensor(np.array(1.0)).backward()
    model = minikeras.Sequential([minikeras.Input((2,)), minikeras.layers.Dense(1)])
    ops.sum(model(np.ones((1, 2)))).backward()
    model.zero_grad(set_to_none=False)
    assert all(v.grad is not None and not v.grad.numpy().any() for v in model.weights)


# ----------------------------------------------------------------------------- JAX-style fit
def test_fit_runs_a_train_step_written_for_jax():
    class JaxStyle(minikeras.Model):
        def loss_and_updates(self, trainable, non_trainable, x, y):
            pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=True)
            return self.compute_loss(y=y, y_pred=pred), (pred, non_trainable)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_state, metric_state = state
            x, y = data
            (loss, (pred, non_trainable)), grads = minikeras.value_and_grad(self.loss_and_updates, has_aux=True)(
                trainable, non_trainable, x, y)
            trainable, optimizer_state = self.optimizer.stateless_apply(optimizer_state, grads, trainable)
            tracker = self.metrics[0]
            metric_state = tracker.stateless_update_state(metric_state, loss)
            return {"loss": tracker.stateless_result(metric_state)}, (trainable, non_trainable, optimizer_state,
                                                                      metric_state)

    r = np.random.default_rng(0)
    x, y = r.normal(size=(16, 3)).astype("float32"), r.normal(size=(16, 1)).astype("float32")
    models = []
    for cls in (JaxStyle, minikeras.Model):
        inputs = minikeras.Input((3,))
        model = cls(inputs, minikeras.layers.Dense(1)(minikeras.layers.BatchNormalization()(inputs)))
        model.set_weights([np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), np.full((3, 1), 0.5), np.zeros(1)])
        model.compile(optimizer=minikeras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        models.append(model)
    ours, plain = models
    assert ours._train_step_takes_state() and not plain._train_step_takes_state()
    np.testing.assert_allclose(ours.history.history["loss"], plain.history.history["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), plain.get_weights()):  # BatchNormalization's statistics too
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert int(ours.optimizer.iterations) == 3
    logs = ours.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss"} and int(ours.optimizer.iterations) == 4

    class Broken(minikeras.Model):
        def train_step(self, state, data):
            return {"loss": 0.0}

    inputs = minikeras.Input((3,))
    broken = Broken(inputs, minikeras.layers.Dense(1)(inputs))
    broken.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"train_step\(state, data\) must return \(logs, state\)"):
        broken.fit(x, y, verbose=0)
