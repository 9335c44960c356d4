"""HTTP for a test run: canned responses by default (no network), live requests only when asked.

Both satisfy graphon's ``HttpClientProtocol``. The canned client answers every request with a small
JSON body that echoes the method and URL, so downstream nodes get a realistic shape; the live client
uses httpx with the node's timeouts and no retries, and is only built when the user turns it on.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx


class MaxRetriesExceeded(Exception):
    """graphon's ``max_retries_exceeded_error``: never raised here (we do not retry)."""


class _Client:
    """graphon's ``HttpClientProtocol`` on top of one ``_request(method, url, **kwargs)``; every request is
    recorded as ``(method, url)``."""

    live = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []

    @property
    def max_retries_exceeded_error(self) -> type[Exception]:
        return MaxRetriesExceeded

    @property
    def request_error(self) -> type[Exception]:
        return httpx.RequestError

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def _note_and_send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with self._lock:
            self.requests.append((method, url))
        return self._request(method, url, **kwargs)

    def get(self, url: str, max_retries: int = 0, **kwargs: Any) -> httpx.Response:
        return self._note_and_send("GET", url, **kwargs)

    def head(self, url: str, max_retries: int = 0, **kwargs: Any) -> httpx.Response:
        return self._note_and_send("HEAD", url, **kwargs)

    def post(self, url: str, max_retries: int = 0, **kwargs: Any) -> httpx.Response:
        return self._note_and_send("POST", url, **kwargs)

    def put(self, url: str, max_retries: int = 0, **kwargs: Any) -> httpx.Response:
        return self._note_and_send("PUT", url, **kwargs)

    def delete(self, url: str, max_retries: int = 0, **kwargs: Any) -> httpx.Response:
        return self._note_and_send("DELETE", url, **kwargs)

    def patch(self, url: str, max_retries: int = 0, **kwargs: Any) -> httpx.Response:
        return self._note_and_send("PATCH", url, **kwargs)


class CannedHttp(_Client):
    """Answers every request offline with ``200`` and a JSON body naming the request."""

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        body = {"ok": True, "canned": True, "method": method, "url": str(url),
                "data": {"id": 1, "name": "sample", "items": [{"id": 1, "title": "sample item"}]}}
        return httpx.Response(200, json=body, request=httpx.Request(method, str(url)))


class LiveHttp(_Client):
    """Real requests through httpx, bounded by the node's timeouts; only when the user asks."""

    live = True

    def __init__(self, timeout_s: float = 10.0) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        verify = kwargs.pop("ssl_verify", True)
        timeout = kwargs.pop("timeout", None)
        if isinstance(timeout, tuple):
            connect, read, write = (min(float(t or self._timeout_s), self._timeout_s) for t in timeout)
            timeout = httpx.Timeout(self._timeout_s, connect=connect, read=read, write=write)
        else:
            timeout = httpx.Timeout(self._timeout_s)
        follow = kwargs.pop("follow_redirects", True)
        kwargs = {k: v for k, v in kwargs.items() if v is not None and v != {}}
        with httpx.Client(verify=verify, timeout=timeout, follow_redirects=follow) as client:
            return client.request(method, url, **kwargs)
