"""Saving and loading: model files, weight files, configs, custom objects and clone_model."""
import io
import json
import zipfile

import numpy as np
import pytest

import minikeras as keras
from minikeras import ops, saving
from minikeras.layers import Dense, Dropout, Input


# ----------------------------------------------------------------------------- helpers / customs
@saving.register_keras_serializable(package="test_saving")
class Concat(keras.Layer):
    """A merge layer (list input), registered."""

    def call(self, inputs):
        return ops.concatenate(list(inputs), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (sum(s[-1] for s in input_shape),)


class Scale(keras.Layer):
    """A custom layer with an argument and a weight; NOT registered (needs custom_objects)."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="w")

    def call(self, inputs):
        return inputs * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class NoConfig(keras.Layer):
    """Needs ``units`` but does not return it from get_config."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units


@saving.register_keras_serializable(package="test_saving")
class TwoDense(keras.Model):
    """A subclassed model rebuilt from its config."""

    def __init__(self, hidden=6, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.d1 = Dense(hidden, activation="relu")
        self.d2 = Dense(1)

    def call(self, inputs):
        return self.d2(self.d1(inputs))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


@saving.register_keras_serializable(package="test_saving")
def squared_relu(x):
    r = ops.relu(x)
    return r * r


def scaled_mse(y_true, y_pred):
    return ops.sum(ops.square(ops.subtract(y_pred, y_true)), axis=-1) * 2.0


@saving.register_keras_serializable(package="test_saving")
class HalfOnes(keras.initializers.Initializer):
    """A registered custom initializer."""

    def __call__(self, shape, dtype=None):
        return np.full(shape, 0.5, dtype=dtype or "float32")

    def get_config(self):
        return {}


@saving.register_keras_serializable(package="test_saving")
class DoubledMSE(keras.losses.Loss):
    """A registered custom Loss class."""

    def call(self, y_true, y_pred):
        return ops.sum(ops.square(ops.subtract(y_pred, y_true)), axis=-1) * 2.0


def _data(n=40, d=4, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, d)).astype("float32")
    y = (x[:, :1] * 0.5 - x[:, 1:2]).astype("float32")
    return x, y


def _sequential(optimizer="adam"):
    model = keras.Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def _multi_io():
    a = Input(shape=(4,), name="a")
    b = Input(shape=(3,), name="b")
    h = Dense(5, activation="tanh", name="hidden")(a)
    c = Concat(name="concat")([h, b])
    out1 = Dense(1, name="reg")(c)
    out2 = Dense(3, activation="softmax", name="cls")(c)
    return keras.Model(inputs={"a": a, "b": b}, outputs=[out1, out2], name="wide")


def _weights_equal(m1, m2):
    w1, w2 = m1.get_weights(), m2.get_weights()
    return len(w1) == len(w2) and all(np.array_equal(p, q) for p, q in zip(w1, w2))


# ----------------------------------------------------------------------------- round trips
def test_sequential_round_trip_predictions_and_file_layout(tmp_path):
    x, y = _data()
    model = _sequential()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        meta = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
    assert {"metadata.json", "config.json", "model.weights.npz", "optimizer.npz"} <= names
    assert meta["format"] == "minikeras.model" and meta["format_version"] == 1
    assert config["class_name"] == "Sequential"
    assert config["compile_config"]["loss"] == "mse" and config["compile_config"]["metrics"] == ["mae"]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"

    loaded = keras.saving.load_model(path)
    assert type(loaded) is keras.Sequential
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


@pytest.mark.parametrize("name", ["m.h5", "m", "m.keras"])
def test_any_suffix_is_accepted(tmp_path, name):
    x, _ = _data()
    model = _sequential()
    model.save(str(tmp_path / name))
    loaded = keras.models.load_model(str(tmp_path / name)) if hasattr(keras.models, "load_model") \
        else saving.load_model(str(tmp_path / name))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_functional_multi_input_multi_output_round_trip(tmp_path):
    model = _multi_io()
    model.compile(optimizer="rmsprop", loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[0.9, 0.1], metrics=[["mae"], ["accuracy"]])
    r = np.random.default_rng(1)
    xs = {"a": r.normal(size=(16, 4)).astype("float32"), "b": r.normal(size=(16, 3)).astype("float32")}
    ys = [r.normal(size=(16, 1)).astype("float32"), r.integers(0, 3, size=(16,))]
    model.fit(xs, ys, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "wide.keras")
    loaded = saving.load_model(tmp_path / "wide.keras")
    assert loaded.name == "wide" and loaded.input_names == ["a", "b"]
    assert loaded.output_names == ["reg", "cls"]
    for p, q in zip(model.predict(xs, verbose=0), loaded.predict(xs, verbose=0)):
        np.testing.assert_array_equal(p, q)
    assert loaded.evaluate(xs, ys, verbose=0, return_dict=True) == \
        model.evaluate(xs, ys, verbose=0, return_dict=True)


def test_functional_config_uses_keras_node_references():
    model = _multi_io()
    config = model.get_config()
    assert config["input_layers"] == {"a": ["a", 0, 0], "b": ["b", 0, 0]}
    assert config["output_layers"] == [["reg", 0, 0], ["cls", 0, 0]]
    concat = next(l for l in config["layers"] if l["name"] == "concat")
    assert concat["registered_name"] == "test_saving>Concat"
    (node,) = concat["inbound_nodes"]
    refs = [t["config"]["keras_history"] for t in node["args"][0]]
    assert refs == [["hidden", 0, 0], ["b", 0, 0]]
    assert node["args"][0][0]["class_name"] == "__keras_tensor__"
    json.dumps(config)  # plain JSON


def test_shared_layer_node_indices_are_model_local(tmp_path):
    shared = Dense(2, name="shared")
    x1 = Input(shape=(3,), name="x1")
    x2 = Input(shape=(3,), name="x2")
    other = keras.Model(x1, shared(x1))  # node 0 of `shared` belongs to another model
    del other
    out = Concat(name="cat")([shared(x1), shared(x2)])
    model = keras.Model([x1, x2], out)
    cfg = model.get_config()
    entry = next(l for l in cfg["layers"] if l["name"] == "shared")
    assert len(entry["inbound_nodes"]) == 2
    assert cfg["layers"][-1]["inbound_nodes"][0]["args"][0][1]["config"]["keras_history"] == ["shared", 1, 0]
    model.save(tmp_path / "shared.keras")
    loaded = saving.load_model(tmp_path / "shared.keras")
    a, b = np.ones((2, 3), "float32"), np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict([a, b], verbose=0), model.predict([a, b], verbose=0))
    assert len(loaded.weights) == 2


