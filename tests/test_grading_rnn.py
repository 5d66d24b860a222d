"""04_rnn's grading pieces that need no pipeline: the recurrent plug, the spec's references
against Keras 3, and the grader additions the assignment uses (named cache entries, exact
integer dtypes, hidden data files, pasted kernels beside a task's function).

The assignment itself (full marks, zero for the release, every catalogued mistake and hostile
submission through the sandboxed grader) is tested by tests/test_grading.py like the others.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minikeras as keras
from assignment_answers import assignment_fixtures
from gradcheck import numerical_gradient
from minikeras.grading import data, judge, plug, sandbox, static
from minikeras.kernels import recurrent as R

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "solutions" / "04_rnn"


array_backend, spec, solution = assignment_fixtures(FOLDER, "rnn.ipynb", keras=keras)


def _numerical(f, x, upstream):
    """The numerical gradient of sum(f(x) * upstream) by ``x``."""
    return numerical_gradient(f, [x], 0, upstream)


# ---- the recurrent plug

def _pair(layer_a, layer_b, x, initial_state=None):
    """Outputs and weight gradients of two layers with the same weights on the same input."""
    results = []
    for layer in (layer_a, layer_b):
        with keras.GradientTape() as tape:
            out = layer(x) if initial_state is None else layer(x, initial_state=initial_state)
            first = out[0] if isinstance(out, list) else out
            loss = keras.ops.sum(first * first) + (keras.ops.sum(out[-1]) if isinstance(out, list) else 0.0)
        grads = tape.gradient(loss, layer.trainable_weights)
        results.append(([np.asarray(o) for o in (out if isinstance(out, list) else [out])],
                        [np.asarray(g) for g in grads]))
    return results


@pytest.mark.parametrize("options", [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True},
                                     {"return_state": True}, {"use_bias": False}])
def test_plugged_plain_kernels_match_simple_rnn(solution, options, rng):
    Plugged = plug.simple_rnn_layer_with(solution["rnn_forward"], solution["rnn_backward"])
    x = keras.ops.convert_to_tensor(rng.normal(size=(4, 6, 3)).astype("float32"))
    library = keras.layers.SimpleRNN(5, **options)
    library.build((None, 6, 3))
    mine = Plugged(5, **options)
    mine.build((None, 6, 3))
    mine.set_weights(library.get_weights())
    assert mine.count_params() == library.count_params()
    (out_a, grads_a), (out_b, grads_b) = _pair(library, mine, x)
    for a, b in zip(out_a + grads_a, out_b + grads_b):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    h0 = keras.ops.convert_to_tensor(rng.normal(size=(4, 5)).astype("float32"))
    (out_a, grads_a), (out_b, grads_b) = _pair(library, mine, x, initial_state=[h0])
    for a, b in zip(out_a + grads_a, out_b + grads_b):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_plugged_layer_trains_inside_a_model_like_keras(solution, keras_ref, rng):
    """The plugged layer in a compiled model, against Keras 3's SimpleRNN with the same weights."""
    Plugged = plug.simple_rnn_layer_with(solution["rnn_forward"], solution["rnn_backward"])
    x = rng.normal(size=(8, 5, 3)).astype("float32")
    y = rng.integers(0, 2, size=8)
    mine = keras.Sequential([keras.Input((5, 3)), Plugged(4), keras.layers.Dense(2)])
    theirs = keras_ref.Sequential([keras_ref.Input((5, 3)), keras_ref.layers.SimpleRNN(4), keras_ref.layers.Dense(2)])
    theirs.set_weights(mine.get_weights())
    for model, k in ((mine, keras), (theirs, keras_ref)):
        model.compile(optimizer=k.optimizers.SGD(0.1), loss=k.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)


