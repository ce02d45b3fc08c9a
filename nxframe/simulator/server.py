"""A real HTTP server on 127.0.0.1 that answers ``POST /api/did/cdr`` like NXCloud.

It checks what NXCloud checks (``docs/signing.md``, ``docs/nxcloud-api.md``): every
signed header, the signature (md5 or sha256) over the exact body bytes, the
60-second ``ts`` window, the body's fields, ``pageSize < 1000``; and answers
with the documented codes. Its data comes from :class:`CallGenerator`, the
same for a seed; :meth:`Simulator.ground_truth` returns what a correct client
must produce. Faults are switched on through :attr:`Simulator.faults`.
The HTTP side (checking requests, acting out faults) is in
:mod:`nxframe.simulator.handler`; this module holds the data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Unpack

import pandas as pd

from ..query import FILTERS, CdrQuery, QueryArgs, parse_date, query_doc
from .data import CallGenerator, page_body, record_json
from .faults import FaultPlan
from .handler import Handler, RequestLog, SimServer, handle
from .truth import truth_frame

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["RequestLog", "Simulator"]


@dataclass(frozen=True)
class _Filters:
    """The API values of a request's filters (hashable: a key of the page cache); rules in ``FILTERS``."""

    values: tuple[tuple[str, str | int], ...]

    @classmethod
    def of_body(cls, body: dict[str, Any]) -> _Filters:
        return cls(tuple((f.name, body[f.api_field]) for f in FILTERS if body.get(f.api_field) is not None))

    def keep(self, record: dict[str, Any]) -> bool:
        given = dict(self.values)
        return all(f.keeps(record, given.get(f.name)) for f in FILTERS)


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
        canary: one call a day with a 16-digit price per minute (proves no float is used; the tests' data).
        off_rule: the share of answered calls billed off the documented rules; :meth:`off_rule_calls` says which.
        anomalies: ``"YYYY-MM"``: plant one anomaly of each kind the monthly report looks for in that month.
        showcase: ``"YYYY-MM"``: a few off-rule calls (0.1%) and one anomaly of each kind in that month,
            so a report of it shows every section working (the demo's switch).
        language: ``"en"`` (default) or ``"zh"``: country and reason names as an account set to that
            language gets them (泰国, 新加坡, 主叫挂机, ...); also ``"ja"``, ``"th"``, ``"vi"``. The same
            seed gives the same calls in every language; only the names differ.
        ssl_context: serve https with this server-side context (e.g. a certificate made by ``trustme``);
            ``None`` serves plain http.

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
        canary: bool = False,
        off_rule: float = 0.0,
        anomalies: str | None = None,
        showcase: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        language: str = "en",
    ) -> None:
        self.access_key = access_key
        self.access_secret = access_secret
        self.latency = latency
        #: Set while the simulator answers; :meth:`held` clears it, so requests wait for the test.
        self.answering = threading.Event()
        self.answering.set()
        self.clock_offset = clock_offset
        self.max_page_size = max_page_size
        self.generator = CallGenerator(
            seed,
            rows_per_day,
            quirks,
            canary=canary,
            off_rule=off_rule or (0.001 if showcase else 0.0),
            anomalies=anomalies or showcase,
            language=language,
        )
        self.ssl_context = ssl_context
        self.faults = FaultPlan()
        self.requests: list[RequestLog] = []
        self._port = port
        self._days: dict[dt.date, list[dict[str, Any]]] = {}
        self._json: dict[int, str] = {}  # record id -> its JSON text
        self._pages: dict[tuple[Any, ...], bytes] = {}
        self._filtered: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._versions: dict[dt.date, int] = {}
        self._lock = threading.RLock()
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Simulator:
        """Start serving in a background thread."""
        if self._server is None:
            self._server = SimServer(("127.0.0.1", self._port), self, self.ssl_context)
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
        """``http://127.0.0.1:PORT`` (``https://`` with ``ssl_context``), for ``Client(base_url=...)``."""
        return f"{'http' if self.ssl_context is None else 'https'}://127.0.0.1:{self.port}"

    url = base_url

    def env(self) -> dict[str, str]:
        """The environment variables that point nxframe at this simulator."""
        return {
            "NXCLOUD_ACCESS_KEY": self.access_key,
            "NXCLOUD_ACCESS_SECRET": self.access_secret,
            "NXCLOUD_BASE_URL": self.base_url,
        }

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Requests that arrive inside the block are answered when it ends (for tests of what runs meanwhile)."""
        self.answering.clear()
        try:
            yield
        finally:
            self.answering.set()

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

    def off_rule_calls(self, start: str | dt.date, end: str | dt.date | None = None) -> dict[int, str]:
        """Record id -> how it is billed off the rules (``data.OFF_RULE_KINDS``), for ``start``..``end``."""
        first = parse_date(start)
        last = first if end is None else parse_date(end)
        ids = {r["id"] for n in range((last - first).days + 1) for r in self._day(first + dt.timedelta(days=n))}
        return {i: kind for i, kind in self.generator.off_rule_calls.items() if i in ids}

    def records(self, date: str | dt.date) -> list[dict[str, Any]]:
        """The date's records as the server holds them (copies)."""
        return [dict(r) for r in self._day(parse_date(date))]

    @query_doc
    def ground_truth(
        self, start: str | dt.date, end: str | dt.date | None = None, **query: Unpack[QueryArgs]
    ) -> pd.DataFrame:
        """What ``fetch_cdr`` must return for these arguments (its keywords), built independently of it."""
        built = CdrQuery.build(start, end, **query)
        filters = _Filters(built.filters_set)
        days = [(date, [r for r in self._day(date) if filters.keep(r)]) for date in built.dates()]
        return truth_frame(days, tz=built.tz)

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

    def restate(
        self,
        date: str | dt.date,
        *,
        add: int = 0,
        remove: Iterable[int] = (),
        reprice: Mapping[int, Decimal | str] | None = None,
    ) -> list[dict[str, Any]]:
        """NXCloud restates a past date: ``add`` late calls, ``remove`` calls and ``reprice`` others (id -> callPrice).

        Returns copies of the added records. Raises ``ValueError`` for an id the date does not hold.
        """
        day, gone, prices = parse_date(date), set(remove), dict(reprice or {})
        with self._lock:
            records = self._day(day)
            unknown = sorted((gone | set(prices)) - {r["id"] for r in records})
            if unknown:
                raise ValueError(f"{day} holds no call with id {unknown[0]}")
            for call_id in prices:
                self._json.pop(call_id, None)  # its JSON text is cached
            # A new price is sent as the old one was: a JSON number (Decimal) or a JSON string.
            self._days[day] = [
                {**r, "callPrice": type(r["callPrice"])(Decimal(str(prices[r["id"]])))} if r["id"] in prices else r
                for r in records
                if r["id"] not in gone
            ]
            self._changed(day)
            if add:
                self.add_calls(day, add)
            return [dict(r) for r in self._days[day][len(self._days[day]) - add :]] if add else []

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

    # -- one request (the HTTP side calls these) ----------------------------------

    def _handle(self, handler: Handler) -> None:
        handle(self, handler)

    def log(self, entry: RequestLog) -> None:
        """Record one request in :attr:`requests`."""
        with self._lock:
            self.requests.append(entry)

    def answer(self, body: dict[str, Any], skew: int = 0) -> bytes:
        """The code-0 page body for a checked request body (``skew``: start that many rows early)."""
        date = parse_date(body["date"])
        filters = _Filters.of_body(body)
        size = body["pageSize"] if self.max_page_size is None else min(body["pageSize"], self.max_page_size)
        return self._page_body(date, filters, body["page"], size, skew)
