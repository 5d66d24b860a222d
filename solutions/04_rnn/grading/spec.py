"""Hidden checks of 04_rnn, written the trusted way (see docs/grading.md).

Coverage (CONTRIBUTING.md, "Hidden checks: the coverage rule"): float32 and float64 in every
kernel task; one sample and many; a single time step and several; units different from
features (a missing transpose cannot hide behind a square kernel); with and without bias;
with and without an initial state; the BPTT with a gradient for the whole sequence, for the
last state only and for both; LSTM pre-activations up to about +-1000 (a naive sigmoid
overflows); clipping above, below and exactly at the clip norm, all-zero gradients, None
entries and tensors of every rank from 0-d to 3-D; padding and truncating at both ends, no
maxlen, a maxlen longer than every sequence, another fill value and dtype, empty sequences,
sequences of 12-feature frames; the speaker model on fresh held-out utterances of the test
split (which never enters the sandbox), within a CPU budget the grader measures from
outside. Sizes and values are drawn anew on every run.

The references are minikeras's own recurrent kernels (``simple_rnn_forward``/``backward``,
``lstm_forward``/``backward`` run for one step), ``minikeras.utils.pad_sequences``, and for
clipping the formula of Keras's ``global_clipnorm`` (tests/test_grading_rnn.py compares each
of them with Keras 3).
"""
import numpy as np

from minikeras.grading.judge import Case, Data, Out, Step, Task, Verdict, accuracy_verdict, out_of_time
from minikeras.kernels import recurrent as R
from minikeras.preprocessing.sequence import pad_sequences as library_pad_sequences

NOTEBOOK = "rnn.ipynb"
FLOATS = ("float32", "float64")
N_SPEAKERS, N_HELDOUT, BAR = 9, 300, 0.85
RNN_CACHE_KEYS = ("xt", "kernel", "rec", "H", "has_bias")

# The Japanese Vowels test split ships inside minikeras (and sktime): the notebook's sandbox
# must not see it, since the held-out utterances are drawn from it.
HIDDEN_DATA = (("minikeras", "datasets/bundled/JapaneseVowels_TEST.ts.gz"),
               ("sktime", "datasets/data/JapaneseVowels"))


def _dt(x, dtype):
    return np.asarray(x, dtype=dtype)


def _sizes(rng):
    """(features, units), never equal: a square kernel would hide a missing transpose."""
    features, units = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    if features == units:
        units += 1
    return features, units


def _weights(rng, features, width, units, dtype, use_bias, scale=0.6):
    kernel = _dt(rng.normal(scale=scale, size=(features, width)), dtype)
    rec = _dt(rng.normal(scale=scale, size=(units, width)), dtype)
    bias = _dt(rng.normal(scale=0.5, size=width), dtype) if use_bias else None
    return kernel, rec, bias


def _bias_text(bias):
    return "with a bias" if bias is not None else "no bias"


# ------------------------------------------------------------------ references

def reference_rnn_step_forward(x_t, h_prev, kernel, recurrent_kernel, bias=None):
    (_, h_next), _ = R.simple_rnn_forward(x_t[:, None, :], kernel, recurrent_kernel, bias, h_prev)
    h_next = h_next.copy()
    return h_next, (x_t, h_prev, kernel, recurrent_kernel, h_next, bias is not None)


def _library_cache(xt, kernel, rec, H, has_bias):
    """minikeras's full SimpleRNN cache for the states ``H`` (T+1, B, units) of a tanh RNN.

    The tanh backward needs only the states, the inputs and the weights; the forward is run
    once for the cache's own bookkeeping (whatever keys the library keeps) and its states
    are replaced by the given ones, so no private part of the library is relied on."""
    bias = np.zeros(rec.shape[1], dtype=H.dtype) if has_bias else None
    x = np.ascontiguousarray(np.asarray(xt).transpose(1, 0, 2))
    _, cache = R.simple_rnn_forward(x, kernel, rec, bias, H[0])
    cache["H"] = H
    return cache


def reference_rnn_step_backward(dh_next, cache):
    x_t, h_prev, kernel, rec, h_next, has_bias = cache
    full = _library_cache(x_t[None], kernel, rec, np.stack([h_prev, h_next]), has_bias)
    dx, dkernel, drec, dbias, dh_prev = R.simple_rnn_backward(None, dh_next, full)
    return dx[:, 0], dh_prev, dkernel, drec, dbias