def test_plug_tolerates_the_library_kernels_extra_arguments(rng):
    """minikeras's own kernels (with go_backwards, dropout masks, ... in their signatures) plug in,
    and the options reach them; a kernel taking **options gets them too."""
    x = keras.ops.convert_to_tensor(rng.normal(size=(3, 4, 2)).astype("float32"))
    Library = plug.simple_rnn_layer_with(R.simple_rnn_forward, R.simple_rnn_backward)
    seen = {}

    def forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, **options):
        seen.update(options)
        return R.simple_rnn_forward(x, kernel, recurrent_kernel, bias, initial_state, **options)

    def backward(d_sequence, d_last_h, cache, needs):
        seen["needs"] = needs
        return R.simple_rnn_backward(d_sequence, d_last_h, cache, needs)

    Open = plug.simple_rnn_layer_with(forward, backward)
    for options in ({"go_backwards": True}, {"activation": "relu"}):
        reference = keras.layers.SimpleRNN(3, **options)
        reference.build((None, 4, 2))
        for cls in (Library, Open):
            layer = cls(3, **options)
            layer.build((None, 4, 2))
            layer.set_weights(reference.get_weights())
            (out_a, grads_a), (out_b, grads_b) = _pair(reference, layer, x)
            for a, b in zip(out_a + grads_a, out_b + grads_b):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert seen["activation"] == "relu" and len(seen["needs"]) == 5
    layer = Open(3, dropout=0.5)
    layer(x, training=True)
    assert seen["input_mask"].shape == (3, 2)


@pytest.mark.parametrize("options", [{}, {"return_sequences": True}, {"zero_output_for_mask": True},
                                     {"go_backwards": True}])
def test_plugged_library_kernels_follow_a_mask_as_simple_rnn_does(rng, options):
    """A kernel that takes ``mask`` gets the inputs' time-step mask; outputs as Keras's rules say."""
    Library = plug.simple_rnn_layer_with(R.simple_rnn_forward, R.simple_rnn_backward)
    x = keras.ops.convert_to_tensor(rng.normal(size=(3, 5, 2)).astype("float32"))
    mask = np.array([[True] * 5, [False, True, True, True, False], [False, False, True, True, True]])
    reference = keras.layers.SimpleRNN(4, **options)
    reference.build((None, 5, 2))
    layer = Library(4, **options)
    layer.build((None, 5, 2))
    layer.set_weights(reference.get_weights())
    h0 = keras.ops.convert_to_tensor(rng.normal(size=(3, 4)).astype("float32"))
    for kwargs in ({"mask": mask}, {"mask": mask, "initial_state": [h0]}):
        outs = []
        for lay in (reference, layer):
            with keras.GradientTape() as tape:
                y = lay(x, **kwargs)
                loss = keras.ops.sum(y * y)
            outs.append([np.asarray(y)] + [np.asarray(g) for g in tape.gradient(loss, lay.trainable_weights)])
        for a, b in zip(*outs):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_plug_refuses_what_a_plain_kernel_cannot_do(solution, rng):
    Plugged = plug.simple_rnn_layer_with(solution["rnn_forward"], solution["rnn_backward"])
    x = keras.ops.convert_to_tensor(rng.normal(size=(2, 3, 4)).astype("float32"))
    with pytest.raises(ValueError, match="activation='relu'.*rnn_forward.*`activation`"):
        Plugged(3, activation="relu")(x)
    with pytest.raises(ValueError, match="time-step mask.*`mask`"):
        Plugged(3)(x, mask=np.array([[True, True, False], [True, False, False]]))
    with pytest.raises(ValueError, match="dropout.*`input_mask`"):
        Plugged(3, dropout=0.3)(x, training=True)
    Plugged(3, dropout=0.3)(x, training=False)  # inference needs no mask
    with pytest.raises(ValueError, match="stateful"):
        Plugged(3, stateful=True)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, 4\)"):
        layer = Plugged(3)
        layer.build((None, 3, 4))
        layer(keras.ops.convert_to_tensor(np.zeros((2, 3, 5), "float32")))


