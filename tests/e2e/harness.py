"""The browser harness shared by the end-to-end tests and the app benchmark.

``start_app`` runs ``streamlit run app.py`` the way the README's ``make run`` does (pattern index
first, then the app) on a free port with its own data dir, offline with no API key. ``launch_browser``
starts Debian's chromium through Playwright (never a downloaded browser). Screenshots go to
``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    """A running ``streamlit run app.py``: its URL, data dir, and the moment it reported healthy."""

    url: str
    data_dir: Path
    ready_at: float
    process: subprocess.Popen


def app_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "DIFYFORGE_API_KEY", "OPENAI_BASE_URL", "DIFYFORGE_BASE_URL",
                        "DIFYFORGE_PROVIDER")}
    env.update(DIFYFORGE_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    return env


def start_app(data_dir: Path, log_path: Path, *, timeout_s: float = 60.0) -> AppServer:
    """Index the patterns (as ``make run`` does), start the app, and wait for ``/_stcore/health``."""
    env = app_env(data_dir)
    init = subprocess.run([sys.executable, "-m", "core", "patterns", "init"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if init.returncode not in (0, 1):  # 1: some pattern file failed its checks and was skipped (reported)
        raise RuntimeError(f"`python -m core patterns init` failed: {init.stderr[-2000:]}")
    port = free_port()
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return AppServer(url, data_dir, time.monotonic(), process)
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"streamlit was not healthy within {timeout_s} s: {log_path.read_text()[-2000:]}")


def stop_app(server: AppServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@contextmanager
def own_app(base: Path, name: str) -> Iterator[AppServer]:
    """An app with a data dir of its own under ``base``, its log in ``test-artifacts/streamlit-<name>.log``."""
    ARTIFACTS.mkdir(exist_ok=True)
    server = start_app(base / "data", ARTIFACTS / f"streamlit-{name}.log")
    try:
        yield server
    finally:
        stop_app(server)


def launch_browser(playwright):
    """Debian's chromium, headless, with a fresh profile and no background network traffic."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def new_page(browser):
    """A new browser context (downloads allowed) and its page."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def wait_idle(page, timeout_ms: float = 30_000) -> None:
    """Wait until the Streamlit script has finished running (no "Running..." status widget)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
