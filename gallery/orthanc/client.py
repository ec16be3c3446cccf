"""The one place that talks HTTP to Orthanc.

Everything else calls `OrthancClient` and sees only plain JSON, bytes and the
`OrthancError` tree (errors.py), never `requests`. Paths are built only from IDs that
passed `require_id`, because Orthanc decodes `%2F` inside path segments.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from .breaker import Bulkhead, CircuitBreaker
from .errors import (
    ERROR_BY_STATUS,
    OrthancError,
    OrthancUnavailable,
)

log = logging.getLogger(__name__)


def _reached(error: Exception) -> bool:
    """Whether a failed request may have reached Orthanc (see OrthancUnavailable.reached)."""
    if isinstance(error, requests.ConnectTimeout):
        return False
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return not isinstance(reason, NewConnectionError)


@dataclass(frozen=True)
class Binary:
    content: bytes
    content_type: str


@dataclass
class Stream:
    """An open streaming answer; iterate `chunks`, then `close()`."""

    chunks: Iterator[bytes]
    content_type: str
    close: Callable[[], None]


Observer = Callable[[str, str, float], None]


class OrthancRetry(Retry):
    """urllib3's retries, except that a call that timed out is never tried again.

    Orthanc closes idle keep-alive connections after exactly 1 s, so a GET sent on a
    pooled connection at that moment meets a dropped connection (a read error for
    urllib3): safe to send again on a new connection. A timeout, though, means Orthanc is
    busy (read) or its host does not answer at all (connect): asking again would only
    multiply the wait, so a page answers within the configured timeouts.
    """

    def increment(self, *args: Any, error: Exception | None = None, **kwargs: Any) -> Retry:
        if isinstance(error, ReadTimeoutError):
            raise error
        if _is_connect_timeout(error):  # given up as if retries were exhausted: requests sees a ConnectTimeout
            return Retry.increment(self.new(total=0), *args, error=error, **kwargs)
        return super().increment(*args, error=error, **kwargs)


def _is_connect_timeout(error: Exception | None) -> bool:
    # urllib3's NewConnectionError (refused, unreachable: quick) subclasses ConnectTimeoutError.
    return isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError)


class OrthancClient:
    """A pooled, retrying, time-limited HTTP client for Orthanc's REST API.

    `urls` may hold several Orthanc nodes sharing one database: requests go
    round-robin and move on to the next node when one cannot be reached. Each
    node has its own circuit breaker (a node that keeps failing is skipped for a
    cooldown), and a bulkhead caps the calls in flight (see gallery/orthanc/breaker.py).
    """

    def __init__(
        self,
        urls: str | list[str],
        user: str = "",
        password: str = "",
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 60.0,
        retries: int = 2,
        pool_size: int = 32,
        observer: Observer | None = None,
        breaker_failures: int = 5,
        breaker_cooldown: float = 5.0,
        max_concurrent: int = 0,
        queue_wait: float = 0.5,
    ) -> None:
        if isinstance(urls, str):
            urls = [u for u in urls.split(",") if u.strip()]
        if not urls:
            raise ValueError("no Orthanc URL configured")
        self.bases = [u.strip().rstrip("/") + "/" for u in urls]
        self._next_base = itertools.cycle(range(len(self.bases)))
        self.breakers = [CircuitBreaker(breaker_failures, breaker_cooldown) for _ in self.bases]
        self.bulkhead = Bulkhead(max_concurrent, queue_wait)
        self.timeout = (connect_timeout, read_timeout)
        self.observer = observer
        self.session = requests.Session()
        # Orthanc is an internal service: HTTP(S)_PROXY and ~/.netrc meant for other traffic must not
        # apply, and looking them up on every call costs ~10% of a proxied thumbnail's CPU time.
        self.session.trust_env = False
        if user:
            self.session.auth = (user, password)
        # Orthanc gzips by default; decompressing costs far more than loopback bytes.
        self.session.headers["Accept-Encoding"] = "identity"
        retry = OrthancRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            status_forcelist=(502, 503),
            allowed_methods=frozenset({"GET", "HEAD"}),
            backoff_factor=0.1,
            raise_on_status=False,
        )
        self.adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        # Calls that may crash Orthanc (rendering) are never sent again after a dropped connection:
        # a restarted Orthanc would die on the same request. The caller decides (gallery/imaging/failures.py).
        self.once = requests.Session()
        self.once.trust_env, self.once.auth = False, self.session.auth
        self.once.headers["Accept-Encoding"] = "identity"
        once_adapter = HTTPAdapter(max_retries=retry.new(read=0), pool_connections=4, pool_maxsize=pool_size)
        self.once.mount("http://", once_adapter)
        self.once.mount("https://", once_adapter)
        self.adapters = (self.adapter, once_adapter)
        self.probe = requests.Session()  # requests' default adapter: no retries
        self.probe.trust_env, self.probe.auth = False, self.session.auth

    # -- transport ---------------------------------------------------------

    def request(
        self, method: str, path: str, *, queue_wait: float | None = None, replay: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send one request, failing over between nodes; raise OrthancError on any failure.

        `queue_wait` overrides how long the call may wait for its turn: for a place in the
        bulkhead, and for the outcome of a circuit breaker's trial call. With `replay=False`
        a request whose connection dropped is not sent again, to this node or another one.
        """
        kwargs.setdefault("timeout", self.timeout)
        wait = self.bulkhead.wait if queue_wait is None else queue_wait
        started = time.perf_counter()
        try:
            if not self.bulkhead.enter(wait):
                raise OrthancUnavailable(path, "too many calls are waiting for Orthanc", reached=False, retry_after=1)
            try:
                return self._send(method, path, wait, replay, kwargs)
            finally:
                self.bulkhead.leave()
        finally:
            if self.observer:
                self.observer(method, path, time.perf_counter() - started)

    def _send(self, method: str, path: str, wait: float, replay: bool, kwargs: dict[str, Any]) -> requests.Response:
        first = next(self._next_base)
        last_error: Exception | None = None
        reached = False
        for attempt in range(len(self.bases)):
            node = (first + attempt) % len(self.bases)
            breaker = self.breakers[node]
            # Wait for a half-open node's trial call only when no other node is left to try.
            if not breaker.allow(wait if attempt == len(self.bases) - 1 else 0.0):
                continue  # open: this node failed again and again; do not wait for it
            if hasattr(kwargs.get("data"), "seek"):
                kwargs["data"].seek(0)  # a file body is sent again whole to the next node
            try:
                session = self.session if replay else self.once
                response = session.request(method, self.bases[node] + path.lstrip("/"), **kwargs)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                # (a chunked answer cut off half-way: Orthanc died while answering)
                breaker.failure()
                # Idle pooled connections to a node that failed are likely dead too (a proxy in front
                # of Orthanc can keep them open): a POST (not retried) or a breaker's trial call sent
                # on one after Orthanc's restart would fail. Calls in flight are not affected.
                for adapter in self.adapters:
                    adapter.poolmanager.clear()
                last_error = exc
                reached = reached or _reached(exc)
                log.warning("Orthanc %s %s unreachable: %s", method, path, type(exc).__name__)
                if not replay and _reached(exc):
                    raise OrthancUnavailable(
                        path,
                        "Orthanc closed the connection without answering",
                        retry_after=1,
                        dropped=not isinstance(exc, requests.Timeout),
                        node=node,
                    ) from exc
                continue
            if response.status_code in (502, 503, 504):
                breaker.failure()
            else:
                breaker.success()  # it answered, even if with an error: the node is alive
            if response.status_code >= 400:
                raise self._error(path, response)
            return response
        retry_after = max(1.0, min(b.retry_in() for b in self.breakers))
        raise OrthancUnavailable(
            path, "Orthanc cannot be reached", reached=reached, retry_after=retry_after
        ) from last_error

    @staticmethod
    def _error(path: str, response: requests.Response) -> OrthancError:
        message = response.reason or "error"
        try:
            body = response.json()
            message = body.get("Details") or body.get("Message") or message
        except ValueError:
            pass
        cls = ERROR_BY_STATUS.get(response.status_code, OrthancError)
        if response.status_code in (502, 503, 504):
            return OrthancUnavailable(path, message, response.status_code, retry_after=1)
        return cls(path, message, response.status_code)

    # -- helpers -----------------------------------------------------------

    def get_json(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.request("GET", path, params=params, **kwargs).json()

    def post_json(self, path: str, payload: Any) -> Any:
        return self.request("POST", path, json=payload).json()

    def get_binary(
        self, path: str, params: dict[str, Any] | None = None, accept: str = "*/*", replay: bool = True
    ) -> Binary:
        response = self.request("GET", path, params=params, headers={"Accept": accept}, replay=replay)
        return Binary(response.content, response.headers.get("Content-Type", "application/octet-stream"))

    def answers(self, node: int = 0, timeout: float = 1.0) -> bool:
        """Whether Orthanc node `node` answers GET /system now: one try, no retry, no breaker wait.

        A success also closes the node's breaker, so calls go through again at once.
        """
        try:
            response = self.probe.get(self.bases[node] + "system", timeout=timeout)
        except requests.RequestException:
            return False
        if response.ok:
            self.breakers[node].success()
        return response.ok

    def stream(self, path: str, params: dict[str, Any] | None = None, chunk_size: int = 256 * 1024) -> Stream:
        """Open a streaming GET (archives, DICOM files) without buffering it."""
        response = self.request("GET", path, params=params, stream=True)
        return Stream(
            chunks=response.iter_content(chunk_size),
            content_type=response.headers.get("Content-Type", "application/octet-stream"),
            close=response.close,
        )

    def store_instance(self, data: bytes | BinaryIO) -> dict[str, Any]:
        """POST one DICOM file as raw bytes; Orthanc answers with its IDs and Status.

        `data` may be an open file with a length (`len()`), sent as it is read, so a
        large file never sits in memory whole.
        """
        return self.request(
            "POST",
            "/instances",
            data=data,
            headers={"Content-Type": "application/dicom"},
            # An upload's own threads may queue for a place as long as a call may take: they hold
            # no worker thread of their own, and giving up would interrupt the upload.
            queue_wait=self.timeout[1],
        ).json()

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path).json()

    def lookup(self, identifier: str) -> list[dict[str, Any]]:
        """Map a DICOM UID or PatientID to Orthanc resources via /tools/lookup."""
        return self.request(
            "POST", "/tools/lookup", data=identifier.encode(), headers={"Content-Type": "text/plain"}
        ).json()
