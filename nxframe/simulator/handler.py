"""The simulator's HTTP side: checking a request as NXCloud does, then answering or acting out a fault.

Kept apart from :mod:`nxframe.simulator.server` (which holds the data) so each
room stays small: this module knows HTTP, signatures and faults; it asks its
:class:`Backend` for pages and credentials. Every answer is planned first as
an :class:`Answer`, logged, then sent, so a test sees the request in
``Simulator.requests`` even while a never-ending body is still streaming.

HTTP status of error codes: NXCloud's docs show only bodies, so API errors
are answered with HTTP 200 and the code in the body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hmac
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from ..query import FILTERS
from ..redaction import Secret
from ..signing import ALGORITHMS, sign
from . import hostile
from .answer import Answer
from .faults import Fault, FaultPlan

__all__ = ["MESSAGES", "PATH", "Answer", "Backend", "RequestLog", "SimServer", "error_body"]

PATH = "/api/did/cdr"
TS_WINDOW_MS = 60_000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MESSAGES = {
    0: "Request successful",
    -1: "Request failed",
    1001: "missing common header",
    1002: "Parameter error",
    1003: "invalid signature",
    1004: "timestamp expired",
    1005: "no permission",
}


@dataclass(frozen=True)
class RequestLog:
    """One request the simulator received, for tests to inspect."""

    at: float
    headers: dict[str, str]
    body: dict[str, Any] | None
    code: int | None
    status: int
    fault: str | None


class Backend(Protocol):
    """What the handler needs from the simulator: credentials, clock, pages, the fault plan, the log."""

    access_key: str
    access_secret: str
    latency: float
    answering: threading.Event
    faults: FaultPlan

    def now(self) -> float: ...

    def answer(self, body: dict[str, Any], skew: int = 0) -> bytes: ...

    def add_calls(self, date: str | dt.date, rows: int = 5) -> None: ...

    def remove_calls(self, date: str | dt.date, rows: int = 3) -> None: ...

    def log(self, entry: RequestLog) -> None: ...

    def _handle(self, handler: Handler) -> None: ...


def handle(backend: Backend, handler: Handler) -> None:
    """Read one request, decide the answer, log it, send it."""
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if backend.latency:
        time.sleep(backend.latency)
    backend.answering.wait()  # cleared while a test holds the answers (Simulator.held)
    if handler.path.split("?")[0] != PATH:
        handler.send(Answer(404, b'{"error":"not found"}'))
        return
    code, body = check(backend, handler, raw)
    fault = backend.faults.take(body.get("date") if body else None, body.get("page") if body else None)
    answer = None if fault is None else act(backend, fault, code, body)
    if answer is None:
        if code != 0 or body is None:
            answer = Answer(200, error_body(code))
        else:
            skew = int(fault.options.get("rows", 3)) if fault is not None and fault.kind == "overlap" else 0
            answer = Answer(200, backend.answer(body, skew))
        if fault is not None and fault.kind == "timeout":
            answer = dataclasses.replace(answer, delay=float(fault.options.get("seconds", 5.0)))
    shown = {k: handler.headers.get(k, "") for k in ("accessKey", "ts", "bizType", "action", "sign", "algorithm")}
    backend.log(RequestLog(time.time(), shown, body, code, answer.status, None if fault is None else fault.kind))
    handler.send(answer)


def act(backend: Backend, fault: Fault, code: int, body: dict[str, Any] | None) -> Answer | None:
    """Act out ``fault``: the answer to send, or ``None`` to answer normally (after any side effect)."""
    kind = fault.kind
    options = fault.options
    if kind.startswith("http_"):
        status = int(kind[5:])
        retry_after = options.get("retry_after", 1 if status == 429 else None)
        extra = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return Answer(status, f'{{"status":{status},"error":"simulated"}}'.encode(), extra)
    if kind.startswith("code_"):
        return Answer(200, error_body(int(kind[5:]), options.get("message")))
    if kind == "drop":
        return Answer(0)
    if kind == "timeout":  # the normal answer, late (see handle)
        return None
    if kind in ("grow", "shrink"):
        if body is not None and code == 0:
            rows = int(options.get("rows", 5 if kind == "grow" else 3))
            (backend.add_calls if kind == "grow" else backend.remove_calls)(body["date"], rows)
        return None
    if kind == "overlap":
        return None
    normal = backend.answer(body, 0) if body is not None and code == 0 else error_body(code)
    if kind == "truncate":
        return Answer(200, normal[: len(normal) // 2], length=len(normal), close=True)
    if kind == "malformed":
        return Answer(200, normal[: max(len(normal) // 2, 1)])
    if kind == "body":
        return Answer(200, bytes(options["body"]))
    if kind in hostile.SHAPES:
        return Answer(200, hostile.SHAPES[kind])
    return hostile.act(kind, options, normal)


def check(backend: Backend, handler: Handler, raw: bytes) -> tuple[int, dict[str, Any] | None]:
    """The API's verdict on a request: (code, parsed body or ``None``)."""
    headers = handler.headers
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    needed = ("accessKey", "ts", "bizType", "action", "sign")
    if any(not headers.get(name) for name in needed):
        return 1001, None
    if headers["accessKey"] != backend.access_key or headers["bizType"] != "4" or headers["action"] != "cdr":
        return 1005, None
    ts = headers["ts"]
    if not (ts.isdigit() and len(ts) == 13) or abs(int(backend.now() * 1000) - int(ts)) > TS_WINDOW_MS:
        return 1004, None
    algorithm = headers.get("algorithm") or "md5"
    if content_type != "application/json" or algorithm not in ALGORITHMS:
        return 1003, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return 1003, None
    expected = sign(
        access_key=headers["accessKey"],
        action=headers["action"],
        biz_type=headers["bizType"],
        ts=ts,
        body=text if raw else None,
        access_secret=Secret(backend.access_secret),
        algorithm=algorithm,  # type: ignore[arg-type]
    )
    if not hmac.compare_digest(expected, headers["sign"]):
        return 1003, None
    try:
        body = json.loads(text)
    except ValueError:
        return 1002, None
    return (0, body) if _valid_body(body) else (1002, None)


