"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule.

Rules (Keras 3), with ``t = iterations + 1`` and ``mu_t = beta_1 * (1 - 0.5 * 0.96^t)``::

    P_t = P_{t-1} * mu_t          (running product, stored as a state variable)
    m <- beta_1 * m + (1 - beta_1) * g;   v <- beta_2 * v + (1 - beta_2) * g^2
    m_hat = mu_{t+1} * m / (1 - P_t * mu_{t+1}) + (1 - mu_t) * g / (1 - P_t)
    v_hat = v / (1 - beta_2^t)
    w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)
"""
from .base import Optimizer


class Nadam(Optimizer):
    """Nadam with Keras 3 defaults: lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7."""

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        # weight_decay, clipnorm, clipvalue, global_clipnorm, ..., name: see ``Optimizer``
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _build_slots(self, var_list):
        self._momentums, self._velocities = self._add_slots(var_list, ["momentum", "velocity"])
        dtype = var_list[0].value.dtype if var_list else "float32"
        self._u_product = self._scalar_variable(1.0, dtype, "u_product")
        self._variables.append(self._u_product)

    def _update(self, grads, arrays, indices, lr):
        scratch = self._scratch_views()
        t = self._u_product.value.dtype.type
        b1, b2, eps = t(self.beta_1), t(self.beta_2), self.epsilon
        step = t(int(self._iterations.value) + 1)
        decay = t(0.96)
        u_t = b1 * (t(1) - t(0.5) * decay ** step)
        u_t1 = b1 * (t(1) - t(0.5) * decay ** (step + t(1)))
        u_prod = t(self._u_product.value) * u_t
        u_prod1 = u_prod * u_t1
        b2_pow = b2 ** step
        self._u_product.value[...] = u_prod
        c_v = t(1) - b2_pow
        for g, a, i in zip(grads, arrays, indices):
            xp, tt = self._xps[i], a.dtype.type
            s, s2 = scratch[i]
            m = self._momentums[i].value
            v = self._velocities[i].value
            m *= tt(b1)
            xp.multiply(g, tt(1 - self.beta_1), out=s)
            m += s
            v *= tt(b2)
            xp.multiply(g, g, out=s)
            s *= tt(1 - self.beta_2)
            v += s
            xp.multiply(m, tt(u_t1), out=s)
            s /= tt(t(1) - u_prod1)
            xp.multiply(g, tt(t(1) - u_t), out=s2)
            s2 /= tt(t(1) - u_prod)
            s += s2                      # m_hat
            xp.divide(v, tt(c_v), out=s2)
            xp.sqrt(s2, out=s2)
            s2 += tt(eps)
            s *= tt(lr)
            s /= s2
            a -= s

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
