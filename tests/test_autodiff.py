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