def test_nested_models_round_trip(tmp_path):
    inner_seq = keras.Sequential([Input(shape=(4,)), Dense(6, activation="relu")], name="inner_seq")
    i = Input(shape=(6,))
    inner_fn = keras.Model(i, Dense(2, name="inner_dense")(i), name="inner_fn")
    x = Input(shape=(4,))
    model = keras.Model(x, inner_fn(inner_seq(x)), name="outer")
    model.compile("sgd", "mse")
    model.save(tmp_path / "nested.keras")
    loaded = saving.load_model(tmp_path / "nested.keras")
    assert [type(l).__name__ for l in loaded.layers] == ["InputLayer", "Sequential", "Functional"]
    data = np.random.default_rng(2).normal(size=(5, 4)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


def test_subclassed_model_via_registration(tmp_path):
    x, y = _data()
    model = TwoDense(hidden=5)
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "sub.keras")
    loaded = saving.load_model(tmp_path / "sub.keras")
    assert type(loaded) is TwoDense and loaded.hidden == 5
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(loaded.optimizer.get_weights()[2], model.optimizer.get_weights()[2])


# ----------------------------------------------------------------------------- training continues
@pytest.mark.parametrize("shuffle", [True, False])
def test_reloaded_model_continues_training_exactly(tmp_path, shuffle):
    """2 epochs + save/load + 1 epoch == 3 epochs. The file does not hold the global RNG, so both
    runs reseed before the last epoch (it drives shuffling and dropout)."""
    x, _ = _data(48)
    labels = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)

    def build():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([Input(shape=(4,)), Dense(16, activation="relu"), Dropout(0.3),
                                  Dense(3, activation="softmax")])
        model.compile(keras.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    straight = build()
    keras.utils.set_random_seed(1)
    straight.fit(x, labels, epochs=2, batch_size=8, shuffle=shuffle, verbose=0)
    keras.utils.set_random_seed(2)
    h1 = straight.fit(x, labels, epochs=1, batch_size=8, shuffle=shuffle, verbose=0)

    resumed = build()
    keras.utils.set_random_seed(1)
    resumed.fit(x, labels, epochs=2, batch_size=8, shuffle=shuffle, verbose=0)
    resumed.save(tmp_path / "ckpt.keras")
    reloaded = saving.load_model(tmp_path / "ckpt.keras")
    assert int(reloaded.optimizer.iterations.value) == 12
    keras.utils.set_random_seed(2)
    h2 = reloaded.fit(x, labels, epochs=1, batch_size=8, shuffle=shuffle, verbose=0)

    assert _weights_equal(straight, reloaded)
    assert h1.history == h2.history
    for a, b in zip(straight.optimizer.get_weights(), reloaded.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_without_optimizer_state_training_differs(tmp_path):
    """The continuity test can fail: a fresh optimizer (compile=False + new compile) diverges."""
    x, y = _data()
    model = _sequential()
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    fresh = saving.load_model(tmp_path / "m.keras", compile=False)
    assert not fresh.compiled
    fresh.compile("adam", "mse")
    full = saving.load_model(tmp_path / "m.keras")
    fresh.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    full.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert _weights_equal(model, full)
    assert not _weights_equal(model, fresh)


def test_learning_rate_and_optimizer_config_restored(tmp_path):
    model = _sequential(keras.optimizers.SGD(learning_rate=0.05, momentum=0.9))
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.optimizer.learning_rate = 0.02
    model.save(tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)
    assert loaded.optimizer.momentum == pytest.approx(0.9)
    assert float(loaded.optimizer.learning_rate.value) == pytest.approx(0.02)


# ----------------------------------------------------------------------------- custom objects
def test_custom_layer_needs_custom_objects(tmp_path):
    model = keras.Sequential([Input(shape=(3,)), Scale(2.5, name="scale"), Dense(1)])
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match="Scale") as err:
        saving.load_model(tmp_path / "c.keras")
    assert "custom_objects" in str(err.value)
    loaded = saving.load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale})
    assert loaded.layers[0].factor == 2.5
    data = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    with saving.custom_object_scope({"Scale": Scale}):
        again = saving.load_model(tmp_path / "c.keras")
    assert _weights_equal(again, model)


