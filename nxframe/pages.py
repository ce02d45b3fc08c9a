"""Walk the pages of each date: page 1, then the rest concurrently, then the count check.

The rule that keeps rows from being lost or repeated: a date's rows must
number exactly the ``totalRow`` every page reported, with unique ids. If the
day changed while it was paged (a live day gains calls, or the server's order
shifted), the whole date is scanned again; if it still does not add up,
:class:`~nxframe.errors.IncompleteDataError`. A short day is never returned.

Concurrency: one pool of ``concurrency`` workers sends every request, so at
most that many are in flight whatever the number of dates; a second pool of
the same size runs the per-date walks, which only wait on the first.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
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

__all__ = ["DateResult", "FetchProgress", "ProgressCallback", "count_rows", "fetch_dates"]

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
    """One date's outcome: its table (with ``date``) or the error that stopped it."""

    date: dt.date
    table: pa.Table | None = None
    error: BaseException | None = None
    total_row: int = 0


class _Tracker:
    """Counts pages and dates across threads and reports them."""

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
    requests = ThreadPoolExecutor(width, thread_name_prefix="nxframe-page")
    walks = ThreadPoolExecutor(min(width, len(dates)) or 1, thread_name_prefix="nxframe-date")
    try:
        futures: dict[Future[DateResult], dt.date] = {
            walks.submit(_fetch_date, transport, requests, query, date, tracker): date for date in dates
        }
        for future in as_completed(futures):
            yield future.result()
    finally:
        # Cancel queued requests first so date walks blocked on them end promptly.
        requests.shutdown(wait=False, cancel_futures=True)
        walks.shutdown(wait=True, cancel_futures=True)
        requests.shutdown(wait=True)


def _fetch_date(
    transport: Transport, requests: ThreadPoolExecutor, query: CdrQuery, date: dt.date, tracker: _Tracker
) -> DateResult:
    try:
        table, total_row = _scan_until_consistent(transport, requests, query, date, tracker)
    except Exception as exc:  # handed to the caller, who decides whether one date's failure is fatal
        return DateResult(date, error=exc)
    finally:
        tracker.date_done()
    return DateResult(date, table=table, total_row=total_row)


def _scan_until_consistent(
    transport: Transport, requests: ThreadPoolExecutor, query: CdrQuery, date: dt.date, tracker: _Tracker
) -> tuple[pa.Table, int]:
    problem = ""
    for scan in range(1, SCANS + 1):
        pages = _scan(transport, requests, query, date, tracker)
        problem = _inconsistency(pages)
        if not problem:
            total = pages[0].total_row
            return _date_table(date, pages, query.tz), total
        log.warning("%s scan %d of %d: %s; scanning the date again", date, scan, SCANS, problem)
    raise IncompleteDataError(
        f"{date}: {problem}, in each of {SCANS} scans; the day kept changing while it was paged. "
        "Nothing was returned or persisted for it; try again later (a live day settles)",
        date=date,
        expected=pages[0].total_row,
        received=sum(p.table.num_rows for p in pages),
    )


def _scan(
    transport: Transport, requests: ThreadPoolExecutor, query: CdrQuery, date: dt.date, tracker: _Tracker
) -> list[Page]:
    """One pass over a date's pages, in page order."""

    def get(page: int) -> Page:
        parse = partial(decode_page, page_number=page, tz=query.tz)
        reply: Reply = transport.call(query.body(date, page), parse, date=date, page=page)
        if reply.page is None:  # pragma: no cover - transport returns only code-0 replies
            raise ResponseError(f"NXCloud sent no page for {date} page {page}", date=date, page=page)
        tracker.page_done(reply.page.table.num_rows)
        return reply.page

    tracker.add_pages(1)
    first = requests.submit(get, 1).result()
    size = query.page_size
    rows = first.table.num_rows
    if 0 < rows < min(size, first.total_row):
        # The server answered with smaller pages than asked (a cap it does not document): page by its size.
        log.warning("%s: asked for %d rows a page, NXCloud sends %d; paging by %d", date, size, rows, rows)
        size = rows
    page_count = math.ceil(first.total_row / size)
    tracker.add_pages(max(page_count - 1, 0))
    rest = [requests.submit(get, page) for page in range(2, page_count + 1)]
    try:
        return [first] + [future.result() for future in rest]
    finally:
        for future in rest:
            future.cancel()


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
        ids = pa.chunked_array([page.ids.combine_chunks() for page in pages])
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
    parse = partial(decode_page, page_number=1, tz=query.tz)
    reply = transport.call(query.body(date, 1, page_size=1), parse, date=date, page=1)
    assert reply.page is not None
    return reply.page.total_row