def test_recurrent_layers_lists_plugged_and_library_layers(solution):
    Plugged = plug.simple_rnn_layer_with(solution["rnn_forward"], solution["rnn_backward"])
    inner = keras.Sequential([keras.Input((5, 3)), Plugged(4, return_sequences=True)])
    model = keras.Sequential([keras.Input((5, 3)), inner, keras.layers.LSTM(2), keras.layers.Dense(2)])
    listing = plug.recurrent_layers(model)
    assert sorted(listing) == ["library: LSTM", f"plugged: {solution['rnn_forward'].__module__}.rnn_forward"]
    both = keras.Sequential([keras.Input((5, 3)), keras.layers.Bidirectional(keras.layers.SimpleRNN(2))])
    assert plug.recurrent_layers(both) == ["library: SimpleRNN", "library: SimpleRNN"]
    dense = keras.Sequential([keras.Input((5, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert plug.recurrent_layers(dense) == []


# ---- the spec's references

def test_step_and_sequence_references_match_keras(spec, keras_ref, rng):
    x = rng.normal(size=(3, 4, 2)).astype("float32")
    layer = keras_ref.layers.SimpleRNN(5, return_sequences=True, return_state=True)
    layer.build((None, 4, 2))
    kernel, rec, bias = (keras_ref.ops.convert_to_numpy(w) for w in layer.get_weights())
    h0 = rng.normal(size=(3, 5)).astype("float32")
    seq, last = (keras_ref.ops.convert_to_numpy(v) for v in layer(x, initial_state=[h0]))
    (mine_seq, mine_last), cache = spec.reference_rnn_forward(x, kernel, rec, bias, h0)
    np.testing.assert_allclose(mine_seq, seq, atol=1e-5)
    np.testing.assert_allclose(mine_last, last, atol=1e-5)
    assert set(cache) == set(spec.RNN_CACHE_KEYS) and cache["H"].shape == (5, 3, 5)
    h1, step_cache = spec.reference_rnn_step_forward(x[:, 0], h0, kernel, rec, bias)
    np.testing.assert_allclose(h1, seq[:, 0], atol=1e-5)
    assert len(step_cache) == 6 and step_cache[5] is True


def test_backward_references_match_numerical_gradients(spec, rng):
    x, h0 = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3))
    kernel, rec, bias = rng.normal(size=(4, 3)), rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3)
    d_seq, d_h = rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 3))
    inputs = [x, kernel, rec, bias, h0]
    _, cache = spec.reference_rnn_forward(*inputs)
    grads = spec.reference_rnn_backward(d_seq, d_h, cache)
    upstream = np.concatenate([d_seq.ravel(), d_h.ravel()])
    for i in range(5):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            (s, h), _ = spec.reference_rnn_forward(*args)
            return np.concatenate([s.ravel(), h.ravel()])
        np.testing.assert_allclose(grads[i], _numerical(f, inputs[i].copy(), upstream), atol=1e-6)
    step = [x[:, 0], h0, kernel, rec, bias]
    h1, step_cache = spec.reference_rnn_step_forward(*step)
    step_grads = spec.reference_rnn_step_backward(d_h, step_cache)
    for i in range(5):
        def g(v, i=i):
            args = list(step)
            args[i] = v
            return spec.reference_rnn_step_forward(*args)[0]
        np.testing.assert_allclose(step_grads[i], _numerical(g, np.array(step[i]), d_h), atol=1e-6)


