"""Deep Learning with Python ch. 7's custom metrics and custom training steps, read from the
seed text at run time, run on minikeras, and agree with Keras 3 (torch backend).

The listings: the ``ops`` RMSE metric (7.18), the metric API with ``ops.array`` and its
stateless twin, the TensorFlow-style step (``tf.GradientTape``), the PyTorch-style step
(``loss.backward()``, ``.grad``, ``zero_grad``, ``torch.no_grad()``), the JAX-style step
(``stateless_call``, ``jax.value_and_grad``, ``optimizer.stateless_apply``), and the six custom
``fit()`` listings (TensorFlow, PyTorch and JAX, each with a loss tracker and with compiled metrics).

What changes in the text, and nothing else (``_converted`` checks it line by line):
  * ``import keras`` / ``from keras import ...``  ->  minikeras;
  * ``import tensorflow as tf`` / ``import torch`` / ``import jax``  ->  ``import minikeras as tf`` /
    ``as torch`` / ``as jax`` (minikeras has ``GradientTape``, ``no_grad`` and ``value_and_grad``;
    ``keras.GradientTape``, ``keras.no_grad()`` and ``keras.value_and_grad`` are the same);
  * ``weight.value.grad``  ->  ``weight.grad`` (a minikeras variable's ``.value`` is the raw array).
The book prints two class bodies in two pieces (``train_step`` after the prose); they are joined.
Data is shrunk (32 random 28x28 "images": one batch, so shuffling cannot reorder steps). For the
comparisons with Keras, ``Dropout(0.5)`` becomes ``Dropout(0.0)`` (the two libraries draw
different masks) and both models start from the same weights. Keras runs the PyTorch listings
as printed; the JAX listings need JAX's ``value_and_grad``, which the comparison writes with
torch's autograd, and the TensorFlow- and JAX-style ``fit()`` listings (which Keras runs only on
those backends) are compared with the plain ``compile``/``fit`` they reproduce.
"""
import re

import numpy as np
import pytest

import minikeras
from tests.test_seed_listings_parity import _plain_listing, _run, _seed

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _listing(text, first_line, containing, skip=0):
    """The ``skip``-th listing that starts with ``first_line`` and contains ``containing``."""
    n = 0
    while True:
        code = _plain_listing(text, first_line, n)
        if containing in code:
            if skip == 0:
                return code
            skip -= 1
        n += 1


def _assert_only_value_grad_changed(pair):
    """The one non-import change: the book's ``<variable>.value.grad`` becomes ``<variable>.grad``."""
    old, new = pair
    assert ".value.grad" in old and old.replace(".value.grad", ".grad") == new and old.startswith("gradients = [")


def _fragment(code):
    """A method the book prints on its own, indented by one space: back into its class."""
    return re.sub(r"^ def ", "    def ", code, flags=re.M)


def _until(code, marker):
    return code[:code.index(marker)]


_CHANGES = [
    (r"^import keras$", "import minikeras as keras"),
    (r"^from keras(\.\w+)* import", None),
    (r"^import tensorflow as tf$", "import minikeras as tf"),
    (r"^import torch$", "import minikeras as torch"),
    (r"^import jax$", "import minikeras as jax"),
    (r"\.value\.grad\b", ".grad"),
]


def _converted(code):
    """``code`` for minikeras, and the (old, new) lines that differ."""
    out, changed = [], []
    for line in code.splitlines():
        new = line
        for pattern, repl in _CHANGES:
            if repl is None:
                new = re.sub(pattern, lambda m: m.group(0).replace("keras", "minikeras", 1), new)
            else:
                new = re.sub(pattern, repl, new)
        if new != line:
            changed.append((line.strip(), new.strip()))
        out.append(new)
    return "\n".join(out) + "\n", changed


def _data(n=32):
    r = np.random.default_rng(0)
    images = r.random((n, 28 * 28)).astype("float32")
    labels = r.integers(0, 10, n)
    return {"train_images": images, "train_labels": labels, "val_images": images[:16], "val_labels": labels[:16],
            "test_images": images[:16], "test_labels": labels[:16]}


def _weights(seed=0):
    r = np.random.default_rng(seed)
    return [r.normal(0, 0.05, (784, 512)).astype("float32"), r.normal(0, 0.05, 512).astype("float32"),
            r.normal(0, 0.05, (512, 10)).astype("float32"), r.normal(0, 0.05, 10).astype("float32")]


def _same_start(scope, factory):
    """Make ``scope[factory]()`` return its model with the shared starting weights."""
    original = scope[factory]

    def made():
        model = original()
        model.set_weights(_weights())
        return model
    scope[factory] = made