def reference_rnn_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None):
    (sequence, last), cache = R.simple_rnn_forward(x, kernel, recurrent_kernel, bias, initial_state)
    return (np.ascontiguousarray(sequence), last.copy()), {k: cache[k] for k in RNN_CACHE_KEYS}


def reference_rnn_backward(d_sequence, d_last_h, cache, needs=(True,) * 5):
    full = _library_cache(cache["xt"], cache["kernel"], cache["rec"], cache["H"], cache["has_bias"])
    return R.simple_rnn_backward(d_sequence, d_last_h, full, tuple(needs))


def reference_lstm_step_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias=None):
    (_, h, c), cache = R.lstm_forward(x_t[:, None, :], kernel, recurrent_kernel, bias,
                                      initial_state=h_prev, initial_carry=c_prev)
    return (h.copy(), c.copy()), cache


def reference_lstm_step_backward(dh_next, dc_next, cache):
    dx, dkernel, drec, dbias, dh_prev, dc_prev = R.lstm_backward(None, dh_next, dc_next, cache)
    return dx[:, 0], dh_prev, dc_prev, dkernel, drec, dbias


def reference_clip_by_global_norm(grads, clipnorm):
    """Keras's ``global_clipnorm``: every gradient times clipnorm / max(global norm, clipnorm)."""
    present = [g for g in grads if g is not None]
    if not present:
        return tuple(grads)
    norm = np.sqrt(sum(np.sum(g * g) for g in present))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = clipnorm * np.minimum(1.0 / norm, 1.0 / clipnorm) + (norm - norm)
    return tuple(None if g is None else g * np.asarray(scale).astype(g.dtype) for g in grads)


# Tasks 1-2's functions as the notebook asks for them, in NumPy: put into the student's
# namespace while Tasks 2 and 3 are graded (a wrong step kernel costs Task 1 only).
CONTEXT_STEP = '''
def rnn_step_forward(x_t, h_prev, kernel, recurrent_kernel, bias=None):
    z = x_t @ kernel + h_prev @ recurrent_kernel
    if bias is not None:
        z = z + bias
    h_next = np.tanh(z)
    return h_next, (x_t, h_prev, kernel, recurrent_kernel, h_next, bias is not None)


def rnn_step_backward(dh_next, cache):
    x_t, h_prev, kernel, recurrent_kernel, h_next, has_bias = cache
    dz = dh_next * (1 - h_next * h_next)
    dbias = dz.sum(axis=0) if has_bias else None
    return dz @ kernel.T, dz @ recurrent_kernel.T, x_t.T @ dz, h_prev.T @ dz, dbias
'''

CONTEXT_FORWARD = CONTEXT_STEP + '''

def rnn_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None):
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    H = np.zeros((steps + 1, batch, units), dtype=x.dtype)
    if initial_state is not None:
        H[0] = initial_state
    for t in range(steps):
        H[t + 1] = rnn_step_forward(x[:, t], H[t], kernel, recurrent_kernel, bias)[0]
    cache = {"xt": np.ascontiguousarray(x.transpose(1, 0, 2)), "kernel": kernel, "rec": recurrent_kernel,
             "H": H, "has_bias": bias is not None}
    return (H[1:].transpose(1, 0, 2), H[steps]), cache
'''


# ------------------------------------------------------------------ Task 1: one RNN step

def cases_rnn_step(rng, task):
    out = []
    for dtype in FLOATS:
        for batch, use_bias, scale in ((1, True, 1.0), (int(rng.integers(2, 6)), True, 1.0),
                                       (int(rng.integers(2, 6)), False, 1.0), (int(rng.integers(2, 6)), True, 8.0)):
            features, units = _sizes(rng)
            kernel, rec, bias = _weights(rng, features, units, units, dtype, use_bias)
            x = _dt(rng.normal(scale=scale, size=(batch, features)), dtype)
            h = _dt(rng.uniform(-1, 1, size=(batch, units)), dtype)
            dh = _dt(rng.normal(size=(batch, units)), dtype)
            desc = (f"x_t of shape {x.shape}, {units} units ({dtype}), {_bias_text(bias)}"
                    + (", saturated tanh (large inputs)" if scale > 1 else ""))
            out.append(Case(desc, [
                Step("rnn_step_forward", (x, h, kernel, rec, bias),
                     label="rnn_step_forward(x_t, h_prev, kernel, recurrent_kernel, bias)", names=("h_next", "cache")),
                Step("rnn_step_backward", (dh, Out(0, 1)), label="rnn_step_backward(dh_next, cache)",
                     names=("dx_t", "dh_prev", "dkernel", "drecurrent_kernel", "dbias"))]))
    return out


