"""Convolution and pooling kernels: worked examples, Keras 3 reference values, gradients."""
import numpy as np
import pytest

from minikeras import backend, ops
from minikeras.autodiff import Tensor, gradients
from minikeras.kernels import conv as C
from minikeras.kernels import pooling as P

from gradcheck import check_op_gradients


def dev(a, dtype=None):
    return backend.xp().asarray(np.asarray(a, dtype=dtype))


def host(a):
    return backend.to_numpy(a)


def naive_conv2d(x, k, stride=(1, 1), pads=((0, 0), (0, 0)), dil=(1, 1)):
    """Loop reference (the definition) on numpy arrays."""
    x = np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
    n, h, w, _ = x.shape
    kh, kw, _, cout = k.shape
    ekh, ekw = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    oh, ow = (h - ekh) // stride[0] + 1, (w - ekw) // stride[1] + 1
    y = np.zeros((n, oh, ow, cout))
    for r in range(oh):
        for c in range(ow):
            patch = x[:, r * stride[0]:r * stride[0] + ekh:dil[0], c * stride[1]:c * stride[1] + ekw:dil[1], :]
            y[:, r, c, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return y


# ---------------------------------------------------------------- worked examples (seed 2.3)


def test_seed_example_5x5_input_3x3_kernel_gives_3x3():
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    k = np.array([[1, 2, 0], [0, 1, 0], [0, 0, -1]], dtype=np.float32).reshape(3, 3, 1, 1)
    y, _ = C.conv2d_forward(dev(x), dev(k))
    # f(r, c) = x[r,c] + 2 x[r,c+1] + x[r+1,c+1] - x[r+2,c+2] = 15 r + 3 c - 4 for x = 5 r + c
    expected = np.array([[-4, -1, 2], [11, 14, 17], [26, 29, 32]], dtype=np.float32)
    assert y.shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(host(y)[0, :, :, 0], expected)
    same, _ = C.conv2d_forward(dev(x), dev(k), padding="same")
    assert same.shape == (1, 5, 5, 1)
    np.testing.assert_array_equal(host(same)[0, 1:4, 1:4, 0], expected)
    strided, _ = C.conv2d_forward(dev(x), dev(k), strides=2)
    np.testing.assert_array_equal(host(strided)[0, :, :, 0], expected[::2, ::2])


def test_seed_example_4x4_max_pool_gives_2x2():
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 6], [2, 9, 3, 8]], dtype=np.float32)
    y, _ = P.max_pool2d_forward(dev(x.reshape(1, 4, 4, 1)), 2)
    np.testing.assert_array_equal(host(y)[0, :, :, 0], [[4, 5], [9, 8]])
    a, _ = P.avg_pool2d_forward(dev(x.reshape(1, 4, 4, 1)), 2)
    np.testing.assert_allclose(host(a)[0, :, :, 0], [[2.5, 2.0], [3.0, 6.0]])


def test_pooling_floors_odd_sizes_and_non_square_pools(rng):
    x = dev(rng.standard_normal((2, 11, 11, 3)), np.float32)
    assert P.max_pool2d_forward(x, 2)[0].shape == (2, 5, 5, 3)
    y, _ = P.max_pool2d_forward(x, (1, 2))
    assert y.shape == (2, 11, 5, 3)
    xn = host(x)
    np.testing.assert_array_equal(host(y), np.maximum(xn[:, :, 0:10:2], xn[:, :, 1:10:2]))
    assert P.max_pool2d_forward(x, 2, padding="same")[0].shape == (2, 6, 6, 3)
    assert C.conv_output_length(28, 3) == 26 and C.conv_output_length(13, 3) == 11
    assert C.conv_output_length(28, 3, 2, "same") == 14 and C.conv_output_length(None, 3) is None


def test_conv_matches_naive_loops(rng):
    x = rng.standard_normal((2, 7, 6, 3))
    k = rng.standard_normal((3, 2, 3, 4))
    y, _ = C.conv2d_forward(dev(x), dev(k), strides=(2, 1), dilation_rate=(1, 2))
    np.testing.assert_allclose(host(y), naive_conv2d(x, k, (2, 1), dil=(1, 2)), rtol=1e-10, atol=1e-10)


