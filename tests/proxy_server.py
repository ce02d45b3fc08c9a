"""A real CONNECT proxy on 127.0.0.1 for the tests: it records what it sees, and can refuse.

Like a corporate proxy it answers ``CONNECT host:port`` by opening a TCP
connection to that host and relaying bytes both ways; ``hosts`` maps names
such as ``api.nxcloud.test`` to ``127.0.0.1`` (the proxy resolves names,
the client never does). Anything but ``CONNECT`` is answered 405. Switches:
``credentials="user:pass"`` answers 407 unless ``Proxy-Authorization`` has
them; ``refuse=403`` (or any status) refuses every tunnel; ``drip=0.05``
sends its ``200`` answer a byte at a time; ``tls=context`` makes it an
``https://`` proxy (the client's TLS to the server then runs inside its TLS).

What it saw is kept: :attr:`requests` (each request line and its headers),
and :attr:`tunnelled`, the first bytes the client sent through each tunnel
(TLS records: the proxy cannot read the request inside).
"""

from __future__ import annotations

import base64
import select
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProxyRequest", "TestProxy"]

_HEAD_LIMIT = 64 * 1024
_KEPT = 64 * 1024


@dataclass(frozen=True)
class ProxyRequest:
    """One request the proxy received: its first line and its headers (lower-case names)."""

    line: str
    headers: dict[str, str]
    raw: bytes


@dataclass
class _Seen:
    requests: list[ProxyRequest] = field(default_factory=list)
    tunnelled: list[bytearray] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: TestProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal here."""


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        sock: socket.socket = self.request
        if proxy.tls is not None:
            try:
                sock = proxy.tls.wrap_socket(sock, server_side=True)
            except OSError:
                return
        try:
            self._serve(proxy, sock)
        finally:
            if sock is not self.request:
                sock.close()

    def _serve(self, proxy: TestProxy, sock: socket.socket) -> None:
        head, rest = _read_head(sock)
        if head is None:
            return
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        proxy._record(ProxyRequest(lines[0], headers, head))
        method, _, target = lines[0].partition(" ")
        target = target.rsplit(" ", 1)[0]
        if method != "CONNECT":
            sock.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if proxy.credentials is not None:
            expected = "Basic " + base64.b64encode(proxy.credentials.encode("latin-1")).decode()
            if headers.get("proxy-authorization") != expected:
                sock.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
                )
                return
        if proxy.refuse is not None:
            sock.sendall(f"HTTP/1.1 {proxy.refuse} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            return
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        try:
            upstream = socket.create_connection((proxy.hosts.get(host, host), int(port)), timeout=5)
        except (OSError, ValueError):
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        answer = b"HTTP/1.1 200 Connection established\r\n\r\n"
        try:
            if proxy.drip:
                for i in range(len(answer)):
                    sock.sendall(answer[i : i + 1])
                    time.sleep(proxy.drip)
            else:
                sock.sendall(answer)
            kept = proxy._tunnel()
            if rest:
                kept += rest[:_KEPT]
                upstream.sendall(rest)
            _relay(sock, upstream, kept)
        finally:
            upstream.close()


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > _HEAD_LIMIT:
            return None, b""
        try:
            chunk = sock.recv(4096)
        except OSError:
            return None, b""
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _relay(client: socket.socket, upstream: socket.socket, kept: bytearray) -> None:
    """Bytes both ways until either side closes; the first of the client's are kept."""
    pairs = {client: upstream, upstream: client}
    while True:
        try:
            ready, _, _ = select.select(list(pairs), [], [], 1.0)
        except (OSError, ValueError):
            return
        for source in ready:
            try:
                chunk = source.recv(65536)
                while isinstance(source, ssl.SSLSocket) and source.pending():  # decrypted, so select cannot see it
                    chunk += source.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            if source is client and len(kept) < _KEPT:
                kept += chunk[: _KEPT - len(kept)]
            try:
                pairs[source].sendall(chunk)
            except OSError:
                return


class TestProxy:
    """A CONNECT proxy on 127.0.0.1 (a random port); a context manager."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(
        self,
        *,
        hosts: dict[str, str] | None = None,
        credentials: str | None = None,
        refuse: int | None = None,
        drip: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.hosts = dict(hosts or {})
        self.credentials = credentials
        self.refuse = refuse
        self.drip = drip
        self.tls = tls
        self._seen = _Seen()
        self._server: _Server | None = None
        self._port = 0

    def __enter__(self) -> TestProxy:
        self._server = _Server(self)
        self._port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        """The port it listens (or listened) on."""
        assert self._port, "start the proxy first (with TestProxy(...) as proxy)"
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with ``tls``)."""
        return f"{'http' if self.tls is None else 'https'}://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[ProxyRequest]:
        with self._seen.lock:
            return list(self._seen.requests)

    @property
    def tunnelled(self) -> bytes:
        """Every tunnel's first bytes from the client, joined."""
        with self._seen.lock:
            return b"".join(bytes(kept) for kept in self._seen.tunnelled)

    def _record(self, request: ProxyRequest) -> None:
        with self._seen.lock:
            self._seen.requests.append(request)

    def _tunnel(self) -> bytearray:
        kept = bytearray()
        with self._seen.lock:
            self._seen.tunnelled.append(kept)
        return kept
