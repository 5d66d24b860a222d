"""``Sequential``: a plain stack of layers, each feeding the next."""
from .. import layers as layers_module
from .. import ops
from ..autodiff import Tensor
from ..layers.base import Layer, set_keras_mask
from ..layers.input_layer import Input, InputLayer, KerasTensor
from ..layers.input_spec import incompatible_input
from .model import Model


class Sequential(Model):
    """``Sequential([layer, ...])`` or ``Sequential()`` plus ``add``. Builds as soon as the input shape is known."""

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._input_batch_shape = None
        self._input_layer_dtype = None  # from an explicit Input/InputLayer
        self._input_layer_name = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() only accepts Layer instances, got {layer!r} "
                            f"of type {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError(f"Sequential {self.name!r}: an Input can only be the first layer.")
            self._input_batch_shape = layer.batch_shape
            self._input_layer_dtype, self._input_layer_name = layer.dtype, layer.name
        elif not self._layers and layer._batch_input_shape is not None:
            self._input_batch_shape = layer._batch_input_shape
        if any(layer is l for l in self._layers):
            raise ValueError(f"Layer {layer.name!r} is already in Sequential {self.name!r}.")
        names = {l.name for l in self._layers}
        if layer.name in names:
            raise ValueError(f"All layers added to a Sequential model should have unique names; "
                             f"{layer.name!r} is already used in {self.name!r}.")
        self._layers.append(layer)
        self.built = False
        self._train_variables = None
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        if not self.layers:
            raise IndexError(f"There are no layers to pop from Sequential {self.name!r}.")
        layer = self._layers.pop()
        self.built = False
        self._train_variables = None
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self):
        return [l for l in self._layers if not isinstance(l, InputLayer)]

    def _maybe_rebuild(self):
        if self._input_batch_shape is not None and self.layers:
            self.build(self._input_batch_shape)

    def build(self, input_shape=None):
        """Build every layer in turn from the input shape, recording each output shape."""
        if input_shape is None:
            input_shape = self._input_batch_shape
        if input_shape is None:
            raise ValueError(f"Sequential {self.name!r}.build() needs an input_shape.")
        shape = tuple(input_shape)
        self._input_batch_shape = shape
        self._build_input_shape = shape
        # Calling the layers on a symbolic input builds them, gives each its output shape, and
        # defines `model.inputs`, `model.outputs` and `layer.output` (for feature extraction).
        # Keras 3: the model input has the explicit Input's dtype, else the first layer's dtype.
        dtype = self._input_layer_dtype or (self.layers[0].dtype if self.layers else None)
        x = Input(batch_shape=shape, dtype=dtype, name=self._input_layer_name)
        self.inputs = [x]
        for layer in self.layers:
            try:
                x = layer(x)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"Sequential {self.name!r}: layer {layer.name!r} cannot take input of shape "
                                f"{x.shape}: {exc}") from exc
            layer._summary_output_shape = tuple(x.shape)
        self.outputs = [x]
        self._output_shape = tuple(x.shape)
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, dict):
            inputs = self._input_from_dict(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def _input_from_dict(self, inputs):
        """Keras 3 takes a dict for a Sequential's single input only when it holds the input's name."""
        model_inputs = self.__dict__.get("inputs")
        name = model_inputs[0].name if model_inputs else self._input_layer_name
        if name is not None and name in inputs:
            return inputs[name]
        expected = f"an array, or a dict with the key {name!r}" if name else "a single array"
        raise ValueError(f"Sequential model {self.name!r} has one input and expects {expected}; it was given "
                         f"a dict with keys {list(inputs)}.")

    def call(self, inputs, training=None, mask=None):
        model_inputs = self.__dict__.get("inputs")
        if inputs.__class__ is Tensor and model_inputs:
            dtype = model_inputs[0].dtype
            if inputs.value.dtype != dtype:  # e.g. uint8 images for a float32 model (as Keras 3 casts)
                inputs = set_keras_mask(ops.cast(inputs, dtype), inputs._keras_mask)
        if mask is not None and isinstance(inputs, Tensor):  # Keras: the first layer sees this mask
            set_keras_mask(inputs, mask)
        expected = self._input_batch_shape
        if expected is not None and hasattr(inputs, "shape"):
            got = tuple(inputs.shape)
            # (the first comparison settles the usual case, a fully known sample shape, cheaply)
            if len(got) != len(expected) or (got[1:] != expected[1:] and any(
                    e is not None and e != g for e, g in zip(expected[1:], got[1:]))):
                raise incompatible_input(self, f"shape={expected}", got)
        x = inputs
        for layer in self._layers:
            if layer.__class__ is not InputLayer:
                x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    @property
    def input_shape(self):
        return self._input_batch_shape

    @property
    def output_shape(self):
        return getattr(self, "_output_shape", None)

    def get_config(self):
        layers = []
        if self._input_batch_shape is not None:
            config = {"batch_shape": list(self._input_batch_shape), "name": f"{self.name}_input"}
            if self._input_layer_dtype is not None:
                config["dtype"] = self._input_layer_dtype
            layers.append({"class_name": "InputLayer", "config": config})
        layers.extend(layers_module.serialize(l) for l in self.layers)
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for lc in config["layers"]:
            if lc["class_name"] == "InputLayer":
                model._input_batch_shape = tuple(lc["config"]["batch_shape"])
                model._input_layer_dtype = lc["config"].get("dtype")
                continue
            model.add(layers_module.deserialize(lc, custom_objects), rebuild=False)
        model._maybe_rebuild()
        return model
