"""Reading one HTTP answer within a deadline and a size cap, in large chunks.

Below :mod:`nxframe.transport`: it knows sockets and compression, nothing of
the API. ``timeout`` in nxframe is a deadline for the whole request, so
before each read of the body the socket's timeout is set to the time that is
left: a server dripping one byte a second is cut off at the deadline, not
allowed a fresh ``timeout`` per byte. The status line and headers are read
by ``http.client``, a line at a time with the socket's timeout for each
read, so there the deadline is kept by :data:`WATCHDOG`, which shuts the
socket down when it passes (measured: headers dripped a byte every 0.3 s
took 11 s to fail with ``timeout=1`` before). Bytes are counted after
decompression, and the inflater is never asked for more than the room left
under the cap, so a gzip bomb costs at most ``max_response_bytes`` of
memory, not its inflated size.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import socket
import threading
import time
import zlib
from typing import Any

import urllib3
import urllib3.connection

__all__ = [
    "CHUNK",
    "DEADLINE",
    "WATCHDOG",
    "BadEncodingError",
    "BodyTooLargeError",
    "DeadlineHTTPConnection",
    "DeadlineHTTPSConnection",
    "read_body",
]

#: The ``time.monotonic()`` by which the request this thread is sending must be answered.
DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("nxframe_deadline", default=None)

#: Bytes asked of the socket per read: large, so a page costs a few calls, not one per packet.
CHUNK = 256 * 1024


class _Watchdog:
    """Shuts a socket down when its deadline passes, so a read blocked on it returns at once.

    One daemon thread for the process, started on first use; arming and
    disarming cost a lock and a heap push. Disarming before the socket is
    used for anything else is what makes a late wake-up harmless.
    """

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, socket.socket] = {}
        self._fired: set[int] = set()
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, deadline: float) -> int:
        with self._wake:
            ticket = next(self._tickets)
            self._armed[ticket] = sock
            heapq.heappush(self._heap, (deadline, ticket))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nxframe-deadline", daemon=True)
                self._thread.start()
            self._wake.notify()
            return ticket

    def disarm(self, ticket: int) -> bool:
        """Stop watching; ``True`` when the deadline had already shut the socket down."""
        with self._wake:
            self._armed.pop(ticket, None)
            if ticket in self._fired:
                self._fired.discard(ticket)
                return True
            return False

    def _run(self) -> None:  # pragma: no cover - a daemon thread; its effect is tested
        with self._wake:
            while True:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)  # disarmed in time
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, ticket = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                sock = self._armed.pop(ticket)
                self._fired.add(ticket)
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = _Watchdog()


def _headers_by_deadline(conn: Any, read: Any) -> Any:
    deadline = DEADLINE.get()
    sock = getattr(conn, "sock", None)
    if deadline is None or sock is None:
        return read()
    ticket = WATCHDOG.arm(sock, deadline)
    try:
        return read()
    finally:
        if WATCHDOG.disarm(ticket):
            raise TimeoutError("deadline") from None


class DeadlineHTTPConnection(urllib3.connection.HTTPConnection):
    """Reads the status line and headers by :data:`DEADLINE`, however slowly they come."""

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]  # as urllib3's own
        return _headers_by_deadline(self, super().getresponse)  # type: ignore[no-any-return]


class DeadlineHTTPSConnection(urllib3.connection.HTTPSConnection):
    """:class:`DeadlineHTTPConnection` over TLS."""

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]  # as urllib3's own
        return _headers_by_deadline(self, super().getresponse)  # type: ignore[no-any-return]


class BodyTooLargeError(Exception):
    """The body (after decompression) is over the cap; reading stopped there."""


class BadEncodingError(Exception):
    """The body's ``Content-Encoding`` is not one nxframe asked for, or its data does not inflate."""


class _Inflater:
    """gzip (several members allowed) or deflate (zlib-wrapped or raw), never producing more than asked."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._raw_fallback = not self._gzip
        self._inflate = self._new()

    def _new(self) -> Any:
        return zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """Inflate ``data``; at most ``room`` bytes come out (more would be over the cap anyway)."""
        try:
            out = self._inflate.decompress(data, room)
        except zlib.error:
            if not self._raw_fallback:
                raise BadEncodingError("the compressed body does not inflate") from None
            self._raw_fallback = False  # "deflate" is sometimes sent without its zlib header
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data, room)
        self._raw_fallback = False
        while self._gzip and self._inflate.eof and self._inflate.unused_data and len(out) < room:
            rest = self._inflate.unused_data
            self._inflate = self._new()
            out += self._inflate.decompress(rest, room - len(out))
        return bytes(out)

    def finish(self) -> bytes:
        if not self._inflate.eof:
            raise BadEncodingError("the compressed body ends early")
        return bytes(self._inflate.flush())


def read_body(response: urllib3.BaseHTTPResponse, deadline: float, cap: int) -> bytes:
    """The whole body of ``response``, decompressed; the connection goes back to the pool only when complete.

    Raises:
        TimeoutError: the deadline (``time.monotonic()``) passed.
        BodyTooLargeError: over ``cap`` bytes after decompression.
        BadEncodingError: an encoding nxframe did not ask for, or data that does not inflate.
        urllib3.exceptions.HTTPError, OSError: the connection broke (a short body among them).
    """
    complete = False
    try:
        encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise BadEncodingError(f"Content-Encoding {encoding[:40]!r}, which nxframe does not ask for")
        inflater = None if encoding == "identity" else _Inflater(encoding)
        sock = getattr(response.connection, "sock", None)
        parts: list[bytes] = []
        total = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("deadline")
            if sock is not None:
                sock.settimeout(left)
            chunk = response.read1(CHUNK, decode_content=False)
            if not chunk:
                break
            if inflater is not None:
                chunk = inflater.feed(chunk, cap - total + 1)
            total += len(chunk)
            if total > cap:
                raise BodyTooLargeError(total)
            parts.append(chunk)
        if inflater is not None:
            tail = inflater.finish()
            total += len(tail)
            if total > cap:
                raise BodyTooLargeError(total)
            parts.append(tail)
        complete = True
        return b"".join(parts)
    finally:
        if not complete:
            response.close()  # a half-read connection must not be reused
        response.release_conn()
