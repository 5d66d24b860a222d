"""End to end: the convolution explorer in JupyterLab + headless Chromium (Playwright).

A small notebook written next to the course's notebooks trains a tiny CNN for a second and
shows ``ConvExplorer``; the browser then changes the kernel (preset and one typed weight) and
checks that the output picture changes, slides the window with the keyboard (and times it),
draws on the input, and opens the trained-CNN tab. Screenshots go to test-artifacts/.
Skips when Chromium, Playwright or Fashion-MNIST is absent.
"""
import io
import time

import nbformat
import numpy as np
import pytest

from test_browser import ARTIFACTS, CHROME_ARGS, CHROMIUM, jupyter_lab, open_and_run_all, sync_playwright  # noqa: F401

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install playwright)"),
]

NOTEBOOK = "conv_explorer_check.ipynb"
CELLS = [
    """import numpy as np
import minikeras as keras
from minikeras import layers
from minikeras.widgets import ConvExplorer

(_, _), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x = (x_test[:600] / 255.0).astype("float32")[..., None]
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
                          layers.MaxPooling2D(2), layers.Conv2D(8, 3, activation="relu"),
                          layers.Flatten(), layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y_test[:600], epochs=1, verbose=0)""",
    """explorer = ConvExplorer(x_test[:50], y_test[:50], model=model, interval_ms=15)
explorer""",
    """print(f"redraws so far: {explorer.redraws}")""",
]


@pytest.fixture(params=["numpy"])
def array_backend(request):
    """One run: the browser test does not depend on the array backend (overrides conftest)."""
    yield request.param


def _pixels(png_bytes):
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB"), dtype=np.int16)


def _changed(before, after):
    a, b = _pixels(before), _pixels(after)
    return a.shape != b.shape or int(np.abs(a - b).max()) > 0


def _write_notebook(folder):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, folder / NOTEBOOK)


