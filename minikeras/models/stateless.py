"""Keras 3's stateless model API and the PyTorch-style ``zero_grad``: the custom training
steps of Deep Learning with Python ch. 7, on minikeras's own gradients.

``stateless_call(trainable_values, non_trainable_values, x, training=...)`` runs the model with
the given values in place of its variables and returns the outputs with the new non-trainable
values (e.g. BatchNormalization's moving statistics); the model keeps its own. The layers run
on the model's variables, holding the given values for the length of the call, and the graph
they record is then handed to the given tensors (``autodiff.rebind_leaves``), so
``value_and_grad`` differentiates with respect to what it was given, as ``jax.value_and_grad``.
(So, for the length of the call, the model's variables hold other values: do not run the same
model from another thread meanwhile.)

A ``train_step(self, state, data)`` written for JAX (two arguments, returning ``(logs, state)``)
is run by ``fit`` with ``state = (trainable, non_trainable, optimizer, metric values)``, and
the state it returns is written back into the variables after every step.
"""
import inspect

import numpy as np

from .. import backend
from ..autodiff import Tensor, as_array, rebind_leaves
from ..tree import flatten


def _stand_in(variable, given, what):
    """The tensor that plays ``variable`` during a stateless call: a given tensor itself (so a
    gradient can reach it), or a constant holding a given array (in the variable's dtype)."""
    arr = variable.value
    if isinstance(given, Tensor):
        t = given
    else:
        xp = backend.get_array_module(arr)
        value = as_array(given)
        t = Tensor(xp.asarray(backend.to_numpy(value) if xp is np else value, dtype=arr.dtype))
    if tuple(t.value.shape) != tuple(arr.shape):
        raise ValueError(f"stateless_call: the value given in `{what}` for variable {variable.path!r} has "
                         f"shape {tuple(t.value.shape)}, expected {tuple(arr.shape)}.")
    return t


class StatelessModel:
    """Mixed into ``Model`` (through ``Trainer``): stateless_call, zero_grad, JAX-style train_step."""

    def stateless_call(self, trainable_variables, non_trainable_variables, *args, return_losses=False,
                       **kwargs):
        """Call the model with ``trainable_variables``/``non_trainable_variables`` (values in the
        order of ``model.trainable_variables``/``non_trainable_variables``) instead of its own:
        returns ``(outputs, new non_trainable values)``, plus the losses the call added
        (regularization penalties included) with ``return_losses=True``."""
        if not self.built:
            raise ValueError(f"To call stateless_call, {type(self).__name__} must be built (its variables must "
                             "exist). Build it by calling it on some data.")
        groups = []
        for what, given, own in (("trainable_variables", trainable_variables, self.trainable_variables),
                                 ("non_trainable_variables", non_trainable_variables,
                                  self.non_trainable_variables)):
            given = list(given)
            if len(given) != len(own):
                raise ValueError(f"Argument `{what}` must be a list of tensors corresponding 1:1 to "
                                 f"{type(self).__name__}().{what}. Received list with length {len(given)}, "
                                 f"but expected {len(own)} variables.")
            groups.append([(v, _stand_in(v, x, what)) for v, x in zip(own, given)])
        pairs = groups[0] + groups[1]
        saved = [(v, v.value, v.requires_grad) for v, _ in pairs]
        try:
            for v, s in pairs:
                v.value, v.requires_grad = s.value, s.requires_grad
            outputs = self(*args, **kwargs)
            losses = list(self.losses) if return_losses else None
            new_non_trainable = [Tensor(v.value) for v, _ in groups[1]]
        finally:
            for v, value, requires_grad in saved:
                v.value, v.requires_grad = value, requires_grad
        substitutes = {id(v): s for v, s in pairs if s.requires_grad and s is not v}
        if substitutes:
            given_tensors = [t for t in flatten(list(args)) + flatten(list(kwargs.values())) if isinstance(t, Tensor)]
            rebind_leaves(flatten(outputs) + (losses or []), substitutes, stop_at=given_tensors)
        if return_losses:
            return outputs, new_non_trainable, losses
        return outputs, new_non_trainable

    # ------------------------------------------------------------------ the PyTorch-style step
    def zero_grad(self, set_to_none=True):
        """Clear the ``.grad`` that ``loss.backward()`` accumulated on every weight (PyTorch's
        ``Module.zero_grad``): None by default, zeros with ``set_to_none=False``."""
        for v in self.weights:
            if set_to_none or v.grad is None:
                v.grad = None
            else:
                v.grad = Tensor(backend.get_array_module(v.value).zeros_like(v.value))

    # ------------------------------------------------------------------ JAX-style train_step
    def _train_step_takes_state(self):
        """True when ``train_step`` is written JAX-style: ``train_step(self, state, data)``."""
        try:
            params = inspect.signature(self.train_step).parameters.values()
        except (TypeError, ValueError):
            return False
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                      and p.default is p.empty]
        return len(positional) == 2

    def _state_groups(self):
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        metrics_variables = [v for m in self.metrics for v in m.variables]
        return (self.trainable_variables, self.non_trainable_variables, self.optimizer.variables,
                metrics_variables)

    def _stateless_train_step(self, data):
        """Run a JAX-style ``train_step(state, data)`` and write the state it returns back."""
        groups = self._state_groups()
        state = tuple([v.value for v in group] for group in groups)
        out = self.train_step(state, data)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError(f"{type(self).__name__}.train_step(state, data) must return (logs, state).")
        logs, new_state = out
        names = ("trainable_variables", "non_trainable_variables", "optimizer_variables", "metrics_variables")
        if len(new_state) != len(groups):
            raise ValueError(f"{type(self).__name__}.train_step(state, data) must return a state of "
                             f"{len(groups)} lists {names}, got {len(new_state)}.")
        for name, group, values in zip(names, groups, new_state):
            values = list(values)
            if len(values) != len(group):
                raise ValueError(f"{type(self).__name__}.train_step: the returned {name} has {len(values)} "
                                 f"values for {len(group)} variables.")
            for v, value in zip(group, values):
                if value is not v and as_array(value) is not v.value:
                    v.assign(value)
        return logs