def test_custom_functions_activation_and_loss(tmp_path):
    model = keras.Sequential([Input(shape=(4,)), Dense(3, activation=squared_relu), Dense(1)])
    model.compile("sgd", loss=scaled_mse, metrics=[scaled_mse])
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "f.keras")
    cfg = model.layers[0].get_config()["activation"]
    assert cfg["class_name"] == "function" and cfg["registered_name"] == "test_saving>squared_relu"
    with pytest.raises(ValueError, match="scaled_mse"):
        saving.load_model(tmp_path / "f.keras")
    loaded = saving.load_model(tmp_path / "f.keras", custom_objects={"scaled_mse": scaled_mse})
    assert loaded.layers[0].activation is squared_relu
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    # compile=False needs no loss function
    assert saving.load_model(tmp_path / "f.keras", compile=False).layers[0].activation is squared_relu


def test_registration_api():
    assert saving.get_registered_name(Concat) == "test_saving>Concat"
    assert saving.get_registered_object("test_saving>Concat") is Concat
    assert saving.get_registered_object("Nope>Missing") is None
    assert saving.get_registered_object("Scale", custom_objects={"Scale": Scale}) is Scale
    with pytest.raises(ValueError, match="get_config"):
        saving.register_keras_serializable("p")(type("Bare", (), {}))
    assert keras.activations.serialize(keras.activations.relu) == "relu"
    assert keras.activations.deserialize(keras.activations.serialize(squared_relu)) is squared_relu


