"""Keras 3 parity of the model API where minikeras used to differ silently or confusingly:
integer inputs cast to the Input's dtype, compile's "accuracy"/"crossentropy" resolution,
binary cross-entropy's target range and float16, a dict given to a one-input model,
``outputs=[x]`` (a list of one output), and evaluate's order with several outputs.
Every case runs the same code on minikeras and on the real Keras 3 (torch backend)."""
import warnings

import numpy as np
import pytest

import minikeras
from minikeras import backend

# Keras warns when a one-input model declared with inputs=[x] is given the bare array.
pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")


def _np(x):
    """A NumPy array from a minikeras or a torch tensor (or anything array-like)."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return backend.to_numpy(x)


def _both(keras_ref):
    return (minikeras, keras_ref)


def _set_weights(model, seed=0):
    """The same weights in both libraries: fixed random arrays of each weight's shape."""
    r = np.random.default_rng(seed)
    model.set_weights([r.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])
    return model


# ----------------------------------------------------------------------------- integer inputs
UINT8 = np.array([[0, 100, 200, 255]], "uint8")


def _minus_128(k, kind):
    lam = k.layers.Lambda(lambda t: t - 128)
    if kind == "sequential":
        return k.Sequential([k.Input((4,)), lam])
    if kind == "sequential_no_input":
        return k.Sequential([lam])
    if kind == "sequential_int32_input":
        return k.Sequential([k.Input((4,), dtype="int32"), lam])
    i = k.Input((4,))
    return k.Model(i, lam(i))


@pytest.mark.parametrize("kind", ["sequential", "sequential_no_input", "functional", "sequential_int32_input"])
def test_uint8_inputs_are_cast_to_the_input_dtype_not_wrapped(keras_ref, kind):
    for k in _both(keras_ref):
        model = _minus_128(k, kind)
        pred = model.predict(UINT8, verbose=0)
        np.testing.assert_array_equal(pred, [[-128, -28, 72, 127]])
        assert pred.dtype == ("int32" if kind.endswith("int32_input") else "float32")
        np.testing.assert_array_equal(_np(model(UINT8)), [[-128, -28, 72, 127]])


@pytest.mark.parametrize("merge, expected", [("Add", [0, 200, 400, 510]), ("Multiply", [0, 10000, 40000, 65025])])
def test_merging_uint8_inputs_does_not_wrap(keras_ref, merge, expected):
    for k in _both(keras_ref):
        a, b = k.Input((4,)), k.Input((4,))
        model = k.Model([a, b], getattr(k.layers, merge)()([a, b]))
        out = model.predict([UINT8, UINT8], verbose=0)
        np.testing.assert_array_equal(out, [expected])
        assert out.dtype == "float32"


def test_integer_ids_reach_embedding_as_integers(keras_ref):
    ids = np.array([[3, 0, 299, 7]], "int64")
    outs = []
    for k in _both(keras_ref):
        k.utils.set_random_seed(0)
        i = k.Input((4,), dtype="int32")
        emb = k.layers.Embedding(300, 2)
        model = k.Model(i, emb(i))
        table = np.arange(600, dtype="float32").reshape(300, 2)
        emb.set_weights([table])
        outs.append(model.predict(ids, verbose=0))
        np.testing.assert_array_equal(outs[-1][0], table[ids[0]])
    np.testing.assert_array_equal(outs[0], outs[1])


def test_subclassed_model_and_plain_layer_keep_integer_inputs_as_keras_does(keras_ref):
    """Keras 3 autocasts only float inputs of layers; a subclassed model has no Input to cast to."""
    for k in _both(keras_ref):
        class Shift(k.Model):
            def call(self, t):
                return t - 128
        out = Shift().predict(UINT8, verbose=0)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, [[128, 228, 72, 127]])
        assert _np(k.layers.Lambda(lambda t: t - 128)(UINT8)).dtype == np.uint8


