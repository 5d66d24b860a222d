"""The ``Optimizer`` base class: bookkeeping shared by every update rule.

The base class owns everything that is not the update formula itself: the learning
rate (a number, a schedule or a callable), the step counter, gradient clipping,
weight decay, the Keras-2 ``decay=`` power schedule, slot creation, constraints and
saving/restoring state. Subclasses only implement ``_update`` on raw arrays.

Speed matters because ``apply`` runs once per training batch. The hot path therefore
works on raw arrays (``Variable.value``) updated in place, reuses preallocated scratch
buffers, never builds Tensors and never looks variables up by name: when the caller
passes the same variables the optimizer was built with (the normal case), their slot
indices are known already.
"""
import warnings

import numpy as np

from .. import backend, naming
from ..autodiff import Tensor
from ..variables import Variable
from . import schedules as _schedules


def _host_scalar(value, dtype):
    """A 0-d NumPy array: scalar state lives on the host so reading it never syncs a GPU."""
    return np.asarray(value, dtype=dtype).reshape(())


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


class Optimizer:
    """Base class of all optimizers (Keras 3 API, plus the Keras 2 ``lr=``/``decay=`` spellings).

    Args:
        learning_rate: float, ``LearningRateSchedule`` (called with ``iterations``) or a
            zero-argument callable. ``lr`` is accepted as an alias.
        weight_decay: decoupled decay, ``w *= 1 - weight_decay * lr`` before each update.
        clipnorm / clipvalue / global_clipnorm: gradient clipping (at most one of them).
        loss_scale_factor: gradients are divided by it before the update.
        decay: Keras 2 power schedule, ``lr / (1 + decay * iterations)``.
        name: optimizer name (slot variables are named ``<name>/<variable>_<slot>``).
    """

    _default_learning_rate = 0.001

    def __init__(self, learning_rate=None, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls = type(self).__name__
        if "lr" in kwargs:
            lr = kwargs.pop("lr")
            if learning_rate is not None and learning_rate != lr:
                raise ValueError(f"{cls}: pass either `learning_rate` or its alias `lr`, not both "
                                 f"(got learning_rate={learning_rate}, lr={lr}).")
            learning_rate = lr
        decay = kwargs.pop("decay", None)
        if kwargs:
            raise ValueError(f"{cls}: argument(s) not recognized: {sorted(kwargs)}.")
        if learning_rate is None:
            learning_rate = self._default_learning_rate
        if use_ema:
            raise NotImplementedError(f"{cls}: `use_ema=True` is not supported by minikeras.")
        if gradient_accumulation_steps:
            raise NotImplementedError(f"{cls}: `gradient_accumulation_steps` is not supported by minikeras.")
        n_clip = sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm))
        if n_clip > 1:
            raise ValueError(f"{cls}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}.")
        for arg, val in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                         ("global_clipnorm", global_clipnorm), ("weight_decay", weight_decay),
                         ("decay", decay), ("loss_scale_factor", loss_scale_factor)):
            if val is not None and (not _is_number(val) or val < 0):
                raise ValueError(f"{cls}: `{arg}` must be a non-negative number, got {val!r}.")
        self.name = name or naming.unique_name(naming.to_snake_case(cls))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.decay = float(decay) if decay else 0.0
        self.built = False
        self._trainable_variables = []
        self._index = {}
        self._all_indices = []
        self._xps = []
        self._scratch = None
        self._pending_state = None
        self._exclude_ids = set()
        self._exclude_names = ()
        self._decay_mask = []
        self._iterations = self._scalar_variable(0, "int64", "iteration")
        self._variables = [self._iterations]
        self._lr_var = None
        self._learning_rate = None
        self._set_learning_rate(learning_rate, initial=True)

    # -- scalar state ------------------------------------------------------
    def _scalar_variable(self, value, dtype, name):
        var = Variable(np.asarray(value, dtype=dtype), dtype=dtype, trainable=False, name=name)
        var.value = _host_scalar(value, dtype)
        var.path = f"{self.name}/{name}"
        return var

    @property
    def iterations(self):
        """Number of ``apply`` calls so far (a Variable; ``int(opt.iterations)`` works)."""
        return self._iterations

    @property
    def variables(self):
        """State in a fixed order: iteration, learning_rate (float lr only), then the slots."""
        return list(self._variables)

    # -- learning rate -----------------------------------------------------
    def _set_learning_rate(self, value, initial=False):
        cls = type(self).__name__
        if isinstance(value, Tensor) and not isinstance(value, Variable):
            value = float(value)
        elif isinstance(value, Variable):
            value = float(value.value)
        if isinstance(value, _schedules.LearningRateSchedule) or (callable(value) and not _is_number(value)):
            if self._lr_var is not None:
                self._variables.remove(self._lr_var)
                self._lr_var = None
            self._learning_rate = value
            return
        if not _is_number(value) and not (hasattr(value, "shape") and value.shape == ()):
            raise ValueError(f"{cls}: `learning_rate` must be a float, a LearningRateSchedule or a "
                             f"callable, got {value!r}.")
        value = float(value)
        if not initial and isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError(f"{cls} was created with a LearningRateSchedule, so its learning rate "
                            "cannot be set to a number; create it with a float learning_rate instead.")
        if self._lr_var is None:
            self._lr_var = self._scalar_variable(value, backend.floatx(), "learning_rate")
            self._variables.insert(1, self._lr_var)
        else:
            self._lr_var.value = _host_scalar(value, self._lr_var.value.dtype)
        self._learning_rate = self._lr_var

    @property
    def learning_rate(self):
        """The current learning rate: a Variable for a float lr, else the schedule's value now."""
        lr = self._learning_rate
        if lr is self._lr_var:
            return lr
        if isinstance(lr, _schedules.LearningRateSchedule):
            return lr(self._iterations.value)
        return lr()

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_learning_rate(value)

    lr = learning_rate  # Keras 2 spelling: ``opt.lr`` and ``opt.lr = 0.1``

    def _current_learning_rate(self):
        """The number used for this step (Python float), including the Keras-2 ``decay``."""
        lr = self._learning_rate
        if lr is self._lr_var:
            lr = float(lr.value)
        elif isinstance(lr, _schedules.LearningRateSchedule):
            lr = float(lr(self._iterations.value))
        else:
            lr = float(backend.to_numpy(lr()))
        if self.decay:
            lr = lr / (1.0 + self.decay * float(self._iterations.value))
        return lr

    # -- building -------------------------------------------------------------
    def build(self, var_list):
        """Create the slot variables for ``var_list`` (called lazily by the first ``apply``)."""
        if self.built:
            return
        var_list = list(var_list)
        for i, v in enumerate(var_list):
            if not isinstance(v, Tensor) or not hasattr(v.value, "shape"):
                raise ValueError(f"{type(self).__name__}.build: expected Variables, got {type(v).__name__} "
                                 f"at position {i}.")
        self._trainable_variables = var_list
        self._index = {id(v): i for i, v in enumerate(var_list)}
        self._all_indices = list(range(len(var_list)))
        self._xps = [backend.get_array_module(v.value) for v in var_list]
        self._decay_mask = [self._use_weight_decay(v) for v in var_list]
        self._build_slots(var_list)
        self.built = True
        if self._pending_state is not None:
            store, self._pending_state = self._pending_state, None
            self.load_own_variables(store)

    def _build_slots(self, var_list):
        """Subclasses create their slots here with ``_add_slots``."""

    def _add_slots(self, var_list, names, initial_value=0.0):
        """One zero-filled (or constant) slot per variable and name, on the variable's device.

        Several names are interleaved per variable (``k_m, k_v, b_m, b_v``), the order
        Keras uses, so saved state lines up with Keras's ``optimizer.variables``.
        """
        single = isinstance(names, str)
        names = [names] if single else list(names)
        out = tuple([] for _ in names)
        for v in var_list:
            arr = v.value
            xp = backend.get_array_module(arr)
            base = getattr(v, "path", None) or getattr(v, "name", "variable")
            base = str(base).replace("/", "_").replace(":", "_")
            for k, slot_name in enumerate(names):
                slot = Variable(np.zeros((), dtype=arr.dtype), dtype=arr.dtype, trainable=False,
                                name=f"{base}_{slot_name}")
                slot.value = xp.full(arr.shape, initial_value, dtype=arr.dtype)
                slot.path = f"{self.name}/{slot.name}"
                self._variables.append(slot)
                out[k].append(slot)
        return out[0] if single else out

    def _scratch_views(self):
        """Two scratch arrays per variable, as views into buffers shared by all variables.

        The updates run one variable after another, so one buffer of the largest size
        (per device and dtype) serves all of them without any per-step allocation.
        """
        if self._scratch is None:
            sizes = {}
            for v in self._trainable_variables:
                arr = v.value
                key = (backend.get_array_module(arr), arr.dtype)
                sizes[key] = max(sizes.get(key, 0), arr.size)
            bufs = {key: (key[0].empty(n, dtype=key[1]), key[0].empty(n, dtype=key[1]))
                    for key, n in sizes.items()}
            views = []
            for v in self._trainable_variables:
                arr = v.value
                b = bufs[(backend.get_array_module(arr), arr.dtype)]
                views.append((b[0][:arr.size].reshape(arr.shape), b[1][:arr.size].reshape(arr.shape)))
            self._scratch = views
        return self._scratch

    # -- weight decay ------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for these variables, or for names containing any of ``var_names``."""
        if self.built:
            raise ValueError(f"{type(self).__name__}: `exclude_from_weight_decay()` must be called "
                             "before the optimizer is built.")
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_names = tuple(var_names or ())

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        name = str(getattr(variable, "name", ""))
        return not any(s in name for s in self._exclude_names)

    # -- applying gradients ------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Keras/TF spelling: ``apply_gradients(zip(grads, variables))``; returns ``iterations``."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads = [p[0] for p in pairs]
        variables = [p[1] for p in pairs]
        self.apply(grads, variables)
        return self._iterations

    def _resolve_indices(self, tvars):
        """Slot indices of ``tvars``; free when they are the built list (checked by identity)."""
        built = self._trainable_variables
        if len(tvars) == len(built):
            for a, b in zip(tvars, built):
                if a is not b:
                    break
            else:
                return self._all_indices
        index = self._index
        out = []
        for v in tvars:
            i = index.get(id(v))
            if i is None:
                raise ValueError(
                    f"{type(self).__name__}: unknown variable {getattr(v, 'path', v)!r}. This optimizer "
                    "can only update the variables it was built with; create a new optimizer "
                    "for a different set of variables.")
            out.append(i)
        return out

    def _convert_grad(self, g, arr, var):
        """A gradient given as a Tensor, list or other-device array, as an array like ``arr``."""
        if isinstance(g, Tensor):
            g = g.value
        xp = backend.get_array_module(arr)
        if backend.get_array_module(g) is not xp or not hasattr(g, "dtype"):
            if xp is np and type(g).__module__.startswith("cupy"):
                g = g.get()
            g = xp.asarray(g)
        return g

    def apply(self, grads, trainable_variables=None):
        """Update ``trainable_variables`` in place from ``grads`` (a ``None`` gradient skips its variable).

        One step, in the order of Keras's base optimizer: match the gradients to the variables
        and their slots, unscale and clip the gradients, decay the weights, let the subclass's
        rule update them, project them with their constraints, count the iteration.
        """
        prepared = self._prepare_gradients(grads, trainable_variables)
        if prepared is None:
            return
        tvars, garrs, arrs, ids = prepared
        garrs = self._clip_gradients(garrs)
        lr = self._current_learning_rate()
        self._apply_weight_decay(arrs, ids, lr)
        self._update(garrs, arrs, ids, lr)
        self._apply_constraints(tvars)
        self._increment_iterations()

    def stateless_apply(self, optimizer_variables, grads,
                        trainable_variables=None):
        """Keras 3's stateless step (JAX-style training loops): from the given optimizer state
        and variable values, the new ``(trainable_variables, optimizer_variables)`` after one
        ``apply``; the optimizer's own state and the model's variables are left as they were.

        Both lists follow ``optimizer.variables`` and the variables the optimizer was built
        with; the step runs on copies, so the arrays passed in are never written to.
        """
        cls = type(self).__name__
        if trainable_variables is None:
            raise TypeError(f"{cls}.stateless_apply: `trainable_variables` (the current variable values) is required.")
        if not self.built:
            raise ValueError(f"{cls}.stateless_apply: the optimizer is not built yet; call "
                             "`optimizer.build(variables)` with the model's trainable variables first.")
        own = self._variables + self._trainable_variables
        given = list(optimizer_variables) + list(trainable_variables)
        for what, values, variables in (("optimizer_variables", optimizer_variables, self._variables),
                                        ("trainable_variables", trainable_variables, self._trainable_variables)):
            if len(values) != len(variables):
                raise ValueError(f"{cls}.stateless_apply: `{what}` must hold {len(variables)} values (one per "
                                 f"variable, in order), got {len(values)}.")
        copies = []
        for var, value in zip(own, given):
            arr = var.value
            xp = backend.get_array_module(arr)
            value = value.value if isinstance(value, Tensor) else value
            if xp is np:
                value = backend.to_numpy(value)
            value = xp.array(value, dtype=arr.dtype)  # a copy: the update below is in place
            if value.shape != arr.shape:
                raise ValueError(f"{cls}.stateless_apply: the value for {var.path!r} has shape "
                                 f"{tuple(value.shape)}, expected {tuple(arr.shape)}.")
            copies.append(value)
        saved = [var.value for var in own]
        try:
            for var, value in zip(own, copies):
                var.value = value
            self.apply(grads)
            return ([Tensor(v.value) for v in self._trainable_variables],
                    [Tensor(v.value) for v in self._variables])
        finally:
            for var, value in zip(own, saved):
                var.value = value

    def _prepare_gradients(self, grads, trainable_variables):
        """``(variables, gradient arrays, variable arrays, slot indices)`` for the variables that
        got a gradient, each gradient an array of its variable's module, shape and dtype; the
        optimizer is built on first use. None when there is nothing to update."""
        cls = type(self).__name__
        if grads.__class__ is not list and grads.__class__ is not tuple:
            grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"{cls}.apply: without `trainable_variables` the optimizer must "
                                 "already be built; call `optimizer.build(variables)` first.")
            tvars = self._trainable_variables
            if len(grads) != len(tvars):
                raise ValueError(f"{cls}.apply: got {len(grads)} gradients for the "
                                 f"{len(tvars)} variables the optimizer was built with.")
            idx = self._all_indices
        else:
            tvars = trainable_variables if type(trainable_variables) is list else list(trainable_variables)
            if len(grads) != len(tvars):
                raise ValueError(f"{cls}.apply: got {len(grads)} gradients for {len(tvars)} variables.")
            if not tvars:
                return None
            if not self.built:
                self.build(tvars)
            idx = self._resolve_indices(tvars)

        garrs, arrs, ids, missing = [], [], [], None
        for g, v, i in zip(grads, tvars, idx):
            if g is None:
                missing = (missing or []) + [getattr(v, "path", None) or getattr(v, "name", "?")]
                continue
            arr = v.value
            if g.__class__ is not arr.__class__:
                g = self._convert_grad(g, arr, v)
            if g.shape != arr.shape:
                raise ValueError(f"{cls}.apply: the gradient for variable "
                                 f"{getattr(v, 'path', '?')!r} has shape {tuple(g.shape)}, but the "
                                 f"variable has shape {tuple(arr.shape)}.")
            if g.dtype is not arr.dtype and g.dtype != arr.dtype:
                g = g.astype(arr.dtype)
            garrs.append(g)
            arrs.append(arr)
            ids.append(i)
        if missing:
            if not garrs:
                raise ValueError(f"{cls}.apply: no gradients provided for any variable "
                                 f"(all were None for {missing}).")
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.",
                          stacklevel=3)
        return tvars, garrs, arrs, ids

    def _clip_gradients(self, grads):
        """Undo ``loss_scale_factor``, then clip by ``clipnorm``, ``global_clipnorm`` or
        ``clipvalue`` (the caller's arrays are never modified)."""
        if self.loss_scale_factor is not None:
            s = self.loss_scale_factor
            grads = [g / s for g in grads]
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            grads = self._clip(grads)
        return grads

    def _apply_weight_decay(self, arrays, indices, lr):
        """Decoupled weight decay, ``w *= 1 - weight_decay * lr``, before the update."""
        if not self.weight_decay:
            return
        factor = 1.0 - self.weight_decay * lr
        mask = self._decay_mask
        for a, i in zip(arrays, indices):
            if mask[i]:
                a *= a.dtype.type(factor)

    def _apply_constraints(self, variables):
        """Project each variable that has a ``constraint`` (after the update, as Keras does)."""
        for v in variables:
            c = getattr(v, "constraint", None)
            if c is not None:
                arr = v.value
                new = c(arr)
                if isinstance(new, Tensor):
                    new = new.value
                if new is not arr:
                    arr[...] = new

    def _increment_iterations(self):
        it = self._iterations.value
        it[()] = int(it) + 1  # (an in-place ``+=`` on a 0-d array costs 30x more)

    def _update(self, grads, arrays, indices, lr):
        """Update ``arrays`` in place; ``indices`` say which slots belong to each array."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_update`.")

    # -- clipping ------------------------------------------------------------------
    def _clip(self, grads):
        """Clipped copies of ``grads`` (the caller's arrays are never modified)."""
        if self.clipnorm:
            c = self.clipnorm
            out = []
            for g in grads:
                xp = backend.get_array_module(g)
                norm = xp.sqrt(xp.sum(g * g))
                out.append(g * g.dtype.type(c) / xp.maximum(norm, g.dtype.type(c)))
            return out
        if self.global_clipnorm:
            c = self.global_clipnorm
            xp = backend.get_array_module(grads[0])
            norm = xp.sqrt(sum(xp.sum(g * g) for g in grads))
            # c * min(1/norm, 1/c): 1 when the norm is small (or zero), NaN when it is not finite.
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = c * xp.minimum(1.0 / norm, 1.0 / c) + (norm - norm)
            return [g * scale.astype(g.dtype) for g in grads]
        v = self.clipvalue
        return [backend.get_array_module(g).clip(g, -v, v) for g in grads]

    # -- misc Keras API -------------------------------------------------------------
    def scale_loss(self, loss):
        """Multiply the loss by ``loss_scale_factor`` (identity when it is unset)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def finalize_variable_values(self, var_list):
        """Hook ``fit`` calls at the end of training (nothing to do without EMA)."""

    # -- state: save / restore ------------------------------------------------------
    def get_weights(self):
        return [backend.to_numpy(v.value).copy() for v in self._variables]

    def set_weights(self, weights):
        if not self.built:
            raise ValueError(f"{type(self).__name__}.set_weights: the optimizer is not built yet; call "
                             "`optimizer.build(trainable_variables)` first.")
        weights = list(weights)
        if len(weights) != len(self._variables):
            raise ValueError(f"{type(self).__name__}.set_weights: expected {len(self._variables)} "
                             f"arrays, got {len(weights)}.")
        for var, w in zip(self._variables, weights):
            self._write(var, w)

    def _write(self, var, value):
        """Copy ``value`` into ``var`` in place (keeps the device and dtype of the slot)."""
        arr = var.value
        xp = backend.get_array_module(arr)
        if isinstance(value, Tensor):
            value = value.value
        if xp is np:
            value = backend.to_numpy(value)
        new = xp.asarray(value).astype(arr.dtype, copy=False)
        if tuple(new.shape) != tuple(arr.shape):
            raise ValueError(f"{type(self).__name__}: optimizer variable {var.path!r} has shape "
                             f"{tuple(arr.shape)}, but the value to load has shape {tuple(new.shape)}.")
        arr[...] = new

    def save_own_variables(self, store):
        """Write the state into ``store`` as ``{"0": array, "1": array, ...}`` (Keras layout)."""
        for i, var in enumerate(self._variables):
            store[str(i)] = backend.to_numpy(var.value).copy()

    def load_own_variables(self, store):
        """Restore state written by ``save_own_variables``, so training continues exactly.

        Before ``build`` the state is kept and applied once the slots exist.
        """
        n = len(store.keys())
        if not self.built and n > len(self._variables):
            self._pending_state = {k: store[k] for k in store.keys()}
            return
        if n != len(self._variables):
            warnings.warn(f"Skipping variable loading for optimizer {self.name!r}: it has "
                          f"{len(self._variables)} variables but the saved state has {n}.", stacklevel=2)
            return
        for i, var in enumerate(self._variables):
            self._write(var, store[str(i)])

    def state_dict(self):
        """The state as a plain dict of NumPy arrays (same layout as ``save_own_variables``)."""
        store = {}
        self.save_own_variables(store)
        return store

    def load_state_dict(self, state):
        self.load_own_variables(state)

    # -- config ------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if lr is self._lr_var:
            lr = float(lr.value)
        elif isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        config = {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.get_config()['learning_rate']!r}>"


