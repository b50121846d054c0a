"""Browser fixtures: JupyterLab on a loopback port, driven by headless Chromium.

Reusable by every notebook's browser test: ``lab`` (the server), ``page``
(a fresh Chromium tab) and :func:`run_notebook` (open, run all, wait, check
for errors, screenshot). Nothing is written to $HOME: every Jupyter, IPython
and matplotlib directory lives in a temporary folder. Playwright drives
Debian's /usr/bin/chromium; no browser is downloaded.

Without Chromium or Playwright these tests skip, unless
MEMLAB_REQUIRE_BROWSER=1 (set by .ci/run), where they fail.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
#: Browser width in px: 1400 by default; MEMLAB_BROWSER_WIDTH=1024 checks the narrow layout
#: (screenshots then get a _1024 suffix).
WIDTH = int(os.environ.get("MEMLAB_BROWSER_WIDTH", "1400"))
CHROMIUM = os.environ.get("MEMLAB_CHROMIUM", "/usr/bin/chromium")
TOKEN = "memlab-browser-test"
REQUIRED = os.environ.get("MEMLAB_REQUIRE_BROWSER") == "1"


def _missing_browser():
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_available():
    why = _missing_browser()
    if why:
        if REQUIRED:
            pytest.fail(f"browser tests are required (MEMLAB_REQUIRE_BROWSER=1) but {why}")
        pytest.skip(why)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(browser_available, tmp_path_factory):
    """A JupyterLab server rooted at the repository; yields its base URL."""
    home = tmp_path_factory.mktemp("jupyter")
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "mpl"),
        ("XDG_CONFIG_HOME", "xdg-config"),
        ("XDG_CACHE_HOME", "xdg-cache"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
    ]:
        path = home / sub
        path.mkdir()
        env[var] = str(path)
    env.pop("MPLBACKEND", None)
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # never write back to the repository's notebooks (a run in the browser would store its outputs)
    docmanager = home / "lab-settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    # render every cell (JupyterLab 4 virtualises off-screen cells by default)
    tracker = home / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = _free_port()
    log = open(home / "lab.log", "w")  # noqa: SIM115 - closed when the server stops
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip",
            "127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={REPO}",
            "--allow-root",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser_context(lab, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            viewport={"width": WIDTH, "height": 1000},
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        context.set_default_timeout(60_000)
        yield context
        context.close()


@pytest.fixture
def page(browser_context):
    tab = browser_context.new_page()
    yield tab
    tab.close()


def open_notebook(page, lab, name):
    """Open notebooks/<name> in a clean workspace and wait for an idle kernel."""
    from playwright.sync_api import expect

    page.goto(f"{lab}/lab/tree/notebooks/{name}?reset&token={TOKEN}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    expect(page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).first).to_be_visible(timeout=90_000)


def run_all(page, timeout_s=120):
    """Run > Run All Cells, then wait until every code cell shows [n] and the kernel is idle."""
    from playwright.sync_api import expect

    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    deadline = time.time() + timeout_s
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    while True:
        texts = prompts.all_inner_texts()
        if texts and all(re.fullmatch(r"\s*\[\d+\]:\s*", t) for t in texts):
            break
        if not texts and page.locator(".jp-Notebook .jp-CodeCell").count() == 0:
            break  # a notebook of text only (the glossary): nothing to run
        if time.time() > deadline:
            raise AssertionError(f"cells did not finish in {timeout_s} s: prompts {texts}")
        time.sleep(0.5)
    expect(page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).first).to_be_visible(timeout=60_000)


def assert_no_errors(page):
    """No traceback in any output, no widget that failed to display."""
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    texts = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not texts, "error output in notebook:\n" + "\n---\n".join(texts)
    assert page.get_by_text("Error displaying widget").count() == 0


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (Path(name).stem + ("" if WIDTH == 1400 else f"_{WIDTH}") + ".png")
    page.screenshot(path=str(path), full_page=False)
    return path


def run_notebook(page, lab, name):
    """Open, run all, check for errors, keep a screenshot; returns its path."""
    open_notebook(page, lab, name)
    run_all(page)
    assert_no_errors(page)
    return screenshot(page, name)
