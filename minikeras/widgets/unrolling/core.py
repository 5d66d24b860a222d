"""The unrolling explorer's core: a recurrent layer unrolled step by step in NumPy, with its
backward pass written out, so every intermediate (hidden state, LSTM gates and cell state,
GRU gates, the gradient reaching each step) can be shown. No browser or widget code.

The weights come from a trained minikeras model (its first SimpleRNN/LSTM/GRU layer, with
the layers before it applied to the inputs and a following ``Dense`` as the read-out), from
a layer, or are drawn fresh (Glorot-uniform kernel, orthogonal recurrent kernel, as Keras).
The forward pass follows Keras 3's equations and weight layouts exactly, so the states equal
what the minikeras layer computes; ``as_layer()`` returns that layer for checking.

The gradient shown is that of the read-out ``L = readout . h_T`` (the model's prediction when
a one-unit Dense follows) with respect to each step's state, ``dL/dh_t`` (and ``dL/dc_t``
for the LSTM): how strongly step t can still influence the end of the sequence, which is
what backpropagation through time has to carry back to learn long-range effects.
"""
import numpy as np

from . import config

# -------------------------------------------------------------------------- activations
# (value, derivative from the pre-activation z and the value y)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


ACT = {
    "tanh": (np.tanh, lambda z, y: 1.0 - y * y),
    "sigmoid": (_sigmoid, lambda z, y: y * (1.0 - y)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, y: (z > 0).astype(z.dtype)),
    "linear": (lambda z: z, lambda z, y: np.ones_like(z)),
    "hard_sigmoid": (lambda z: np.clip(z / 6.0 + 0.5, 0.0, 1.0),
                     lambda z, y: ((z > -3) & (z < 3)).astype(z.dtype) / 6.0),
}


def _activation_name(fn, what, allowed):
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn))
    if name not in allowed:
        raise ValueError(f"The unrolling explorer differentiates {what} {list(allowed)} by hand; "
                         f"this layer uses {name!r}.")
    return name


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def _glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def find_recurrent_layer(model):
    """(index, layer) of the model's first SimpleRNN/LSTM/GRU layer."""
    for i, layer in enumerate(getattr(model, "layers", [])):
        if type(layer).__name__ in config.LAYER_KINDS:
            return i, layer
    raise ValueError(f"{getattr(model, 'name', model)!r} has no SimpleRNN, LSTM or GRU layer to unroll.")


