"""Walk the pages of one date: page 1, then the rest as workers free up, then the count check.

The rule that keeps rows from being lost or repeated: a date's rows must
number exactly the ``totalRow`` every page reported, with unique ids. If the
day changed while it was paged (a live day gains calls, or the server's order
shifted), the whole date is scanned again; if it still does not add up,
:class:`~nxframe.errors.IncompleteDataError`. A short day is never returned.

What is not believed: a ``totalRow`` that is negative or over
``max_rows_per_date`` is a :class:`~nxframe.errors.ResponseError` on the
first such answer. (A page whose ``pageNumber`` is not the page asked for is
refused by the decoders, which build every :class:`~nxframe.decode.Page` with
the number that was asked for.)

Concurrency: the transport lets ``concurrency`` requests be on the wire at
once, from the request to the body's last byte. The :class:`PageWorkers` of
one fetch send and decode every page of every date; they are a few more than
that (one per CPU, up to ``concurrency``), so pages that arrived are decoded
while the next ones are already being asked for: a worker that held its
request slot through the decode would leave the network idle whenever
decoding is the slow part (measured on the mixed-shape day of ``make bench``,
concurrency 8, 20 ms of latency: 0.72 s with the slot held, 0.60 s without).
A page is handed over only when a worker is free, so what is queued or
running stays bounded whatever the number of dates or pages (a ``totalRow``
of 10**12 costs a few futures, not a billion). Each date's
:class:`DateWalk` runs in a thread of its own (:mod:`nxframe.stream` keeps a
few of them going) and only waits on the workers.

The ``date`` column is added here, once, for fetched rows: each
:attr:`DateResult.table` has ``date`` first. The lake does not repeat it in
its files (the Hive path ``date=YYYY-MM-DD`` carries it) and its reader takes
it from the path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import logging
import math
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .decode import Page, Reply, ShapeMemory, decode_page
from .errors import IncompleteDataError, ResponseError
from .query import CdrQuery
from .schema import arrow_schema
from .transport import Transport

__all__ = [
    "SCANS",
    "DateResult",
    "DateWalk",
    "FetchProgress",
    "PageWorkers",
    "ProgressCallback",
    "Tracker",
    "count_rows",
    "fetch_page",
]

log = logging.getLogger("nxframe")

#: Scans of one date before giving up on a day that keeps changing.
SCANS = 3


@dataclass(frozen=True)
class FetchProgress:
    """Where a fetch stands, passed to a progress callback after every page.

    ``pages_total`` grows as each date's first page tells its page count.
    """

    pages_done: int
    pages_total: int
    dates_done: int
    dates_total: int
    rows: int


ProgressCallback = Callable[[FetchProgress], None]


@dataclass(frozen=True)
class DateResult:
    """One date's outcome: its table (``date`` first) or the error that stopped it."""

    date: dt.date
    table: pa.Table | None = None
    error: BaseException | None = None
    total_row: int = 0

    def table_or_raise(self) -> pa.Table:
        """The table; for a failed date, its error is raised here."""
        if self.error is not None:
            raise self.error
        if self.table is None:  # pragma: no cover - a result holds one or the other
            raise ValueError(f"{self.date}: a result with neither a table nor an error")
        return self.table