# ------------------------------------------------------------------ Tasks 2 and 3: whole sequences

def _sequence_classes(rng):
    """(batch, steps, bias, initial state) for every dtype: one sample, one step, no bias..."""
    def b():
        return int(rng.integers(2, 5))

    def t():
        return int(rng.integers(2, 7))
    return [(1, t(), True, False), (b(), 1, True, True), (b(), t(), False, False), (b(), t(), True, True),
            (b(), t(), False, True), (b(), t(), True, False)]


def _sequence_inputs(rng, batch, steps, dtype, use_bias, with_state):
    features, units = _sizes(rng)
    kernel, rec, bias = _weights(rng, features, units, units, dtype, use_bias)
    x = _dt(rng.normal(size=(batch, steps, features)), dtype)
    h0 = _dt(rng.uniform(-1, 1, size=(batch, units)), dtype) if with_state else None
    return x, kernel, rec, bias, h0


def _sequence_desc(x, units, bias, h0):
    return (f"x of shape {x.shape} ({x.dtype}), {units} units, {_bias_text(bias)}, "
            f"{'an initial state' if h0 is not None else 'no initial state'}")


def cases_rnn_forward(rng, task):
    out = []
    for dtype in FLOATS:
        for batch, steps, use_bias, with_state in _sequence_classes(rng):
            x, kernel, rec, bias, h0 = _sequence_inputs(rng, batch, steps, dtype, use_bias, with_state)
            out.append(Case(_sequence_desc(x, rec.shape[0], bias, h0), [
                Step("rnn_forward", (x, kernel, rec, bias, h0),
                     label="rnn_forward(x, kernel, recurrent_kernel, bias, initial_state)",
                     names=("outputs", "cache"))]))
        x, kernel, rec, _, _ = _sequence_inputs(rng, int(rng.integers(2, 5)), int(rng.integers(2, 6)), dtype,
                                                False, False)
        out.append(Case(f"x of shape {x.shape} ({dtype}), bias and initial_state left at their defaults", [
            Step("rnn_forward", (x, kernel, rec), label="rnn_forward(x, kernel, recurrent_kernel)",
                 names=("outputs", "cache"))]))
    return out


GRADIENTS = ("both", "sequence", "last")


def cases_rnn_backward(rng, task):
    out = []
    for dtype in FLOATS:
        for i, (batch, steps, use_bias, with_state) in enumerate(_sequence_classes(rng) * 2):
            x, kernel, rec, bias, h0 = _sequence_inputs(rng, batch, steps, dtype, use_bias, with_state)
            (seq, _), cache = reference_rnn_forward(x.copy(), kernel.copy(), rec.copy(),
                                                    None if bias is None else bias.copy(),
                                                    None if h0 is None else h0.copy())
            which = GRADIENTS[i % 3]
            d_seq = _dt(rng.normal(size=seq.shape), dtype) if which in ("both", "sequence") else None
            d_h = _dt(rng.normal(size=seq[:, -1].shape), dtype) if which in ("both", "last") else None
            grads = {"both": "gradients for the sequence and the last state",
                     "sequence": "a gradient for the sequence only (d_last_h None)",
                     "last": "a gradient for the last state only (d_sequence None)"}[which]
            out.append(Case(_sequence_desc(x, rec.shape[0], bias, h0) + ", " + grads, [
                Step("rnn_backward", (d_seq, d_h, cache), label="rnn_backward(d_sequence, d_last_h, cache)",
                     names=("dx", "dkernel", "drecurrent_kernel", "dbias", "dinitial_state"))]))
    return out


# ------------------------------------------------------------------ Task 4: one LSTM step