def _np(x):
    x = getattr(x, "value", x)  # a minikeras Tensor/Variable, or a Keras variable
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _close(a, b, rtol=2e-4, atol=2e-6):
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


def _torch_value_and_grad(fn, has_aux=False):
    """JAX's value_and_grad for the Keras reference (torch backend), with torch's autograd."""
    import torch

    def run(values, *args, **kwargs):
        leaves = [torch.as_tensor(_np(v)).clone().requires_grad_(True) for v in values]
        out = fn(leaves, *args, **kwargs)
        value, aux = out if has_aux else (out, None)
        grads = torch.autograd.grad(value, leaves, allow_unused=True)
        grads = [torch.zeros_like(l) if g is None else g for g, l in zip(grads, leaves)]
        return ((value.detach(), aux) if has_aux else value.detach()), grads
    return run


def _scopes(keras_ref, dropout_off=True):
    """A scope per library, with the data, ``layers`` and the backends' stand-ins."""
    import types
    out = {}
    for name, keras in (("minikeras", minikeras), ("keras", keras_ref)):
        scope = dict(_data(), keras=keras, layers=keras.layers)
        if name == "keras":
            import torch
            scope["torch"] = torch
            scope["jax"] = types.SimpleNamespace(value_and_grad=_torch_value_and_grad)
        else:
            scope["torch"] = scope["jax"] = minikeras
        out[name] = scope
    return out


def _mnist_model_code(text, dropout_off):
    code = _until(_listing(text, "def get_mnist_model():", "keras.Model(inputs, outputs)"), "# Loads your data")
    return code.replace("layers.Dropout(0.5)", "layers.Dropout(0.0)") if dropout_off else code


# ----------------------------------------------------------------------------- the ops metric (7.18)
def test_rmse_metric_listing_matches_keras(keras_ref):
    text = _seed("004")
    cls = "import keras\n" + _listing(text, "from keras import ops", "class RootMeanSquaredError")
    cls += _fragment(_listing(text, " def result(self):", "mse_sum"))
    cls += _fragment(_listing(text, " def reset_state(self):", "total_samples"))
    use = _listing(text, "model = get_mnist_model()", "RootMeanSquaredError()")
    metric_code, changed = _converted(cls)
    assert changed == [("import keras", "import minikeras as keras"),
                       ("from keras import ops", "from minikeras import ops")]
    scope = dict(_data(), layers=minikeras.layers)
    minikeras.utils.set_random_seed(0)
    _run(metric_code + _converted(_mnist_model_code(text, dropout_off=False) + use.replace("epochs=3", "epochs=1"))[0],
         scope)
    assert "val_rmse" in scope["model"].history.history and len(scope["test_metrics"]) == 3
    # The metric alone, in both libraries, on the same predictions.
    r = np.random.default_rng(1)
    y, p = r.integers(0, 10, 20), r.dirichlet(np.ones(10), 20).astype("float32")
    seen = []
    for source, convert in ((metric_code, minikeras.ops.array), (cls, keras_ref.ops.array)):
        s = _run(source, {})
        m = s["RootMeanSquaredError"]()
        m.update_state(convert(y[:12]), convert(p[:12]))
        m.update_state(convert(y[12:]), convert(p[12:]))
        seen.append((float(_np(m.result())), float(_np(m.total_samples))))
        m.reset_state()
        assert float(_np(m.total_samples)) == 0
    assert seen[0][0] == pytest.approx(seen[1][0], rel=1e-6) and seen[0][1] == seen[1][1] == 20


# ----------------------------------------------------------------------------- the metric API listings
def test_metric_api_listings_print_what_keras_prints(keras_ref, capsys):
    import contextlib
    import io
    text = _seed("004")
    stateful = _listing(text, "from keras import ops", "update_state(targets, predictions)")
    mean = _listing(text, "values = ops.array", "mean_tracker")
    stateless = _listing(text, "metric = keras.metrics.SparseCategorical", "stateless_update_state")
    code, changed = _converted("import keras\n" + stateful + mean + stateless)
    assert changed == [("import keras", "import minikeras as keras"),
                       ("from keras import ops", "from minikeras import ops")]
    printed, scopes = {}, {}
    for name, source in (("minikeras", code), ("keras", "import keras\n" + stateful + mean + stateless)):
        buffer = io.StringIO()
        scope = {}
        with contextlib.redirect_stdout(buffer):
            exec(compile(source, "<seed listing>", "exec"), scope)
        printed[name], scopes[name] = buffer.getvalue(), scope
    assert printed["minikeras"] == printed["keras"] == "result: 1.00\nMean of values: 2.00\nresult: 1.00\n"
    mk, kr = scopes["minikeras"], scopes["keras"]
    assert mk["targets"].dtype == "int32" and str(kr["targets"].dtype) == "torch.int32"
    # stateless_reset_state gives fresh values, and the metric's own variables never moved
    for a, b in zip(mk["metric_variables"], kr["metric_variables"]):
        _close(a, b)
    assert [float(_np(v)) for v in mk["metric"].variables] == [0.0, 0.0]