class Tracker:
    """Counts pages and dates across threads and reports them, one report at a time."""

    def __init__(self, dates_total: int, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.pages_done = self.pages_total = self.dates_done = self.rows = 0
        self.dates_total = dates_total

    def add_pages(self, count: int) -> None:
        with self._lock:
            self.pages_total += count
            self._report()

    def page_done(self, rows: int) -> None:
        with self._lock:
            self.pages_done += 1
            self.rows += rows
            self._report()

    def date_done(self) -> None:
        with self._lock:
            self.dates_done += 1
            self._report()

    def _report(self) -> None:
        if self._callback is not None:
            self._callback(
                FetchProgress(self.pages_done, self.pages_total, self.dates_done, self.dates_total, self.rows)
            )


class PageWorkers:
    """The threads that send and decode pages, shared by every date of one fetch.

    ``concurrency`` of them can be on the wire (the transport holds them to
    that) while up to one per CPU, at most ``concurrency``, decode what
    arrived. Decodes beyond that wait at :attr:`decoding`: more threads
    decoding than CPUs only fight over the GIL (measured: 8 at once took 20%
    longer than 2). A worker is reserved before a page is handed over and
    freed when its page ends (done, failed or cancelled), so queued plus
    running pages never exceed :attr:`width`, across every date.

    A worker that frees up goes to the earliest date waiting for one (its
    ``rank``): dates are handed on in date order, so finishing the earliest
    first gets it to the caller soonest and holds the fewest pages of dates
    in progress (measured, 60 dates of 100 000 rows: peak RSS 1.9x one
    date's when workers went to whichever date asked first, 1.3-1.4x now).
    """

    def __init__(self, concurrency: int) -> None:
        decoders = min(concurrency, _cpus())
        self.width = concurrency + decoders
        #: Pages being decoded at once.
        self.decoding = threading.Semaphore(decoders)
        self._idle = self.width
        self._waiting: list[int] = []  # ranks of the dates waiting for a worker (a heap)
        self._turn = threading.Condition()
        self._pool = ThreadPoolExecutor(self.width, thread_name_prefix="nxframe-page")

    def submit(self, task: Callable[[int], Page], number: int, *, rank: int = 0) -> Future[Page]:
        """Hand page ``number`` to ``task`` on a worker, waiting until one is free and no earlier date waits."""
        with self._turn:
            heapq.heappush(self._waiting, rank)
            while not (self._idle and self._waiting[0] == rank):
                self._turn.wait()
            heapq.heappop(self._waiting)
            self._idle -= 1
            self._turn.notify_all()  # a worker may be left for the next date in line
        try:
            future = self._pool.submit(task, number)
        except BaseException:
            self._free()
            raise
        future.add_done_callback(self._free)
        return future

    def _free(self, _page: Future[Page] | None = None) -> None:
        with self._turn:
            self._idle += 1
            self._turn.notify_all()

    def shutdown(self, *, wait: bool) -> None:
        """Cancel the pages not started; with ``wait``, also wait for those on the wire."""
        self._pool.shutdown(wait=wait, cancel_futures=True)


class DateWalk:
    """The pages of one date, walked until they make a whole day (or the date fails).

    Call :meth:`run` on a thread of its own: it only waits on ``workers``.
    """

    def __init__(
        self,
        transport: Transport,
        query: CdrQuery,
        date: dt.date,
        workers: PageWorkers,
        tracker: Tracker,
        *,
        rank: int = 0,
    ) -> None:
        self.date = date
        self.rank = rank  # the date's place in the stream: earlier dates get free workers first
        self._transport = transport
        self._query = query
        self._workers = workers
        self._tracker = tracker
        # Set by a worker whose page failed, before that worker is free again: no further page is asked for.
        self._failed = threading.Event()

    def run(self) -> DateResult:
        """The date's table, or the error that stopped it (handed on: the caller decides if it is fatal)."""
        try:
            table, total_row = self._scan_until_consistent()
        except Exception as exc:
            return DateResult(self.date, error=exc)
        finally:
            self._tracker.date_done()
        return DateResult(self.date, table=table, total_row=total_row)

    def _scan_until_consistent(self) -> tuple[pa.Table, int]:
        query, date = self._query, self.date
        problem = ""
        for scan in range(1, SCANS + 1):
            self._tracker.add_pages(1)
            first = self._workers.submit(self._page, 1, rank=self.rank).result()
            count = _page_count(first, query.page_size, date)
            self._tracker.add_pages(max(count - 1, 0))
            pages = self._rest(first, count)
            problem = _inconsistency(pages)
            if not problem:
                return _date_table(date, pages, query.tz), first.total_row
            log.warning("%s scan %d of %d: %s; scanning the date again", date, scan, SCANS, problem)
        raise IncompleteDataError(
            f"{date}: {problem}, in each of {SCANS} scans; the day kept changing while it was paged. "
            "Nothing was returned or persisted for it; try again later (a live day settles)",
            date=date,
            expected=pages[0].total_row,
            received=sum(p.table.num_rows for p in pages),
        )

    def _rest(self, first: Page, count: int) -> list[Page]:
        """Pages 2..count after ``first``, in page order; each is asked for as a worker frees up.

        A failed page stops the asking; the first failure in page order is
        raised and pages still queued are cancelled.
        """
        pages = [first]
        pending: deque[Future[Page]] = deque()
        try:
            for number in range(2, count + 1):
                if self._failed.is_set():
                    break
                pending.append(self._workers.submit(self._page, number, rank=self.rank))  # waits for a worker
                while pending and pending[0].done():
                    pages.append(pending.popleft().result())
            while pending:
                pages.append(pending.popleft().result())
            return pages
        finally:
            for future in pending:
                future.cancel()

    def _page(self, number: int) -> Page:
        """Page ``number`` of the date, counted; runs on a worker."""
        try:
            page = fetch_page(self._transport, self._query, self.date, number, decoding=self._workers.decoding)
            self._tracker.page_done(page.table.num_rows)
        except BaseException:
            self._failed.set()
            raise
        return page


@dataclass(frozen=True)
class _PageParser:
    """Decodes the body of page ``number``, no more at once than ``gate`` lets through."""

    number: int
    tz: str | None
    gate: threading.Semaphore | None = None
    memory: ShapeMemory | None = None  # the transport's: what the decoder learned of this server

    def __call__(self, raw: bytes) -> Reply:
        with self.gate or contextlib.nullcontext():
            return decode_page(raw, page_number=self.number, tz=self.tz, memory=self.memory)


def fetch_page(
    transport: Transport,
    query: CdrQuery,
    date: dt.date,
    number: int,
    *,
    page_size: int | None = None,
    decoding: threading.Semaphore | None = None,
) -> Page:
    """One page, with a believable ``totalRow``; ``decoding`` bounds the decodes running at once."""
    parse = _PageParser(number, query.tz, decoding, transport.shapes)
    reply = transport.call(query.body(date, number, page_size), parse, date=date, page=number)
    page = reply.page
    if page is None:  # pragma: no cover - the transport returns only code-0 replies, which hold a page
        raise ResponseError(f"NXCloud sent no page for {date} page {number}", date=date, page=number)
    limit = transport.settings.max_rows_per_date
    if not 0 <= page.total_row <= limit:
        raise ResponseError(
            f"NXCloud says {date} has totalRow {page.total_row}, outside 0..{limit} (max_rows_per_date); "
            "if the day really is that big, raise Client(max_rows_per_date=...)",
            date=date,
            page=number,
        )
    return page


def count_rows(transport: Transport, query: CdrQuery, date: dt.date) -> int:
    """The API's ``totalRow`` for a date, with the cheapest request there is (``pageSize=1``)."""
    return fetch_page(transport, query, date, 1, page_size=1).total_row


def _cpus() -> int:
    """The CPUs this process may run on (a container's share, where the OS says)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _page_count(first: Page, page_size: int, date: dt.date) -> int:
    """How many pages the date has, by the size the server actually pages with."""
    rows = first.table.num_rows
    if 0 < rows < min(page_size, first.total_row):
        # The server answered with smaller pages than asked (a cap it does not document): page by its size.
        log.warning("%s: asked for %d rows a page, NXCloud sends %d; paging by %d", date, page_size, rows, rows)
        page_size = rows
    return math.ceil(first.total_row / page_size)


def _inconsistency(pages: list[Page]) -> str:
    """Why the pages do not make a whole day, or ``""`` when they do."""
    announced = {page.total_row for page in pages}
    if len(announced) > 1:
        return f"totalRow changed while paging ({' -> '.join(str(p.total_row) for p in pages)})"
    expected = pages[0].total_row
    received = sum(page.table.num_rows for page in pages)
    if received != expected:
        return f"received {received} rows but totalRow is {expected}"
    if received:
        ids = pa.chunked_array([page.table.column("id").combine_chunks() for page in pages])
        unique = pc.count_distinct(ids).as_py()
        if unique != received:
            return f"{received - unique} rows repeat an id already received"
    return ""


def _date_table(date: dt.date, pages: list[Page], tz: str | None) -> pa.Table:
    """The date's rows in page order, ``date`` first; the full schema even when empty."""
    schema = arrow_schema(tz)
    tables = [page.table for page in pages if page.table.num_rows]
    if not tables:
        return schema.empty_table()
    rows = pa.concat_tables(tables)
    return rows.add_column(0, schema.field("date"), pa.repeat(pa.scalar(date, pa.date32()), rows.num_rows))
