"""The reverse-mode engine: graph walking, accumulation, broadcasting and GradientTape."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend, ops
from minikeras.autodiff import Tensor, gradients, no_grad


def leaf(values, dtype="float64"):
    return Tensor(backend.xp().asarray(np.asarray(values, dtype=dtype)), requires_grad=True)


def test_chain_rule_on_scalars():
    x = leaf(3.0)
    y = x * x * x + 2.0 * x  # dy/dx = 3x^2 + 2 = 29
    (g,) = gradients(y, [x])
    assert float(g) == pytest.approx(29.0)


def test_reused_node_accumulates():
    x = leaf(2.0)
    a = x * 3.0
    y = a * a + a  # (3x)^2 + 3x -> 18x + 3 = 39
    (g,) = gradients(y, [x])
    assert float(g) == pytest.approx(39.0)


def test_long_graph_has_no_recursion_limit():
    x = leaf(1.0)
    y = x
    for _ in range(20000):
        y = y + 1e-4 * x
    (g,) = gradients(y, [x])
    assert float(g) == pytest.approx(1 + 20000 * 1e-4)


def test_broadcast_bias_gradient_sums_over_batch():
    x = leaf(np.ones((5, 3)))
    b = leaf(np.zeros(3))
    upstream = np.arange(15, dtype="float64").reshape(5, 3)
    (gb,) = gradients(x + b, [b], backend.xp().asarray(upstream))
    np.testing.assert_allclose(backend.to_numpy(gb), upstream.sum(axis=0))


def test_unconnected_source_gets_none_and_constants_are_skipped():
    x, z = leaf(1.0), leaf(2.0)
    c = Tensor(backend.xp().asarray(5.0))
    y = x * c
    gx, gz, gc = gradients(y, [x, z, c])
    assert float(gx) == 5.0 and gz is None and gc is None


def test_no_grad_records_nothing():
    x = leaf(1.0)
    with no_grad():
        y = x * 2.0
    assert not y.requires_grad and y._parents == ()


def test_output_gradient_shape_is_checked():
    x = leaf(np.ones(3))
    with pytest.raises(ValueError, match="output_gradient has shape"):
        gradients(x * 2.0, [x], np.ones(4))


def test_gradient_tape_with_variables_and_watch():
    w = keras.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), dtype="float64")
    x = ops.convert_to_tensor(np.array([[1.0, -1.0]]), dtype="float64")
    with keras.GradientTape() as tape:
        tape.watch(x)
        loss = ops.sum(ops.square(ops.matmul(x, w)))
    gw, gx = tape.gradient(loss, [w, x])
    y = np.array([[1.0, -1.0]]) @ np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(backend.to_numpy(gw), np.array([[1.0], [-1.0]]) @ (2 * y))
    np.testing.assert_allclose(backend.to_numpy(gx), (2 * y) @ np.array([[1.0, 2.0], [3.0, 4.0]]).T)


def test_gradient_tape_structure_and_persistence():
    a = keras.Variable(2.0)
    b = keras.Variable(3.0)
    with keras.GradientTape() as tape:
        y = a * b
    grads = tape.gradient(y, {"a": a, "b": b})
    assert float(grads["a"]) == 3.0 and float(grads["b"]) == 2.0
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, [a])
    with keras.GradientTape(persistent=True) as tape:
        y = a * a
    assert float(tape.gradient(y, a)) == 4.0 and float(tape.gradient(y, a)) == 4.0


def test_tape_rejects_non_tensors():
    with keras.GradientTape() as tape:
        with pytest.raises(TypeError, match="convert_to_tensor"):
            tape.watch(np.ones(3))


def test_non_trainable_variable_gets_no_gradient():
    w = keras.Variable(np.ones(3), trainable=False)
    v = keras.Variable(np.ones(3))
    with keras.GradientTape() as tape:
        y = ops.sum(w * v)
    gw, gv = tape.gradient(y, [w, v])
    assert gw is None
    np.testing.assert_allclose(np.asarray(gv), np.ones(3))


def test_variable_assign_checks_shape():
    v = keras.Variable(np.zeros((2, 3)), name="kernel")
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*'kernel'.*\(2, 3\)"):
        v.assign(np.zeros((3, 2)))
    v.assign_add(np.ones((2, 3)))
    np.testing.assert_allclose(v.numpy(), np.ones((2, 3)))


# ---------------------------------------------------------------- the binding point


def _split_forward(x, at):
    """A kernel with two outputs: the first ``at`` columns, scaled by 2, and the rest squared."""
    return (2 * x[:, :at], x[:, at:] ** 2), (x, at)


def _split_backward(grads, cache, needs):
    x, at = cache
    g_left, g_right = grads
    xp = backend.get_array_module(x)
    dx = xp.zeros_like(x)
    if g_left is not None:
        dx[:, :at] = 2 * g_left
    if g_right is not None:
        dx[:, at:] = 2 * x[:, at:] * g_right
    return (dx,)


_split = keras.autodiff.function(_split_forward, _split_backward)


def test_function_binds_a_kernel_pair_and_passes_needs():
    seen = []

    def forward(a, b, scale):
        return a * b * scale, (a, b, scale)

    def backward(g, cache, needs):
        seen.append(needs)
        a, b, scale = cache
        return (g * b * scale if needs[0] else None, g * a * scale if needs[1] else None)

    op = keras.autodiff.function(forward, backward)
    x, c = leaf([1.0, 2.0]), Tensor(backend.xp().asarray(np.array([3.0, 4.0])))
    y = op(x, c, scale=0.5)
    np.testing.assert_allclose(backend.to_numpy(y.value), [1.5, 4.0])
    (gx,) = gradients(y, [x])
    np.testing.assert_allclose(backend.to_numpy(gx), [1.5, 2.0])
    assert seen == [(True, False)]  # the constant wants no gradient, and the kernel was told
    assert not op(c, c, scale=1.0).requires_grad  # no input needs a gradient: nothing recorded


def test_function_accepts_none_and_raw_arrays_as_inputs():
    def forward(x, bias, offset):
        out = x + offset if bias is None else x + bias + offset
        return out, None

    op = keras.autodiff.function(forward, lambda g, cache, needs: (g, None, None))
    x = leaf([1.0, 2.0])
    y = op(x, None, backend.xp().asarray(np.array([10.0, 20.0])))
    np.testing.assert_allclose(backend.to_numpy(y.value), [11.0, 22.0])
    (gx,) = gradients(y, [x])
    np.testing.assert_allclose(backend.to_numpy(gx), [1.0, 1.0])


@pytest.mark.parametrize("use", ["left", "right", "both", "left_twice"])
def test_several_outputs_of_one_node(use, float64, rng):
    """The backward of a two-output node runs once with the gradients of the outputs used
    (None for the others), and agrees with finite differences."""
    from gradcheck import check_op_gradients
    calls = []

    def backward(grads, cache, needs):
        calls.append(tuple(g is not None for g in grads))
        return _split_backward(grads, cache, needs)

    op = keras.autodiff.function(_split_forward, backward)

    def f(x):
        left, right = op(x, at=2)
        if use == "left":
            return ops.sum(left, axis=1)
        if use == "right":
            return ops.sum(right, axis=1)
        if use == "left_twice":
            return ops.sum(left * left + left, axis=1)
        return ops.sum(left, axis=1) * ops.sum(right, axis=1)
    check_op_gradients(f, rng.standard_normal((3, 5)))
    assert set(calls) == {{"left": (True, False), "right": (False, True), "both": (True, True),
                           "left_twice": (True, False)}[use]}


def test_several_outputs_without_recording_are_plain_tensors():
    x = leaf(np.ones((2, 3)))
    with no_grad():
        left, right = _split(x, at=1)
    assert not left.requires_grad and not right.requires_grad
    assert left.shape == (2, 1) and right.shape == (2, 2)


def test_lstm_is_one_node_with_three_outputs():
    rng = np.random.default_rng(0)
    xp = backend.xp()
    x = Tensor(xp.asarray(rng.standard_normal((2, 3, 4)).astype("float32")))
    k = keras.Variable(rng.standard_normal((4, 8)).astype("float32"))
    rk = keras.Variable(rng.standard_normal((2, 8)).astype("float32"))
    seq, h, c = ops.lstm(x, k, rk, None, return_sequences=True, return_state=True)
    hidden = seq._parents[0]
    assert h._parents[0] is hidden and c._parents[0] is hidden  # no stacking or slicing nodes
    assert hidden._parents[1] is k and hidden._parents[2] is rk
    np.testing.assert_array_equal(backend.to_numpy(seq.value[:, -1]), backend.to_numpy(h.value))


# ---------------------------------------------------------------- context-local flags


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    """One thread records while another runs under no_grad; with both inside their ops at the
    same moment (a barrier each round), each sees only its own switch."""
    import threading
    rounds = 200
    barrier = threading.Barrier(2)
    w = keras.Variable(np.ones((3, 3), "float32"))
    results = {"recording": [], "no_grad": []}

    def recording():
        for _ in range(rounds):
            barrier.wait()
            y = ops.matmul(ops.ones((2, 3)), w)
            barrier.wait()
            results["recording"].append(y.requires_grad and keras.autodiff.is_recording())

    def not_recording():
        for _ in range(rounds):
            with no_grad():
                barrier.wait()
                y = ops.matmul(ops.ones((2, 3)), w)
                barrier.wait()
                results["no_grad"].append(not y.requires_grad and not keras.autodiff.is_recording())

    threads = [threading.Thread(target=recording), threading.Thread(target=not_recording)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results["recording"] == [True] * rounds
    assert results["no_grad"] == [True] * rounds
    assert keras.autodiff.is_recording()  # and the main thread was never touched


def test_training_flag_is_local_to_each_thread():
    """Two threads call a model at the same time, one with training=True and one with
    training=False; the layers inside each call see their own thread's flag."""
    import threading
    barrier = threading.Barrier(2)
    seen = {True: [], False: []}

    class Probe(keras.layers.Layer):
        armed = False

        def call(self, inputs, training=None):
            if self.armed:
                barrier.wait()  # both threads are inside a call now
                seen[bool(training)].append(keras.autodiff.current_training_flag())
            return inputs

    probe = Probe()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2), probe])
    probe.armed = True

    def run(flag):
        for _ in range(50):
            model(np.ones((1, 2), "float32"), training=flag)

    threads = [threading.Thread(target=run, args=(flag,)) for flag in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert seen[True] == [True] * 50 and seen[False] == [False] * 50
    assert keras.autodiff.current_training_flag() is None


def test_no_grad_as_a_decorator_and_nested():
    x = leaf(1.0)

    @no_grad()
    def double(t):
        return t * 2.0
    assert not double(x).requires_grad
    assert (x * 2.0).requires_grad
    with no_grad():
        with no_grad():
            pass
        assert not keras.autodiff.is_recording()
    assert keras.autodiff.is_recording()