# ----------------------------------------------------------------------------- PyTorch-style step
def _pytorch_step(text):
    step = _listing(text, "import torch", "loss.backward()")
    run = _listing(text, "batch_size = 32", "loss = train_step(inputs, targets)")
    return step, run


def test_pytorch_style_step_listing_matches_keras(keras_ref):
    text = _seed("004")
    step, run = _pytorch_step(text)
    code, changed = _converted(_mnist_model_code(text, dropout_off=False) + step + run)
    assert changed[0] == ("import torch", "import minikeras as torch") and len(changed) == 2
    _assert_only_value_grad_changed(changed[1])
    scope = dict(_data(), keras=minikeras, layers=minikeras.layers)
    _run(code, scope)  # as printed (with dropout)
    assert np.isfinite(float(scope["loss"])) and all(v.grad is None for v in scope["model"].weights)
    # Keras runs the listing as printed; both start from the same weights, without dropout.
    results = {}
    for name, scope in _scopes(keras_ref).items():
        source = _mnist_model_code(text, dropout_off=True) + step
        source = _converted(source)[0] if name == "minikeras" else source
        _run(source, scope)
        scope["model"].set_weights(_weights())
        _run(run, scope)
        results[name] = scope
    mk, kr = results["minikeras"], results["keras"]
    _close(mk["loss"], kr["loss"], rtol=1e-5)
    for a, b in zip(mk["model"].trainable_weights, kr["model"].trainable_weights):
        _close(a, b)
    assert all(v.value.grad is None for v in kr["model"].trainable_weights)

    # The TensorFlow version of the step (GradientTape) computes the same step.
    tf_step = _listing(text, "import tensorflow as tf", "tf.GradientTape()")
    code, changed = _converted(_mnist_model_code(text, dropout_off=True) + tf_step)
    assert changed == [("import tensorflow as tf", "import minikeras as tf")]
    scope = dict(_data(), keras=minikeras, layers=minikeras.layers)
    _run(code, scope)
    scope["model"].set_weights(_weights())
    _run(run, scope)
    _close(scope["loss"], kr["loss"], rtol=1e-5)
    for a, b in zip(scope["model"].trainable_weights, kr["model"].trainable_weights):
        _close(a, b)


# ----------------------------------------------------------------------------- JAX-style step
def _jax_step(text):
    loss_fn = _listing(text, "model = get_mnist_model()", "def compute_loss_and_updates(")
    grad_fn = _listing(text, "import jax", "has_aux=True")
    step = _listing(text, "optimizer = keras.optimizers.Adam()", "stateless_apply")
    run = _listing(text, "batch_size = 32", "trainable_variables = [v.value")
    return loss_fn + grad_fn + step + run


def test_jax_style_step_listing_matches_keras(keras_ref):
    text = _seed("004")
    listing = _jax_step(text)
    code, changed = _converted(_mnist_model_code(text, dropout_off=False) + listing)
    assert changed == [("import jax", "import minikeras as jax")]
    scope = dict(_data(), keras=minikeras, layers=minikeras.layers)
    _run(code, scope)  # as printed (with dropout)
    model = scope["model"]
    trainable, non_trainable, optimizer_state = scope["state"]
    assert np.isfinite(float(scope["loss"])) and len(trainable) == 4 and int(optimizer_state[0]) == 1
    assert not any(np.array_equal(_np(t), _np(v)) for t, v in zip(trainable, model.trainable_variables))
    assert int(scope["optimizer"].iterations) == 0  # stateless: the optimizer's own state is untouched
    results = {}
    for name, scope in _scopes(keras_ref).items():
        source = _mnist_model_code(text, dropout_off=True)
        _run(source, scope)
        _same_start(scope, "get_mnist_model")
        body = _converted(listing)[0] if name == "minikeras" else listing.replace("import jax\n", "")
        _run(body, scope)
        results[name] = scope
    mk, kr = results["minikeras"], results["keras"]
    _close(mk["loss"], kr["loss"], rtol=1e-5)
    for a, b in zip(mk["state"][0], kr["state"][0]):
        _close(a, b)
    for a, b in zip(mk["state"][2], kr["state"][2]):  # iterations, learning rate, Adam's moments
        _close(a, b, atol=1e-8)
    for a, w in zip(mk["model"].trainable_variables, _weights()):  # the model keeps its weights
        np.testing.assert_array_equal(_np(a), w)


