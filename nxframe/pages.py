"""Walk the pages of each date: page 1, then the rest as workers free up, then the count check.

The rule that keeps rows from being lost or repeated: a date's rows must
number exactly the ``totalRow`` every page reported, with unique ids. If the
day changed while it was paged (a live day gains calls, or the server's order
shifted), the whole date is scanned again; if it still does not add up,
:class:`~nxframe.errors.IncompleteDataError`. A short day is never returned.

What is not believed (DESIGN.md, "What the client refuses from a server"): a
``totalRow`` that is negative or over ``max_rows_per_date``, and a page whose
``pageNumber`` is not the page asked for, are a
:class:`~nxframe.errors.ResponseError` on the first such answer.

Concurrency: the transport lets ``concurrency`` requests be on the wire at
once, from the request to the body's last byte. One pool of workers sends
and decodes every page; it has a few more workers than that (one per CPU, up
to ``concurrency``), so pages that arrived are decoded while the next ones
are already being asked for: a worker that held its request slot through
the decode would leave the network idle whenever decoding is the slow part
(measured on the mixed-shape day of ``make bench``, concurrency 8, 20 ms of
latency: 0.72 s with the slot held, 0.60 s without). A page is
handed to the pool only when a worker is free, so what is queued or running
stays bounded whatever the number of dates or pages (a ``totalRow`` of
10**12 costs a few futures, not a billion). A second pool runs the per-date
walks, which only wait on the first.

The ``date`` column is added here, once, for fetched rows: each
:attr:`DateResult.table` has ``date`` first. The lake does not repeat it in
its files (the Hive path ``date=YYYY-MM-DD`` carries it) and its reader takes
it from the path.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from .decode import Page, Reply, decode_page
from .errors import IncompleteDataError, ResponseError
from .query import CdrQuery
from .schema import arrow_schema
from .transport import Transport

__all__ = ["SCANS", "DateResult", "FetchProgress", "ProgressCallback", "count_rows", "fetch_dates"]

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


class _Tracker:
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


class _Workers:
    """Threads that accept a page only when one of them is free; at most one decode per CPU.

    ``concurrency`` workers can be on the wire (the transport holds them to
    that) while up to one per CPU, at most ``concurrency``, decode what
    arrived. Decodes beyond that wait at :attr:`decoding`: more threads
    decoding than CPUs only fight over the GIL (measured: 8 at once took 20%
    longer than 2). A slot is taken before a page is submitted and given
    back when its page ends (done, failed or cancelled), so queued plus
    running never exceeds :attr:`width`, across every date sharing the pool.
    """

    def __init__(self, concurrency: int) -> None:
        decoders = min(concurrency, _cpus())
        self.width = concurrency + decoders
        self.decoding = threading.Semaphore(decoders)
        self._pool = ThreadPoolExecutor(self.width, thread_name_prefix="nxframe-page")
        self._free = threading.Semaphore(self.width)

    def submit(
        self, get: Callable[[int], Page], number: int, watch: Callable[[Future[Page]], None] | None = None
    ) -> Future[Page]:
        """Hand page ``number`` to a worker, waiting until one is free.

        ``watch`` sees the page end before its worker is free again, so a
        failure it records stops the next page from being handed over.
        """
        self._free.acquire()
        try:
            future = self._pool.submit(get, number)
        except BaseException:
            self._free.release()
            raise
        if watch is not None:
            future.add_done_callback(watch)
        future.add_done_callback(lambda _: self._free.release())
        return future

    def shutdown(self, *, wait: bool) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


def fetch_dates(
    transport: Transport,
    query: CdrQuery,
    dates: list[dt.date] | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> Iterator[DateResult]:
    """Fetch each date of the query; yield each one's result as it completes.

    A failed date yields its error instead of a table and does not stop the
    others; stopping the iteration early cancels the dates not yet started.
    """
    dates = query.dates() if dates is None else dates
    width = transport.settings.concurrency
    tracker = _Tracker(len(dates), progress)
    tracker.add_pages(0)
    workers = _Workers(width)
    walks = ThreadPoolExecutor(min(width, len(dates)) or 1, thread_name_prefix="nxframe-date")
    try:
        futures: dict[Future[DateResult], dt.date] = {
            walks.submit(_fetch_date, transport, workers, query, date, tracker): date for date in dates
        }
        for future in as_completed(futures):
            yield future.result()
    finally:
        # Cancel queued requests first so date walks blocked on them end promptly.
        workers.shutdown(wait=False)
        walks.shutdown(wait=True, cancel_futures=True)
        workers.shutdown(wait=True)


def _fetch_date(
    transport: Transport, workers: _Workers, query: CdrQuery, date: dt.date, tracker: _Tracker
) -> DateResult:
    try:
        get = partial(_get_page, transport, query, date, tracker=tracker, decoding=workers.decoding)
        table, total_row = _scan_until_consistent(get, workers, query, date, tracker)
    except Exception as exc:  # handed to the caller, who decides whether one date's failure is fatal
        return DateResult(date, error=exc)
    finally:
        tracker.date_done()
    return DateResult(date, table=table, total_row=total_row)


def _scan_until_consistent(
    get: Callable[[int], Page], workers: _Workers, query: CdrQuery, date: dt.date, tracker: _Tracker
) -> tuple[pa.Table, int]:
    problem = ""
    for scan in range(1, SCANS + 1):
        tracker.add_pages(1)
        first = workers.submit(get, 1).result()
        count = _page_count(first, query.page_size, date)
        tracker.add_pages(max(count - 1, 0))
        pages = _rest(first, count, get, workers)
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


def _rest(first: Page, count: int, get: Callable[[int], Page], workers: _Workers) -> list[Page]:
    """Pages 2..count after ``first``, in page order; each is asked for as a worker frees up.

    A failed page stops the asking; the first failure in page order is raised
    and pages still queued are cancelled.
    """
    pages = [first]
    pending: deque[Future[Page]] = deque()
    failed = threading.Event()

    def watch(done: Future[Page]) -> None:
        if not done.cancelled() and done.exception() is not None:
            failed.set()

    try:
        for number in range(2, count + 1):
            if failed.is_set():
                break
            pending.append(workers.submit(get, number, watch))  # waits for a free worker
            while pending and pending[0].done():
                pages.append(pending.popleft().result())
        while pending:
            pages.append(pending.popleft().result())
        return pages
    finally:
        for future in pending:
            future.cancel()


def _get_page(
    transport: Transport,
    query: CdrQuery,
    date: dt.date,
    number: int,
    *,
    page_size: int | None = None,
    tracker: _Tracker | None = None,
    decoding: threading.Semaphore | None = None,
) -> Page:
    """One page, checked: the page asked for, with a believable ``totalRow``."""
    parse = partial(decode_page, page_number=number, tz=query.tz)
    if decoding is not None:
        parse = partial(_gated, decoding, parse)
    reply = transport.call(query.body(date, number, page_size), parse, date=date, page=number)
    page = reply.page
    if page is None:  # pragma: no cover - transport returns only code-0 replies
        raise ResponseError(f"NXCloud sent no page for {date} page {number}", date=date, page=number)
    if page.number != number:  # decode checks data.pageNumber too; this holds whatever decoder ran
        raise ResponseError(
            f"NXCloud answered page {page.number} when asked for page {number} of {date}; "
            "the server is not paging as documented, nothing of this date is kept",
            date=date,
            page=number,
        )
    limit = transport.settings.max_rows_per_date
    if not 0 <= page.total_row <= limit:
        raise ResponseError(
            f"NXCloud says {date} has totalRow {page.total_row}, outside 0..{limit} (max_rows_per_date); "
            "if the day really is that big, raise Client(max_rows_per_date=...)",
            date=date,
            page=number,
        )
    if tracker is not None:
        tracker.page_done(page.table.num_rows)
    return page


def _cpus() -> int:
    """The CPUs this process may run on (a container's share, where the OS says)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _gated(gate: threading.Semaphore, parse: Callable[[bytes], Reply], raw: bytes) -> Reply:
    with gate:
        return parse(raw)


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


def count_rows(transport: Transport, query: CdrQuery, date: dt.date) -> int:
    """The API's ``totalRow`` for a date, with the cheapest request there is (``pageSize=1``)."""
    return _get_page(transport, query, date, 1, page_size=1).total_row
