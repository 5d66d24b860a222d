"""The batches fit/evaluate/predict share: bad batch sizes, step counts and data are errors that
name the argument (issue 7: none of these may train on zero batches or return a made-up 0.0)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.models.data import Batches


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


X = np.arange(30, dtype="float32").reshape(10, 3) / 30
Y = np.ones((10, 1), "float32")
BAD_BATCH_SIZES = [-1, 0, 2.5, "4", True, 4.0]


@pytest.mark.parametrize("batch_size", BAD_BATCH_SIZES, ids=repr)
def test_fit_refuses_a_batch_size_that_is_not_a_positive_integer(batch_size):
    model = _model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=rf"fit\(\).*`batch_size` must be a positive integer, got "
                                         rf"batch_size={batch_size!r}"):
        model.fit(X, Y, batch_size=batch_size, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing was trained


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, "4"], ids=repr)
def test_evaluate_and_predict_refuse_bad_batch_sizes(batch_size):
    model = _model()
    with pytest.raises(ValueError, match=r"evaluate\(\).*`batch_size` must be a positive integer"):
        model.evaluate(X, Y, batch_size=batch_size, verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\).*`batch_size` must be a positive integer"):
        model.predict(X, batch_size=batch_size, verbose=0)
    with pytest.raises(ValueError, match="`validation_batch_size` must be a positive integer"):
        model.fit(X, Y, validation_data=(X, Y), validation_batch_size=batch_size, verbose=0)


def test_numpy_integer_batch_sizes_are_fine():
    model = _model()
    history = model.fit(X, Y, batch_size=np.int64(4), verbose=0)
    assert history.params["steps"] == 3
    assert model.predict(X, batch_size=np.int32(3), verbose=0).shape == (10, 1)


@pytest.mark.parametrize("steps", [0, -1, 1.5], ids=repr)
def test_step_counts_must_be_positive_integers(steps):
    model = _model()
    with pytest.raises(ValueError, match=rf"`steps_per_epoch` must be a positive integer, "
                                         rf"got steps_per_epoch={steps!r}"):
        model.fit(X, Y, steps_per_epoch=steps, verbose=0)
    with pytest.raises(ValueError, match=rf"evaluate\(\).*`steps` must be a positive integer, got steps={steps!r}"):
        model.evaluate(X, Y, steps=steps, verbose=0)
    with pytest.raises(ValueError, match=rf"predict\(\).*`steps` must be a positive integer, got steps={steps!r}"):
        model.predict(X, steps=steps, verbose=0)
    with pytest.raises(ValueError, match="`validation_steps` must be a positive integer"):
        model.fit(X, Y, validation_data=(X, Y), validation_steps=steps, verbose=0)


def test_epochs_must_be_a_non_negative_integer():
    model = _model()
    with pytest.raises(ValueError, match=r"`epochs` must be a non-negative integer, got epochs=2.5"):
        model.fit(X, Y, epochs=2.5, verbose=0)
    assert model.fit(X, Y, epochs=0, verbose=0).history == {}  # as in Keras: nothing to do


def test_empty_data_is_an_error_everywhere():
    model = _model()
    with pytest.raises(ValueError, match=r"fit\(\).*empty \(x has 0 samples\)"):
        model.fit(X[:0], Y[:0], verbose=0)
    with pytest.raises(ValueError, match=r"evaluate\(\).*empty"):
        model.evaluate(X[:0], Y[:0], verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\).*empty"):
        model.predict(X[:0], verbose=0)
    with pytest.raises(ValueError, match=r"train_on_batch\(\).*empty"):
        model.train_on_batch(X[:0], Y[:0])
    with pytest.raises(ValueError, match=r"test_on_batch\(\).*x has 10 samples, y has 9"):
        model.test_on_batch(X, Y[:9])


def test_python_lists_of_numbers_are_refused_with_advice(keras_ref):
    """Keras 3 refuses them too ("Unrecognized data type"); a list of arrays is one array per input."""
    model = _model()
    rows = X.tolist()
    with pytest.raises(ValueError, match=r"`x` is a Python list of numbers.*np\.array\(x\)"):
        model.fit(rows, Y, verbose=0)
    with pytest.raises(ValueError, match=r"`y` is a Python list of numbers"):
        model.fit(X, Y.tolist(), verbose=0)
    with pytest.raises(ValueError, match=r"`x` is a Python list of numbers"):
        model.predict([1.0, 2.0, 3.0], verbose=0)
    with pytest.raises(ValueError, match=r"`x` is a Python list"):
        model.evaluate(rows, Y, verbose=0)
    ref = keras_ref.Sequential([keras_ref.Input((3,)), keras_ref.layers.Dense(1)])
    ref.compile("sgd", "mse")
    with pytest.raises(ValueError):
        ref.fit(rows, Y, verbose=0)
    with pytest.raises(ValueError):
        ref.predict(rows, verbose=0)
    np.testing.assert_array_equal(model.predict(np.array(rows), verbose=0), model.predict(X, verbose=0))


def test_bad_batch_sizes_are_refused_like_keras(keras_ref):
    ref = keras_ref.Sequential([keras_ref.Input((3,)), keras_ref.layers.Dense(1)])
    ref.compile("sgd", "mse")
    ours = _model()
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match="batch_size") as theirs:
            ref.fit(X, Y, batch_size=bad, verbose=0)
        with pytest.raises(ValueError, match="batch_size") as mine:
            ours.fit(X, Y, batch_size=bad, verbose=0)
        assert f"batch_size={bad}" in str(theirs.value) and f"batch_size={bad}" in str(mine.value)


def test_the_shared_iterator():
    y = np.arange(10)
    batches = Batches(X, y, batch_size=4)
    assert len(batches) == 3
    got = [(step, len(b[0]), b[1].tolist()) for step, b in batches]
    assert got == [(0, 4, [0, 1, 2, 3]), (1, 4, [4, 5, 6, 7]), (2, 2, [8, 9])]
    assert len(Batches(X, y, batch_size=4, steps=2)) == 2
    assert len(Batches(X, y, batch_size=4, steps=99)) == 3  # never more than the data holds
    assert [b for _, b in Batches(X, batch_size=5, targets=False)][0][0].shape == (5, 3)
    keras.utils.set_random_seed(0)
    seen = np.concatenate([b[1] for _, b in Batches(X, y, batch_size=3, shuffle=True)])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    weighted = [b for _, b in Batches(X, y, np.full(10, 2.0), batch_size=10)][0]
    assert len(weighted) == 3 and weighted[2].tolist() == [2.0] * 10


def test_evaluate_steps_beyond_the_data_stop_at_the_data():
    model = _model()
    assert model.evaluate(X, Y, batch_size=4, steps=50, verbose=0) == pytest.approx(
        model.evaluate(X, Y, batch_size=4, verbose=0))