def test_same_padding_is_asymmetric_like_tensorflow():
    # 6 wide, kernel 3, stride 2: 3 outputs, total padding 1 -> none on the left, one on the right.
    assert C.padding_amounts(6, 3, 2, 1, "same") == (0, 1, 3)
    assert C.padding_amounts(7, 3, 2, 1, "same") == (1, 1, 4)
    assert C.padding_amounts(5, 2, 1, 1, "same") == (0, 1, 5)
    x = np.arange(6, dtype=np.float64).reshape(1, 1, 6, 1)
    k = np.ones((1, 3, 1, 1))
    y, _ = C.conv2d_forward(dev(x), dev(k), strides=2, padding="same")
    np.testing.assert_array_equal(host(y).ravel(), [0 + 1 + 2, 2 + 3 + 4, 4 + 5 + 0])


def test_float32_stays_float32(rng):
    x = dev(rng.standard_normal((2, 5, 5, 3)), np.float32)
    k = dev(rng.standard_normal((3, 3, 3, 2)), np.float32)
    y, cache = C.conv2d_forward(x, k, dev(np.zeros(2), np.float32))
    dx, dk, db = C.conv2d_backward(y, cache)
    assert {a.dtype.name for a in (y, dx, dk, db)} == {"float32"}
    for fwd in (P.max_pool2d_forward, P.avg_pool2d_forward):
        assert fwd(x, 2, padding="same")[0].dtype.name == "float32"


# ---------------------------------------------------------------- against Keras 3


CONV_CASES = [  # (input HxW, kernel, strides, padding, dilation)
    ((9, 9), (3, 3), 1, "valid", 1),
    ((9, 9), (3, 3), 1, "same", 1),
    ((9, 10), (3, 3), 2, "same", 1),
    ((8, 8), (2, 2), 2, "same", 1),
    ((10, 7), (3, 5), (2, 1), "same", 1),
    ((10, 7), (4, 1), (3, 2), "valid", 1),
    ((9, 9), (3, 3), 1, "same", 2),
    ((9, 11), (2, 3), 1, "valid", (2, 3)),
]


@pytest.mark.parametrize("hw,ks,strides,padding,dil", CONV_CASES)
def test_conv2d_matches_keras_ops_conv(keras_ref, rng, hw, ks, strides, padding, dil):
    x = rng.standard_normal((2,) + hw + (3,)).astype(np.float32)
    k = rng.standard_normal(ks + (3, 4)).astype(np.float32)
    ref = keras_ref.ops.convert_to_numpy(
        keras_ref.ops.conv(x, k, strides=strides, padding=padding, dilation_rate=dil))
    y, _ = C.conv2d_forward(dev(x), dev(k), None, strides, padding, dil)
    assert y.shape == ref.shape
    np.testing.assert_allclose(host(y), ref, rtol=1e-4, atol=1e-4)


