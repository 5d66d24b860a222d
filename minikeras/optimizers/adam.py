"""Adam (and AMSGrad, and AdamW = Adam with decoupled weight decay).

Rules (Keras 3), with step ``t = iterations + 1``::

    m <- beta_1 * m + (1 - beta_1) * g
    v <- beta_2 * v + (1 - beta_2) * g^2            (amsgrad: v_hat <- max(v_hat, v), use v_hat)
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    w <- w - alpha * m / (sqrt(v) + epsilon)

The bias correction is folded into ``alpha`` (epsilon is therefore not bias-corrected),
exactly as Keras does; this differs slightly from the paper's Algorithm 1.
"""
import numpy as np

from .base import Optimizer


class Adam(Optimizer):
    """Adam with Keras 3 defaults: lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7."""

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        # weight_decay, clipnorm, clipvalue, global_clipnorm, ..., name: see ``Optimizer``
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def _build_slots(self, var_list):
        self._momentums, self._velocities = self._add_slots(var_list, ["momentum", "velocity"])
        self._velocity_hats = self._add_slots(var_list, "velocity_hat") if self.amsgrad else []

    def _update(self, grads, arrays, indices, lr):
        scratch = self._scratch_views()
        b1, b2, eps = self.beta_1, self.beta_2, self.epsilon
        # Scalars in the variables' dtype, as Keras computes them.
        t = arrays[0].dtype.type
        step = t(int(self._iterations.value) + 1)
        alpha = t(lr) * np.sqrt(t(1) - t(b2) ** step) / (t(1) - t(b1) ** step)
        for g, a, i in zip(grads, arrays, indices):
            xp, tt = self._xps[i], a.dtype.type
            s, s2 = scratch[i]
            m = self._momentums[i].value
            v = self._velocities[i].value
            m *= tt(b1)
            xp.multiply(g, tt(1 - b1), out=s)
            m += s
            v *= tt(b2)
            xp.multiply(g, g, out=s)
            s *= tt(1 - b2)
            v += s
            if self.amsgrad:
                vh = self._velocity_hats[i].value
                xp.maximum(vh, v, out=vh)
                v = vh
            xp.sqrt(v, out=s)
            s += tt(eps)
            xp.multiply(m, tt(alpha), out=s2)
            s2 /= s
            a -= s2

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras 3 default ``weight_decay=0.004``)."""

    def __init__(self, learning_rate=None, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a number; use Adam for no weight decay.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