def cases_lstm_step(rng, task):
    out = []
    for dtype in FLOATS:
        for batch, use_bias, scale in ((1, True, 1.0), (int(rng.integers(2, 6)), True, 1.0),
                                       (int(rng.integers(2, 6)), False, 1.0), (int(rng.integers(2, 6)), True, 400.0)):
            features, units = _sizes(rng)
            kernel, rec, bias = _weights(rng, features, 4 * units, units, dtype, use_bias)
            x = _dt(rng.normal(scale=scale, size=(batch, features)), dtype)
            h = _dt(rng.uniform(-1, 1, size=(batch, units)), dtype)
            c = _dt(rng.normal(size=(batch, units)), dtype)
            dh, dc = _dt(rng.normal(size=(batch, units)), dtype), _dt(rng.normal(size=(batch, units)), dtype)
            desc = (f"x_t of shape {x.shape}, {units} units ({dtype}), {_bias_text(bias)}"
                    + (", gate pre-activations up to about +-1000" if scale > 1 else ""))
            out.append(Case(desc, [
                Step("lstm_step_forward", (x, h, c, kernel, rec, bias), record=[0], names=("h_next", "c_next"),
                     label="lstm_step_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)"),
                Step("lstm_step_backward", (dh, dc, Out(0, 1)), label="lstm_step_backward(dh_next, dc_next, cache)",
                     names=("dx_t", "dh_prev", "dc_prev", "dkernel", "drecurrent_kernel", "dbias"))]))
    return out


# ------------------------------------------------------------------ Task 5: clipping by the global norm

def _grads(rng, shapes, dtype, scale=1.0):
    return [_dt(rng.normal(scale=scale, size=s), dtype) for s in shapes]


def _global_norm(grads):
    return float(np.sqrt(sum(np.sum(np.asarray(g, dtype=np.float64) ** 2) for g in grads if g is not None)))


def cases_clip(rng, task):
    out = []

    def add(desc, grads, clipnorm):
        out.append(Case(desc, [Step("clip_by_global_norm", (grads, clipnorm),
                                    label="clip_by_global_norm(grads, clipnorm)")]))

    for dtype in FLOATS:
        a, b, c = (int(rng.integers(2, 5)) for _ in range(3))
        ranks = [(), (a,), (a, b), (a, b, c)]
        one = _grads(rng, [(a, b)], dtype, 3.0)
        add(f"one gradient of shape {(a, b)} ({dtype}), global norm above clipnorm", one,
            float(rng.uniform(0.2, 0.8)) * _global_norm(one))
        several = _grads(rng, ranks, dtype, 2.0)
        add(f"gradients of shapes (), {(a,)}, {(a, b)}, {(a, b, c)} ({dtype}), global norm above clipnorm",
            several, float(rng.uniform(0.1, 0.9)) * _global_norm(several))
        # four gradients of one size: each alone is below clipnorm, together they are above it,
        # so clipping each tensor by its own norm changes nothing here
        same = [(a, b), (b, a), (a * b,), (1, a, b)]
        while True:
            several = _grads(rng, same, dtype, 2.0)
            parts = max(_global_norm([g]) for g in several)
            if parts * 1.1 < _global_norm(several) * 0.9:
                break
        add(f"gradients of shapes {same[0]}, {same[1]}, {same[2]}, {same[3]} ({dtype}), each below clipnorm, "
            "together above", several, float(rng.uniform(parts * 1.1, _global_norm(several) * 0.9)))
        small = _grads(rng, [(a,), (b, c)], dtype, 0.1)
        add(f"gradients of shapes {(a,)}, {(b, c)} ({dtype}), global norm below clipnorm", small,
            float(rng.uniform(1.5, 4.0)) * _global_norm(small))
        tie = _grads(rng, [(a, b), (c,)], dtype)
        add(f"gradients of shapes {(a, b)}, {(c,)} ({dtype}), global norm exactly clipnorm", tie,
            float(np.sqrt(sum(np.sum(g * g) for g in tie))))
        add(f"all-zero gradients of shapes {(a,)}, {(b, c)} ({dtype})",
            [np.zeros((a,), dtype), np.zeros((b, c), dtype)], float(rng.uniform(0.5, 2.0)))
        with_none = _grads(rng, [(a, b), (c,)], dtype, 2.0)
        with_none = [with_none[0], None, with_none[1], None]
        add(f"gradients with None entries ({dtype}), global norm above clipnorm", with_none,
            float(rng.uniform(0.2, 0.8)) * _global_norm(with_none))
        integral = _grads(rng, [(a, b), (c,)], dtype, 2.0 * a)
        add(f"gradients of shapes {(a, b)}, {(c,)} ({dtype}), an integer clipnorm", integral, 1)
    return out


# ------------------------------------------------------------------ Task 6: pad_sequences