def test_conv2d_fused_bias_relu_matches_keras_layer(keras_ref, rng):
    layer = keras_ref.layers.Conv2D(5, (3, 2), strides=2, padding="same", activation="relu")
    x = rng.standard_normal((3, 9, 8, 2)).astype(np.float32)
    layer.build(x.shape)
    k = rng.standard_normal((3, 2, 2, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    layer.set_weights([k, b])
    ref = keras_ref.ops.convert_to_numpy(layer(x))
    y, _ = C.conv2d_forward(dev(x), dev(k), dev(b), 2, "same", activation="relu")
    np.testing.assert_allclose(host(y), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("length,k,strides,padding,dil", [
    (12, 3, 1, "valid", 1), (12, 3, 2, "same", 1), (11, 4, 3, "same", 1),
    (12, 3, 1, "causal", 2), (10, 2, 1, "causal", 1)])
def test_conv1d_matches_keras_layer(keras_ref, rng, length, k, strides, padding, dil):
    x = rng.standard_normal((2, length, 3)).astype(np.float32)
    layer = keras_ref.layers.Conv1D(4, k, strides=strides, padding=padding, dilation_rate=dil)
    layer.build(x.shape)
    w = rng.standard_normal((k, 3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    layer.set_weights([w, b])
    ref = keras_ref.ops.convert_to_numpy(layer(x))
    y, _ = C.conv1d_forward(dev(x), dev(w), dev(b), strides, padding, dil)
    assert y.shape == ref.shape
    np.testing.assert_allclose(host(y), ref, rtol=1e-4, atol=1e-4)


POOL_CASES = [  # (input HxW, pool, strides, padding)
    ((4, 4), 2, None, "valid"),
    ((11, 11), 2, None, "valid"),
    ((11, 10), (1, 2), None, "valid"),
    ((9, 9), 3, 2, "valid"),
    ((7, 7), 3, 1, "same"),
    ((9, 9), (3, 3), (2, 2), "same"),
    ((7, 8), (2, 3), (2, 2), "same"),
    ((5, 6), 2, None, "same"),
]


@pytest.mark.parametrize("hw,pool,strides,padding", POOL_CASES)
def test_max_pool2d_matches_keras(keras_ref, rng, hw, pool, strides, padding):
    x = rng.standard_normal((2,) + hw + (3,)).astype(np.float32)
    layer = keras_ref.layers.MaxPooling2D(pool, strides=strides, padding=padding)
    ref = keras_ref.ops.convert_to_numpy(layer(x))
    y, _ = P.max_pool2d_forward(dev(x), pool, strides, padding)
    np.testing.assert_array_equal(host(y), ref)


def _avg_reference(x, pool, strides, padding):
    """TensorFlow's rule: the mean over the window's cells that lie inside the input."""
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    strides = (ph, pw) if strides is None else ((strides, strides) if isinstance(strides, int) else strides)
    h, w = x.shape[1:3]
    t, _, oh = C.padding_amounts(h, ph, strides[0], 1, padding)
    l, _, ow = C.padding_amounts(w, pw, strides[1], 1, padding)
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for r in range(oh):
        for c in range(ow):
            r0, c0 = r * strides[0] - t, c * strides[1] - l
            patch = x[:, max(r0, 0):r0 + ph, max(c0, 0):c0 + pw]
            out[:, r, c] = patch.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("hw,pool,strides,padding", POOL_CASES)
def test_average_pool2d_divides_by_valid_cells(keras_ref, rng, hw, pool, strides, padding):
    x = rng.standard_normal((2,) + hw + (3,)).astype(np.float32)
    y, _ = P.avg_pool2d_forward(dev(x), pool, strides, padding)
    np.testing.assert_allclose(host(y), _avg_reference(x.astype(np.float64), pool, strides, padding),
                               rtol=1e-5, atol=1e-6)
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    sh, sw = (ph, pw) if strides is None else ((strides,) * 2 if isinstance(strides, int) else strides)
    symmetric = all(C.padding_amounts(n, p, s, 1, padding)[0] == C.padding_amounts(n, p, s, 1, padding)[1]
                    for n, p, s in ((hw[0], ph, sh), (hw[1], pw, sw)))
    if symmetric:  # Keras's torch backend pads asymmetric "same" pools by replication, unlike TF
        ref = keras_ref.ops.convert_to_numpy(
            keras_ref.layers.AveragePooling2D(pool, strides=strides, padding=padding)(x))
        np.testing.assert_allclose(host(y), ref, rtol=1e-5, atol=1e-6)


def test_average_pool_same_corner_counts_only_valid_cells():
    x = np.ones((1, 5, 5, 1))
    y, _ = P.avg_pool2d_forward(dev(x), 2, padding="same")
    np.testing.assert_array_equal(host(y), np.ones((1, 3, 3, 1)))  # zeros padded in would give 0.5
    x[0, 4, 4, 0] = 7.0
    y, _ = P.avg_pool2d_forward(dev(x), 2, padding="same")
    assert host(y)[0, 2, 2, 0] == 7.0


@pytest.mark.parametrize("kind", ["max", "average"])
def test_pool1d_matches_keras(keras_ref, rng, kind):
    x = rng.standard_normal((2, 11, 3)).astype(np.float32)
    layer_cls = keras_ref.layers.MaxPooling1D if kind == "max" else keras_ref.layers.AveragePooling1D
    fwd = P.max_pool1d_forward if kind == "max" else P.avg_pool1d_forward
    for pool, strides, padding in ((2, None, "valid"), (3, 2, "same"), (3, 1, "same")):
        ref = keras_ref.ops.convert_to_numpy(layer_cls(pool, strides=strides, padding=padding)(x))
        y, _ = fwd(dev(x), pool, strides, padding)
        np.testing.assert_allclose(host(y), ref, rtol=1e-5, atol=1e-6)


def test_global_pooling_matches_keras(keras_ref, rng):
    x = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    for keepdims in (False, True):
        for ref_cls, fwd in ((keras_ref.layers.GlobalAveragePooling2D, P.global_avg_pool_forward),
                             (keras_ref.layers.GlobalMaxPooling2D, P.global_max_pool_forward)):
            ref = keras_ref.ops.convert_to_numpy(ref_cls(keepdims=keepdims)(x))
            y, _ = fwd(dev(x), keepdims)
            assert y.shape == ref.shape
            np.testing.assert_allclose(host(y), ref, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("hw,ks,strides,padding,dil", [
    ((5, 5), (3, 3), 1, "valid", 1), ((6, 5), (3, 2), 2, "same", 1),
    ((5, 6), (2, 3), (1, 2), "same", (2, 1)), ((4, 4), (1, 1), 1, "valid", 1)])
def test_conv2d_gradients(float64, rng, hw, ks, strides, padding, dil):
    x = rng.standard_normal((2,) + hw + (2,))
    k = rng.standard_normal(ks + (2, 3))
    b = rng.standard_normal(3)
    check_op_gradients(lambda x, k, b: ops.conv2d(x, k, b, strides, padding, dil, activation="tanh"), x, k, b)
    check_op_gradients(lambda x, k: ops.conv2d(x, k, None, strides, padding, dil), x, k)


@pytest.mark.parametrize("padding,strides,dil", [("valid", 1, 1), ("same", 2, 1), ("causal", 1, 2)])
def test_conv1d_gradients(float64, rng, padding, strides, dil):
    x = rng.standard_normal((2, 7, 2))
    k = rng.standard_normal((3, 2, 3))
    b = rng.standard_normal(3)
    check_op_gradients(lambda x, k, b: ops.conv1d(x, k, b, strides, padding, dil), x, k, b)


@pytest.mark.parametrize("pool,strides,padding", [
    (2, None, "valid"), (3, 2, "valid"), (3, 1, "same"), ((2, 3), (2, 2), "same"), ((1, 2), None, "valid")])
def test_pool2d_gradients(float64, rng, pool, strides, padding):
    x = rng.standard_normal((2, 5, 7, 2))
    check_op_gradients(lambda x: ops.max_pool2d(x, pool, strides, padding), x)
    check_op_gradients(lambda x: ops.average_pool2d(x, pool, strides, padding), x)


def test_pool1d_and_global_gradients(float64, rng):
    x = rng.standard_normal((2, 7, 3))
    check_op_gradients(lambda x: ops.max_pool1d(x, 3, 2, "same"), x)
    check_op_gradients(lambda x: ops.average_pool1d(x, 3, 2, "same"), x)
    x4 = rng.standard_normal((2, 3, 4, 2))
    for keepdims in (False, True):
        check_op_gradients(lambda x: ops.global_max_pool(x, keepdims), x4)
        check_op_gradients(lambda x: ops.global_average_pool(x, keepdims), x4)
        check_op_gradients(lambda x: ops.global_average_pool(x, keepdims), x)


def test_max_pool_routes_gradient_to_first_maximum_only():
    x = np.array([[5, 5, 1], [5, 2, 5], [0, 5, 3]], dtype=np.float64).reshape(1, 3, 3, 1)
    y, cache = P.max_pool2d_forward(dev(x), 2, strides=1)
    dx = host(P.max_pool2d_backward(dev(np.ones((1, 2, 2, 1))), cache))[0, :, :, 0]
    # windows (0,0),(0,1),(1,0) all pick the top-left 5 of their own window; (1,1) picks (1,2)
    np.testing.assert_array_equal(dx, [[1, 1, 0], [1, 0, 1], [0, 0, 0]])
    assert dx.sum() == 4
    y, cache = P.global_max_pool_forward(dev(x), False)
    np.testing.assert_array_equal(host(P.global_max_pool_backward(dev(np.ones((1, 1))), cache)).ravel(),
                                  [1, 0, 0, 0, 0, 0, 0, 0, 0])


def test_backward_matches_torch_at_training_size(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 13, 13, 8)).astype(np.float32)
    k = rng.standard_normal((3, 3, 8, 16)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    y, cache = C.conv2d_forward(dev(x), dev(k), dev(b), 2, "same")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = (host(a) for a in C.conv2d_backward(dev(dy), cache))
    xt = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_()
    kt = torch.tensor(k).requires_grad_()
    bt = torch.tensor(b).requires_grad_()
    # TF "same" for 13 with k=3, s=2: total padding 2 -> 1 each side.
    yt = torch.nn.functional.conv2d(xt, kt.permute(3, 2, 0, 1), bt, stride=2, padding=1)
    yt.backward(torch.tensor(dy).permute(0, 3, 1, 2))
    np.testing.assert_allclose(host(y), yt.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(dx, xt.grad.permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(dk, kt.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_ops_skip_unneeded_gradients(rng):
    x = Tensor(dev(rng.standard_normal((2, 5, 5, 2)), np.float32))
    k = Tensor(dev(rng.standard_normal((3, 3, 2, 3)), np.float32), requires_grad=True)
    y = ops.conv2d(x, k, padding="same")
    gx, gk = gradients(y, [x, k])
    assert gx is None and gk.shape == (3, 3, 2, 3)
    out = ops.conv(Tensor(dev(rng.standard_normal((2, 6, 2)), np.float32)), k.value[0], padding="causal")
    assert out.shape == (2, 6, 3)
    assert ops.max_pool(x, 2).shape == (2, 2, 2, 2) and ops.average_pool(x.value[:, 0], 2).shape == (2, 2, 2)


# ---------------------------------------------------------------- errors


def test_errors_name_the_op_and_shapes(rng):
    x = dev(rng.standard_normal((1, 4, 4, 2)), np.float32)
    with pytest.raises(ValueError, match=r"conv2d.*larger.*\(1, 4, 4, 2\).*\(5, 5, 2, 3\)"):
        C.conv2d_forward(x, dev(np.zeros((5, 5, 2, 3), np.float32)))
    assert C.conv2d_forward(x, dev(np.zeros((5, 5, 2, 3), np.float32)), padding="same")[0].shape == (1, 4, 4, 3)
    with pytest.raises(ValueError, match=r"conv2d.*2 channels.*\(3, 3, 3, 1\)"):
        C.conv2d_forward(x, dev(np.zeros((3, 3, 3, 1), np.float32)))
    with pytest.raises(ValueError, match=r"conv1d.*rank 3"):
        C.conv1d_forward(x, dev(np.zeros((3, 2, 1), np.float32)))
    with pytest.raises(ValueError, match=r"conv2d: padding"):
        C.conv2d_forward(x, dev(np.zeros((3, 3, 2, 1), np.float32)), padding="full")
    with pytest.raises(ValueError, match=r"max_pool2d.*\(5, 2\).*\(4, 4\).*empty"):
        P.max_pool2d_forward(x, (5, 2))
    with pytest.raises(ValueError, match=r"average_pool1d.*empty"):
        P.avg_pool1d_forward(x[:, 0], 6)
    with pytest.raises(ValueError, match=r"max_pool2d.*rank 4"):
        P.max_pool2d_forward(x[0], 2)
