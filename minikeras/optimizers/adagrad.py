"""Adagrad: per-coordinate steps shrink with the sum of all past squared gradients.

Rules (Keras 3)::

    acc <- acc + g^2                 (acc starts at initial_accumulator_value)
    w   <- w - lr * g / sqrt(acc + epsilon)

Because ``acc`` only grows, the effective step keeps shrinking and training can stall.
"""
from .base import Optimizer


class Adagrad(Optimizer):
    """Adagrad with Keras 3 defaults: lr 0.001, initial_accumulator_value 0.1, epsilon 1e-7."""

    def __init__(self, learning_rate=None, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        # weight_decay, clipnorm, clipvalue, global_clipnorm, ..., name: see ``Optimizer``
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _build_slots(self, var_list):
        self._accumulators = self._add_slots(var_list, "accumulator",
                                             initial_value=self.initial_accumulator_value)

    def _update(self, grads, arrays, indices, lr):
        scratch = self._scratch_views()
        eps = self.epsilon
        for g, a, i in zip(grads, arrays, indices):
            xp, t = self._xps[i], a.dtype.type
            s, s2 = scratch[i]
            acc = self._accumulators[i].value
            xp.multiply(g, g, out=s)
            acc += s
            xp.add(acc, t(eps), out=s)
            xp.sqrt(s, out=s)
            xp.multiply(g, t(lr), out=s2)
            s2 /= s
            a -= s2

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config
