"""Server mode (DIFYFORGE_CHROMA_URL): a real Chroma server works, and a stalled one is bounded by a timeout
with a message that says so, on open, on search and during generation."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from core.config import ProviderConfig, Settings
from core.errors import PatternError
from core.patterns import PatternLibrary, index

from .conftest import VALID_FILES, make_library

CHROMA = Path(sys.executable).with_name("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StallingProxy:
    """A TCP proxy in front of a server that can be told to stall: from then on it keeps every
    connection open and accepts new ones, but forwards nothing, so no request is ever answered."""

    def __init__(self, target_port: int | None) -> None:
        self.target_port = target_port
        self.stalled = threading.Event()
        if target_port is None:
            self.stalled.set()  # nothing behind it: a server that accepts and never answers
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.target_port is None:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if not self.stalled.is_set():
                with contextlib.suppress(OSError):
                    dst.sendall(data)

    def close(self) -> None:
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(index, "SERVER_TIMEOUT", 1.0)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server (the `chroma` CLI of the chromadb package) on a free local port."""
    if not CHROMA.exists():
        pytest.skip(f"no chroma CLI beside {sys.executable}")
    port = _free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):  # readiness wait, not a timing assertion
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("the Chroma server did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_server_that_accepts_and_never_answers_fails_open_with_a_timeout(tmp_path, short_timeout):
    proxy = StallingProxy(None)
    try:
        with pytest.raises(PatternError) as err:
            PatternLibrary.open(Settings(data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{proxy.port}"))
    finally:
        proxy.close()
    assert f"The Chroma server at http://127.0.0.1:{proxy.port} did not answer within 1 s" in err.value.message
    assert "DIFYFORGE_CHROMA_URL" in err.value.hint


def test_a_server_that_stalls_after_opening_bounds_search_and_generation(tmp_path, chroma_server, short_timeout):
    from core.pipeline import generate

    proxy = StallingProxy(chroma_server)
    try:
        url = f"http://127.0.0.1:{proxy.port}"
        built = make_library(tmp_path, VALID_FILES)  # copies the fixture patterns into tmp_path/patterns
        settings = Settings(data_dir=tmp_path / "data", chroma_url=url, provider=ProviderConfig(kind="offline"))
        library = PatternLibrary.open(settings, patterns_dir=built.builtin_dir)
        assert library.server_url == url
        assert sorted(library.sync().loaded) == ["fixture-doc-summary", "fixture-http-digest", "fixture-support-chat"]
        assert library.search("summarise an uploaded PDF", k=1)[0].pattern.id == "fixture-doc-summary"

        proxy.stalled.set()
        with pytest.raises(PatternError, match=r"did not answer within 1 s \(ReadTimeout\)"):
            library.search("summarise an uploaded PDF", k=1)
        result = generate("Summarize an uploaded PDF report in 100 words.", settings=settings, library=library)
        assert result.status == "succeeded" and result.valid  # generation goes on without patterns
        assert result.patterns == []
    finally:
        proxy.close()
