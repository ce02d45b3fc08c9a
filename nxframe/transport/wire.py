"""Reading one HTTP answer within a deadline and a size cap, in large chunks.

Below :mod:`nxframe.transport`: it knows sockets and compression, nothing of
the API. ``timeout`` in nxframe is a deadline for the whole request
(:data:`DEADLINE`), while a socket's timeout is per read: a server dripping
one byte a second would get a fresh ``timeout`` per byte. So the deadline is
kept by :data:`WATCHDOG`, which shuts the socket down when it passes
(measured: headers dripped a byte every 0.3 s took 11 s to fail with
``timeout=1`` before); it is armed while connecting and reading headers
(:mod:`nxframe.transport.connections`) and while the body is read here.

Decompression is urllib3's own: since urllib3 2.6, ``read1(amt)`` never
inflates more than ``amt`` bytes (compressed input it has not used waits in
the decoder), and each read asks for no more than the room left under the
cap, so a gzip bomb costs at most ``max_response_bytes`` of memory, not its
inflated size.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import socket
import threading
import time
import typing

import urllib3

__all__ = ["CHUNK", "DEADLINE", "ENCODINGS", "WATCHDOG", "BadEncodingError", "BodyTooLargeError", "read_body"]

#: The ``time.monotonic()`` by which the request this thread is sending must be answered.
DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("nxframe_deadline", default=None)

#: Bytes asked of the socket per read: large, so a page costs a few calls, not one per packet.
CHUNK = 256 * 1024
#: ``Content-Encoding`` values accepted: what nxframe asks for (``Accept-Encoding: gzip, deflate``).
ENCODINGS = ("identity", "gzip", "x-gzip", "deflate")


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
                with contextlib.suppress(OSError, TypeError):  # already closed
                    # The plain socket's shutdown, also under TLS: ssl.SSLSocket's own would drop its
                    # SSL object while another thread may be reading through it.
                    socket.socket.shutdown(_plain(sock), socket.SHUT_RDWR)


WATCHDOG = _Watchdog()


def _plain(sock: object) -> socket.socket:
    """The TCP socket under ``sock``: TLS inside TLS (an https proxy) is urllib3's SSLTransport over a socket."""
    while not isinstance(sock, socket.socket) and hasattr(sock, "socket"):
        sock = sock.socket
    return typing.cast(socket.socket, sock)  # anything else: shutdown raises TypeError, which the watchdog ignores


class BodyTooLargeError(Exception):
    """The body (after decompression) is over the cap; reading stopped there."""


class BadEncodingError(Exception):
    """The body's ``Content-Encoding`` is not one nxframe asked for, or its data does not inflate."""


def read_body(response: urllib3.BaseHTTPResponse, deadline: float, cap: int) -> bytes:
    """The whole body of ``response``, decompressed; the connection goes back to the pool only when complete.

    ``response`` must come from ``urlopen(..., preload_content=False)``.

    Raises:
        TimeoutError: the deadline (``time.monotonic()``) passed.
        BodyTooLargeError: over ``cap`` bytes after decompression.
        BadEncodingError: an encoding nxframe did not ask for, or data that does not inflate.
        urllib3.exceptions.HTTPError, OSError: the connection broke (a short body among them).
    """
    complete = False
    sock = getattr(response.connection, "sock", None)
    ticket = None if sock is None else WATCHDOG.arm(sock, deadline)
    try:
        try:
            encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
            if encoding not in ENCODINGS:
                raise BadEncodingError(f"Content-Encoding {encoding[:40]!r}, which nxframe does not ask for")
            parts: list[bytes] = []
            total = 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("deadline")
                if sock is not None:
                    sock.settimeout(left)
                chunk = response.read1(min(CHUNK, cap - total + 1), decode_content=True)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise BodyTooLargeError(total)
                parts.append(chunk)
            complete = True
            return b"".join(parts)
        except urllib3.exceptions.DecodeError:
            raise BadEncodingError("the compressed body does not inflate") from None
        finally:
            if ticket is not None and WATCHDOG.disarm(ticket):
                complete = False
                raise TimeoutError("deadline") from None  # whatever the shut-down socket made the read raise
    finally:
        if not complete:
            response.close()  # a half-read connection must not be reused
        response.release_conn()
