"""Stochastic gradient descent, optionally with (Nesterov) momentum.

Rules (Keras 3), with learning rate ``lr`` and momentum ``mu``::

    plain:     w <- w - lr * g
    momentum:  m <- mu * m - lr * g;  w <- w + m
    nesterov:  m <- mu * m - lr * g;  w <- w + mu * m - lr * g
"""
from .base import Optimizer, _is_number


class SGD(Optimizer):
    """Gradient descent with optional momentum; defaults as Keras 3 (lr 0.01, no momentum)."""

    _default_learning_rate = 0.01

    def __init__(self, learning_rate=None, momentum=0.0, nesterov=False, **kwargs):
        # weight_decay, clipnorm, clipvalue, global_clipnorm, ..., name: see ``Optimizer``
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not _is_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float in [0, 1], got {momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.momentums = []

    def _build_slots(self, var_list):
        self.momentums = self._add_slots(var_list, "momentum") if self.momentum != 0 else []

    def _update(self, grads, arrays, indices, lr):
        # In place, through scratch buffers: no allocation per step. (SciPy's BLAS axpy would
        # fuse the two passes, but a second OpenBLAS thread pool fights NumPy's and made whole
        # training steps 10-25x slower, so NumPy's own ufuncs are used.)
        scratch = self._scratch_views()
        xps = self._xps
        if self.momentum == 0:
            for g, a, i in zip(grads, arrays, indices):
                s = scratch[i][0]
                xps[i].multiply(g, a.dtype.type(lr), out=s)
                a -= s
            return
        mu = self.momentum
        nesterov = self.nesterov
        slots = self.momentums
        for g, a, i in zip(grads, arrays, indices):
            m = slots[i].value
            s = scratch[i][0]
            t = a.dtype.type
            m *= t(mu)
            self._xps[i].multiply(g, t(lr), out=s)
            m -= s
            if nesterov:
                a -= s
                self._xps[i].multiply(m, t(mu), out=s)
                a += s
            else:
                a += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config