# ----------------------------------------------------------------------------- custom fit()
def _custom_model(text, kind, with_metrics):
    """The class (joined when printed in two pieces) and the get_custom_model it is used with."""
    if kind == "pytorch":
        cls = _listing(text, "import keras", "loss.backward()", skip=1 if with_metrics else 0)
    elif kind == "tensorflow":
        cls = _listing(text, "import keras", "tf.GradientTape()", skip=1 if with_metrics else 0)
    else:
        head = _listing(text, "import keras", "def compute_loss_and_updates(", skip=1 if with_metrics else 0)
        tail = _listing(text, " def train_step(self, state, data):", "metrics_variables",
                        skip=1 if with_metrics else 0)
        cls = head + _fragment(tail)
    factory = _listing(text, "def get_custom_model():", "metrics=[" if with_metrics else "def get_custom_model")
    if with_metrics:
        factory = _until(factory, "model = get_custom_model()")
    return cls, factory


def _fit_scope(keras, cls, factory, dropout_off, stand_ins):
    scope = dict(_data(), **stand_ins)
    source = cls + (factory.replace("layers.Dropout(0.5)", "layers.Dropout(0.0)") if dropout_off else factory)
    if keras is minikeras:
        source = _converted(source)[0]
    _run(source, scope)
    return scope


@pytest.mark.parametrize("with_metrics", [False, True], ids=["loss_tracker", "compiled_metrics"])
@pytest.mark.parametrize("kind", ["tensorflow", "pytorch", "jax"])
def test_custom_fit_listings(keras_ref, kind, with_metrics):
    text = _seed("004")
    cls, factory = _custom_model(text, kind, with_metrics)
    if with_metrics:
        assert "self.compute_loss(" in cls
    imports = [("import keras", "import minikeras as keras"), ("from keras import layers", "from minikeras import layers")]
    changed = _converted(cls)[1]
    assert changed[:2] == imports and len(changed) == (3 if kind == "pytorch" else 2)
    if kind == "pytorch":
        _assert_only_value_grad_changed(changed[2])
    fit = _listing(text, "model = get_custom_model()", "model.fit(")
    assert fit.strip() == "model = get_custom_model()\nmodel.fit(train_images, train_labels, epochs=3)"
    stand_ins = {"tf": minikeras, "torch": minikeras, "jax": minikeras}
    minikeras.utils.set_random_seed(0)
    scope = _fit_scope(minikeras, cls, factory, False, stand_ins)  # as printed (with dropout)
    _run(fit, scope)
    history = scope["model"].history.history
    assert len(history["loss"]) == 3 and all(np.isfinite(history["loss"]))
    if with_metrics:
        assert set(history) == {"loss", "sparse_categorical_accuracy"}

    # The same listing without dropout, from shared weights, against Keras.
    mk = _fit_scope(minikeras, cls, factory, True, stand_ins)
    _same_start(mk, "get_custom_model")
    _run(fit.replace("epochs=3", "epochs=3, verbose=0"), mk)
    if kind == "pytorch":  # Keras runs the PyTorch listing as it is printed
        import torch
        kr = _fit_scope(keras_ref, cls, factory, True, {"torch": torch, "keras": keras_ref, "layers": keras_ref.layers})
        _same_start(kr, "get_custom_model")
        _run(fit.replace("epochs=3", "epochs=3, verbose=0"), kr)
        reference = kr["model"]
    else:  # the TensorFlow and JAX steps compute what plain compile/fit computes
        keras_ref.utils.set_random_seed(0)
        inputs = keras_ref.Input(shape=(28 * 28,))
        features = keras_ref.layers.Dense(512, activation="relu")(inputs)
        outputs = keras_ref.layers.Dense(10, activation="softmax")(features)
        reference = keras_ref.Model(inputs, outputs)
        reference.compile(optimizer=keras_ref.optimizers.Adam(), loss=keras_ref.losses.SparseCategoricalCrossentropy(),
                          metrics=[keras_ref.metrics.SparseCategoricalAccuracy()])
        reference.set_weights(_weights())
        reference.fit(mk["train_images"], mk["train_labels"], epochs=3, verbose=0)
    for a, b in zip(mk["model"].trainable_weights, reference.trainable_weights):
        _close(a, b, rtol=1e-3, atol=1e-5)
    got, want = mk["model"].history.history, reference.history.history
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-4)
    if with_metrics:
        np.testing.assert_allclose(got["sparse_categorical_accuracy"], want["sparse_categorical_accuracy"])
