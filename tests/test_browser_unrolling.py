"""End to end: the unrolling explorer in JupyterLab + headless Chromium (Playwright). A small
notebook written here shows the widget; the test steps through time, changes the activation
and checks that the unrolled graph, the plot and the status line change. Screenshots go to
test-artifacts/. Skips only when Chromium or Playwright is absent."""
import json
import time

import pytest

from test_browser import ARTIFACTS, CHROME_ARGS, CHROMIUM, jupyter_lab, open_and_run_all, sync_playwright  # noqa: F401

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install playwright)"),
]

DEMO_CELLS = [
    "import numpy as np\n"
    "from minikeras.datasets import sunspots\n"
    "from minikeras.widgets import UnrollingWidget\n"
    "_, counts = sunspots.load_data()\n"
    "window = ((counts[-40:] - counts.mean()) / counts.std())[:, None]",
    "explorer = UnrollingWidget([window, window[:20]], cell='lstm', units=6, recurrent_scale=1.0)\n"
    "explorer",
]


@pytest.fixture(params=["numpy"])
def array_backend(request):
    """One run: the browser test does not depend on the array backend (overrides conftest)."""
    yield request.param


def _write_demo(folder):
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": src} for src in DEMO_CELLS],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    (folder / "unrolling_demo.ipynb").write_text(json.dumps(nb))


def test_unrolling_explorer_steps_in_jupyterlab(jupyter_lab, tmp_path):
    base, token = jupyter_lab
    _write_demo(tmp_path / "notebooks")
    ARTIFACTS.mkdir(exist_ok=True)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                       headless=True, args=CHROME_ARGS,
                                                       viewport={"width": 1400, "height": 1200})
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            open_and_run_all(page, base, token, "unrolling_demo.ipynb", errors)
            svg = page.locator(".mk-unroll-graph svg").first
            svg.wait_for(state="visible", timeout=120_000)
            box = page.locator(".mk-unroll").first
            plot = box.locator(".mk-unroll-plot").first
            status = box.locator(".mk-unroll-status").first
            assert svg.get_attribute("data-step") == "0" and svg.get_attribute("data-steps") == "40"
            png_before = plot.get_attribute("src")
            page.screenshot(path=str(ARTIFACTS / "unrolling_step0.png"), full_page=False)

            step = box.locator("button[title='Step forward']").first
            for expected in range(1, 5):
                step.click()
                page.wait_for_function(
                    f"() => document.querySelector('.mk-unroll-graph svg')?.getAttribute('data-step') === '{expected}'",
                    timeout=30_000)
            page.wait_for_function("() => /step 4\\/40/.test("
                                   "document.querySelector('.mk-unroll-status')?.innerText || '')", timeout=30_000)
            assert box.locator(".mk-unroll-graph .mk-unroll-done").count() == 5      # h0 .. h4 computed
            assert box.locator(".mk-unroll-graph .mk-unroll-active").count() == 1
            page.wait_for_function(
                f"() => document.querySelector('.mk-unroll-plot')?.getAttribute('src') !== {json.dumps(png_before)}",
                timeout=30_000)
            norm_before = box.locator(".mk-unroll-grad").first.get_attribute("data-norm")
            page.screenshot(path=str(ARTIFACTS / "unrolling_step4.png"), full_page=False)

            # the activation menu changes the cell; the gradient reaching step 0 changes with it
            box.locator("select").nth(1).select_option("linear")
            page.wait_for_function("() => /activation linear/.test("
                                   "document.querySelector('.mk-unroll-status')?.innerText || '')", timeout=30_000)
            page.wait_for_function(
                f"() => document.querySelector('.mk-unroll-grad')?.getAttribute('data-norm') !== {json.dumps(norm_before)}",
                timeout=30_000)
            # another sequence: the slider range and the graph follow
            box.locator("select").nth(0).select_option(index=1)
            page.wait_for_function(
                "() => document.querySelector('.mk-unroll-graph svg')?.getAttribute('data-steps') === '20'",
                timeout=30_000)
            assert svg.get_attribute("data-step") == "0"
            page.screenshot(path=str(ARTIFACTS / "unrolling_sequence2.png"), full_page=False)
        finally:
            browser.close()
    assert not [e for e in errors if "favicon" not in e], errors