class UnrollingCore:
    """Step through a sequence one time step at a time; states, gates and gradients per step.

    Args:
        sequences: a batch (N, T, ...) or a list of samples: the inputs of ``model`` (or of
            the layer); without a model also a single (T, features) or (T,) sequence.
        model: a built minikeras model; its first recurrent layer is unrolled.
        layer: a built SimpleRNN/LSTM/GRU layer (instead of ``model``).
        cell, units, activation, seed: for fresh weights when neither is given.
        recurrent_scale: factor applied to the recurrent kernel (1 = the weights as they are).
        readout: vector of length ``units`` for ``L = readout . h_T``; default: the first
            column of a Dense that follows the layer in ``model``, else all ones / sqrt(units).
    """

    def __init__(self, sequences, *, model=None, layer=None, cell="simple_rnn", units=config.DEFAULT_UNITS,
                 activation="tanh", recurrent_scale=1.0, seed=0, readout=None):
        self._prefix, readout_default = [], None
        if model is not None:
            index, layer = find_recurrent_layer(model)
            self._prefix = list(model.layers[:index])
            after = model.layers[index + 1:index + 2]
            if after and type(after[0]).__name__ == "Dense" and not layer.return_sequences:
                readout_default = np.asarray(after[0].get_weights()[0], dtype=np.float64)[:, 0]
        if layer is not None:
            self._from_layer(layer)
        else:
            self._fresh(cell, units, activation, seed, sequences)
        self.trained_activation = self.activation
        self.sequences = self._prepare(sequences)
        if readout is None:
            readout = readout_default if readout_default is not None else np.ones(self.units) / np.sqrt(self.units)
        self.readout = np.asarray(readout, dtype=np.float64).reshape(-1)
        if self.readout.shape != (self.units,):
            raise ValueError(f"readout must have {self.units} entries (one per unit), got {self.readout.shape}.")
        self.recurrent_scale = 1.0
        self.index, self.t = 0, 0
        self._cache = None
        self.set(recurrent_scale=recurrent_scale)

    # ------------------------------------------------------------------ weights
    def _from_layer(self, layer):
        kind = config.LAYER_KINDS.get(type(layer).__name__)
        if kind is None:
            raise ValueError(f"can only unroll SimpleRNN, LSTM or GRU layers, got {type(layer).__name__}.")
        if not layer.built:
            raise ValueError(f"layer {layer.name!r} is not built yet: call it on data (or fit the model) first.")
        if getattr(layer, "go_backwards", False):
            raise ValueError(f"layer {layer.name!r} runs backwards in time (go_backwards=True); "
                             "the explorer unrolls forward layers only.")
        if kind == "gru" and not getattr(layer, "reset_after", True):
            raise ValueError("the explorer follows Keras 3's GRU with reset_after=True.")
        weights = [np.asarray(w, dtype=np.float64) for w in layer.get_weights()]
        self.kind, self.units = kind, layer.units
        self.kernel, self.recurrent_kernel = weights[0], weights[1]
        gates = len(config.GATE_NAMES[kind]) or 1
        self.bias = weights[2] if len(weights) > 2 else np.zeros(
            (2, gates * self.units) if kind == "gru" else (gates * self.units,))
        self.activation = _activation_name(layer.activation, "activations", config.ACTIVATIONS)
        self.recurrent_activation = "sigmoid"
        if kind != "simple_rnn":
            self.recurrent_activation = _activation_name(layer.recurrent_activation, "recurrent activations",
                                                         config.RECURRENT_ACTIVATIONS)
        self.source = f"{config.CELL_NAMES[kind]} layer {layer.name!r}"

    def _fresh(self, cell, units, activation, seed, sequences):
        if cell not in config.CELLS:
            raise ValueError(f"cell must be one of {list(config.CELLS)}, got {cell!r}.")
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}.")
        features = self._feature_count(sequences)
        rng = np.random.default_rng(seed)
        gates = len(config.GATE_NAMES[cell]) or 1
        self.kind, self.units = cell, units
        self.kernel = _glorot(rng, features, gates * units)
        self.recurrent_kernel = np.concatenate([_orthogonal(rng, units) for _ in range(gates)], axis=1)
        if cell == "gru":
            self.bias = np.zeros((2, 3 * units))
        else:
            self.bias = np.zeros(gates * units)
            if cell == "lstm":
                self.bias[units:2 * units] = 1.0   # Keras's unit_forget_bias
        self.activation = _activation_name(activation, "activations", config.ACTIVATIONS)
        self.recurrent_activation = "sigmoid"
        self.source = f"fresh {config.CELL_NAMES[cell]} weights (seed {seed})"

    @staticmethod
    def _feature_count(sequences):
        first = sequences[0] if isinstance(sequences, (list, tuple)) else np.asarray(sequences)
        first = np.asarray(first)
        if first.ndim == 3:
            first = first[0]
        return 1 if first.ndim == 1 else first.shape[-1]

    def as_layer(self, recurrent_scale=None, activation=None):
        """A minikeras layer with the explorer's current weights (for checking its numbers)."""
        from ... import layers
        scale = self.recurrent_scale if recurrent_scale is None else recurrent_scale
        act = activation or self.activation
        cls = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[self.kind]
        kwargs = {} if self.kind == "simple_rnn" else {"recurrent_activation": self.recurrent_activation}
        layer = cls(self.units, activation=act, return_sequences=True, **kwargs)
        layer.build((None, None, self.kernel.shape[0]))
        layer.set_weights([self.kernel, self.recurrent_kernel * scale, self.bias])
        return layer

    # ------------------------------------------------------------------ data
    def _prepare(self, sequences):
        # With a model, an array's first axis always indexes samples (its inputs may be token
        # ids of shape (N, T)); without one, a 1-D or 2-D array is a single sequence.
        if not self._prefix and isinstance(sequences, np.ndarray) and sequences.dtype != object \
                and sequences.ndim in (1, 2):
            items = [sequences]
        else:
            items = list(sequences)
        out = []
        for i, s in enumerate(items):
            s = np.asarray(s)
            if self._prefix:
                s = self._through_prefix(s)
            s = np.asarray(s, dtype=np.float64)
            if s.ndim == 1:
                s = s[:, None]
            if s.ndim != 2 or s.shape[1] != self.kernel.shape[0] or len(s) == 0:
                raise ValueError(f"sequence {i} has shape {s.shape} at the recurrent layer; expected "
                                 f"(time steps >= 1, {self.kernel.shape[0]}).")
            out.append(s)
        if not out:
            raise ValueError("no sequences given.")
        return out

    def _through_prefix(self, s):
        from ... import ops
        x = ops.convert_to_tensor(s[None])
        for layer in self._prefix:
            x = layer(x)
        return np.asarray(x)[0]

    @property
    def sequence(self):
        return self.sequences[self.index]

    @property
    def T(self):
        return len(self.sequence)

    # ------------------------------------------------------------------ controls
    def set(self, recurrent_scale=None, activation=None):
        if recurrent_scale is not None:
            scale = float(recurrent_scale)
            if not np.isfinite(scale) or scale < 0:
                raise ValueError(f"recurrent_scale must be a finite number >= 0, got {recurrent_scale!r}.")
            self.recurrent_scale = scale
        if activation is not None:
            self.activation = _activation_name(activation, "activations", config.ACTIVATIONS)
        self._cache = None

    def select(self, index):
        if not 0 <= index < len(self.sequences):
            raise IndexError(f"sequence index {index} out of range [0, {len(self.sequences)}).")
        self.index, self.t, self._cache = int(index), 0, None

    def goto(self, t):
        self.t = int(np.clip(t, 0, self.T))
        return self.t

    def step(self):
        """One time step forward (stays at the end); returns the new step number."""
        return self.goto(self.t + 1)

    def back(self):
        return self.goto(self.t - 1)

    def reset(self):
        return self.goto(0)

    @property
    def at_end(self):
        return self.t >= self.T

    # ------------------------------------------------------------------ forward and backward
    def _weights(self):
        return self.kernel, self.recurrent_kernel * self.recurrent_scale, self.bias

    def trace(self):
        """Forward pass over the selected sequence: states for steps 0..T, gates for 1..T."""
        if self._cache is None:
            self._cache = {"forward": getattr(self, f"_forward_{self.kind}")(self.sequence)}
        return self._cache["forward"]

    def _forward_simple_rnn(self, x):
        W, U, b = self._weights()
        act, _ = ACT[self.activation]
        T, n = len(x), self.units
        h = np.zeros((T + 1, n))
        z = np.zeros((T, n))
        xw = x @ W + b
        for t in range(T):
            z[t] = xw[t] + h[t] @ U
            h[t + 1] = act(z[t])
        return {"h": h, "pre": z, "gates": {}}

    def _forward_lstm(self, x):
        W, U, b = self._weights()
        act, _ = ACT[self.activation]
        rec, _ = ACT[self.recurrent_activation]
        T, n = len(x), self.units
        h, c, tc = np.zeros((T + 1, n)), np.zeros((T + 1, n)), np.zeros((T, n))
        z = np.zeros((T, 4 * n))
        gates = {k: np.zeros((T, n)) for k in "ifco"}
        xw = x @ W + b
        for t in range(T):
            z[t] = xw[t] + h[t] @ U
            i, f = rec(z[t, :n]), rec(z[t, n:2 * n])
            g, o = act(z[t, 2 * n:3 * n]), rec(z[t, 3 * n:])
            c[t + 1] = f * c[t] + i * g
            tc[t] = act(c[t + 1])
            h[t + 1] = o * tc[t]
            for k, v in zip("ifco", (i, f, g, o)):
                gates[k][t] = v
        return {"h": h, "c": c, "pre": z, "tanh_c": tc, "gates": gates}

    def _forward_gru(self, x):
        W, U, b = self._weights()
        act, _ = ACT[self.activation]
        rec, _ = ACT[self.recurrent_activation]
        T, n = len(x), self.units
        h = np.zeros((T + 1, n))
        inner_all, pre_h = np.zeros((T, 3 * n)), np.zeros((T, n))
        gates = {k: np.zeros((T, n)) for k in "zrh"}
        xw = x @ W + b[0]
        for t in range(T):
            inner = h[t] @ U + b[1]
            inner_all[t] = inner
            zg = rec(xw[t, :n] + inner[:n])
            r = rec(xw[t, n:2 * n] + inner[n:2 * n])
            pre_h[t] = xw[t, 2 * n:] + r * inner[2 * n:]
            hh = act(pre_h[t])
            h[t + 1] = zg * h[t] + (1.0 - zg) * hh
            for k, v in zip("zrh", (zg, r, hh)):
                gates[k][t] = v
        return {"h": h, "pre": xw, "inner": inner_all, "pre_h": pre_h, "gates": gates}

    def gradients(self):
        """Backward pass of ``L = readout . h_T``: ``dh[t] = dL/dh_t`` for t = 0..T (``dc`` for
        the LSTM, with h_t and c_t taken as separate inputs of the rest of the sequence), ``dx[t]
        = dL/dx_{t+1}`` for the inputs, and ``norms[t] = |dL/dh_t|``."""
        fwd = self.trace()
        if "backward" not in self._cache:
            grads = getattr(self, f"_backward_{self.kind}")(self.sequence, fwd)
            grads["norms"] = np.linalg.norm(grads["dh"], axis=1)
            self._cache["backward"] = grads
        return self._cache["backward"]

    def _backward_simple_rnn(self, x, fwd):
        W, U, _ = self._weights()
        _, dact = ACT[self.activation]
        T = len(x)
        dh = np.zeros((T + 1, self.units))
        dx = np.zeros_like(x)
        dh[T] = self.readout
        for t in range(T - 1, -1, -1):
            dz = dh[t + 1] * dact(fwd["pre"][t], fwd["h"][t + 1])
            dh[t] = dz @ U.T
            dx[t] = dz @ W.T
        return {"dh": dh, "dx": dx}

    def _backward_lstm(self, x, fwd):
        W, U, _ = self._weights()
        _, dact = ACT[self.activation]
        _, drec = ACT[self.recurrent_activation]
        T, n = len(x), self.units
        dh, dc = np.zeros((T + 1, n)), np.zeros((T + 1, n))
        dx = np.zeros_like(x)
        dh[T] = self.readout
        g, z, c, tc = fwd["gates"], fwd["pre"], fwd["c"], fwd["tanh_c"]
        for t in range(T - 1, -1, -1):
            i, f, cc, o = g["i"][t], g["f"][t], g["c"][t], g["o"][t]
            d_c = dc[t + 1] + dh[t + 1] * o * dact(c[t + 1], tc[t])
            dz = np.concatenate([
                d_c * cc * drec(z[t, :n], i),
                d_c * c[t] * drec(z[t, n:2 * n], f),
                d_c * i * dact(z[t, 2 * n:3 * n], cc),
                dh[t + 1] * tc[t] * drec(z[t, 3 * n:], o),
            ])
            dc[t] = d_c * f
            dh[t] = dz @ U.T
            dx[t] = dz @ W.T
        return {"dh": dh, "dc": dc, "dx": dx}

    def _backward_gru(self, x, fwd):
        W, U, _ = self._weights()
        _, dact = ACT[self.activation]
        _, drec = ACT[self.recurrent_activation]
        T, n = len(x), self.units
        dh = np.zeros((T + 1, n))
        dx = np.zeros_like(x)
        dh[T] = self.readout
        g, xw, inner, pre_h, h = fwd["gates"], fwd["pre"], fwd["inner"], fwd["pre_h"], fwd["h"]
        for t in range(T - 1, -1, -1):
            zg, r, hh = g["z"][t], g["r"][t], g["h"][t]
            d = dh[t + 1]
            d_zpre = d * (h[t] - hh) * drec(xw[t, :n] + inner[t, :n], zg)
            d_hpre = d * (1.0 - zg) * dact(pre_h[t], hh)
            d_rpre = d_hpre * inner[t, 2 * n:] * drec(xw[t, n:2 * n] + inner[t, n:2 * n], r)
            d_inner = np.concatenate([d_zpre, d_rpre, d_hpre * r])
            dh[t] = d * zg + d_inner @ U.T
            dx[t] = np.concatenate([d_zpre, d_rpre, d_hpre]) @ W.T
        return {"dh": dh, "dx": dx}

    # ------------------------------------------------------------------ what the views show
    def output(self):
        """The read-out ``L = readout . h_T`` for the selected sequence."""
        return float(self.trace()["h"][-1] @ self.readout)

    def state(self, t=None):
        """Everything at step ``t`` (default: the current one): h, c, gates, gradient norm."""
        t = self.t if t is None else int(t)
        fwd, grads = self.trace(), self.gradients()
        out = {"t": t, "h": fwd["h"][t], "grad_norm": float(grads["norms"][t]), "gates": {}}
        if "c" in fwd:
            out["c"] = fwd["c"][t]
            out["grad_c_norm"] = float(np.linalg.norm(grads["dc"][t]))
        if t >= 1:
            out["x"] = self.sequence[t - 1]
            out["gates"] = {k: v[t - 1] for k, v in fwd["gates"].items()}
        return out

    def gradient_ratio(self):
        """|dL/dh_0| / |dL/dh_T|: below 1 the gradient vanishes on its way back, above 1 it grows."""
        norms = self.gradients()["norms"]
        return float(norms[0] / norms[-1]) if norms[-1] > 0 else float("nan")

    def describe(self):
        return (f"{config.CELL_NAMES[self.kind]} ({self.units} units, activation {self.activation}, "
                f"recurrent scale {self.recurrent_scale:g}) from {self.source}; sequence {self.index + 1}"
                f"/{len(self.sequences)}, step {self.t}/{self.T}")