def test_custom_layer_without_complete_get_config_fails_at_save(tmp_path):
    model = keras.Sequential([Input(shape=(3,)), NoConfig(4, name="nc")])
    with pytest.raises(NotImplementedError, match="units"):
        model.save(tmp_path / "nc.keras")
    assert not (tmp_path / "nc.keras").exists()


def test_layer_objects_round_trip_through_serialize():
    layer = Dense(3, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01),
                  kernel_constraint=keras.constraints.MaxNorm(2.0), name="d")
    config = saving.serialize_keras_object(layer)
    assert config["module"] == "keras.layers" and config["registered_name"] is None
    clone = saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert isinstance(clone, Dense) and clone.units == 3 and clone.name == "d"
    assert clone.kernel_regularizer.get_config() == layer.kernel_regularizer.get_config()
    opt = saving.deserialize_keras_object(saving.serialize_keras_object(keras.optimizers.Adam(0.003)))
    assert isinstance(opt, keras.optimizers.Adam)
    assert float(opt.learning_rate.value) == pytest.approx(0.003)


# ----------------------------------------------------------------------------- bad files
def test_truncated_file_names_the_file(tmp_path):
    model = _sequential()
    path = tmp_path / "full.keras"
    model.save(path)
    data = path.read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.keras.*truncated or corrupted"):
        saving.load_model(cut)
    with pytest.raises(ValueError, match="cut.keras"):
        model.load_weights(cut)


def test_hdf5_random_bytes_and_foreign_zip(tmp_path):
    h5 = tmp_path / "keras_model.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    with pytest.raises(ValueError, match=r"keras_model\.h5.*HDF5"):
        saving.load_model(h5)
    junk = tmp_path / "junk.keras"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"junk\.keras.*not a zip"):
        saving.load_model(junk)
    real_keras = tmp_path / "real.keras"  # the layout real Keras 3 writes
    with zipfile.ZipFile(real_keras, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "x"}))
        zf.writestr("config.json", "{}")
        zf.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ValueError, match=r"real\.keras.*Keras 3\.15\.1"):
        saving.load_model(real_keras)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        saving.load_model(tmp_path / "missing.keras")
    weights_file = tmp_path / "w.weights.h5"
    _sequential().save_weights(weights_file)
    with pytest.raises(ValueError, match="minikeras.model"):
        saving.load_model(weights_file)  # a weights file is not a model file


