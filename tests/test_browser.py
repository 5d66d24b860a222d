"""End to end: JupyterLab + headless Chromium (Playwright) run notebooks/playground.ipynb,
press play and watch the heatmap change. Skips only when Chromium or Playwright is absent."""
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


def test_playground_notebook_plays_in_jupyterlab(jupyter_lab):
    base, token = jupyter_lab
    ARTIFACTS.mkdir(exist_ok=True)
    errors = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                       args=CHROME_ARGS, viewport={"width": 1500, "height": 1100})
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
            page.goto(f"{base}/lab/tree/playground.ipynb?token={token}", timeout=90_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
            # wait until the kernel is up, then Run > Run All Cells
            page.wait_for_function(
                "() => /\\|\\s*Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
                timeout=90_000)
            time.sleep(1.0)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            heat = page.locator(".mk-playground-heatmap").first
            heat.wait_for(state="visible", timeout=60_000)
            page.wait_for_function("() => document.querySelectorAll('.mk-playground').length >= 3",
                                   timeout=120_000)
            play = page.locator(".mk-playground").first.locator("button[title='Run/Pause']")
            time.sleep(1.0)   # let the remaining cells finish before playing
            before = heat.get_attribute("src")
            play.click()
            seen = {before}
            deadline = time.time() + 4
            while time.time() < deadline:
                seen.add(heat.get_attribute("src"))
                time.sleep(0.25)
            epoch_text = page.locator(".mk-playground").first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=False)
            play.click()   # pause
            time.sleep(0.5)
            # click on the heatmap (ipyevents): a training point is added, the counter and the image change
            first = page.locator(".mk-playground").first
            counter = first.locator(".mk-playground-points")
            counter.wait_for(state="visible", timeout=30_000)
            added_before = counter.inner_text()
            src_before = heat.get_attribute("src")
            heat.scroll_into_view_if_needed()
            box = heat.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45)
            page.wait_for_function(
                "([el, t]) => el.innerText !== t", arg=[counter.element_handle(), added_before], timeout=30_000)
            added_after = counter.inner_text()
            src_after = heat.get_attribute("src")
            page.screenshot(path=str(ARTIFACTS / "playground-click.png"), full_page=False)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "playground-failure.png"), full_page=False)
            raise AssertionError("browser run failed; screenshot in test-artifacts/playground-failure.png; "
                                 "JavaScript errors so far:\n" + "\n".join(errors))
        finally:
            browser.close()
    assert len(seen) >= 3, f"the heatmap did not change while playing ({len(seen)} distinct images)"
    assert "000,000" not in epoch_text.split("Epoch")[1][:20] if "Epoch" in epoch_text else True
    assert "(0 added)" in added_before and "(1 added)" in added_after, (added_before, added_after)
    assert src_after != src_before, "the heatmap was not redrawn after the click"
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)