def test_conv_explorer_in_jupyterlab(jupyter_lab, tmp_path):
    from minikeras.datasets import DatasetNotFoundError, fashion_mnist
    try:
        fashion_mnist.load_data()
    except DatasetNotFoundError:
        pytest.skip("Fashion-MNIST is not on this machine")
    base, token = jupyter_lab
    _write_notebook(tmp_path / "notebooks")          # the folder the JupyterLab fixture serves
    ARTIFACTS.mkdir(exist_ok=True)
    errors, seen = [], {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1250})
        try:
            open_and_run_all(page, base, token, NOTEBOOK, errors)
            explorer = page.locator(".mk-conv-explorer").first
            explorer.wait_for(state="visible", timeout=120_000)
            output = explorer.locator("img.mk-conv-output")
            arithmetic = explorer.locator(".mk-conv-arith")
            output.wait_for(state="visible", timeout=30_000)
            page.wait_for_function("() => /Idle/.test(document.querySelector('#jp-main-statusbar').innerText)",
                                   timeout=60_000)
            explorer.scroll_into_view_if_needed()
            seen["start"] = output.screenshot()
            assert "output[0, 0]" in arithmetic.inner_text()

            def read_redraws():
                """Run the third cell again and read the explorer's redraw counter from its output."""
                cell = page.locator(".jp-Notebook .jp-Cell").nth(2)
                out = cell.locator(".jp-OutputArea-output")
                before = out.inner_text() if out.count() else ""
                cell.locator(".jp-InputArea-editor").click()
                page.keyboard.press("Shift+Enter")
                page.wait_for_function("([el, t]) => el.innerText !== t && el.innerText.includes('redraws')",
                                       arg=[cell.element_handle(), before], timeout=30_000)
                text = out.inner_text()
                return int(text.split("redraws so far:")[1].split()[0])

            def wait_for_new_output(previous_src):
                page.wait_for_function("([el, src]) => el.getAttribute('src') !== src",
                                       arg=[output.element_handle(), previous_src], timeout=30_000)
                time.sleep(0.3)

            # 1. a new kernel from the preset list: the output picture changes
            src = output.get_attribute("src")
            explorer.locator(".mk-conv-preset select").select_option("blur: box")
            wait_for_new_output(src)
            seen["blur"] = output.screenshot()
            page.screenshot(path=str(ARTIFACTS / "conv-explorer.png"))

            # 2. one weight typed into the kernel grid: the output changes again, the preset says custom
            src = output.get_attribute("src")
            box = explorer.locator(".mk-conv-w11 input")
            box.fill("-3")
            box.press("Enter")
            wait_for_new_output(src)
            seen["custom"] = output.screenshot()
            preset_after_edit = explorer.locator(".mk-conv-preset select").input_value()

            # 3. slide the window with the keyboard, 60 positions, and time the round trips; the
            # kernel's redraw counter, read before and after, says how many positions were drawn
            # (ipywidgets drops intermediate slider values when the kernel falls behind)
            redraws_before = read_redraws()
            handle = explorer.locator(".mk-conv-position .noUi-handle")
            handle.focus()
            t0 = time.perf_counter()
            for _ in range(60):                      # about the speed of a held-down arrow key
                page.keyboard.press("ArrowRight")
                time.sleep(0.03)
            # (the HTML widget replaces its content, so look the element up afresh each time)
            page.wait_for_function("() => document.querySelector('.mk-conv-explorer .mk-conv-arith')"
                                   ".innerText.includes('output[2, 8]')", timeout=30_000)
            slide_seconds = time.perf_counter() - t0
            redraws_during_slide = read_redraws() - redraws_before
            seen["slid"] = output.screenshot()
            slid_text = arithmetic.inner_text()
            page.screenshot(path=str(ARTIFACTS / "conv-explorer-slid.png"))

            # ... and play: the Play widget ticks every 15 ms for about 3 s; count what was drawn
            redraws_before = read_redraws()
            play_button = explorer.locator(".widget-play button").first
            play_button.click()
            t0 = time.perf_counter()
            time.sleep(3.0)
            explorer.locator(".widget-play button").nth(2).click()      # stop
            play_seconds = time.perf_counter() - t0
            redraws_while_playing = read_redraws() - redraws_before

            # 4. draw on a blank canvas: the input becomes "your drawing" and the output changes
            src = output.get_attribute("src")
            explorer.locator("button", has_text="blank canvas").click()
            wait_for_new_output(src)
            blank_output = output.screenshot()
            picture = explorer.locator("img.mk-conv-input")
            bb = picture.bounding_box()
            page.mouse.move(bb["x"] + bb["width"] * 0.3, bb["y"] + bb["height"] * 0.3)
            page.mouse.down()
            for k in range(12):
                page.mouse.move(bb["x"] + bb["width"] * (0.3 + 0.03 * k), bb["y"] + bb["height"] * 0.5, steps=2)
            page.mouse.up()
            time.sleep(1.0)
            page.wait_for_function("() => /Idle/.test(document.querySelector('#jp-main-statusbar').innerText)",
                                   timeout=30_000)
            seen["drawn"] = output.screenshot()
            source_value = explorer.locator("select").first.input_value()
            page.screenshot(path=str(ARTIFACTS / "conv-explorer-draw.png"))

            # 5. the trained CNN's tab: one picture per spatial layer, and the probabilities
            explorer.locator(".lm-TabBar-tab", has_text="inside a trained CNN").click()
            explorer.locator("img.mk-conv-layer").first.wait_for(state="visible", timeout=30_000)
            n_layers = explorer.locator("img.mk-conv-layer").count()
            probabilities = explorer.locator(".mk-conv-probs").inner_text()
            page.screenshot(path=str(ARTIFACTS / "conv-explorer-cnn.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "conv-explorer-failure.png"))
            raise AssertionError("browser run failed; screenshot in test-artifacts/conv-explorer-failure.png; "
                                 "JavaScript errors so far:\n" + "\n".join(errors))
        finally:
            browser.close()
    assert _changed(seen["start"], seen["blur"]), "changing the kernel preset did not change the output picture"
    assert _changed(seen["blur"], seen["custom"]), "typing a weight did not change the output picture"
    assert preset_after_edit == "custom"
    assert "output[2, 8]" in slid_text and _changed(seen["custom"], seen["slid"])
    assert source_value == "your drawing" and _changed(blank_output, seen["drawn"]), "drawing did nothing"
    assert n_layers == 3 and probabilities.count("%") == 10
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)
    assert 1 <= redraws_during_slide <= 60 and redraws_while_playing > 3
    print(f"\nbrowser: 60 slider steps in {slide_seconds:.2f}s, {redraws_during_slide} of them redrawn: "
          f"{redraws_during_slide / slide_seconds:.0f} redraws/s (key presses -> kernel -> pictures; shared machine); "
          f"playing: {redraws_while_playing / play_seconds:.0f} redraws/s")