def test_lstm_step_reference_matches_keras_gate_order(spec, keras_ref, rng):
    layer = keras_ref.layers.LSTM(3, return_state=True)
    layer.build((None, 1, 4))
    weights = [rng.normal(size=np.shape(w)).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)
    x, h, c = (rng.normal(size=s).astype("float32") for s in ((2, 4), (2, 3), (2, 3)))
    _, h_ref, c_ref = (keras_ref.ops.convert_to_numpy(v) for v in layer(x[:, None], initial_state=[h, c]))
    (h_next, c_next), cache = spec.reference_lstm_step_forward(x, h, c, *weights)
    np.testing.assert_allclose(h_next, h_ref, atol=1e-5)
    np.testing.assert_allclose(c_next, c_ref, atol=1e-5)
    inputs = [np.asarray(v, dtype=np.float64) for v in (x, h, c, *weights)]
    dh, dc = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    _, cache = spec.reference_lstm_step_forward(*inputs)
    grads = spec.reference_lstm_step_backward(dh, dc, cache)
    for i in range(6):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return np.concatenate([a.ravel() for a in spec.reference_lstm_step_forward(*args)[0]])
        np.testing.assert_allclose(grads[i], _numerical(f, inputs[i].copy(), np.concatenate([dh.ravel(), dc.ravel()])),
                                   atol=1e-6)


def test_clip_reference_is_keras_global_clipnorm(spec, keras_ref, rng):
    """SGD(learning_rate=1, global_clipnorm=c) moves each variable by exactly the clipped gradient."""
    for grads, c in (([rng.normal(size=(3, 2)), rng.normal(size=4)], 0.5),  # above
                     ([rng.normal(size=(3, 2)) * 0.01, rng.normal(size=4) * 0.01], 5.0),  # below
                     ([np.zeros((3, 2)), np.zeros(4)], 1.0)):  # zero norm
        grads = [g.astype("float32") for g in grads]
        variables = [keras_ref.Variable(np.zeros_like(g)) for g in grads]
        keras_ref.optimizers.SGD(learning_rate=1.0, global_clipnorm=c).apply(
            [keras_ref.ops.convert_to_tensor(g) for g in grads], variables)
        mine = spec.reference_clip_by_global_norm(grads, c)
        for v, m in zip(variables, mine):
            np.testing.assert_allclose(-keras_ref.ops.convert_to_numpy(v), m, rtol=1e-6, atol=1e-7)
            assert m.dtype == np.float32
    with_none = spec.reference_clip_by_global_norm([None, np.ones(4)], 1.0)
    assert with_none[0] is None and np.allclose(with_none[1], 0.5)


def test_pad_reference_matches_keras_on_every_hidden_case(spec, keras_ref):
    """Every input class the grader draws: minikeras's pad_sequences gives Keras's answer."""
    for seed in range(3):
        for case in spec.cases_pad(np.random.default_rng(seed), None):
            step = case.steps[0]
            ours = spec.library_pad_sequences(*step.args, **step.kwargs)
            theirs = keras_ref.utils.pad_sequences(*step.args, **step.kwargs)
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, case.desc
            np.testing.assert_array_equal(ours, theirs, err_msg=case.desc)


def test_context_code_is_the_reference(spec, rng):
    """The NumPy step functions put in while Tasks 2-3 are graded agree with the references."""
    scope = judge.context_namespace(spec.TASK_BY_ID["test_rnn_backward"])
    for dtype in ("float32", "float64"):
        x, h = rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=(3, 4)).astype(dtype)
        weights = [rng.normal(size=(2, 4)).astype(dtype), rng.normal(size=(4, 4)).astype(dtype), None]
        h1, cache = scope["rnn_step_forward"](x, h, *weights)
        ref_h1, ref_cache = spec.reference_rnn_step_forward(x, h, *weights)
        assert judge.compare_values((h1, cache), (ref_h1, ref_cache), "step") is None
        dh = rng.normal(size=(3, 4)).astype(dtype)
        assert judge.compare_values(scope["rnn_step_backward"](dh, cache),
                                    spec.reference_rnn_step_backward(dh, ref_cache), "step backward") is None
        xs = rng.normal(size=(3, 5, 2)).astype(dtype)
        assert judge.compare_values(scope["rnn_forward"](xs, *weights[:2], None, h),
                                    spec.reference_rnn_forward(xs, *weights[:2], None, h), "forward") is None


