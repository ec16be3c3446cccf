"""A TCP proxy on loopback between the gallery and a real Orthanc, to inject faults at runtime.

Modes (switch at any time; they apply from the next request or response chunk on):

- pass: bytes go through untouched;
- slow(seconds): every chunk Orthanc sends back is held that long first;
- fail: every request is answered with an HTTP 500 in Orthanc's JSON form, Orthanc is not asked;
- drop: every request gets its connection closed without an answer;
- refuse: the port stops listening (connection refused), and open connections are closed.

It reads requests (head and Content-Length body) to count them and to call `on_request`
before forwarding each, which lets a test stop Orthanc after exactly N requests.
`connections` counts the TCP connections accepted: when a circuit breaker is open, it stays put.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import BinaryIO

PASS, SLOW, FAIL, DROP, REFUSE = "pass", "slow", "fail", "drop", "refuse"

ERROR_BODY = json.dumps(
    {"HttpError": "Internal Server Error", "HttpStatus": 500, "Message": "Internal error", "OrthancStatus": 1}
).encode()
ERROR_RESPONSE = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(ERROR_BODY)}\r\nConnection: close\r\n\r\n".encode()
    + ERROR_BODY
)


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.mode = PASS
        self.delay = 0.0
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.on_request: Callable[[str, str, int], None] | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # -- switches ----------------------------------------------------------

    def pass_through(self) -> None:
        self._set(PASS)

    def slow(self, seconds: float) -> None:
        self.delay = seconds
        self._set(SLOW)

    def fail(self) -> None:
        self._set(FAIL)

    def drop(self) -> None:
        self._set(DROP)

    def refuse(self) -> None:
        self._set(REFUSE)

    def close(self) -> None:
        self.refuse()

    def _set(self, mode: str) -> None:
        was, self.mode = self.mode, mode
        if mode == REFUSE and was != REFUSE:
            self._stop_listening()
            self._close_connections()
        elif was == REFUSE and mode != REFUSE:
            self._listen()

    # -- sockets -----------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="faultproxy-accept", daemon=True).start()

    def _stop_listening(self) -> None:
        if self._listener is not None:
            # shutdown() stops listening at once and wakes accept() in its thread, which then ends;
            # close() alone would leave the socket listening until that accept() returned.
            _shut(self._listener)
            self._listener = None

    def _close_connections(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _shut(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.add(client)
            threading.Thread(target=self._serve, args=(client,), name="faultproxy-conn", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        """Read each request, then answer it as the current mode says."""
        upstream: socket.socket | None = None
        reader = client.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                data, method, path = request
                with self._lock:
                    self.requests.append((method, path))
                    count = len(self.requests)
                if self.on_request is not None:
                    self.on_request(method, path, count)
                if self.mode in (DROP, REFUSE):
                    return
                if self.mode == FAIL:
                    client.sendall(ERROR_RESPONSE)
                    return
                if upstream is None:
                    try:
                        upstream = socket.create_connection(self.upstream, timeout=5)
                    except OSError:
                        return  # Orthanc is down: the gallery sees its connection closed
                    upstream.settimeout(None)
                    with self._lock:
                        self._open.add(upstream)
                    threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
                upstream.sendall(data)
        except OSError:
            return
        finally:
            reader.close()
            _shut(client)
            if upstream is not None:
                _shut(upstream)

    def _pump(self, upstream: socket.socket, client: socket.socket) -> None:
        """Orthanc's answers back to the gallery, each chunk held back while the proxy is slow."""
        with suppress(OSError):
            while chunk := upstream.recv(65536):
                held = time.monotonic()
                while self.mode == SLOW and time.monotonic() - held < self.delay:
                    time.sleep(0.02)
                client.sendall(chunk)
        _shut(client)  # Orthanc closed (idle keep-alive, or killed): so does the gallery's side


def _read_request(reader: BinaryIO) -> tuple[bytes, str, str] | None:
    """One HTTP request (head and Content-Length body) as bytes, with its method and path; None at EOF."""
    lines = []
    while True:
        line = reader.readline(65536)
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
    method, path = (lines[0].decode("latin-1").split(" ") + ["", ""])[:2]
    length = 0
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = reader.read(length) if length else b""
    return b"".join(lines) + body, method, path.split("?")[0]


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