def test_no_pickle_anywhere(tmp_path, monkeypatch):
    import pickle
    model = _sequential()
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    real_load = np.load
    calls = []

    def checked_load(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must never be used when loading")
    monkeypatch.setattr(np, "load", checked_load)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    saving.load_model(tmp_path / "m.keras")
    model.load_weights(tmp_path / "m.weights.h5")
    assert calls and all(c is False for c in calls)
    # an npz with an object array is refused, never unpickled
    monkeypatch.undo()
    buf = io.BytesIO()
    np.savez(buf, **{"0": np.array([{"evil": 1}], dtype=object)})
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["model.weights.npz"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    with pytest.raises(ValueError, match="pickle"):
        saving.load_model(path)


def test_unbuilt_model_cannot_be_saved(tmp_path):
    model = keras.Sequential([Dense(2)])
    with pytest.raises(ValueError, match="not been built"):
        model.save(tmp_path / "u.keras")


# ----------------------------------------------------------------------------- weights only
@pytest.mark.parametrize("name", ["ckpt.weights.h5", "ckpt_plain"])
def test_save_and_load_weights(tmp_path, name):
    x, y = _data()
    model = _sequential()
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / name)
    other = _sequential()
    assert not _weights_equal(model, other)
    other.load_weights(tmp_path / name)
    assert _weights_equal(model, other)
    third = _sequential()  # weights of a whole-model file can be loaded as well
    model.save(tmp_path / "whole.keras")
    third.load_weights(tmp_path / "whole.keras")
    assert _weights_equal(model, third)


def test_load_weights_shape_mismatch_names_the_layer(tmp_path):
    model = keras.Sequential([Input(shape=(4,)), Dense(8, name="first"), Dense(1, name="last")])
    model.save_weights(tmp_path / "w.weights.h5")
    wrong = keras.Sequential([Input(shape=(4,)), Dense(8, name="first"), Dense(2, name="head")])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"layer 'head' \(Dense\).*\(8, 2\).*\(8, 1\)"):
        wrong.load_weights(tmp_path / "w.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, wrong.get_weights()))  # untouched
    with pytest.warns(UserWarning, match="head"):
        wrong.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(wrong.layers[0].get_weights()[0], model.layers[0].get_weights()[0])
    fewer = keras.Sequential([Input(shape=(4,)), Dense(1)])
    with pytest.raises(ValueError, match="2 layers"):
        fewer.load_weights(tmp_path / "w.weights.h5")


def test_subclassed_weights_load_by_position(tmp_path):
    x, y = _data()
    model = TwoDense()
    model(x[:2])
    model.save_weights(tmp_path / "s.weights.h5")
    other = TwoDense()  # layer names differ (dense_2, dense_3)
    other(x[:2])
    other.load_weights(tmp_path / "s.weights.h5")
    assert _weights_equal(model, other)


# ----------------------------------------------------------------------------- clone_model
def test_clone_sequential_is_independent():
    model = _sequential()
    clone = keras.models.clone_model(model)
    assert type(clone) is keras.Sequential
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert all(a is not b for a, b in zip(clone.weights, model.weights))
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])  # fresh weights
    clone.set_weights(model.get_weights())
    assert _weights_equal(clone, model)
    original = [w.copy() for w in model.get_weights()]
    clone.compile("sgd", "mse")
    x, y = _data()
    clone.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(original, model.get_weights()))
    assert not model.optimizer.built


def test_clone_functional_and_clone_function():
    model = _multi_io()
    clone = keras.clone_model(model)
    assert type(clone).__name__ == "Functional"
    assert clone.input_names == ["a", "b"] and clone.output_names == ["reg", "cls"]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    clone.set_weights(model.get_weights())
    r = np.random.default_rng(3)
    xs = {"a": r.normal(size=(4, 4)).astype("float32"), "b": r.normal(size=(4, 3)).astype("float32")}
    for p, q in zip(model.predict(xs, verbose=0), clone.predict(xs, verbose=0)):
        np.testing.assert_array_equal(p, q)
    seen = []

    def record(layer):
        seen.append(layer.name)
        return layer.__class__.from_config(layer.get_config())
    keras.clone_model(model, clone_function=record)
    assert seen == ["hidden", "concat", "reg", "cls"]


def test_clone_subclassed_model():
    model = TwoDense(hidden=3)
    model(np.zeros((1, 4), "float32"))
    clone = keras.clone_model(model)
    assert type(clone) is TwoDense and clone.hidden == 3
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert all(a is not b for a, b in zip(clone.weights, model.weights))


def test_custom_initializer_and_loss_class_via_registration(tmp_path):
    model = keras.Sequential([Input(shape=(4,)), Dense(2, kernel_initializer=HalfOnes()), Dense(1)])
    model.compile("sgd", loss=DoubledMSE(name="dmse"))
    model.save(tmp_path / "r.keras")
    loaded = saving.load_model(tmp_path / "r.keras")
    assert isinstance(loaded.layers[0].kernel_initializer, HalfOnes)
    assert isinstance(loaded.loss, DoubledMSE) and loaded.loss.name == "dmse"
    x, y = _data()
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_model_from_config_rebuilds_functional_graph():
    model = _multi_io()
    rebuilt = keras.Model.from_config(model.get_config())
    assert type(rebuilt).__name__ == "Functional"
    assert [l.name for l in rebuilt.layers] == [l.name for l in model.layers]
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    seq = _sequential()
    again = keras.Sequential.from_config(seq.get_config())
    assert [w.shape for w in again.weights] == [w.shape for w in seq.weights]
