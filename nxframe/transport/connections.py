"""The connections requests go out on: every step kept to the request's deadline, a refused tunnel named.

urllib3 gives each socket operation its own timeout, but ``timeout`` in
nxframe is one deadline for the whole request (:data:`wire.DEADLINE`): a
server, or a proxy, answering a byte at a time must not stretch it. So the
connection classes here keep :data:`wire.WATCHDOG` armed while they connect
(the TCP connection, the proxy's answer to ``CONNECT``, the TLS handshake)
and while they read the status line and headers; :func:`wire.read_body`
keeps it for the body.

A proxy that refuses the ``CONNECT`` (407 asks for credentials, 403 forbids
the destination) reaches urllib3 as a bare ``OSError("Tunnel connection
failed: 407 ...")`` from ``http.client``; :class:`TunnelRefusedError` gives
it its status, so the transport can tell a refusal (not retried) from a
proxy that cannot be reached (transient).

:func:`open_pool` builds the one connection pool a client uses: direct, or
through its proxy with urllib3's ``ProxyManager`` (https as a CONNECT
tunnel, so the proxy sees the host and port, never the signed request),
verifying certificates with the CAs of :class:`nxframe.network.Trust`.
"""

from __future__ import annotations

import re
import socket
import warnings
from typing import Any
from urllib.parse import urlsplit

import urllib3
import urllib3.connection

from ..config import ClientSettings
from .wire import DEADLINE, WATCHDOG

__all__ = [
    "DeadlineHTTPConnection",
    "DeadlineHTTPConnectionPool",
    "DeadlineHTTPSConnection",
    "DeadlineHTTPSConnectionPool",
    "TunnelRefusedError",
    "open_pool",
]

_TUNNEL_FAILED = re.compile(r"Tunnel connection failed: (\d{3})\b")


class TunnelRefusedError(OSError):
    """The proxy answered ``CONNECT`` with ``status`` instead of 200."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the proxy answered CONNECT with HTTP {status}")
        self.status = status


def _by_deadline(conn: Any, step: Any) -> Any:
    """Run ``step`` (reading from ``conn.sock``) with the watchdog armed for the request's deadline."""
    deadline = DEADLINE.get()
    sock = getattr(conn, "sock", None)
    if deadline is None or sock is None:
        return step()
    ticket = WATCHDOG.arm(sock, deadline)
    try:
        return step()
    finally:
        if WATCHDOG.disarm(ticket):
            raise TimeoutError("deadline") from None


def _new_socket(conn: Any, new_conn: Any) -> socket.socket:
    """The connection's socket, watched from the moment it exists until :func:`_connect` ends."""
    sock = new_conn()
    deadline = DEADLINE.get()
    if deadline is not None:
        conn._nxframe_connecting = WATCHDOG.arm(sock, deadline)
    return sock  # type: ignore[no-any-return]


def _connect(conn: Any, connect: Any) -> None:
    conn._nxframe_connecting = None
    try:
        connect()
    finally:
        ticket, conn._nxframe_connecting = conn._nxframe_connecting, None
        if ticket is not None and WATCHDOG.disarm(ticket):
            raise TimeoutError("deadline") from None


def _tunnel(tunnel: Any) -> None:
    try:
        tunnel()
    except OSError as exc:
        match = _TUNNEL_FAILED.match(str(exc))
        if match is None:
            raise
        raise TunnelRefusedError(int(match.group(1))) from None


class DeadlineHTTPConnection(urllib3.connection.HTTPConnection):
    """Connects, tunnels and reads the status line and headers by :data:`DEADLINE`, however slowly they come."""

    def _new_conn(self) -> socket.socket:
        return _new_socket(self, super()._new_conn)

    def connect(self) -> None:
        _connect(self, super().connect)

    def _tunnel(self) -> None:
        _tunnel(super()._tunnel)  # type: ignore[misc]  # http.client's, present on every supported Python

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]  # as urllib3's own
        return _by_deadline(self, super().getresponse)  # type: ignore[no-any-return]


class DeadlineHTTPSConnection(urllib3.connection.HTTPSConnection):
    """:class:`DeadlineHTTPConnection` over TLS (the handshake is part of connecting)."""

    def _new_conn(self) -> socket.socket:
        return _new_socket(self, super()._new_conn)

    def connect(self) -> None:
        _connect(self, super().connect)

    def _tunnel(self) -> None:
        _tunnel(super()._tunnel)  # type: ignore[misc]

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        return _by_deadline(self, super().getresponse)  # type: ignore[no-any-return]


class DeadlineHTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


def open_pool(settings: ClientSettings) -> tuple[urllib3.PoolManager, urllib3.HTTPConnectionPool, str]:
    """The manager, the pool for ``settings.endpoint`` and the URL to ask it for.

    No redirects and no library retries: both are decided by the transport.
    """
    trust, proxy = settings.trust, settings.proxy
    options: dict[str, Any] = {"maxsize": max(settings.concurrency, 4), "block": False, "retries": False}
    if trust.verify:
        options.update(cert_reqs="CERT_REQUIRED", ca_certs=trust.ca_file, ca_cert_dir=trust.ca_dir)
    else:  # a loopback host only (nxframe.network.choose_trust): say nothing about it on every request
        options.update(cert_reqs="CERT_NONE", assert_hostname=False)
        hosts = [urlsplit(settings.base_url).hostname or ""] + ([proxy.host] if proxy is not None else [])
        for host in hosts:
            warnings.filterwarnings(
                "ignore",
                message=rf"Unverified HTTPS request is being made to host '{re.escape(host)}'",
                category=urllib3.exceptions.InsecureRequestWarning,
            )
    manager: urllib3.PoolManager
    if proxy is None:
        manager = urllib3.PoolManager(**options)
    else:
        headers = {}
        if proxy.credentials is not None:
            headers = urllib3.make_headers(proxy_basic_auth=proxy.credentials.reveal())
        manager = urllib3.ProxyManager(proxy.url, proxy_headers=headers, **options)
    manager.pool_classes_by_scheme = {"http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}
    pool = manager.connection_from_url(settings.endpoint)
    return manager, pool, urlsplit(settings.endpoint).path
