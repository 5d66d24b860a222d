"""Recurrent kernels: forward values against real Keras 3 layers, BPTT against finite differences."""
import numpy as np
import pytest

from minikeras import backend
from minikeras import ops
from minikeras.autodiff import Tensor
from minikeras.kernels import recurrent as R

from gradcheck import check_op_gradients

B, T, F, U = 3, 5, 4, 6


def _xp_array(a):
    return backend.xp().asarray(a)


def _np(a):
    return backend.to_numpy(a)


def _keras_layer(keras, kind, **kw):
    cls = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind]
    layer = cls(U, **kw)
    layer.build((B, T, F))
    rng = np.random.default_rng(7)
    # Random biases too, so the bias layout is exercised (Keras starts them at zero).
    weights = [w if i < 2 else rng.standard_normal(w.shape).astype("float32")
               for i, w in enumerate(layer.get_weights())]
    layer.set_weights(weights)
    return layer, weights


def _forward(kind, x, weights, **kw):
    fn = {"simple_rnn": R.simple_rnn_forward, "lstm": R.lstm_forward, "gru": R.gru_forward}[kind]
    return fn(_xp_array(x), *[None if w is None else _xp_array(w) for w in weights], **kw)[0]


def _to_np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_matches_keras(kind, go_backwards, keras_ref, rng):
    x = rng.standard_normal((B, T, F)).astype("float32")
    layer, weights = _keras_layer(keras_ref, kind, return_sequences=True, return_state=True,
                                  go_backwards=go_backwards)
    ref = [_to_np(r) for r in layer(x)]
    outs = _forward(kind, x, weights, go_backwards=go_backwards)
    assert len(outs) == len(ref)
    for got, want in zip(outs, ref):
        np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
    # return_sequences=False gives the last state, as Keras does.
    last, _ = _keras_layer(keras_ref, kind, go_backwards=go_backwards)
    last.set_weights(weights)
    np.testing.assert_allclose(_np(outs[1]), _to_np(last(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [
    ("simple_rnn", dict(activation="relu"), {}),
    ("lstm", dict(activation="relu", recurrent_activation="tanh"), {}),
    ("gru", dict(reset_after=False), dict(reset_after=False)),
    ("gru", dict(activation="softplus", reset_after=False), dict(activation="softplus", reset_after=False)),
    ("simple_rnn", dict(use_bias=False), {}),
    ("lstm", dict(use_bias=False), {}),
    ("gru", dict(use_bias=False), {}),
], ids=lambda c: c[0] + "-" + "-".join(f"{k}={v}" for k, v in c[1].items()))
def test_forward_options_match_keras(case, keras_ref, rng):
    kind, layer_kw, kernel_kw = case
    x = rng.standard_normal((B, T, F)).astype("float32")
    layer, weights = _keras_layer(keras_ref, kind, return_sequences=True, **layer_kw)
    if layer_kw.get("use_bias") is False:
        weights = weights + [None]
    kernel_kw = dict(kernel_kw, **{k: v for k, v in layer_kw.items() if "activation" in k})
    got = _forward(kind, x, weights, **kernel_kw)[0]
    np.testing.assert_allclose(_np(got), _to_np(layer(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_initial_state_matches_keras(kind, keras_ref, rng):
    x = rng.standard_normal((B, T, F)).astype("float32")
    states = [rng.standard_normal((B, U)).astype("float32") for _ in range(2 if kind == "lstm" else 1)]
    layer, weights = _keras_layer(keras_ref, kind, return_sequences=True)
    want = _to_np(layer(x, initial_state=states))
    extra = dict(initial_carry=_xp_array(states[1])) if kind == "lstm" else {}
    got = _forward(kind, x, weights, initial_state=_xp_array(states[0]), **extra)[0]
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_dropout_masks_match_keras(kind, keras_ref, rng):
    """Keras with its masks pinned to ours (the same mask for every gate) gives the same outputs."""
    x = rng.standard_normal((B, T, F)).astype("float32")
    keep_x = (rng.random((B, F)) > 0.3).astype("float32") / 0.7
    keep_h = (rng.random((B, U)) > 0.4).astype("float32") / 0.6
    layer, weights = _keras_layer(keras_ref, kind, return_sequences=True, dropout=0.3, recurrent_dropout=0.4)
    cell = layer.cell
    count = getattr(cell, "dropout_mask_count", None)
    ops = keras_ref.ops
    pin = (lambda m: (lambda _: [ops.convert_to_tensor(m)] * count)) if count else \
        (lambda m: (lambda _: ops.convert_to_tensor(m)))
    cell.get_dropout_mask = pin(keep_x)
    cell.get_recurrent_dropout_mask = pin(keep_h)
    want = _to_np(layer(x, training=True))
    got = _forward(kind, x, weights, input_mask=_xp_array(keep_x), state_mask=_xp_array(keep_h))[0]
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
    plain = _forward(kind, x, weights)[0]
    assert np.abs(_np(plain) - want).max() > 1e-3  # the masks changed something


# ---------------------------------------------------------------- gradients


def _pack(tensors):
    """Concatenate several output tensors into one, so one random upstream covers all outputs."""
    return ops.concatenate([ops.reshape(t, (-1,)) for t in tensors])


def _op(kind):
    return {"simple_rnn": ops.simple_rnn, "lstm": ops.lstm, "gru": ops.gru}[kind]


def _gates(kind):
    return {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]


def _arrays(kind, rng, bias_shape=None, states=True, b=2, f=3, u=4):
    g = _gates(kind)
    arrays = [rng.standard_normal((b, T, f)), rng.standard_normal((f, g * u)) * 0.5,
              rng.standard_normal((u, g * u)) * 0.5,
              rng.standard_normal(bias_shape or (g * u,)) * 0.5]
    n_states = 2 if kind == "lstm" else 1
    if states:
        arrays += [rng.standard_normal((b, u)) for _ in range(n_states)]
    return arrays


GRAD_CASES = [
    ("simple_rnn", {}), ("simple_rnn", dict(go_backwards=True)), ("simple_rnn", dict(activation="relu")),
    ("lstm", {}), ("lstm", dict(go_backwards=True)),
    ("lstm", dict(activation="softplus", recurrent_activation="tanh")),
    ("gru", {}), ("gru", dict(go_backwards=True)), ("gru", dict(reset_after=False)),
    ("gru", dict(reset_after=False, activation="elu", recurrent_activation="tanh")),
]


@pytest.mark.parametrize("kind,kw", GRAD_CASES, ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}={x}" for k, x in v.items()) or "default")
@pytest.mark.parametrize("masks", [False, True], ids=["nomask", "masks"])
def test_gradients_all_outputs(kind, kw, masks, rng, float64):
    """Every input gets the right gradient when the sequence and every final state get a random upstream."""
    reset_after = kw.get("reset_after", True)
    u = 4
    bias_shape = (2, 3 * u) if kind == "gru" and reset_after else None
    arrays = _arrays(kind, rng, bias_shape, u=u)
    extra = {}
    if masks:
        extra = dict(input_mask=_xp_array((rng.random((2, 3)) > 0.3) / 0.7),
                     state_mask=_xp_array((rng.random((2, u)) > 0.3) / 0.7))
    n_states = 2 if kind == "lstm" else 1

    def op(x, k, rk, b, *states):
        outs = _op(kind)(x, k, rk, b, initial_state=list(states), return_sequences=True,
                         return_state=True, **kw, **extra)
        return _pack(outs)
    check_op_gradients(op, *arrays)
    assert len(arrays) == 4 + n_states


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("return_state", [False, True])
def test_gradients_last_output_no_bias_no_state(kind, return_state, rng, float64):
    """return_sequences=False, use_bias=False, zero initial state."""
    x, k, rk, _ = _arrays(kind, rng, states=False)

    def op(x, k, rk):
        out = _op(kind)(x, k, rk, None, return_state=return_state)
        return _pack(out) if return_state else out
    check_op_gradients(op, x, k, rk)


def test_kernel_backward_accepts_every_upstream(rng, float64):
    """The LSTM kernel backward with gradients on the sequence, last h and last c at once
    equals the sum of the three separate backward passes (the BPTT is linear in them)."""
    x, k, rk, b, h0, c0 = [_xp_array(a) for a in _arrays("lstm", rng)]
    (seq, h, c), cache = R.lstm_forward(x, k, rk, b, h0, c0)
    ds, dh, dc = (_xp_array(rng.standard_normal(a.shape)) for a in (seq, h, c))
    together = R.lstm_backward(ds, dh, dc, cache)
    parts = [R.lstm_backward(ds, None, None, cache), R.lstm_backward(None, dh, None, cache),
             R.lstm_backward(None, None, dc, cache)]
    for i, g in enumerate(together):
        np.testing.assert_allclose(_np(g), sum(_np(p[i]) for p in parts), rtol=1e-10, atol=1e-12)


def test_needs_skips_unneeded_gradients(rng, float64):
    x, k, rk, b, h0 = [_xp_array(a) for a in _arrays("gru", rng, bias_shape=(2, 12))]
    (seq, h), cache = R.gru_forward(x, k, rk, b, h0)
    grads = R.gru_backward(None, h, cache, needs=(False, True, True, True, False))
    assert grads[0] is None
    assert grads[1].shape == k.shape and grads[2].shape == rk.shape and grads[3].shape == b.shape


# ---------------------------------------------------------------- errors


def test_two_dimensional_input_is_rejected(rng):
    x = _xp_array(rng.standard_normal((4, 3)).astype("float32"))
    k, rk = _xp_array(np.zeros((3, 5), "float32")), _xp_array(np.zeros((5, 5), "float32"))
    with pytest.raises(ValueError, match=r"\(batch, time, features\).*\(4, 3\)"):
        R.simple_rnn_forward(x, k, rk)


def test_mismatched_kernel_and_bias_are_rejected(rng):
    x = _xp_array(rng.standard_normal((2, 3, 4)).astype("float32"))
    with pytest.raises(ValueError, match=r"kernel \(5, 8\).*\(2, 3, 4\)"):
        R.lstm_forward(x, _xp_array(np.zeros((5, 8), "float32")), _xp_array(np.zeros((2, 8), "float32")))
    k, rk = _xp_array(np.zeros((4, 6), "float32")), _xp_array(np.zeros((2, 6), "float32"))
    with pytest.raises(ValueError, match=r"bias must have shape \(2, 6\)"):
        R.gru_forward(x, k, rk, _xp_array(np.zeros(6, "float32")))
    with pytest.raises(ValueError, match="initial_state must have shape"):
        R.gru_forward(x, k, rk, None, _xp_array(np.zeros((3, 2), "float32")))
    with pytest.raises(ValueError, match="Unsupported activation 'swishy'"):
        R.simple_rnn_forward(x, _xp_array(np.zeros((4, 2), "float32")), _xp_array(np.zeros((2, 2), "float32")),
                             activation="swishy")


def test_float32_stays_float32(rng):
    x, k, rk, b = [_xp_array(a.astype("float32")) for a in _arrays("lstm", rng, states=False)]
    out = ops.lstm(Tensor(x), Tensor(k, requires_grad=True), Tensor(rk), Tensor(b), return_sequences=True)
    assert out.dtype == "float32" and out.shape == (2, T, 4)
