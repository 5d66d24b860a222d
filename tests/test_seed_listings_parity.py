"""Seed listings that use ``outputs=[x]``, several outputs with ``evaluate``, ``"accuracy"``,
top-k metrics and the IMDB/Reuters loaders run with only their import lines changed.

The code is read at run time from the seed books in ../shared/seeds (the tests skip without
them): Hands-On ML's Wide & Deep listings, Deep Learning with Python's IMDB and Reuters
classifiers (chapter 4) and its multi-input, multi-output ticket model (chapter 7). Data is
shrunk: the housing arrays are synthetic, the IMDB/Reuters files are small files in Keras's
format written by the test, and epochs, sample counts and validation cuts are reduced by
plain text substitutions. Where Keras 3 can run the same listing, its results are compared.
"""
import contextlib
import hashlib
import importlib.util
import io
import json
import pathlib
import re
import types
import urllib.request

import numpy as np
import pytest

import minikeras
from minikeras.datasets import _files, imdb, reuters

ROOT = pathlib.Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _seed(prefix):
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not beside the checkout")
    found = sorted(SEEDS.glob(prefix + "_*.txt"))
    if not found:
        pytest.skip(f"seed {prefix} is absent")
    return found[0].read_text(encoding="utf-8")


def _fenced_blocks(text):
    spec = importlib.util.spec_from_file_location("reproduce", ROOT / "benchmarks" / "reproduce_fashion_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [module.as_script(b) for b in module.code_blocks(text)]


def _fenced(blocks, marker):
    found = [b for b in blocks if marker in b]
    assert found, f"no listing contains {marker!r}"
    return found[0]


def _plain_listing(text, first_line, nth=0):
    """A listing of a book printed without code fences: from the ``nth`` line that starts
    with ``first_line`` up to its caption ("列表 4.1: ..." / "代码列表 4.16: ...") or the
    prose after it (a line with Chinese text that is not a comment)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(first_line)]
    assert len(starts) > nth, f"the seed has no listing number {nth} starting with {first_line!r}"
    start = starts[nth]
    end = next((i for i in range(start + 1, len(lines))
                if re.match(r"^(代码)?列表 \d+\.\d+", lines[i])
                or (re.search(r"[\u4e00-\u9fff]", lines[i]) and not lines[i].lstrip().startswith("#"))), len(lines))
    return "\n".join(line.rstrip() for line in lines[start:end]) + "\n"


def _as_minikeras(code):
    """The one change: imports of keras become imports of minikeras."""
    code = re.sub(r"^import keras$", "import minikeras as keras", code, flags=re.M)
    return re.sub(r"^from keras(\.\w+)* import", lambda m: m.group(0).replace("keras", "minikeras", 1), code,
                  flags=re.M)


def _run(code, scope):
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<seed listing>", "exec"), scope)
    return scope


def _name_order(model, values, logs):
    """The names of ``evaluate``'s list, found by matching its values against the dict's."""
    values = values if isinstance(values, list) else [values]
    names = []
    for v in values:
        candidates = [k for k, x in logs.items() if x == pytest.approx(v, rel=1e-6) and k not in names]
        names.append(candidates[0])
    return names


# ----------------------------------------------------------------------------- Hands-On ML, Wide & Deep
def _housing_scope(keras):
    r = np.random.default_rng(0)
    x = r.normal(size=(200, 8)).astype("float32")
    y = (x @ r.normal(size=8) + 0.1 * r.normal(size=200)).astype("float32")[:, None]
    return {"tf": types.SimpleNamespace(keras=keras), "np": np, "X_train": x[:120], "y_train": y[:120],
            "X_valid": x[120:160], "y_valid": y[120:160], "X_test": x[160:], "y_test": y[160:], "X_new": x[160:163]}


def _shrink_epochs(code, epochs=2):
    return re.sub(r"epochs=\d+", f"epochs={epochs}", code)


@pytest.mark.parametrize("library", ["minikeras", "keras"])
def test_homl_wide_and_deep_single_output_list(keras_ref, library):
    keras = minikeras if library == "minikeras" else keras_ref
    blocks = _fenced_blocks(_seed("000"))
    scope = _housing_scope(keras)
    keras.utils.set_random_seed(42)
    # model = tf.keras.Model(inputs=[input_], outputs=[output]): predict gives the array itself
    _run(_fenced(blocks, "model = tf.keras.Model(inputs=[input_], outputs=[output])"), scope)
    scope["model"].layers[1].adapt(scope["X_train"])
    pred = scope["model"].predict(scope["X_new"], verbose=0)
    assert isinstance(pred, np.ndarray) and pred.shape == (3, 1)
    # the two-input version and its compile/fit/evaluate/predict listing
    _run(_fenced(blocks, "model = tf.keras.Model(inputs=[input_wide, input_deep], outputs=[output])"), scope)
    _run(_shrink_epochs(_fenced(blocks, "X_train_wide, X_train_deep = X_train[")), scope)
    assert isinstance(scope["y_pred"], np.ndarray) and scope["y_pred"].shape == (3, 1)
    mse_test, rmse_test = scope["mse_test"]
    assert rmse_test == pytest.approx(np.sqrt(mse_test), rel=1e-4)
    assert sorted(scope["history"].history) == ["RootMeanSquaredError", "loss", "val_RootMeanSquaredError",
                                                "val_loss"]


def test_homl_wide_and_deep_two_outputs_runs_on_minikeras():
    """Keras 3 rejects this listing's flat metrics=["RootMeanSquaredError"] for two outputs;
    minikeras keeps tf.keras's reading and runs it, with evaluate in Keras 3's order."""
    blocks = _fenced_blocks(_seed("000"))
    scope = _housing_scope(minikeras)
    minikeras.utils.set_random_seed(42)
    _run(_fenced(blocks, "model = tf.keras.Model(inputs=[input_wide, input_deep], outputs=[output])"), scope)
    _run(_fenced(blocks, "layers.Dense(1)(hidden2)"), scope)
    _run(_fenced(blocks, 'model.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1)'), scope)
    scope.update(X_train_wide=scope["X_train"][:, :5], X_train_deep=scope["X_train"][:, 2:],
                 X_valid_wide=scope["X_valid"][:, :5], X_valid_deep=scope["X_valid"][:, 2:],
                 X_test_wide=scope["X_test"][:, :5], X_test_deep=scope["X_test"][:, 2:],
                 X_new_wide=scope["X_new"][:, :5], X_new_deep=scope["X_new"][:, 2:])
    _run(_shrink_epochs(_fenced(blocks, "(X_train_wide, X_train_deep), (y_train, y_train), epochs=20")), scope)
    _run(_fenced(blocks, "main_rmse, aux_rmse = eval_results"), scope)
    _run(_fenced(blocks, "y_pred_main, y_pred_aux = model.predict("), scope)
    _run(_fenced(blocks, "zip(model.output_names, y_pred_tuple)"), scope)
    model = scope["model"]
    logs = model.evaluate((scope["X_test_wide"], scope["X_test_deep"]), (scope["y_test"], scope["y_test"]),
                          verbose=0, return_dict=True)
    order = _name_order(model, scope["eval_results"], logs)
    losses = [f"{n}_loss" for n in model.output_names]
    assert order[:3] == ["loss"] + losses and order[3:] == sorted(order[3:])
    assert scope["weighted_sum_of_losses"] == pytest.approx(0.9 * scope["main_loss"] + 0.1 * scope["aux_loss"],
                                                            rel=1e-5)
    assert set(scope["y_pred"]) == set(model.output_names) and scope["y_pred_main"].shape == (3, 1)


# ----------------------------------------------------------------------------- Deep Learning with Python, ch. 7
def _ticket_code(text):
    model = _plain_listing(text, "vocabulary_size = 10000")
    by_list = _plain_listing(text, "num_samples = 1280")
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("model.compile(") and "priority" in lines[i + 3])
    end = next(i for i in range(start, len(lines)) if re.match(r"^(代码)?列表 7\.11", lines[i]))
    by_dict = "\n".join(lines[start:end]) + "\n"
    shrink = {"vocabulary_size = 10000": "vocabulary_size = 300", "num_samples = 1280": "num_samples = 96"}
    for old, new in shrink.items():
        model, by_list = model.replace(old, new), by_list.replace(old, new)
    return model, "import numpy as np\n" + by_list, by_dict


@pytest.mark.parametrize("data_as", ["lists", "dicts"])
def test_dlwp_ticket_model_evaluate_order_matches_keras(keras_ref, data_as):
    text = _seed("004")
    model_code, list_code, dict_code = _ticket_code(text)
    seen = {}
    for keras in (minikeras, keras_ref):
        scope = {"keras": keras, "layers": keras.layers, "np": np}
        keras.utils.set_random_seed(0)
        np.random.seed(0)
        _run(model_code, scope)
        _run(list_code, scope)
        if data_as == "dicts":
            _run(dict_code, scope)
        model = scope["model"]
        x = [scope["title_data"], scope["text_body_data"], scope["tags_data"]]
        y = [scope["priority_data"], scope["department_data"]]
        values = model.evaluate(x, y, verbose=0)
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
        assert scope["priority_preds"].shape == (96, 1) and scope["department_preds"].shape == (96, 4)
        seen[keras] = (_name_order(model, values, logs), list(model.metrics_names), sorted(logs))
    assert seen[minikeras] == seen[keras_ref]


# ----------------------------------------------------------------------------- Deep Learning with Python, ch. 4
@pytest.fixture
def text_data(tmp_path, monkeypatch):
    """Small IMDB and Reuters files in Keras's format (and word indexes) where the loaders look."""
    monkeypatch.setenv("MINIKERAS_DATA", str(tmp_path))
    monkeypatch.setenv("MINIKERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MINIKERAS_OFFLINE", "1")
    monkeypatch.setattr(_files, "SYSTEM_DIRS", [])
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("tried to download"))
    r = np.random.default_rng(0)

    def ragged(n):
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = [int(w) for w in r.integers(1, 12000, r.integers(5, 60))]
        return out
    words = {f"word{i}": i for i in range(1, 12000)}
    for module, arrays in ((imdb, dict(x_train=ragged(120), y_train=r.integers(0, 2, 120),
                                       x_test=ragged(60), y_test=r.integers(0, 2, 60))),
                           (reuters, dict(x=ragged(150), y=np.arange(150) % 46))):
        path = tmp_path / module.NPZ.name
        np.savez(path, **arrays)
        monkeypatch.setattr(module, "NPZ", _files.DataFile(module.NPZ.name, module.NPZ.url,
                                                           sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
        index = tmp_path / module.WORD_INDEX.name
        index.write_text(json.dumps(words))
        monkeypatch.setattr(module, "WORD_INDEX", _files.DataFile(
            module.WORD_INDEX.name, module.WORD_INDEX.url, md5=hashlib.md5(index.read_bytes()).hexdigest()))
    return tmp_path


def _chapter4(text, listings, cuts):
    """The listings (first line, occurrence) joined, shrunk by ``cuts``, imports switched."""
    code = "".join(_plain_listing(text, line, nth) for line, nth in listings)
    for old, new in cuts.items():
        code = code.replace(old, new)
    return _as_minikeras(code)


def test_dlwp_imdb_listings_run(text_data):
    text = _seed("004")
    code = _chapter4(text, [("from keras.datasets import imdb", 0), ("# word_index is a dictionary", 0),
                            ("import numpy as np", 0), ("y_train = train_labels.astype", 0), ("import keras", 0),
                            ("model.compile(", 0), ("x_val = x_train[:10000]", 0), ("history = model.fit(", 0),
                            ("model = keras.Sequential(", 1)],
                     {"[:10000]": "[:40]", "[10000:]": "[40:]", "epochs=20": "epochs=2", "epochs=4": "epochs=1"})
    minikeras.utils.set_random_seed(0)
    scope = _run(code, {})
    assert max(max(s) for s in scope["train_data"]) <= 9999
    assert scope["decoded_review"].startswith("? ")
    assert sorted(scope["history"].history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    loss, accuracy = scope["results"]
    assert 0 <= accuracy <= 1 and loss > 0


def test_dlwp_reuters_listings_run(text_data):
    text = _seed("004")
    code = _chapter4(text, [("from keras.datasets import reuters", 0), ("word_index = reuters.get_word_index()", 0),
                            ("import numpy as np", 0), ("def one_hot_encode", 0),
                            ("from keras.utils import to_categorical", 0), ("import keras", 0),
                            ("model = keras.Sequential(", 2), ("top_3_accuracy = keras.metrics", 0),
                            ("x_val = x_train[:1000]", 0), ("history = model.fit(", 1)],
                     {"[:1000]": "[:30]", "[1000:]": "[30:]", "epochs=20": "epochs=2"})
    minikeras.utils.set_random_seed(0)
    scope = _run(code, {})
    assert scope["y_train"].shape == (120, 46)
    assert sorted(scope["history"].history) == ["accuracy", "loss", "top_3_accuracy", "val_accuracy", "val_loss",
                                                "val_top_3_accuracy"]
    h = scope["history"].history
    assert all(t >= a for t, a in zip(h["top_3_accuracy"], h["accuracy"]))
