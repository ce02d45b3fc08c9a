"""Dates in date order, each handed on as soon as it and every date before it are whole.

Every way out of nxframe (the frame, the Arrow table, the lake, ``sync_lake``,
``Client.iter_dates`` and the dlt resource) reads this one stream, so the
pages are walked by one piece of code.

While the caller works on one date, the next ones are already being walked,
but only a window of them: at most ``concurrency`` dates are walked or wait,
finished, ahead of the one the caller holds. Memory is therefore bounded by
the concurrency, not by the range: a caller slower than the network holds
the window still, it does not make finished dates pile up. ``concurrency``
dates ahead is enough to keep the network busy: each date asks for its pages
as soon as the workers free up, the earliest date first (see
:class:`~nxframe.pages.PageWorkers`), so the window only runs dry when every
date in it is down to its last few pages.

Closing the stream early (``break``, ``close()``, an error in the caller)
cancels every page not yet on the wire and waits for those that are, so no
thread outlives it.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

from .pages import DateResult, DateWalk, PageWorkers, ProgressCallback, Tracker
from .query import CdrQuery
from .transport import Transport

__all__ = ["stream_dates"]


def stream_dates(
    transport: Transport,
    query: CdrQuery,
    dates: Iterable[dt.date] | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> Generator[DateResult, None, None]:
    """Each date of ``dates`` (default: the query's), in the order given, as its result is known.

    A failed date is yielded with its error and does not stop the dates
    after it; whether it is fatal is the caller's decision.
    """
    upcoming = list(query.dates() if dates is None else dates)
    ahead = transport.settings.concurrency
    tracker = Tracker(len(upcoming), progress)
    tracker.add_pages(0)
    workers = PageWorkers(transport.settings.concurrency)
    walkers = ThreadPoolExecutor(min(ahead, len(upcoming)) or 1, thread_name_prefix="nxframe-date")
    walks = (DateWalk(transport, query, date, workers, tracker, rank=rank) for rank, date in enumerate(upcoming))
    try:
        window: deque[Future[DateResult]] = deque(walkers.submit(walk.run) for walk in islice(walks, ahead))
        while window:
            result = window.popleft().result()
            window.extend(walkers.submit(walk.run) for walk in islice(walks, 1))  # ``ahead`` going again
            yield result
    finally:
        # Cancel the queued pages first, so walks waiting on them end promptly.
        workers.shutdown(wait=False)
        walkers.shutdown(wait=True, cancel_futures=True)
        workers.shutdown(wait=True)
