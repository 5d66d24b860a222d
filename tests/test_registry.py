"""The one object registry: families, the generic getter, custom objects, configs, and reloading
subclassed models (registered or not) the way Keras 3 does."""
import threading

import numpy as np
import pytest

import minikeras as keras
from minikeras import registry, saving


def _subclass(name, register=False):
    class Sub(keras.Model):
        def __init__(self, hidden=5, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.d1 = keras.layers.Dense(hidden, activation="relu")
            self.d2 = keras.layers.Dense(1)

        def call(self, x):
            return self.d2(self.d1(x))

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}
    Sub.__name__ = Sub.__qualname__ = name
    return saving.register_keras_serializable(package="test_registry")(Sub) if register else Sub


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, (x @ rng.standard_normal((4, 1))).astype("float32")


# ----------------------------------------------------------------------------- families and lookup
def test_every_family_registers_its_builtins():
    expect = {"activations": ("relu", keras.activations.relu), "initializers": ("glorot_uniform",
              keras.initializers.GlorotUniform), "regularizers": ("l2", keras.regularizers.L2),
              "constraints": ("max_norm", keras.constraints.MaxNorm), "layers": ("Dense", keras.layers.Dense),
              "losses": ("mse", keras.losses.MeanSquaredError), "metrics": ("mae", keras.metrics.MeanAbsoluteError),
              "optimizers": ("adam", keras.optimizers.Adam),
              "schedules": ("CosineDecay", keras.optimizers.schedules.CosineDecay)}
    for family, (name, obj) in expect.items():
        assert registry.lookup(family, name) is obj, family
    assert registry.lookup("layers", "Sequential") is keras.Sequential
    assert registry.lookup("layers", "Functional") is keras.models.Functional
    assert registry.lookup("optimizers", "SGD") is keras.optimizers.SGD  # case-insensitive family


def test_the_one_getter_lists_the_valid_choices():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l3'\. Valid regularizers are: .*'l1'.*'l2'"):
        registry.get("regularizers", "l3")
    with pytest.raises(ValueError, match=r"Unknown constraint 'maxnorm'.*'max_norm'"):
        keras.constraints.get("maxnorm")
    with pytest.raises(ValueError, match=r"Unknown activation 'relu2'.*'relu'.*'sigmoid'"):
        keras.activations.get("relu2")
    with pytest.raises(ValueError, match="Could not interpret initializer identifier 3.*'glorot_uniform'"):
        keras.initializers.get(3)
    assert type(registry.get("initializers", "he_normal")) is keras.initializers.HeNormal
    assert registry.get("initializers", None) is None
    init = keras.initializers.Ones()
    assert registry.get("initializers", init) is init
    assert type(registry.get("initializers", {"class_name": "Zeros", "config": {}})) is keras.initializers.Zeros


def test_object_not_found_is_both_a_type_and_a_value_error():
    err = registry.ObjectNotFoundError("x")
    assert isinstance(err, TypeError) and isinstance(err, ValueError)


def test_custom_objects_scopes_and_registration_resolve_names():
    def squash(x):
        return keras.ops.tanh(x)
    with pytest.raises(ValueError):
        keras.activations.get("squash")
    with saving.custom_object_scope({"squash": squash}):
        assert keras.activations.get("squash") is squash
        with keras.utils.custom_object_scope({"other": abs}):
            assert registry.get_registered_object("squash") is squash
            assert registry.get_registered_object("other") is abs
        assert registry.get_registered_object("other") is None
    assert registry.get_registered_object("squash") is None
    registered = saving.register_keras_serializable("test_registry")(squash)
    assert registered is squash and saving.get_registered_name(squash) == "test_registry>squash"
    assert keras.activations.get("test_registry>squash") is squash
    assert keras.utils.get_custom_objects() is saving.get_custom_objects()
    assert keras.utils.register_keras_serializable is saving.register_keras_serializable


def test_a_scope_is_local_to_its_thread():
    barrier = threading.Barrier(2)
    seen = []

    def inside():
        with saving.custom_object_scope({"only_here": len}):
            barrier.wait()
            barrier.wait()

    def outside():
        barrier.wait()
        seen.append(registry.get_registered_object("only_here"))
        barrier.wait()

    threads = [threading.Thread(target=inside), threading.Thread(target=outside)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen == [None]


def test_configs_have_keras_layout_and_round_trip():
    layer = keras.layers.Dense(3, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed=2))
    config = registry.serialize(layer)
    assert (config["module"], config["class_name"], config["registered_name"]) == ("keras.layers", "Dense", None)
    assert config["config"]["kernel_initializer"]["module"] == "keras.initializers"
    again = registry.deserialize(config)
    assert type(again) is keras.layers.Dense and again.units == 3
    assert again.kernel_initializer.get_config() == layer.kernel_initializer.get_config()
    layer(np.ones((2, 4), "float32"))  # built by its first call
    built = keras.layers.deserialize(keras.layers.serialize(layer))
    assert built.built and built.kernel.shape == (4, 3)
    assert registry.serialize(keras.activations.relu) == "relu"
    assert registry.serialize(keras.losses.mean_squared_error) == "mean_squared_error"


# ----------------------------------------------------------------------------- subclassed models (issue 14)
def test_unregistered_subclassed_model_fails_to_reload_as_in_keras(tmp_path, keras_ref):
    """Keras 3 raises a TypeError that starts "Could not locate class" and names the decorator;
    ours does too, names custom_objects as well, and is a ValueError for older callers."""
    x, y = _data()
    Sub = _subclass("UnregisteredNet")
    model = Sub()
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "u.keras")
    with pytest.raises(TypeError) as ours:
        saving.load_model(tmp_path / "u.keras")
    message = str(ours.value)
    assert "Could not locate class 'UnregisteredNet'" in message
    assert "register_keras_serializable" in message and "custom_objects" in message
    assert isinstance(ours.value, ValueError)

    class KerasSub(keras_ref.Model):
        def __init__(self, hidden=5, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.d = keras_ref.layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}
    KerasSub.__name__ = KerasSub.__qualname__ = "UnregisteredNet"
    ref = KerasSub()
    ref.compile("sgd", "mse")
    ref.fit(x, y, epochs=1, verbose=0)
    ref.save(tmp_path / "k.keras")
    with pytest.raises(TypeError) as theirs:
        keras_ref.saving.load_model(tmp_path / "k.keras")
    assert "Could not locate class 'UnregisteredNet'" in str(theirs.value)
    assert "register_keras_serializable" in str(theirs.value)

    loaded = saving.load_model(tmp_path / "u.keras", custom_objects={"UnregisteredNet": Sub})
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_registered_subclassed_model_reloads_and_trains_on_identically(tmp_path):
    x, y = _data()
    Sub = _subclass("RegisteredNet", register=True)
    keras.utils.set_random_seed(3)
    model = Sub(hidden=6)
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "r.keras")
    loaded = saving.load_model(tmp_path / "r.keras")
    assert type(loaded) is Sub and loaded.hidden == 6
    straight = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    resumed = loaded.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    assert resumed == straight
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 16
