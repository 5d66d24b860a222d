"""``HyperModel``: what a tuner builds and trains, given a trial's hyperparameters.

A plain function ``build_model(hp)`` is wrapped in one. Subclass it to tune what happens
around the model too: ``fit(hp, model, x, y, **kwargs)`` may preprocess the data or pick
the batch size from ``hp`` and must return ``model.fit(...)``'s History (or a dict of
metrics, or a single number for the objective).
"""


class HyperModel:
    """Override ``build(hp)`` (returns a compiled model) and optionally ``fit``."""

    def __init__(self, name=None, tunable=True):
        self.name = name
        self.tunable = tunable

    def build(self, hp):
        raise NotImplementedError("HyperModel subclasses must implement build(hp) and return a compiled model.")

    def declare_hyperparameters(self, hp):
        """Hook to declare hyperparameters before the first build (nothing by default)."""

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, **kwargs)


class DefaultHyperModel(HyperModel):
    """A ``build_model(hp)`` function as a HyperModel."""

    def __init__(self, build, name=None, tunable=True):
        super().__init__(name=name, tunable=tunable)
        self._build_fn = build

    def build(self, hp):
        return self._build_fn(hp)


def get_hypermodel(hypermodel):
    if hypermodel is None or isinstance(hypermodel, HyperModel):
        return hypermodel
    if not callable(hypermodel):
        raise TypeError("hypermodel must be a function build_model(hp) returning a compiled model, or a "
                        f"kt.HyperModel instance; got {hypermodel!r}.")
    return DefaultHyperModel(hypermodel)
