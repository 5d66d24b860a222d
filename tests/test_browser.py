"""End to end: JupyterLab + headless Chromium (Playwright) run notebooks/playground.ipynb,
measure the playground's layout (sizes and positions of its parts), press play and watch the
heatmap change, click on it and wait for the new point in the picture. Screenshots and the
measurements go to test-artifacts/. Skips only when Chromium or Playwright is absent."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

try:
    from playwright.sync_api import sync_playwright
except ImportError:   # pragma: no cover - CI installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install playwright)"),
]

CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(params=["numpy"])
def array_backend(request):
    """One run is enough: the browser test does not depend on the array backend (overrides conftest)."""
    yield request.param


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_lab(tmp_path):
    """JupyterLab on a free localhost port with a token, serving a temp copy of notebooks/."""
    nbdir = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", nbdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port, token = _free_port(), "mk-" + os.urandom(12).hex()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"),
               MINIKERAS_QUICK="1", PYTHONPATH=str(ROOT))
    # no news or update checks: the machine may be offline
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                          "checkForUpdates": False}))
    log = open(tmp_path / "jupyter.log", "w")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={nbdir}", "--ServerApp.open_browser=False",
           "--LabApp.news_url=", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")   # CI runs as root
    proc = subprocess.Popen(cmd, cwd=nbdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError("JupyterLab exited:\n" + (tmp_path / "jupyter.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("JupyterLab did not start:\n" + (tmp_path / "jupyter.log").read_text()[-3000:])
            time.sleep(0.5)
        yield base, token
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        log.close()


# Sizes and positions of the playground's parts, in CSS pixels, measured in the page.
MEASURE = """(root) => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.x, y: r.y, w: r.width, h: r.height, cx: r.x + r.width / 2, cy: r.y + r.height / 2}; };
  const ctx = document.createElement('canvas').getContext('2d');
  const select = s => { ctx.font = getComputedStyle(s).font;
                        return {...box(s), text: ctx.measureText(s.options[s.selectedIndex].text).width}; };
  const labelled = (scope, text, sel) => [...scope.querySelectorAll('.widget-label')]
      .filter(l => l.textContent.trim() === text).map(l => l.parentElement.querySelector(sel))[0];
  const add = root.querySelector('.mk-playground-add-points');
  const svg = root.querySelector('svg.mk-network');
  const ends = [...svg.querySelectorAll('path.mk-link-out')].map(p => {
      const q = p.getPointAtLength(p.getTotalLength()), m = p.getScreenCTM();
      return {x: q.x * m.a + q.y * m.c + m.e, y: q.x * m.b + q.y * m.d + m.f}; });
  const caption = root.querySelector('.mk-playground-loss-caption .widget-html-content > div');
  const buttons = {};
  for (const t of ['Run/Pause', 'Step one epoch', 'Reset the network'])
      buttons[t] = {...box(root.querySelector(`button[title='${t}']`)),
                    image: getComputedStyle(root.querySelector(`button[title='${t}']`)).backgroundImage.slice(0, 40)};
  return {
    widget: box(root), area: box(root.closest('.jp-OutputArea-output')), heat: box(root.querySelector('.mk-playground-heatmap')), svg: box(svg),
    x_input: box(labelled(add, 'x', 'input')), y_input: box(labelled(add, 'y', 'input')),
    label_select: select(labelled(add, 'label', 'select')),
    click_select: select(labelled(root, 'click adds', 'select')),
    caption: {...box(caption), font: parseFloat(getComputedStyle(caption).fontSize), text: caption.innerText},
    features: [...root.querySelectorAll('.mk-playground-feature')].map(box),
    inputs: [...svg.querySelectorAll('image.mk-input')].map(box),
    hidden: [...svg.querySelectorAll('image.mk-hidden')].map(e => ({...box(e), layer: +e.dataset.layer})),
    neuron_cells: [...root.querySelectorAll('.mk-playground-neurons')].map(box),
    link_ends: ends, buttons,
  };
}"""


def _glyph_pixels(png_bytes, dark):
    """Pixels of a button screenshot that belong to its glyph: dark ones on a light button,
    white ones on the blue play button."""
    import numpy as np
    from PIL import Image
    rgb = np.asarray(Image.open(BytesIO(png_bytes)).convert("RGB"))[4:-4, 4:-4]   # without the border
    return int((rgb.max(axis=2) < 110).sum() if dark else (rgb.min(axis=2) > 235).sum())


def _check_layout(m):
    """The defects a tester saw in Chromium, as assertions on the measured boxes."""
    # the whole widget fits the notebook's output area (at 1500 px, the file browser open)
    assert m["widget"]["x"] + m["widget"]["w"] <= m["area"]["x"] + m["area"]["w"] + 1, (m["widget"], m["area"])
    # "add your own points": the x/y boxes hold a number, the drop-downs show their whole label
    for key in ("x_input", "y_input"):
        assert m[key]["w"] >= 60, f"{key} is {m[key]['w']:.0f} px wide"
    for key in ("label_select", "click_select"):
        assert m[key]["w"] >= m[key]["text"] + 24, f"{key}: {m[key]['w']:.0f} px for a {m[key]['text']:.0f} px label"
    # the loss chart's caption is readable text
    assert m["caption"]["font"] >= 11 and m["caption"]["h"] >= 12 and "train" in m["caption"]["text"], m["caption"]
    # each feature's thumbnail sits level with its button
    assert len(m["features"]) == len(m["inputs"]) == 7
    for b, t in zip(m["features"], m["inputs"]):
        assert abs(b["cy"] - t["cy"]) <= 2, f"feature button at y={b['cy']:.1f}, its thumbnail at y={t['cy']:.1f}"
    # the links of the last layer reach the output heatmap, at its height
    heat = m["heat"]
    assert m["link_ends"], "no links into the output"
    for end in m["link_ends"]:
        assert heat["x"] - 6 <= end["x"] <= heat["x"] + 1, f"a link into the output ends at x={end['x']:.1f}, " \
                                                          f"the heatmap starts at x={heat['x']:.1f}"
        assert heat["y"] + 0.2 * heat["h"] <= end["y"] <= heat["y"] + 0.8 * heat["h"], (end, heat)
    assert abs(m["svg"]["y"] - heat["y"]) <= 1, "the network and the heatmap start at the same height"
    # the neuron +/- pairs sit above their layer's column
    layers = sorted({n["layer"] for n in m["hidden"]})
    assert len(m["neuron_cells"]) == len(layers)
    for cell, layer in zip(m["neuron_cells"], layers):
        column = [n["cx"] for n in m["hidden"] if n["layer"] == layer]
        assert abs(cell["cx"] - column[0]) <= 2, f"+/- of layer {layer} at x={cell['cx']:.1f}, its column {column[0]}"
    # the buttons' glyphs are the widget's own SVG
    for title, b in m["buttons"].items():
        assert "data:image/svg+xml" in b["image"], (title, b["image"])


def _same_box(a, b, tol=0.5):
    return all(abs(a[k] - b[k]) <= tol for k in ("x", "y", "w", "h"))


def _stable(page, locator, attribute, seconds=1.0, timeout=30.0):
    """Wait until an attribute has not changed for ``seconds`` (a redraw may still be on its way)."""
    value, since, deadline = locator.get_attribute(attribute), time.time(), time.time() + timeout
    while time.time() - since < seconds:
        if time.time() > deadline:
            raise AssertionError(f"{attribute} kept changing for {timeout} s")
        time.sleep(0.1)
        now = locator.get_attribute(attribute)
        if now != value:
            value, since = now, time.time()
    return value


# The colour a "blue (+1)" point is drawn in (render.colour_map(+1) at full opacity), read from
# the heatmap picture itself at a spot of the plot, after drawing the <img> onto a canvas.
PIXEL_IS_NEW_POINT = """([img, fx, fy]) => {
  if (!img.complete || !img.naturalWidth) return false;
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(Math.round(fx * c.width), Math.round(fy * c.height), 1, 1).data;
  return d[0] < 40 && d[1] > 95 && d[1] < 145 && d[2] > 165;
}"""


def open_and_run_all(page, base, token, notebook, errors):
    """Open ``notebook`` in JupyterLab, collect the page's JavaScript errors into ``errors``,
    wait for the kernel, then Run > Run All Cells (what a student does first)."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.goto(f"{base}/lab/tree/{notebook}?token={token}", timeout=90_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(
        "() => /\\|\\s*Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
        timeout=90_000)
    time.sleep(1.0)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_playground_notebook_plays_in_jupyterlab(jupyter_lab):
    base, token = jupyter_lab
    ARTIFACTS.mkdir(exist_ok=True)
    errors = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                       args=CHROME_ARGS, viewport={"width": 1500, "height": 1100})
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            open_and_run_all(page, base, token, "playground.ipynb", errors)
            first = page.locator(".mk-playground").first
            heat = first.locator(".mk-playground-heatmap")
            heat.wait_for(state="visible", timeout=60_000)
            page.wait_for_function("() => document.querySelectorAll('.mk-playground').length >= 3",
                                   timeout=120_000)
            time.sleep(1.0)   # let the remaining cells finish
            first.scroll_into_view_if_needed()
            _stable(page, heat, "src")

            # --- layout: measured, and looked at (test-artifacts/playground-layout.png)
            layout = first.evaluate(MEASURE)
            first.screenshot(path=str(ARTIFACTS / "playground-layout.png"))
            others = []   # the notebook's other two: four spiral arms on [8, 8, 6], and your own data
            for i, name in ((1, "spiral"), (2, "own-data")):
                other = page.locator(".mk-playground").nth(i)
                other.scroll_into_view_if_needed()
                others.append(other.evaluate(MEASURE))
                other.screenshot(path=str(ARTIFACTS / f"playground-{name}.png"))
            first.scroll_into_view_if_needed()
            glyphs = {"play": _glyph_pixels(first.locator("button[title='Run/Pause']").screenshot(), dark=False),
                      "step": _glyph_pixels(first.locator("button[title='Step one epoch']").screenshot(), dark=True),
                      "reset": _glyph_pixels(first.locator("button[title='Reset the network']").screenshot(),
                                             dark=True)}
            # a layer more: the network redraws inside its fixed box, nothing else moves
            first.locator("button[title='Add a hidden layer']").click()
            page.wait_for_function("(el) => el.querySelectorAll('svg.mk-network image.mk-hidden').length === 8",
                                   arg=first.element_handle(), timeout=30_000)
            page.wait_for_function("(el) => el.querySelectorAll('.mk-playground-neurons').length === 3",
                                   arg=first.element_handle(), timeout=30_000)
            time.sleep(0.5)
            added = first.evaluate(MEASURE)
            first.screenshot(path=str(ARTIFACTS / "playground-layer-added.png"))
            first.locator("button[title='Remove a hidden layer']").click()
            page.wait_for_function("(el) => el.querySelectorAll('svg.mk-network image.mk-hidden').length === 6",
                                   arg=first.element_handle(), timeout=30_000)
            (ARTIFACTS / "playground-layout.json").write_text(json.dumps(
                {"layout": layout, "layer_added": added, "others": others, "glyph_pixels": glyphs}, indent=1))

            # --- play: the heatmap changes while it trains
            play = first.locator("button[title='Run/Pause']")
            before = _stable(page, heat, "src")
            play.click()
            seen = {before}
            deadline = time.time() + 4
            while time.time() < deadline:
                seen.add(heat.get_attribute("src"))
                time.sleep(0.25)
            epoch_text = first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=False)
            play.click()   # pause
            page.wait_for_function("(b) => b.classList.contains('mk-icon-play')", arg=play.element_handle(),
                                   timeout=30_000)

            # --- click on the heatmap (ipyevents): a blue training point appears where it was clicked
            counter = first.locator(".mk-playground-points")
            counter.wait_for(state="visible", timeout=30_000)
            heat.scroll_into_view_if_needed()
            src_before = _stable(page, heat, "src")     # the last frame of play has arrived
            added_before = counter.inner_text()
            fx, fy = 0.13, 0.17                         # about (-4.6, 4.5): outside the circle data, no points
            assert not page.evaluate(PIXEL_IS_NEW_POINT, [heat.element_handle(), fx, fy])
            box = heat.bounding_box()
            page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_function(PIXEL_IS_NEW_POINT, arg=[heat.element_handle(), fx, fy], timeout=30_000)
            page.wait_for_function("([el, t]) => el.innerText !== t", arg=[counter.element_handle(), added_before],
                                   timeout=30_000)
            added_after = counter.inner_text()
            src_after = heat.get_attribute("src")
            page.screenshot(path=str(ARTIFACTS / "playground-click.png"), full_page=False)
        except Exception as exc:
            page.screenshot(path=str(ARTIFACTS / "playground-failure.png"), full_page=False)
            raise AssertionError(f"browser run failed ({exc}); screenshot in test-artifacts/playground-failure.png; "
                                 "JavaScript errors so far:\n" + "\n".join(errors)) from exc
        finally:
            browser.close()
    for m in [layout, added] + others:
        _check_layout(m)
    for key in ("widget", "heat", "svg"):
        assert _same_box(layout[key], added[key]), f"adding a layer moved the {key}: {layout[key]} -> {added[key]}"
    assert glyphs["play"] >= 20 and glyphs["step"] >= 20 and glyphs["reset"] >= 20, f"button glyphs: {glyphs}"
    assert len(seen) >= 3, f"the heatmap did not change while playing ({len(seen)} distinct images)"
    assert "000,000" not in epoch_text.split("Epoch")[1][:20] if "Epoch" in epoch_text else True
    assert "(0 added)" in added_before and "(1 added)" in added_after, (added_before, added_after)
    assert src_after != src_before, "the heatmap was not redrawn after the click"
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)
