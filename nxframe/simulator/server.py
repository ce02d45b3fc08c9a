"""A real HTTP server on 127.0.0.1 that answers ``POST /api/did/cdr`` like NXCloud.

It checks what NXCloud checks (``api/signing.md``, ``api/did-cdr.md``): every
signed header, the signature (md5 or sha256) over the exact body bytes, the
60-second ``ts`` window, the body's fields, ``pageSize < 1000``; and answers
with the documented codes. Its data comes from :class:`CallGenerator`, the
same for a seed; :meth:`Simulator.ground_truth` returns what a correct client
must produce. Faults are switched on through :attr:`Simulator.faults`.

HTTP status of error codes: NXCloud's docs show only bodies, so the simulator
answers API errors with HTTP 200 and the code in the body.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..query import parse_date
from ..signing import ALGORITHMS, sign
from .data import CallGenerator, page_body, record_json
from .faults import Fault, FaultPlan
from .truth import truth_frame

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["RequestLog", "Simulator"]

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


@dataclass(frozen=True)
class _Filters:
    did_number: str | None
    call_number: str | None
    call_type: int | None

    def keep(self, record: dict[str, Any]) -> bool:
        return (
            (self.did_number is None or str(record["number"]) == self.did_number)
            and (self.call_number is None or str(record["callNumber"]) == self.call_number)
            and (self.call_type is None or record["callType"] == self.call_type)
        )


class Simulator:
    """The NXCloud DID call record API, offline, on 127.0.0.1.

    Use as a context manager::

        with Simulator(seed=7) as sim:
            df = nxframe.fetch_cdr("2024-03-01", client=sim.client())
            assert len(df) == len(sim.ground_truth("2024-03-01"))

    Args:
        seed: the data; the same seed gives the same calls.
        port: 0 picks a free port.
        access_key, access_secret: the credentials it accepts (not real ones).
        rows_per_day: calls per date: int, function of the date, or ``None`` (realistic).
        quirks: send the awkward cases a real server may send (see
            :mod:`nxframe.simulator.data`); ``False`` sends only the documented shape.
        latency: seconds to wait before each answer.
        clock_offset: seconds the server's clock is ahead of this machine's.
        max_page_size: answer at most this many rows a page whatever ``pageSize``
            asks (a cap a real server might apply without saying so).

    Dates after the server's today have no calls yet.
    """

    DEFAULT_ACCESS_KEY = "nxframe-sim-key"
    DEFAULT_ACCESS_SECRET = "nxframe-sim-secret"

    def __init__(
        self,
        *,
        seed: int = 0,
        port: int = 0,
        access_key: str = DEFAULT_ACCESS_KEY,
        access_secret: str = DEFAULT_ACCESS_SECRET,
        rows_per_day: int | Callable[[dt.date], int] | None = None,
        quirks: bool = True,
        latency: float = 0.0,
        clock_offset: float = 0.0,
        max_page_size: int | None = None,
    ) -> None:
        self.access_key = access_key
        self.access_secret = access_secret
        self.latency = latency
        self.clock_offset = clock_offset
        self.max_page_size = max_page_size
        self.generator = CallGenerator(seed, rows_per_day, quirks)
        self.faults = FaultPlan()
        self.requests: list[RequestLog] = []
        self._port = port
        self._days: dict[dt.date, list[dict[str, Any]]] = {}
        self._json: dict[int, str] = {}  # record id -> its JSON text
        self._pages: dict[tuple[Any, ...], bytes] = {}
        self._filtered: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._versions: dict[dt.date, int] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Simulator:
        """Start serving in a background thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", self._port), _Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="nxframe-simulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``Client(base_url=...)`` or ``NXCLOUD_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}"

    url = base_url

    def env(self) -> dict[str, str]:
        """The environment variables that point nxframe at this simulator."""
        return {
            "NXCLOUD_ACCESS_KEY": self.access_key,
            "NXCLOUD_ACCESS_SECRET": self.access_secret,
            "NXCLOUD_BASE_URL": self.base_url,
        }

    def client(self, **options: Any) -> Client:
        """A :class:`~nxframe.Client` for this simulator; ``options`` go to the client."""
        from ..client import Client

        return Client(self.access_key, self.access_secret, base_url=self.base_url, **options)

    # -- data ------------------------------------------------------------------------

    def today(self) -> dt.date:
        """The server's date (its clock includes ``clock_offset``)."""
        return dt.date.fromtimestamp(self.now())

    def now(self) -> float:
        return time.time() + self.clock_offset

    def records(self, date: str | dt.date) -> list[dict[str, Any]]:
        """The date's records as the server holds them (copies)."""
        return [dict(r) for r in self._day(parse_date(date))]

    def ground_truth(
        self,
        start: str | dt.date,
        end: str | dt.date | None = None,
        *,
        did_number: str | None = None,
        call_number: str | None = None,
        call_type: int | str | None = None,
        tz: str | None = None,
    ) -> pd.DataFrame:
        """What ``fetch_cdr`` must return for these arguments, built independently of it."""
        from ..query import CdrQuery

        query = CdrQuery.build(start, end, did_number=did_number, call_number=call_number, call_type=call_type, tz=tz)
        filters = _Filters(query.did_number, query.call_number, query.call_type)
        days = [(date, [r for r in self._day(date) if filters.keep(r)]) for date in query.dates()]
        return truth_frame(days, tz=query.tz)

    def set_rows(self, date: str | dt.date, rows: int) -> None:
        """Give ``date`` exactly ``rows`` calls (regenerated, deterministic)."""
        day = parse_date(date)
        with self._lock:
            self._days[day] = self.generator.calls(day, 0, rows) if day <= self.today() else []
            self._changed(day)

    def add_calls(self, date: str | dt.date, rows: int = 5) -> None:
        """Calls arrive on ``date`` (a live day grows)."""
        day = parse_date(date)
        with self._lock:
            records = self._day(day)
            last = max((r["id"] for r in records), default=(day - dt.date(2020, 1, 1)).days * 1_000_000)
            first_index = last - (day - dt.date(2020, 1, 1)).days * 1_000_000
            self._days[day] = records + self.generator.calls(day, first_index, rows)
            self._changed(day)

    def remove_calls(self, date: str | dt.date, rows: int = 3) -> None:
        """Calls vanish from ``date`` (the server's day shrinks), from the start."""
        day = parse_date(date)
        with self._lock:
            self._days[day] = self._day(day)[rows:]
            self._changed(day)

    def reset(self) -> None:
        """Clear faults and the request log; keep the data."""
        self.faults.clear()
        with self._lock:
            self.requests.clear()

    def _day(self, date: dt.date) -> list[dict[str, Any]]:
        with self._lock:
            if date not in self._days:
                self._days[date] = self.generator.day(date) if date <= self.today() else []
            return self._days[date]

    def _changed(self, date: dt.date) -> None:
        self._versions[date] = self._versions.get(date, 0) + 1

    def _rows(self, date: dt.date, filters: _Filters) -> list[dict[str, Any]]:
        with self._lock:
            key = (date, self._versions.get(date, 0), filters)
            rows = self._filtered.get(key)
            if rows is None:
                rows = [r for r in self._day(date) if filters.keep(r)]
                if len(self._filtered) > 64:
                    self._filtered.clear()
                self._filtered[key] = rows
            return rows

    def _record_json(self, record: dict[str, Any]) -> str:
        text = self._json.get(record["id"])
        if text is None:
            text = self._json[record["id"]] = record_json(record)
        return text

    def _page_body(self, date: dt.date, filters: _Filters, page: int, size: int, skew: int = 0) -> bytes:
        with self._lock:
            key = (date, self._versions.get(date, 0), filters, page, size, skew)
            body = self._pages.get(key)
            if body is not None:
                return body
            rows = self._rows(date, filters)
            total = len(rows)
            first = max((page - 1) * size - skew, 0)
            chunk = rows[first : first + size]
        body = page_body((self._record_json(r) for r in chunk), total_row=total, page=page, page_size=size)
        with self._lock:
            if len(self._pages) > 4096:
                self._pages.clear()
            self._pages[key] = body
        return body

    # -- one request -----------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self.latency:
            time.sleep(self.latency)
        if handler.path.split("?")[0] != PATH:
            handler.reply(404, b'{"error":"not found"}')
            return
        code, body = self._check(handler, raw)
        fault = self.faults.take(body.get("date") if body else None, body.get("page") if body else None)
        status = None if fault is None else self._act(handler, fault, code, body)
        if status is None:
            status = 200
            if code != 0 or body is None:
                handler.reply(200, _error_body(code))
            else:
                skew = int(fault.options.get("rows", 3)) if fault is not None and fault.kind == "overlap" else 0
                handler.reply(200, self._answer(body, skew))
        shown = {k: handler.headers.get(k, "") for k in ("accessKey", "ts", "bizType", "action", "sign", "algorithm")}
        with self._lock:
            self.requests.append(
                RequestLog(time.time(), shown, body, code, status, None if fault is None else fault.kind)
            )

    def _answer(self, body: dict[str, Any], skew: int) -> bytes:
        date = parse_date(body["date"])
        filters = _Filters(body.get("didNumber"), body.get("callNumber"), body.get("type"))
        size = body["pageSize"] if self.max_page_size is None else min(body["pageSize"], self.max_page_size)
        return self._page_body(date, filters, body["page"], size, skew)

    def _act(self, handler: _Handler, fault: Fault, code: int, body: dict[str, Any] | None) -> int | None:
        """Act out ``fault``: the HTTP status sent (0 when none was), or ``None`` to answer normally."""
        kind = fault.kind
        if kind.startswith("http_"):
            status = int(kind[5:])
            retry_after = fault.options.get("retry_after", 1 if status == 429 else None)
            extra = {} if retry_after is None else {"Retry-After": str(retry_after)}
            handler.reply(status, f'{{"status":{status},"error":"simulated"}}'.encode(), extra)
            return status
        if kind.startswith("code_"):
            handler.reply(200, _error_body(int(kind[5:])))
            return 200
        if kind == "drop":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return 0
        if kind == "timeout":
            time.sleep(float(fault.options.get("seconds", 5.0)))
            return None
        if kind in ("grow", "shrink"):
            if body is not None and code == 0:
                rows = int(fault.options.get("rows", 5 if kind == "grow" else 3))
                (self.add_calls if kind == "grow" else self.remove_calls)(body["date"], rows)
            return None
        if kind == "overlap":
            return None
        normal = self._answer(body, 0) if body is not None and code == 0 else _error_body(code)
        if kind == "truncate":
            handler.close_connection = True
            handler.reply(200, normal[: len(normal) // 2], length=len(normal))
            return 200
        shapes = {
            "malformed": normal[: max(len(normal) // 2, 1)],
            "data_null": b'{"code":0,"message":"Request successful","data":null}',
            "list_not_list": b'{"code":0,"message":"Request successful","data":{"totalRow":1,"pageNumber":1,'
            b'"totalPage":1,"pageSize":10,"list":{}}}',
            "missing_total_row": b'{"code":0,"message":"Request successful","data":{"pageNumber":1,"totalPage":1,'
            b'"pageSize":10,"list":[]}}',
        }
        handler.reply(200, shapes[kind])
        return 200

    def _check(self, handler: _Handler, raw: bytes) -> tuple[int, dict[str, Any] | None]:
        """The API's verdict on a request: (code, parsed body or ``None``)."""
        headers = handler.headers
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        needed = ("accessKey", "ts", "bizType", "action", "sign")
        if any(not headers.get(name) for name in needed):
            return 1001, None
        if headers["accessKey"] != self.access_key or headers["bizType"] != "4" or headers["action"] != "cdr":
            return 1005, None
        ts = headers["ts"]
        if not (ts.isdigit() and len(ts) == 13) or abs(int(self.now() * 1000) - int(ts)) > TS_WINDOW_MS:
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
            access_secret=self.access_secret,
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
    for name in ("didNumber", "callNumber"):
        if name in body and not isinstance(body[name], str):
            return False
    return "type" not in body or integer(body["type"], 0, 1)


def _error_body(code: int) -> bytes:
    return json.dumps({"code": code, "data": None, "message": MESSAGES.get(code, "error")}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer is normal under fault injection; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        self.server.simulator._handle(self)

    def do_GET(self) -> None:
        self.reply(405, b'{"error":"use POST"}')

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """``Date`` from the simulated server's clock, offset included."""
        return email.utils.formatdate(self.server.simulator.now() if timestamp is None else timestamp, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and the demo do not want a line per request."""
