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


def _pin_masks(keras, cell, input_masks, state_masks):
    """Make a Keras cell use the given dropout masks: a list (one per gate) when the cell draws
    one per gate (``dropout_mask_count``), else the single mask."""
    t = keras.ops.convert_to_tensor
    if getattr(cell, "dropout_mask_count", None):
        cell.get_dropout_mask = lambda _: [t(m) for m in input_masks]
        cell.get_recurrent_dropout_mask = lambda _: [t(m) for m in state_masks]
    else:
        cell.get_dropout_mask = lambda _: t(input_masks[0])
        cell.get_recurrent_dropout_mask = lambda _: None if state_masks is None else t(state_masks[0])


@pytest.mark.parametrize("kind,kw", [("simple_rnn", {}), ("lstm", {}), ("gru", {}), ("gru", dict(reset_after=False))],
                         ids=["simple_rnn", "lstm", "gru", "gru-reset_before"])
def test_per_gate_dropout_masks_match_keras(kind, kw, keras_ref, rng):
    """With recurrent dropout Keras runs the cell gate by gate and draws one input mask and one
    state mask per gate; pinned to the same masks, Keras and the kernel agree."""
    x = rng.standard_normal((B, T, F)).astype("float32")
    k = _gates(kind)
    keep_x = (rng.random((k, B, F)) > 0.3).astype("float32") / 0.7
    keep_h = (rng.random((k, B, U)) > 0.4).astype("float32") / 0.6
    layer, weights = _keras_layer(keras_ref, kind, return_sequences=True, dropout=0.3, recurrent_dropout=0.4, **kw)
    assert getattr(layer.cell, "dropout_mask_count", 1) == k
    _pin_masks(keras_ref, layer.cell, keep_x, keep_h)
    want = _to_np(layer(x, training=True))
    masks = (keep_x, keep_h) if k > 1 else (keep_x[0], keep_h[0])
    got = _forward(kind, x, weights, input_mask=_xp_array(masks[0]), state_mask=_xp_array(masks[1]), **kw)[0]
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
    if k > 1:  # one shared mask is not what Keras computes here
        shared = _forward(kind, x, weights, input_mask=_xp_array(keep_x[0]), state_mask=_xp_array(keep_h[0]), **kw)[0]
        assert np.abs(_np(shared) - want).max() > 1e-3


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_input_dropout_alone_shares_one_mask_as_keras(kind, keras_ref, rng):
    """Without recurrent dropout Keras's default implementation=2 draws one input mask for all gates."""
    x = rng.standard_normal((B, T, F)).astype("float32")
    keep_x = (rng.random((1, B, F)) > 0.3).astype("float32") / 0.7
    layer, weights = _keras_layer(keras_ref, kind, return_sequences=True, dropout=0.3)
    assert getattr(layer.cell, "dropout_mask_count", None) is None
    _pin_masks(keras_ref, layer.cell, keep_x, None)
    want = _to_np(layer(x, training=True))
    got = _forward(kind, x, weights, input_mask=_xp_array(keep_x[0]))[0]
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
    assert np.abs(_np(_forward(kind, x, weights)[0]) - want).max() > 1e-3  # the mask changed something


def _step_masks():
    """Post-padding, pre-padding, a hole in the middle and an all-masked row."""
    mask = np.ones((B, T), bool)
    mask[0, 3:] = False
    mask[1, :2] = False
    mask[2, 2] = False
    return mask


def _keras_mask(keras, mask):
    return keras.ops.convert_to_tensor(mask)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("variant", ["plain", "initial_state", "zero_output", "all_masked_row"])
def test_masked_sequences_match_keras(kind, go_backwards, variant, keras_ref, rng):
    """Keras 3's masked steps: the states are carried over; the outputs repeat the previous output
    (zeros before the first real step) or are zeros with zero_output_for_mask; the last output is
    the sequence's last entry."""
    x = rng.standard_normal((B, T, F)).astype("float32")
    mask = _step_masks()
    if variant == "all_masked_row":
        mask[2] = False
    zero_output = variant == "zero_output"
    layer, weights = _keras_layer(keras_ref, kind, return_sequences=True, return_state=True,
                                  go_backwards=go_backwards, zero_output_for_mask=zero_output)
    states = None
    if variant in ("initial_state", "all_masked_row"):
        states = [rng.standard_normal((B, U)).astype("float32") for _ in range(2 if kind == "lstm" else 1)]
    want = [_to_np(r) for r in layer(x, mask=_keras_mask(keras_ref, mask), initial_state=states)]
    op = _op(kind)
    got = op(x, *weights, initial_state=states, go_backwards=go_backwards, return_sequences=True,
             return_state=True, mask=_xp_array(mask), zero_output_for_mask=zero_output)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g.value), w, rtol=1e-5, atol=1e-5)
    last, _ = _keras_layer(keras_ref, kind, go_backwards=go_backwards, zero_output_for_mask=zero_output)
    last.set_weights(weights)
    want_last = _to_np(last(x, mask=_keras_mask(keras_ref, mask), initial_state=states))
    got_last = op(x, *weights, initial_state=states, go_backwards=go_backwards, mask=_xp_array(mask),
                  zero_output_for_mask=zero_output)
    np.testing.assert_allclose(_np(got_last.value), want_last, rtol=1e-5, atol=1e-5)
    if variant == "plain" and not go_backwards:
        # Post-padding: row 0's final state(s) are those after its last real step.
        short = _forward(kind, x[:1, :3], weights)
        for g, w in zip(got[1:], short[1:]):
            np.testing.assert_allclose(_np(g.value)[:1], _np(w), rtol=1e-5, atol=1e-6)


