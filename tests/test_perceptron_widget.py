"""The perceptron stepper's settings, pictures and control table (its rule is tested in
tests/test_notebooks.py, next to the chapter-1 notebook that uses it)."""
import json

import numpy as np
import pytest

from minikeras.widgets.perceptron import PerceptronConfig, PerceptronTrainer
from minikeras.widgets.perceptron import render


@pytest.fixture(autouse=True)
def array_backend():
    """Plain NumPy: one run each (overrides conftest's per-backend parametrisation)."""
    yield "numpy"


def _data():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.5, (20, 2)), rng.normal(3, 0.5, (20, 2))])
    return X, np.repeat([0, 1], 20)


def test_config_validates_and_round_trips():
    cfg = PerceptronConfig(learning_rate=0.5, weights=np.array([1, -2]), bias=0.25, seed=3)
    assert cfg.weights == (1.0, -2.0) and cfg.shuffle is True
    state = cfg.to_state()
    assert json.loads(json.dumps(state)) == state
    assert PerceptronConfig.from_state(json.dumps(state)) == cfg
    for bad, msg in [({"learning_rate": 0}, "learning_rate must be a positive"),
                     ({"learning_rate": float("nan")}, "learning_rate"),
                     ({"weights": [[1.0, 2.0]]}, "weights must be a flat list"),
                     ({"bias": float("inf")}, "bias must be a finite")]:
        with pytest.raises(ValueError, match=msg):
            PerceptronConfig(**bad)
    with pytest.raises(ValueError, match="Unknown perceptron setting"):
        PerceptronConfig.from_state({"epochs": 2})


def test_trainer_state_replays_and_learning_rate_is_checked():
    X, y = _data()
    a = PerceptronTrainer(X, y, learning_rate=0.3, seed=4)
    b = PerceptronTrainer.from_state(X, y, a.state)
    a.fit(20)
    b.fit(20)
    np.testing.assert_array_equal(a.w, b.w)
    a.learning_rate = 0.1
    assert a.learning_rate == 0.1 and a.state["learning_rate"] == 0.1
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        a.learning_rate = -1


def test_pictures_are_functions_of_the_trainer():
    X, y = _data()
    t = PerceptronTrainer(X, y, weights=[1.0, 1.0], bias=-3.0, shuffle=False)
    t.step()
    assert "last sample #0" in render.status_html(t) and "updates 0" in render.status_html(t)
    xlim, ylim = render.plot_limits(X)
    assert xlim[0] < X[:, 0].min() and ylim[1] > X[:, 1].max()
    fig = render.figure(t, xlim, ylim, ("width", "height"))
    assert fig.axes[0].get_xlabel() == "width" and len(fig.axes[0].lines) == 1
    assert render.png(fig)[:4] == b"\x89PNG"


def test_one_table_builds_and_syncs_the_controls():
    pytest.importorskip("ipywidgets")
    from minikeras.widgets.perceptron import PerceptronWidget
    from minikeras.widgets.perceptron.controls import TABLE
    X, y = _data()
    w = PerceptronWidget(X, y, learning_rate=0.2)
    for control in TABLE:
        assert getattr(w, control.attribute) is not None
    assert w.lr_slider.value == pytest.approx(0.2)
    w.trainer.learning_rate = 2.0          # changed in code: the slider follows at the next redraw
    w.on_step()
    assert w.lr_slider.value == pytest.approx(2.0) and w.trainer.learning_rate == 2.0
    w.lr_slider.value = 0.05               # changed in the UI: the trainer follows
    assert w.trainer.learning_rate == pytest.approx(0.05)
