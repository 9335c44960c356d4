"""End-to-end fixtures: `streamlit run app.py` on a free port with its own data dir, and Debian's chromium.

The server is started the way the README's ``make run`` starts it (pattern index first, then the app),
offline with no API key. Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    subprocess.run([sys.executable, "-m", "core", "patterns", "init"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
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


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    base = tmp_path_factory.mktemp("e2e")
    ARTIFACTS.mkdir(exist_ok=True)
    server = start_app(base / "data", ARTIFACTS / "streamlit.log")
    yield server
    stop_app(server)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
