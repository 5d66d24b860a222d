"""RMSprop: divide the step by a running root-mean-square of recent gradients.

Rules (Keras 3)::

    v <- rho * v + (1 - rho) * g^2
    centered:  a <- rho * a + (1 - rho) * g;  denom = v - a^2 + eps   else  denom = v + eps
    inc = lr * g / sqrt(denom)
    momentum > 0:  m <- momentum * m + inc;  w <- w - m      else  w <- w - inc
"""
from .base import Optimizer


class RMSprop(Optimizer):
    """RMSprop with Keras 3 defaults: lr 0.001, rho 0.9, momentum 0, epsilon 1e-7, not centered."""

    def __init__(self, learning_rate=None, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        # weight_decay, clipnorm, clipvalue, global_clipnorm, ..., name: see ``Optimizer``
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _build_slots(self, var_list):
        self._velocities = self._add_slots(var_list, "velocity")
        self._momentums = self._add_slots(var_list, "momentum") if self.momentum > 0 else []
        self._average_gradients = self._add_slots(var_list, "average_gradient") if self.centered else []

    def _update(self, grads, arrays, indices, lr):
        scratch = self._scratch_views()
        rho, eps, mu = self.rho, self.epsilon, self.momentum
        for g, a, i in zip(grads, arrays, indices):
            xp, t = self._xps[i], a.dtype.type
            s, s2 = scratch[i]
            v = self._velocities[i].value
            v *= t(rho)
            xp.multiply(g, g, out=s)
            s *= t(1 - rho)
            v += s
            xp.add(v, t(eps), out=s)
            if self.centered:
                avg = self._average_gradients[i].value
                avg *= t(rho)
                xp.multiply(g, t(1 - rho), out=s2)
                avg += s2
                xp.multiply(avg, avg, out=s2)
                s -= s2
            xp.sqrt(s, out=s)
            xp.multiply(g, t(lr), out=s2)
            s2 /= s
            if mu > 0:
                m = self._momentums[i].value
                m *= t(mu)
                m += s2
                a -= m
            else:
                a -= s2

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
