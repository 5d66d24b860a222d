"""``Model``: a layer that can be trained. ``Model(inputs, outputs)`` builds a functional model;
subclassing ``Model`` and writing ``call`` gives a subclassed one."""
from .. import backend, registry
from ..autodiff import Tensor, no_grad
from ..layers.base import Layer
from .trainer import Trainer


def _is_metric(value):
    return (not isinstance(value, Layer) and hasattr(value, "update_state") and hasattr(value, "result")
            and hasattr(value, "reset_state"))


def _functional_arguments(args, kwargs):
    """True for the ways of calling Model(...) that describe a functional graph."""
    return (len(args) >= 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


_FUNCTIONAL_VARIANTS = {}


def _functional_variant(cls):
    """A class deriving from ``cls`` and Functional (cached), so a Model subclass that is given
    ``inputs``/``outputs`` keeps its own methods and gets the functional graph machinery."""
    from .functional import Functional
    variant = _FUNCTIONAL_VARIANTS.get(cls)
    if variant is None:
        variant = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__,
                                                          "__qualname__": cls.__qualname__})
        _FUNCTIONAL_VARIANTS[cls] = variant
    return variant


class Model(Trainer, Layer):
    """Keras's Model: layers plus compile/fit/evaluate/predict, summary and saving."""

    def __new__(cls, *args, **kwargs):
        if _functional_arguments(args, kwargs):
            from .functional import Functional
            if cls is Model:
                return object.__new__(Functional)
            if not issubclass(cls, Functional):
                # ``CustomModel(inputs, outputs)`` where CustomModel subclasses Model (e.g. to override
                # train_step): the instance gets a class that is both CustomModel and Functional.
                return object.__new__(_functional_variant(cls))
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__ got unexpected arguments "
                            f"{list(kwargs) or args}; a functional model is Model(inputs=..., outputs=...).")
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype)
        # The layers inside attach their own masks to the outputs; a model computes none itself.
        self._computes_mask = type(self).compute_mask not in (Layer.compute_mask, Model.compute_mask)
        self._init_trainer()

    _supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        """None: a model's outputs carry the masks its layers gave them."""
        return None

    def __setattr__(self, name, value):
        if _is_metric(value) and not name.startswith("_"):
            tracked = self.__dict__.setdefault("_tracked_metrics", [])
            if all(value is not m for m in tracked):
                tracked.append(value)
        super().__setattr__(name, value)

    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            layers = self.layers
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Model {self.name!r} has {len(layers)} layers; index {index} is out of range.")
            return layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r} in model {self.name!r}. "
                         f"Available layers: {[l.name for l in self.layers]}.")

    def _maybe_build(self, input_shape):
        # Sublayers build themselves on the first real call.
        if not self.built:
            self._build_input_shape = input_shape
            self.built = True

    def build(self, input_shape=None):
        """Create every weight by running ``call`` once on zeros of ``input_shape``."""
        if input_shape is None:
            raise ValueError(f"Model {self.name!r}.build() needs an input_shape.")
        self._build_input_shape = input_shape

        def dummy(s):
            if isinstance(s, dict):
                return {k: dummy(v) for k, v in s.items()}
            if isinstance(s, (list, tuple)) and s and isinstance(s[0], (list, tuple, dict)):
                return [dummy(v) for v in s]
            return Tensor(backend.xp().zeros(tuple(1 if d is None else d for d in s), dtype=self.dtype))
        self.built = True
        with no_grad():
            self.call(dummy(input_shape))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        from .summary import print_summary
        print_summary(self, line_length=line_length, print_fn=print_fn, show_trainable=show_trainable)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional config (with ``input_layers``) rebuilds the graph (as ``cls`` when that is
        functional, e.g. a Model subclass given inputs and outputs); else ``cls(**config)``."""
        if "input_layers" in config and "output_layers" in config:
            from .functional import Functional
            from .functional_config import functional_from_config
            with registry.custom_object_scope(custom_objects or {}):
                return functional_from_config(config, cls=cls if issubclass(cls, Functional) else Functional)
        return cls(**config)

    def build_from_config(self, config):
        """A subclassed model is built by running ``call`` once on the saved input shape."""
        if config and config.get("input_shape") is not None and not self.built:
            self.build(config["input_shape"])

    def save(self, filepath, overwrite=True, **kwargs):
        from .. import saving
        saving.save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        from .. import saving
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        from .. import saving
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)