def _int_sequences(rng, n, longest, empty=False):
    lengths = [int(rng.integers(1, longest + 1)) for _ in range(n)]
    lengths[int(rng.integers(0, n))] = longest
    seqs = [[int(v) for v in rng.integers(1, 50, size=k)] for k in lengths]
    if empty:
        seqs.insert(int(rng.integers(0, n + 1)), [])
    return seqs


def cases_pad(rng, task):
    out = []

    def add(desc, seqs, kwargs):
        call = ", ".join(["sequences"] + [f"{k}={v!r}" for k, v in kwargs.items()])
        out.append(Case(desc, [Step("pad_sequences", (seqs,), kwargs, label=f"pad_sequences({call})")],
                        same_dtype="exact"))

    def n():
        return int(rng.integers(2, 6))

    longest = int(rng.integers(4, 8))
    add("lists of integers of different lengths, every default", _int_sequences(rng, n(), longest), {})
    add("lists of integers, one of them empty, every default", _int_sequences(rng, n(), longest, empty=True), {})
    add("a single list of integers, every default", _int_sequences(rng, 1, longest), {})
    for padding in ("pre", "post"):
        for truncating in ("pre", "post"):
            seqs = _int_sequences(rng, n(), longest)
            add(f"lists of integers, maxlen below the longest, padding={padding!r}, truncating={truncating!r}",
                seqs, {"maxlen": int(rng.integers(2, longest)), "padding": padding, "truncating": truncating})
    seqs = _int_sequences(rng, n(), longest)
    add("lists of integers, maxlen below the longest, truncating at the default end", seqs,
        {"maxlen": int(rng.integers(2, longest))})
    add("lists of integers, maxlen above the longest", _int_sequences(rng, n(), longest),
        {"maxlen": longest + int(rng.integers(1, 4))})
    add("lists of integers, maxlen equal to the longest, padding='post'", _int_sequences(rng, n(), longest),
        {"maxlen": longest, "padding": "post"})
    add("lists of integers, fill value -1", _int_sequences(rng, n(), longest), {"value": -1})
    add("lists of integers, dtype='int64', padding='post'", _int_sequences(rng, n(), longest),
        {"dtype": "int64", "padding": "post"})
    add("only empty sequences, maxlen=3", [[] for _ in range(n())], {"maxlen": 3})
    arrays = [rng.normal(size=int(rng.integers(1, longest + 1))) for _ in range(n())]
    arrays[0] = rng.normal(size=longest)
    add("1-D float64 arrays, dtype='float32'", arrays, {"dtype": "float32"})
    add("1-D float64 arrays, dtype='float64', value=0.5, maxlen below the longest, truncating='post'",
        arrays, {"dtype": "float64", "value": 0.5, "maxlen": longest - 1, "truncating": "post"})
    features = int(rng.integers(2, 5))
    frames = [_dt(rng.normal(size=(int(rng.integers(1, longest + 1)), features)), "float32") for _ in range(n())]
    add(f"sequences of frames of {features} features (float32 arrays), dtype='float32'", frames,
        {"dtype": "float32"})
    frames.insert(1, np.zeros((0, features), np.float32))
    add(f"sequences of frames of {features} features, one empty, dtype='float32', maxlen=4, padding='post'",
        frames, {"dtype": "float32", "maxlen": 4, "padding": "post"})
    return out


# ------------------------------------------------------------------ Task 7: the speaker model

_VOWELS = {}


def _vowels():
    if not _VOWELS:
        from minikeras.datasets import japanese_vowels
        from minikeras.grading import data
        (train, speakers_train), (test, speakers_test) = japanese_vowels.load_data()
        _VOWELS["test"] = (list(test), np.asarray(speakers_test, dtype=np.int64))
        _VOWELS["std"] = np.concatenate(list(train)).std(axis=0)
        _VOWELS["train"] = data.load_vowels_subset()[0]
    return _VOWELS


def prepare_shared(folder):
    """The training and validation utterances the sandboxed notebook may read (no test split)."""
    from minikeras.grading import data
    data.write_vowels_subset(folder)