def _valid_body(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    date = body.get("date")
    if not isinstance(date, str) or not _DATE.fullmatch(date):
        return False
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        return False

    def integer(value: Any, low: int, high: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    if not integer(body.get("pageSize"), 1, 999) or not integer(body.get("page"), 1, 10**9):
        return False
    for rule in FILTERS:  # a filter with codes takes one of them (an integer), a free-text one a string
        if rule.api_field in body:
            value = body[rule.api_field]
            coded = integer(value, min(rule.codes.values(), default=0), max(rule.codes.values(), default=-1))
            if not (coded and value in rule.codes.values() if rule.codes else isinstance(value, str)):
                return False
    return True


def error_body(code: int, message: str | None = None) -> bytes:
    """The body NXCloud sends with a non-zero code (``message``: another text than the usual one)."""
    said = MESSAGES.get(code, "error") if message is None else message
    return json.dumps({"code": code, "data": None, "message": said}, ensure_ascii=False).encode()


class SimServer(ThreadingHTTPServer):
    """The listening socket; each connection gets a thread that asks ``backend`` what to answer."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Backend, ssl_context: ssl.SSLContext | None = None) -> None:
        self.backend = backend
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer is normal under fault injection; stay quiet."""


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 so the client's pooled connections are kept alive."""

    protocol_version = "HTTP/1.1"
    server: SimServer

    def setup(self) -> None:
        """TLS per connection, in its own thread: a client that never finishes the handshake blocks no one."""
        if self.server.ssl_context is not None:
            self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self.server.ssl_context is not None:
                self.request.close()  # the server closes the plain socket it accepted, which TLS took over

    def do_POST(self) -> None:
        self.server.backend._handle(self)

    def do_GET(self) -> None:
        self.send(Answer(405, b'{"error":"use POST"}'))

    def send(self, answer: Answer) -> None:
        """Send ``answer``; a client hanging up mid-stream ends it quietly."""
        if answer.delay:
            time.sleep(answer.delay)
        if answer.status == 0:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        length = len(answer.body) if answer.length is None else answer.length
        if length >= 0:
            self.send_header("Content-Length", str(length))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.close or length < 0:
            self.close_connection = True
            self.send_header("Connection", "close")
        try:
            if answer.header_interval:
                wire, self.wfile = self.wfile, _Dripping(self.wfile, answer.header_interval)  # type: ignore[assignment]
                try:
                    self.end_headers()
                finally:
                    self.wfile = wire
            else:
                self.end_headers()
            for chunk in _chunks(answer):
                self.wfile.write(chunk)
                if answer.interval:
                    self.wfile.flush()
                    time.sleep(answer.interval)
        except OSError:  # the client gave up: that is what these faults are for
            self.close_connection = True

    def date_time_string(self, timestamp: float | None = None) -> str:
        """``Date`` from the simulated server's clock, offset included."""
        return email.utils.formatdate(self.server.backend.now() if timestamp is None else timestamp, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and the demo do not want a line per request."""


class _Dripping:
    """A writer that sends what it is given a byte at a time, ``interval`` seconds apart."""

    def __init__(self, wire: Any, interval: float) -> None:
        self._wire, self._interval = wire, interval

    def write(self, data: bytes) -> int:
        for i in range(len(data)):
            self._wire.write(data[i : i + 1])
            self._wire.flush()
            time.sleep(self._interval)
        return len(data)

    def flush(self) -> None:
        self._wire.flush()


def _chunks(answer: Answer) -> Iterator[bytes]:
    if answer.body:
        yield answer.body
    if answer.chunks is not None:
        yield from answer.chunks
