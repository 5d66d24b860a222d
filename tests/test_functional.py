"""Functional API: symbolic inputs, multi-input/multi-output models (Wide & Deep), per-output
losses and their logged names, feature extraction through ``layer.output``, nesting, summary
with "Connected to", and the errors a wrongly wired graph or wrongly shaped data must raise."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers


# ----------------------------------------------------------------------------- helpers
def housing_like(n=96, seed=0):
    """California-housing-shaped random regression data: 8 features, one target."""
    r = np.random.default_rng(seed)
    features = r.normal(size=(n, 8)).astype("float32")
    target = (features @ r.normal(size=(8, 1)) + 0.1 * r.normal(size=(n, 1))).astype("float32")
    return features, target


def build_wide_deep(k, units=16):
    """The corrected Hands-On-ML Wide & Deep net: wide = features 0-4, deep = features 2-7;
    the wide input is concatenated with the second hidden layer; an auxiliary head reads hidden2."""
    wide_in = k.Input(shape=(5,), name="input_wide")
    deep_in = k.Input(shape=(6,), name="input_deep")
    first = k.layers.Dense(units, activation="relu")(deep_in)
    second = k.layers.Dense(units, activation="relu")(first)
    joined = k.layers.concatenate([wide_in, second])
    main = k.layers.Dense(1, name="main_output")(joined)
    aux = k.layers.Dense(1, name="aux_output")(second)
    return k.Model(inputs=[wide_in, deep_in], outputs=[main, aux], name="wide_and_deep")


def split(features):
    return features[:, :5], features[:, 2:]


def summary_text(model):
    lines = []
    model.summary(print_fn=lambda s, **kw: lines.append(s))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- building
def test_input_is_symbolic_with_batch_dimension():
    x = keras.Input(shape=(3,), name="features")
    assert x.shape == (None, 3)
    assert x.dtype == "float32"
    h = layers.Dense(7)(x)
    assert h.shape == (None, 7)
    with pytest.raises(TypeError):
        np.asarray(x)


def test_wide_deep_structure():
    model = build_wide_deep(keras)
    assert model.name == "wide_and_deep"
    assert model.output_names == ["main_output", "aux_output"]
    assert [t.shape for t in model.inputs] == [(None, 5), (None, 6)]
    concat = model.get_layer("concatenate")
    assert concat.output.shape == (None, 5 + 16)  # wide width + hidden2 width
    assert isinstance(model.get_layer("input_wide"), keras.layers.InputLayer)
    # parameters: 6*16+16, 16*16+16, (21+1) main, (16+1) aux
    assert model.count_params() == (6 * 16 + 16) + (16 * 16 + 16) + 22 + 17
    assert model.input_shape == [(None, 5), (None, 6)]
    assert model.output_shape == [(None, 1), (None, 1)]


def test_wide_deep_tuple_and_dict_inputs_agree():
    features, target = housing_like()
    wide, deep = split(features)
    model_a = build_wide_deep(keras)
    model_b = build_wide_deep(keras)
    model_b.set_weights(model_a.get_weights())
    model_a.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer=keras.optimizers.SGD(0.01))
    model_b.compile(loss={"main_output": "mse", "aux_output": "mse"},
                    loss_weights={"main_output": 0.9, "aux_output": 0.1}, optimizer=keras.optimizers.SGD(0.01))
    hist_a = model_a.fit((wide, deep), (target, target), epochs=3, batch_size=16, shuffle=False, verbose=0)
    hist_b = model_b.fit({"input_wide": wide, "input_deep": deep},
                         {"main_output": target, "aux_output": target},
                         epochs=3, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist_a.history["loss"], hist_b.history["loss"], rtol=1e-5)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    # the loss went down on this easy linear target
    assert hist_a.history["loss"][-1] < hist_a.history["loss"][0]
    pred_a = model_a.predict((wide, deep), verbose=0)
    pred_b = model_b.predict({"input_wide": wide, "input_deep": deep}, verbose=0)
    assert isinstance(pred_a, (list, tuple)) and len(pred_a) == 2
    assert pred_a[0].shape == (len(features), 1) and pred_a[1].shape == (len(features), 1)
    np.testing.assert_allclose(pred_a[0], pred_b[0], rtol=1e-5, atol=1e-6)


def test_evaluate_total_is_weighted_sum_of_output_losses():
    features, target = housing_like(n=90)
    wide, deep = split(features)
    model = build_wide_deep(keras)
    model.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer="sgd")
    model.fit((wide, deep), (target, target), epochs=1, verbose=0)
    # batch size 32 does not divide 90: the per-output averages must still combine exactly
    total, main_loss, aux_loss = model.evaluate((wide, deep), (target, target), verbose=0)
    np.testing.assert_allclose(total, 0.9 * main_loss + 0.1 * aux_loss, rtol=1e-6)
    main_pred, aux_pred = model.predict((wide, deep), verbose=0)
    np.testing.assert_allclose(main_loss, np.mean((main_pred - target) ** 2), rtol=1e-5)
    np.testing.assert_allclose(aux_loss, np.mean((aux_pred - target) ** 2), rtol=1e-5)
    logs = model.evaluate((wide, deep), (target, target), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "main_output_loss", "aux_output_loss"}
    assert logs["main_output_loss"] == pytest.approx(main_loss)


def test_multi_output_log_names_match_keras(keras_ref):
    features, target = housing_like(n=40)
    wide, deep = split(features)
    names = {}
    for k in (keras, keras_ref):
        model = build_wide_deep(k)
        model.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer="sgd",
                      metrics=[["RootMeanSquaredError"], ["mae"]])
        hist = model.fit((wide, deep), (target, target), epochs=1, verbose=0)
        values = model.evaluate((wide, deep), (target, target), verbose=0)
        logs = model.evaluate((wide, deep), (target, target), verbose=0, return_dict=True)
        # the list starts [total, <output losses in output order>]; then come the metrics
        # (Keras 3 sorts those by name, minikeras keeps output order: the sets agree)
        order = [name for name in sorted(logs, key=lambda n: values.index(logs[n]))]
        names[k] = (set(hist.history), set(logs), order[:3], set(order[3:]), list(model.output_names))
    assert names[keras] == names[keras_ref]
    assert names[keras][2] == ["loss", "main_output_loss", "aux_output_loss"]


def test_dict_outputs_and_dict_metrics():
    features, target = housing_like(n=48)
    wide, deep = split(features)
    wide_in = keras.Input(shape=(5,), name="input_wide")
    deep_in = keras.Input(shape=(6,), name="input_deep")
    hidden = layers.Dense(8, activation="relu")(deep_in)
    model = keras.Model(inputs={"input_wide": wide_in, "input_deep": deep_in},
                        outputs={"price": layers.Dense(1)(layers.concatenate([wide_in, hidden])),
                                 "helper": layers.Dense(1)(hidden)})
    model.compile(loss={"price": "mse", "helper": "mse"}, loss_weights={"price": 0.8, "helper": 0.2},
                  metrics={"price": ["mae"], "helper": ["mae"]}, optimizer="sgd")
    hist = model.fit({"input_wide": wide, "input_deep": deep}, {"price": target, "helper": target},
                     epochs=2, verbose=0)
    assert set(hist.history) == {"loss", "price_loss", "helper_loss", "price_mae", "helper_mae"}
    logs = model.evaluate({"input_wide": wide, "input_deep": deep}, {"price": target, "helper": target},
                          verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], 0.8 * logs["price_loss"] + 0.2 * logs["helper_loss"], rtol=1e-6)
    pred = model.predict({"input_wide": wide, "input_deep": deep}, verbose=0)
    assert isinstance(pred, dict) and set(pred) == {"price", "helper"}
    assert pred["price"].shape == (48, 1)


def test_flat_metric_list_applies_to_every_output():
    """Hands-On ML 3rd ed. compiles its two-output model with metrics=["RootMeanSquaredError"] and
    unpacks five values from evaluate (Keras 3 itself rejects the flat list; minikeras accepts it)."""
    features, target = housing_like(n=64)
    wide, deep = split(features)
    model = build_wide_deep(keras)
    model.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer="adam",
                  metrics=["RootMeanSquaredError"])
    model.fit((wide, deep), (target, target), epochs=1, verbose=0)
    # Keras 3's order: the total, the per-output losses in output order, then the remaining
    # metrics by sorted name ("aux_output_..." before "main_output_...").
    total, main_loss, aux_loss, aux_rmse, main_rmse = model.evaluate((wide, deep), (target, target), verbose=0)
    np.testing.assert_allclose(main_rmse, np.sqrt(main_loss), rtol=1e-4)
    np.testing.assert_allclose(aux_rmse, np.sqrt(aux_loss), rtol=1e-4)
    logs = model.evaluate((wide, deep), (target, target), verbose=0, return_dict=True)
    assert {"main_output_RootMeanSquaredError", "aux_output_RootMeanSquaredError"} <= set(logs)
    with pytest.raises(ValueError, match="3 entries.*2 outputs"):
        model.compile(loss="mse", optimizer="sgd", metrics=[["mae"], ["mae"], ["mae"]])


def test_list_inputs_given_as_dict_by_input_name():
    features, _ = housing_like(n=10)
    wide, deep = split(features)
    model = build_wide_deep(keras)
    by_list = model.predict([wide, deep], verbose=0)
    by_name = model.predict({"input_deep": deep, "input_wide": wide}, verbose=0)
    np.testing.assert_allclose(by_list[0], by_name[0], rtol=1e-6)


def test_same_loss_for_every_output_and_wrong_loss_count():
    model = build_wide_deep(keras)
    model.compile(loss="mse", optimizer="sgd")
    features, target = housing_like(n=20)
    logs = model.evaluate(split(features), (target, target), verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], logs["main_output_loss"] + logs["aux_output_loss"], rtol=1e-6)
    with pytest.raises(ValueError, match="3 entries.*2 outputs"):
        model.compile(loss=["mse", "mse", "mse"], optimizer="sgd")
    with pytest.raises(ValueError, match="not output names"):
        model.compile(loss={"price": "mse"}, optimizer="sgd")


# ----------------------------------------------------------------------------- summary
def test_summary_has_connected_to_column():
    model = build_wide_deep(keras)
    text = summary_text(model)
    assert "Connected to" in text
    assert "input_wide[0][0]" in text
    concat_line = next(line for line in text.splitlines() if "concatenate" in line)
    assert "(None, 21)" in concat_line
    assert "Total params: 423" in text  # 112 + 272 + 22 + 17; inputs and concatenate have none
    shared = layers.Dense(2, name="shared")
    p, q = keras.Input(shape=(3,), name="p"), keras.Input(shape=(3,), name="q")
    twin = keras.Model([p, q], layers.add([shared(p), shared(q)]))
    text = summary_text(twin)
    assert "shared[0][0]" in text and "shared[1][0]" in text  # two calls of one layer
    assert len(twin.weights) == 2  # the shared layer's kernel and bias are counted once


# ----------------------------------------------------------------------------- layer.input / output
def test_feature_extraction_from_functional_model():
    features, _ = housing_like(n=12)
    wide, deep = split(features)
    model = build_wide_deep(keras)
    hidden2 = model.layers[3]
    assert hidden2.input is model.layers[2].output
    extractor = keras.Model(inputs=model.inputs, outputs=hidden2.output)
    got = extractor.predict([wide, deep], verbose=0)
    first, second = model.layers[2], model.layers[3]
    expected = second(first(deep))
    np.testing.assert_allclose(got, keras.backend.to_numpy(expected.value), rtol=1e-5)
    # the extractor shares the weights: changing the model changes the features
    kernel = second.weights[0]
    kernel.assign(kernel.numpy() * 0)
    assert np.allclose(extractor.predict([wide, deep], verbose=0), np.maximum(second.weights[1].numpy(), 0))


@pytest.mark.parametrize("how", ["input_layer", "input_shape", "build"])
def test_feature_extraction_from_sequential(how):
    features, _ = housing_like(n=10)
    first = [keras.Input(shape=(8,))] if how == "input_layer" else []
    kwargs = {"input_shape": (8,)} if how == "input_shape" else {}
    seq = keras.Sequential(first + [layers.Dense(6, activation="relu", **kwargs), layers.Dense(3), layers.Dense(1)])
    if how == "build":
        seq.build((None, 8))
    stem = keras.Model(inputs=seq.inputs, outputs=seq.layers[1].output)
    out = stem.predict(features, verbose=0)
    assert out.shape == (10, 3)
    direct = seq.layers[1](seq.layers[0](features))
    np.testing.assert_allclose(out, keras.backend.to_numpy(direct.value), rtol=1e-5)
    every = keras.Model(inputs=seq.inputs, outputs=[layer.output for layer in seq.layers])
    assert [o.shape for o in every.predict(features, verbose=0)] == [(10, 6), (10, 3), (10, 1)]


def test_layer_without_symbolic_call_has_no_output():
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(3).output


# ----------------------------------------------------------------------------- nesting
def test_functional_model_used_as_a_layer():
    inner_in = keras.Input(shape=(8,))
    inner = keras.Model(inner_in, layers.Dense(4, activation="relu")(inner_in), name="inner")
    outer_in = keras.Input(shape=(8,))
    outer = keras.Model(outer_in, layers.Dense(1)(inner(outer_in)))
    assert [l.name for l in outer.layers][1] == "inner"
    assert len(outer.weights) == 4
    features, target = housing_like(n=32)
    before = inner.get_weights()
    outer.compile(loss="mse", optimizer="sgd")
    outer.fit(features, target, epochs=1, verbose=0)
    assert not np.allclose(before[0], inner.get_weights()[0])  # the nested model trained too


def test_model_called_on_arrays_directly():
    features, _ = housing_like(n=4)
    model = build_wide_deep(keras)
    main, aux = model(split(features))
    assert tuple(main.shape) == (4, 1) and tuple(aux.shape) == (4, 1)


# ----------------------------------------------------------------------------- errors
def test_graph_disconnected_error_names_the_missing_input():
    a = keras.Input(shape=(3,), name="left")
    b = keras.Input(shape=(3,), name="right")
    out = layers.Dense(1)(layers.concatenate([a, b]))
    with pytest.raises(ValueError, match=r"disconnected.*'right'"):
        keras.Model(inputs=a, outputs=out, name="half")


def test_output_not_depending_on_inputs():
    a = keras.Input(shape=(3,), name="used")
    other = keras.Input(shape=(3,), name="other")
    out = layers.Dense(2)(other)
    with pytest.raises(ValueError, match="disconnected|do not depend"):
        keras.Model(inputs=a, outputs=out)


def test_non_symbolic_inputs_rejected():
    a = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match="symbolic"):
        keras.Model(inputs=a, outputs=np.zeros((1, 2)))


def test_wrong_number_of_inputs():
    model = build_wide_deep(keras)
    features, _ = housing_like(n=4)
    with pytest.raises(ValueError, match=r"wide_and_deep.*expects 2 input"):
        model.predict(features[:, :5], verbose=0)
    with pytest.raises(ValueError, match="expects 2 input"):
        model.predict([features[:, :5], features[:, 2:], features], verbose=0)
    with pytest.raises(ValueError, match=r"missing \['input_deep'\]"):
        model.predict({"input_wide": features[:, :5]}, verbose=0)


def test_wrong_input_shape():
    model = build_wide_deep(keras)
    features, _ = housing_like(n=4)
    with pytest.raises(ValueError, match=r"input_deep.*\(None, 6\).*\(4, 5\)"):
        model.predict([features[:, :5], features[:, :5]], verbose=0)


def test_layer_shape_error_names_the_layer():
    a = keras.Input(shape=(3,))
    b = keras.Input(shape=(2, 4))
    with pytest.raises(ValueError, match="(?i)concatenate"):
        layers.concatenate([a, b])


def test_weighted_metrics_of_two_outputs_match_keras(keras_ref):
    """Per-output metrics and weighted_metrics with sample weights: the same names (``a_accuracy``,
    ``a_weighted_accuracy``, ...) and values as Keras 3."""
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    ya, yb = rng.integers(0, 3, 32), rng.integers(0, 2, 32)
    sw = np.linspace(0, 2, 32).astype("float32")
    results = []
    for k in (keras_ref, keras):
        inputs = k.Input(shape=(4,))
        model = k.Model(inputs, [k.layers.Dense(3, activation="softmax", name="a")(inputs),
                                 k.layers.Dense(2, activation="softmax", name="b")(inputs)])
        model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy"] * 2,
                      metrics=[["accuracy"], ["accuracy"]], weighted_metrics=[["accuracy"], ["accuracy"]])
        if results:
            model.set_weights(weights)
        weights = model.get_weights()
        results.append(model.evaluate(x, [ya, yb], sample_weight=sw, verbose=0, return_dict=True))
    want, got = results
    assert sorted(got) == sorted(want)
    assert "a_weighted_accuracy" in got
    for key in want:
        np.testing.assert_allclose(float(got[key]), float(want[key]), rtol=1e-5, err_msg=key)