def test_vowels_subset_round_trip(tmp_path, monkeypatch):
    (xt, yt), (xv, yv) = data.load_vowels_subset()
    assert xt.shape == (216, 29, 12) and xv.shape == (54, 29, 12) and xt.dtype == np.float32
    assert yt.dtype == np.int64 and set(np.bincount(yt)) == {24} and set(np.bincount(yv)) == {6}
    assert np.all(xt[:, 0] == 0) and np.all(np.abs(xt[:, -1]).sum(axis=-1) > 0)  # pre-padded
    data.write_vowels_subset(tmp_path)
    monkeypatch.setenv("MINIKERAS_GRADING_DATA", str(tmp_path))
    (xt2, yt2), (xv2, yv2) = data.load_vowels_subset()
    assert np.array_equal(xt, xt2) and np.array_equal(yv, yv2)


# ---- grader additions

def test_named_cache_entries_and_exact_dtypes_are_compared():
    want = {"H": np.zeros((2, 3), np.float32), "has_bias": True}
    assert judge.compare_values({"H": np.zeros((2, 3), np.float32), "has_bias": True, "mine": 1}, want, "c") is None
    assert "has no entry 'H'" in judge.compare_values({"has_bias": True}, want, "c")
    assert "c['H'] has dtype float64" in judge.compare_values({"H": np.zeros((2, 3)), "has_bias": True}, want, "c")
    assert "must be a dict" in judge.compare_values((1, 2), want, "c")
    ints = np.arange(3, dtype=np.int32)
    assert judge.compare_values(ints.astype(np.int64), ints, "p") is None  # integers: values only by default
    assert "dtype int64, expected int32" in judge.compare_values(ints.astype(np.int64), ints, "p", same_dtype="exact")
    listed = [np.ones(2), None, np.ones((2, 2))]  # a list of arrays never crashes the comparison
    assert judge.compare_values(list(listed), listed, "g") is None
    assert "g[2] has shape" in judge.compare_values([np.ones(2), None, np.ones(3)], listed, "g")


def test_defined_names_of_a_cell():
    source = "import numpy as np\nfrom os import path as p\ndef f(x):\n    y = 1\nclass C: pass\na, (b, c) = 1, (2, 3)\n%time f(1)\n"
    assert static.defined_names(source) == {"np", "p", "f", "C", "a", "b", "c"}
    assert static.defined_names("def broken(:") == set()


def test_hidden_data_files_are_unreadable_in_the_sandbox(tmp_path, spec):
    ok, why = sandbox.probe()
    if not ok:
        pytest.skip(why)
    from minikeras.grading import worker
    hidden = worker.hidden_paths(spec)
    assert any(p.endswith("JapaneseVowels_TEST.ts.gz") for p in hidden)
    train = Path(hidden[0]).with_name("JapaneseVowels_TRAIN.ts.gz")
    box = sandbox.Sandbox(sandbox.Limits(memory_mb=1024, processes=32))
    box.packages = [worker.PACKAGE_DIR]
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)  # (bwrap enters it before dropping to the sandbox's user)
    box.bind("home", home, "/home/student", writable=True)
    box.prepare_writable(home)
    for path in hidden:
        box.hide(path)
    probe = ("import sys\nfor p in sys.argv[1:]:\n    try:\n        print(len(open(p, 'rb').read()))\n"
             "    except OSError as exc:\n        print(type(exc).__name__)\n")
    proc = box.popen([sys.executable, "-c", probe, hidden[0], str(train)], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    sandbox.kill_tree(proc)
    assert len(out.decode().split()) == 2, err.decode()[-2000:]
    test_seen, train_seen = out.decode().split()
    assert test_seen in ("0", "PermissionError") and int(train_seen) == train.stat().st_size
