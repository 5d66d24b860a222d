"""Stochastic gradient descent, optionally with (Nesterov) momentum.

Rules (Keras 3), with learning rate ``lr`` and momentum ``mu``::

    plain:     w <- w - lr * g
    momentum:  m <- mu * m - lr * g;  w <- w + m
    nesterov:  m <- mu * m - lr * g;  w <- w + mu * m - lr * g
"""
from .base import Optimizer, _blas_axpy, _SCAL, _is_number


class SGD(Optimizer):
    """Gradient descent with optional momentum; defaults as Keras 3 (lr 0.01, no momentum)."""

    _default_learning_rate = 0.01

    def __init__(self, learning_rate=None, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        if not _is_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float in [0, 1], got {momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.momentums = []
        self._flat_cache = []

    def _build_slots(self, var_list):
        self.momentums = self._add_slots(var_list, "momentum") if self.momentum != 0 else []

    def _flat(self, i, a):
        """Flat view of ``a`` for BLAS and the BLAS routine, or None (cached per variable)."""
        cache = self._flat_cache
        if not cache:
            cache.extend([None] * len(self._trainable_variables))
        entry = cache[i]
        if entry is None or entry[0] is not a:
            axpy = _blas_axpy(a)
            entry = cache[i] = (a, a.reshape(-1) if axpy is not None else None, axpy, a.size)
        return entry

    def _update(self, grads, arrays, indices, lr):
        if self.momentum == 0:
            # The hot path: one fused BLAS pass per variable, a += (-lr) * g, in place.
            neg_lr = -lr
            cache = self._flat_cache
            for g, a, i in zip(grads, arrays, indices):
                entry = cache[i] if cache else None
                if entry is None or entry[0] is not a:
                    entry = self._flat(i, a)
                if entry[2] is not None:  # positional (x, y, n, a): kwargs cost more than the math
                    entry[2](g.reshape(-1), entry[1], entry[3], neg_lr)
                else:
                    s = self._scratch_views()[i][0]
                    self._xps[i].multiply(g, a.dtype.type(lr), out=s)
                    a -= s
            return
        mu = self.momentum
        nesterov = self.nesterov
        slots = self.momentums
        for g, a, i in zip(grads, arrays, indices):
            m = slots[i].value
            _, af, axpy, _ = self._flat(i, a)
            if axpy is not None and _blas_axpy(m) is axpy:
                mf, gf = m.reshape(-1), g.reshape(-1)
                _SCAL[a.dtype](mu, mf)
                axpy(gf, mf, a=-lr)
                if nesterov:
                    axpy(gf, af, a=-lr)
                    axpy(mf, af, a=mu)
                else:
                    axpy(mf, af, a=1.0)
                continue
            s = self._scratch_views()[i][0]
            xp, t = self._xps[i], a.dtype.type
            m *= t(mu)
            xp.multiply(g, t(lr), out=s)
            m -= s
            if nesterov:
                a -= s
                xp.multiply(m, t(mu), out=s)
                a += s
            else:
                a += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config