def cases_model(rng, task):
    from minikeras.grading import data
    vowels = _vowels()
    test, speakers = vowels["test"]
    idx = rng.choice(len(test), size=N_HELDOUT, replace=False)
    noisy = [u + rng.normal(size=u.shape) * 0.01 * vowels["std"] for u in (test[i] for i in idx)]
    heldout = data.pad_vowels([u.astype(np.float32) for u in noisy])
    train_x, train_y = vowels["train"]
    case = Case(f"{N_HELDOUT} held-out utterances of the test split", [
        Step("rnn_layer", get=True, record="none"),
        Step("build_and_train", (Data("train_x"), Data("train_y"), Out(0)), record="none",
             label="build_and_train(x_train, y_train, rnn_layer)"),
        Step("predict", (Out(1), Data("heldout_x")), label="model.predict(utterances)"),
        Step("recurrent_layers", (Out(1),), label="the model's recurrent layers")],
        secret=speakers[idx])
    case.files = {"train_x": train_x, "train_y": train_y, "heldout_x": heldout}
    return [case]


def _error_text(record):
    if "missing" in record:
        return f"`{record['missing']}` is not defined"
    err = record.get("error") or {}
    return f"{err.get('type', 'Error')}: {err.get('message', '')}"


def evaluate_model(task, cases, records, observed):
    late = out_of_time(task, observed)
    if late:
        return late
    if not records or not records[0] or len(records[0]) != 4:
        return Verdict(task.id, False, "No results came back (is `build_and_train` defined when the test "
                                       "cell runs?).", {"no-result"})
    built, predicted, layers = records[0][1], records[0][2], records[0][3]
    for step, record in (("build_and_train(x_train, y_train, rnn_layer)", built),
                         ("model.predict", predicted), ("listing the model's layers", layers)):
        if not isinstance(record, dict) or "ok" not in record:
            what = _error_text(record) if isinstance(record, dict) else "no result"
            return Verdict(task.id, False, f"{step} failed: {what}"[:600], {"error"})
    pred = predicted.get("ok")
    labels = cases[0].secret
    if not isinstance(pred, np.ndarray) or pred.ndim != 2 or pred.shape != (len(labels), N_SPEAKERS):
        shape = pred.shape if isinstance(pred, np.ndarray) else type(pred).__name__
        return Verdict(task.id, False, f"predict must give one row of {N_SPEAKERS} speaker scores per utterance, "
                                       f"shape ({len(labels)}, {N_SPEAKERS}); got {shape}.", {"output-shape"})
    listing = layers.get("ok") if isinstance(layers.get("ok"), (list, tuple)) else []
    listing = [str(s) for s in listing]
    library = [s for s in listing if s.startswith("library:")]
    if library:
        return Verdict(task.id, False, f"The model contains a library recurrent layer ({library[0][9:]}); its "
                                       "recurrent layer must be the `rnn_layer` you are given.", {"library"})
    if not any(s.startswith("plugged:") for s in listing):
        return Verdict(task.id, False, "The model has no recurrent layer: build it around `rnn_layer`.",
                       {"no-rnn"})
    return accuracy_verdict(task, pred, labels, BAR, observed)


TASKS = [
    Task("test_rnn_step", "Task 1, one RNN step", ("rnn_step_forward", "rnn_step_backward"), cases_rnn_step,
         reference={"rnn_step_forward": reference_rnn_step_forward, "rnn_step_backward": reference_rnn_step_backward}),
    Task("test_rnn_forward", "Task 2, the RNN over a whole sequence", ("rnn_forward",), cases_rnn_forward,
         reference={"rnn_forward": reference_rnn_forward}, context=CONTEXT_STEP),
    Task("test_rnn_backward", "Task 3, backpropagation through time", ("rnn_backward",), cases_rnn_backward,
         reference={"rnn_backward": reference_rnn_backward}, context=CONTEXT_FORWARD),
    Task("test_lstm_step", "Task 4, one LSTM step", ("lstm_step_forward", "lstm_step_backward"), cases_lstm_step,
         reference={"lstm_step_forward": reference_lstm_step_forward,
                    "lstm_step_backward": reference_lstm_step_backward}),
    Task("test_clip_global_norm", "Task 5, clipping by the global norm", ("clip_by_global_norm",), cases_clip,
         reference={"clip_by_global_norm": reference_clip_by_global_norm}),
    Task("test_pad_sequences", "Task 6, pad_sequences", ("pad_sequences",), cases_pad,
         reference={"pad_sequences": library_pad_sequences}),
    Task("test_sequence_model", "Task 7, a speaker model on Japanese Vowels", ("build_and_train",), cases_model,
         where="notebook", cpu_budget=60.0, evaluate=evaluate_model),
]