def test_float_inputs_are_autocast_to_the_layers_dtype(keras_ref):
    x64 = np.array([[1.0 + 1e-12, 2.0]], "float64")
    for k in _both(keras_ref):
        # a layer casts float tensors to its own dtype (float32 here) ...
        out = k.layers.Lambda(lambda t: t * 1.0)(k.ops.convert_to_tensor(x64))
        assert str(_np(out).dtype) == "float32"
        # ... and a functional model converts arrays straight to its Input's dtype, not to floatx first
        i = k.Input((2,), dtype="float64")
        model = k.Model(i, k.layers.Lambda(lambda t: t - 1.0, dtype="float64")(i))
        assert _np(model(x64))[0, 0] == pytest.approx(1e-12, rel=1e-3)
        wide = k.layers.Dense(1, dtype="float64", kernel_initializer="ones")
        assert str(_np(wide(np.ones((1, 2), "float32"))).dtype) == "float64"


def test_fit_on_uint8_images_equals_fit_on_the_same_float_images():
    images = np.random.default_rng(0).integers(0, 256, (16, 4, 4), dtype=np.uint8)
    labels = np.arange(16) % 3
    results = []
    for x in (images, images.astype("float32")):
        minikeras.utils.set_random_seed(3)
        model = minikeras.Sequential([minikeras.Input((4, 4)),
                                      minikeras.layers.Lambda(lambda t: t / 255.0),
                                      minikeras.layers.Flatten(), minikeras.layers.Dense(3, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        results.append(model.fit(x, labels, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


# ----------------------------------------------------------------------------- "accuracy" and "crossentropy"
def _labels(kind, r, n=40):
    if kind == "binary_col":
        return (r.random((n, 1)) > 0.5).astype("float32")
    if kind == "binary_flat":
        return (r.random((n,)) > 0.5).astype("float32")
    if kind == "multilabel":
        return (r.random((n, 3)) > 0.5).astype("float32")
    if kind == "sparse":
        return r.integers(0, 4, (n,))
    if kind == "sparse_col":
        return r.integers(0, 4, (n, 1))
    if kind == "onehot":
        return np.eye(4, dtype="float32")[r.integers(0, 4, n)]
    return r.normal(size=(n, 3 if kind == "regression3" else 1)).astype("float32")


ACCURACY_CASES = [  # (loss, output units, activation, labels)
    ("binary_crossentropy", 3, "sigmoid", "multilabel"),  # several sigmoid outputs: categorical accuracy
    ("binary_crossentropy", 1, "sigmoid", "binary_col"),
    ("binary_crossentropy", 1, "sigmoid", "binary_flat"),
    ("sparse_categorical_crossentropy", 4, "softmax", "sparse"),
    ("sparse_categorical_crossentropy", 4, "softmax", "sparse_col"),
    ("categorical_crossentropy", 4, "softmax", "onehot"),
    ("mse", 1, None, "regression1"),
    ("mse", 3, "sigmoid", "regression3"),
    ("crossentropy", 1, "sigmoid", "binary_col"),
    ("ce", 4, "softmax", "sparse"),
    ("CrossEntropy", 4, "softmax", "onehot"),
]


@pytest.mark.parametrize("loss, units, activation, labels", ACCURACY_CASES)
def test_accuracy_and_crossentropy_strings_resolve_as_keras_compile(keras_ref, loss, units, activation, labels):
    r = np.random.default_rng(0)
    x = r.normal(size=(40, 5)).astype("float32")
    y = _labels(labels, r)
    logs = []
    for k in _both(keras_ref):
        model = _set_weights(k.Sequential([k.Input((5,)), k.layers.Dense(units, activation=activation)]))
        model.compile(optimizer="sgd", loss=loss, metrics=["accuracy", "acc", "Accuracy"])
        logs.append(model.evaluate(x, y, verbose=0, return_dict=True))
    assert set(logs[0]) == set(logs[1]) == {"loss", "accuracy", "acc", "Accuracy"}
    for key in logs[1]:
        np.testing.assert_allclose(logs[0][key], logs[1][key], rtol=1e-5, err_msg=key)


def test_crossentropy_is_a_loss_alias_only(keras_ref):
    for k in _both(keras_ref):
        model = k.Sequential([k.Input((5,)), k.layers.Dense(4)])
        with pytest.raises(ValueError, match="crossentropy"):
            model.compile(loss="mse", metrics=["crossentropy"])
            model.evaluate(np.ones((2, 5)), np.ones((2, 4)), verbose=0)


def test_model_with_crossentropy_alias_saves_and_reloads(tmp_path):
    r = np.random.default_rng(0)
    x, y = r.normal(size=(8, 5)).astype("float32"), r.integers(0, 4, 8)
    model = minikeras.Sequential([minikeras.Input((5,)), minikeras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="crossentropy", metrics=["acc"])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    again = minikeras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6)


# ----------------------------------------------------------------------------- binary cross-entropy
def test_binary_crossentropy_rejects_targets_outside_0_1_like_keras(keras_ref):
    y_bad = np.array([[2.0], [-1.0], [0.5]], "float32")
    p = np.array([[0.7], [0.2], [0.4]], "float32")
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        keras_ref.losses.BinaryCrossentropy()(y_bad, p)
    for call in (lambda: minikeras.losses.BinaryCrossentropy()(y_bad, p),
                 lambda: minikeras.losses.binary_crossentropy(y_bad, p),
                 lambda: minikeras.metrics.BinaryCrossentropy()(y_bad, p),
                 lambda: minikeras.losses.get("binary_crossentropy")(np.array([[255.0]]), np.array([[0.3]]))):
        with pytest.raises(ValueError, match=r"binary_crossentropy: y_true must hold probabilities between 0 "
                                             r"and 1, but its values go from -?\d+ to \d+"):
            call()
    model = minikeras.Sequential([minikeras.Input((2,)), minikeras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match="between 0 and 1"):
        model.fit(np.ones((4, 2), "float32"), np.array([0, 255, 255, 0]), verbose=0)


def test_binary_crossentropy_from_logits_accepts_any_targets_like_keras(keras_ref):
    y_bad = np.array([[2.0], [-1.0], [0.5]], "float32")
    z = np.array([[0.7], [0.2], [0.4]], "float32")
    ours = minikeras.losses.BinaryCrossentropy(from_logits=True, reduction=None)(y_bad, z)
    ref = keras_ref.losses.BinaryCrossentropy(from_logits=True, reduction=None)(y_bad, z)
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-6)


def test_binary_crossentropy_in_float16_is_finite_like_keras(keras_ref):
    y = np.array([[0.0], [1.0], [0.0], [1.0]], "float16")
    p = np.array([[1.0], [0.0], [0.5], [1.0]], "float16")
    # The loss object computes in floatx (float32), the functions in the inputs' float16.
    for make in (lambda k: k.losses.BinaryCrossentropy(reduction=None),
                 lambda k: (lambda a, b: k.losses.binary_crossentropy(a, b)),
                 lambda k: (lambda a, b: k.metrics.binary_crossentropy(a, b)),
                 lambda k: k.metrics.BinaryCrossentropy()):
        ours, ref = _np(make(minikeras)(y, p)), _np(make(keras_ref)(y, p))
        assert np.all(np.isfinite(ours)) and ours.dtype == ref.dtype
        np.testing.assert_allclose(ours, ref, rtol=2e-3, atol=1e-6)


def test_binary_crossentropy_float16_gradient_is_finite():
    from minikeras.autodiff import Tensor, gradients
    p = Tensor(np.array([[1.0, 0.0, 0.5, 1.0]], "float16"), requires_grad=True)
    y = np.array([[0.0, 1.0, 0.0, 1.0]], "float16")
    for loss in (minikeras.losses.BinaryCrossentropy(), minikeras.losses.binary_crossentropy):
        g = _np(gradients(minikeras.ops.sum(loss(y, p)), [p])[0])
        assert g.dtype == np.float16 and np.all(np.isfinite(g))
    # the loss object computes in float32 and casts the gradient back: d/dp of -log(1 - p) at 0.5
    g = _np(gradients(minikeras.losses.BinaryCrossentropy()(y[:, 2:3], p[:, 2:3]), [p])[0])
    assert g[0, 2] == pytest.approx(2.0, rel=1e-3)


# ----------------------------------------------------------------------------- dict for a one-input model
def _one_input_models(k):
    seq = k.Sequential([k.Input((4,), name="feat"), k.layers.Dense(1)])
    i = k.Input((4,), name="feat")
    fun = k.Model(i, k.layers.Dense(1)(i))
    return {"sequential": seq, "functional": fun}


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_dict_keyed_by_the_input_name_feeds_a_one_input_model(keras_ref, kind):
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    preds = []
    for k in _both(keras_ref):
        model = _set_weights(_one_input_models(k)[kind])
        by_array = model.predict(x, verbose=0)
        np.testing.assert_allclose(model.predict({"feat": x, "unused": x}, verbose=0), by_array, rtol=1e-6)
        preds.append(by_array)
    np.testing.assert_allclose(preds[0], preds[1], rtol=1e-5)


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_dict_without_the_input_name_is_a_clear_error(kind):
    model = _one_input_models(minikeras)[kind]
    model.compile("sgd", "mse")
    x = np.ones((3, 4), "float32")
    for call in (lambda: model.predict({"wrong": x}, verbose=0), lambda: model({"wrong": x}),
                 lambda: model.fit({"wrong": x}, np.ones((3, 1)), verbose=0)):
        with pytest.raises(ValueError, match=r"'feat'.*\['wrong'\]|\['feat'\].*\['wrong'\]"):
            call()


def test_dict_reaching_a_layer_of_a_subclassed_model_names_layer_and_keys():
    class OneDense(minikeras.Model):
        def __init__(self):
            super().__init__()
            self.dense = minikeras.layers.Dense(1, name="head")

        def call(self, t):
            return self.dense(t)

    with pytest.raises(ValueError, match=r"Layer 'head' \(Dense\) was called on a dict with keys \['wrong'\]"):
        OneDense().predict({"wrong": np.ones((3, 4), "float32")}, verbose=0)


# ----------------------------------------------------------------------------- outputs=[x]
def _one_output_model(k, structure, input_structure):
    i = k.Input((5,), name="inp")
    o = k.layers.Dense(2, name="out")(i)
    outputs = {"list": [o], "tuple": (o,), "dict": {"out": o}}[structure]
    return _set_weights(k.Model([i] if input_structure == "list" else i, outputs))


@pytest.mark.parametrize("input_structure", ["plain", "list"])
@pytest.mark.parametrize("structure", ["list", "tuple", "dict"])
def test_one_element_output_structures_behave_as_in_keras(keras_ref, structure, input_structure):
    r = np.random.default_rng(0)
    x, y = r.normal(size=(10, 5)).astype("float32"), r.normal(size=(10, 2)).astype("float32")
    seen = {}
    for k in _both(keras_ref):
        model = _one_output_model(k, structure, input_structure)
        pred, called, on_batch = model.predict(x, verbose=0), model(x), model.predict_on_batch(x)
        if structure == "dict":
            assert isinstance(pred, dict) and isinstance(called, dict) and isinstance(on_batch, dict)
            pred, called = pred["out"], called["out"]
        else:
            assert isinstance(pred, np.ndarray) and isinstance(on_batch, np.ndarray)
            assert not isinstance(called, (list, tuple))
        assert model.output_shape == (None, 2)
        np.testing.assert_allclose(_np(called), pred, rtol=1e-6)
        model.compile(optimizer="sgd", loss=["mse"] if structure != "dict" else {"out": "mse"},
                      metrics=[["mae"]] if structure != "dict" else {"out": ["mae"]})
        before = model.evaluate(x, y, verbose=0)
        history = model.fit(x, [y], epochs=1, verbose=0, validation_data=(x, [y]))
        seen[k] = (pred, before, sorted(history.history), model.metrics_names)
    ours, ref = seen[minikeras], seen[keras_ref]
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-5)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-5)
    assert ours[2] == ref[2] == ["loss", "mae", "val_loss", "val_mae"]
    assert ours[3] == ref[3] == ["loss", "compile_metrics"]


def test_outputs_keep_their_tuple_structure(keras_ref):
    for k in _both(keras_ref):
        i = k.Input((5,))
        model = k.Model((i,), (k.layers.Dense(2)(i), k.layers.Dense(3)(i)))
        assert isinstance(model.output, tuple) and isinstance(model.input, tuple)
        assert isinstance(model.predict(np.ones((2, 5)), verbose=0), tuple)
        assert isinstance(model(np.ones((2, 5), "float32")), tuple)


# ----------------------------------------------------------------------------- evaluate order, several outputs
def _two_outputs(k, names):
    i = k.Input((5,))
    h = k.layers.Dense(4)(i)
    first = k.layers.Dense(1, name=names[0])(h)
    second = k.layers.Dense(1, activation="sigmoid", name=names[1])(h)
    return _set_weights(k.Model(i, [first, second]))


@pytest.mark.parametrize("names", [("zeta", "alpha"), ("dense_9", "dense_10"), ("main", "aux")])
@pytest.mark.parametrize("metrics", [
    [["mae", "mse"], ["accuracy"]],
    {"second": ["accuracy"], "first": "mae"},
    None,
])
def test_evaluate_list_and_metrics_names_follow_keras_order(keras_ref, names, metrics):
    r = np.random.default_rng(0)
    x = r.normal(size=(40, 5)).astype("float32")
    y1, y2 = r.normal(size=(40, 1)).astype("float32"), (r.random((40, 1)) > 0.5).astype("float32")
    if isinstance(metrics, dict):
        metrics = {names[0]: metrics["first"], names[1]: metrics["second"]}
    seen = {}
    for k in _both(keras_ref):
        model = _two_outputs(k, names)
        model.compile(optimizer="sgd", loss=["mse", "binary_crossentropy"], loss_weights=[0.9, 0.1],
                      metrics=metrics)
        before = list(model.metrics_names)
        values = model.evaluate(x, [y1, y2], verbose=0)
        on_batch = model.test_on_batch(x, [y1, y2])
        seen[k] = (before, values, list(model.metrics_names), on_batch)
    ours, ref = seen[minikeras], seen[keras_ref]
    assert ours[0] == ref[0]
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-5)
    assert ours[2] == ref[2]
    np.testing.assert_allclose(ours[3], ref[3], rtol=1e-5)


def test_single_output_evaluate_order_is_loss_then_metrics_in_compile_order(keras_ref):
    r = np.random.default_rng(0)
    x, y = r.normal(size=(20, 5)).astype("float32"), r.normal(size=(20, 1)).astype("float32")
    seen = []
    for k in _both(keras_ref):
        model = _set_weights(k.Sequential([k.Input((5,)), k.layers.Dense(1)]))
        model.compile(optimizer="sgd", loss="mse", metrics=["mse", "mae", "RootMeanSquaredError"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seen.append(model.evaluate(x, y, verbose=0))
    np.testing.assert_allclose(seen[0], seen[1], rtol=1e-5)
    assert seen[0][0] == pytest.approx(seen[0][1]) and seen[0][3] == pytest.approx(np.sqrt(seen[0][1]), rel=1e-5)