def test_mask_shape_is_checked(rng):
    x, k, rk, b = [_xp_array(a.astype("float32")) for a in _arrays("simple_rnn", rng, states=False)]
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, time\) = \(2, 5\), got \(2, 4\)"):
        R.simple_rnn_forward(x, k, rk, b, mask=_xp_array(np.ones((2, 4), bool)))
    with pytest.raises(ValueError, match=r"state_mask must have shape \(2, 4\) or \(4, 2, 4\)"):
        R.lstm_forward(x, _xp_array(np.zeros((3, 16), "float32")), _xp_array(np.zeros((4, 16), "float32")),
                       state_mask=_xp_array(np.ones((3, 2, 4), "float32")))


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
    # activations whose backward needs their input, which the gated kernels overwrite in place
    ("lstm", dict(activation="elu", recurrent_activation="hard_sigmoid")),
    ("gru", dict(activation="relu", recurrent_activation="hard_sigmoid")),
]


@pytest.mark.parametrize("kind,kw", GRAD_CASES, ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}={x}" for k, x in v.items()) or "default")
@pytest.mark.parametrize("masks", ["nomask", "dropout", "per_gate_dropout", "step_mask", "step_mask_zero_output"])
def test_gradients_all_outputs(kind, kw, masks, rng, float64):
    """Every input gets the right gradient when the sequence and every final state get a random upstream
    (dropout masks shared or one per gate; time-step masks with pre-, post- and inner padding)."""
    reset_after = kw.get("reset_after", True)
    u = 4
    bias_shape = (2, 3 * u) if kind == "gru" and reset_after else None
    arrays = _arrays(kind, rng, bias_shape, u=u)
    extra = {}
    gates = (_gates(kind),) if masks == "per_gate_dropout" else ()
    if "dropout" in masks:
        extra = dict(input_mask=_xp_array((rng.random(gates + (2, 3)) > 0.3) / 0.7),
                     state_mask=_xp_array((rng.random(gates + (2, u)) > 0.3) / 0.7))
    if masks.startswith("step_mask"):
        step = np.ones((2, T), bool)
        step[0, 3:] = False
        step[1, :2] = False
        step[1, 3] = False
        extra = dict(mask=_xp_array(step), zero_output_for_mask=masks.endswith("zero_output"))
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


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("zero_output", [False, True])
def test_gradients_masked_last_output_with_initial_state(kind, zero_output, rng, float64):
    """return_sequences=False with a mask and an initial state: the last output is the sequence's
    last entry (zero for a row whose last step is masked, with zero_output_for_mask)."""
    arrays = _arrays(kind, rng, (2, 12) if kind == "gru" else None)
    step = np.ones((2, T), bool)
    step[0, 3:] = False
    step[1, :1] = False

    def op(x, k, rk, b, *states):
        return _op(kind)(x, k, rk, b, initial_state=list(states), mask=_xp_array(step),
                         zero_output_for_mask=zero_output)
    check_op_gradients(op, *arrays)


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


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm"])
def test_sigmoid_keeps_relative_precision_in_the_tails(kind):
    """The kernels' sigmoid is exact to a few ulp relative to float64 over the float32 range, small
    values included (a sigmoid through tanh rounds those to 0), and pre-activations of +-1000
    give 0 and 1 without an overflow warning."""
    import warnings
    units = 8
    gates = _gates(kind)
    # One step from a zero state with kernel rows of ones: every pre-activation is x itself.
    x = np.concatenate([np.linspace(-90, 90, 24), [-1000.0, 1000.0]]).astype("float32").reshape(-1, 1, 1)
    kernel = np.ones((1, gates * units), "float32")
    recurrent = np.zeros((units, gates * units), "float32")
    fn, kw = (R.simple_rnn_forward, dict(activation="sigmoid")) if kind == "simple_rnn" else \
        (R.lstm_forward, dict(activation="linear"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (_, h, *_), _ = fn(_xp_array(x), _xp_array(kernel), _xp_array(recurrent), **kw)
    z = x[:, 0, :].astype(np.float64)
    with np.errstate(over="ignore"):  # the reference's own exp(1000)
        s = 1 / (1 + np.exp(-z))
    # LSTM with a linear activation: c = i * c_hat = s * z, h = o * c = s * s * z.
    want = s if kind == "simple_rnn" else s * s * z
    np.testing.assert_allclose(_np(h)[:, :1].astype(np.float64), want, rtol=2e-6, atol=1e-37)
