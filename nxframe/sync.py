"""Keep a lake in step with the API: :func:`sync_lake` and :func:`check_lake`.

The one module that uses both the client (to ask) and the lake (to store);
neither of those knows the other's orchestration. A sync is three steps:
plan each date (:func:`_plan`: future, missing, in the refresh window,
damaged, or skipped), optionally verify the skipped ones against the API's
``totalRow`` (:func:`_verify`), then fetch and write what the plan wants
(:func:`_fetch`), all under the lake's writer lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Unpack

import pandas as pd
import pyarrow as pa

from .client import Client
from .errors import InvalidInputError, LakeError, NxframeError
from .lake import Lake, local_today
from .pages import DateResult, count_rows
from .progress import ProgressOption, progress_reporter
from .query import CdrQuery, QueryArgs, query_doc
from .stream import stream_dates

__all__ = ["MAX_REFRESH_DAYS", "check_lake", "sync_lake"]

log = logging.getLogger("nxframe")

Action = Literal["fetched", "refreshed", "skipped", "failed", "future"]
Status = Literal["match", "drift", "missing", "damaged", "future"]
LakeLocation = str | os.PathLike[str] | Lake

#: Ten years: a larger refresh window is a typo (and would re-fetch the whole lake every run anyway).
MAX_REFRESH_DAYS = 3660


@dataclass(frozen=True)
class Outcome:
    """What a sync did with one date."""

    date: dt.date
    action: Action
    rows: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Checked:
    """One date of a check: the lake's row count beside the API's."""

    date: dt.date
    lake_rows: int | None
    api_rows: int | None
    status: Status


@dataclass
class _Plan:
    """Dates to fetch (with the action they will report) and dates already decided."""

    fetch: dict[dt.date, Action]
    done: dict[dt.date, Outcome]


@query_doc
def sync_lake(
    lake: LakeLocation,
    start: str | dt.date,
    end: str | dt.date,
    *,
    refresh_days: int = 2,
    verify: bool = False,
    lock_timeout: float = 60,
    client: Client | None = None,
    progress: ProgressOption = None,
    today: dt.date | None = None,
    storage_options: dict[str, Any] | None = None,
    **query: Unpack[QueryArgs],
) -> pd.DataFrame:
    """Bring a lake up to date for ``start``..``end``; safe to re-run at any time.

    Dates without a partition are fetched; dates from ``today - refresh_days``
    through today are fetched again (costs may still settle, today is still
    growing); older dates are skipped after their footer is read, and one
    that does not read is fetched again. Dates after today are reported
    ``future`` and not requested or persisted (a zero-row partition would
    claim a day without calls). With ``verify=True`` every skipped partition
    is read in full (page checksums verified) and its row count compared with
    the API's ``totalRow`` (one small request); damaged or drifted dates are
    fetched again. One failed date does not stop the others: it is reported
    ``failed`` and fetched by the next run.

    The whole call holds the lake's writer lock (a second writer waits up to
    ``lock_timeout`` seconds, then :class:`LakeError` naming the holder; on
    an object store the lock is a lease, renewed while the sync works). On an
    existing lake the query recorded in it is used, and checked again once
    the lock is held. When the storage fails (or the lease is lost) the sync
    stops writing: dates written before stay ``fetched``/``refreshed``, the
    rest are ``failed`` with the error; a re-run finishes the job.

    Args:
        {query}
            (The filters and ``tz`` are those of a new lake; on an existing lake
            each defaults to what it holds.)
        today: the date taken as today (default: the clock, in the lake's
            ``tz`` when it has one); for tests and replays.
        storage_options: passed to fsspec as given (S3: ``endpoint_url``,
            ``key``, ``secret``, ``client_kwargs``...); default: the environment.

    Returns:
        One row per date: ``date``, ``action`` (fetched | refreshed | skipped
        | failed | future), ``rows``, ``error``.

    Raises:
        InvalidInputError: a bad argument (nothing sent).
        LakeError: the lake holds another query, another writer held it too long,
            or the storage failed before anything was written (names the lake and the cause).
    """
    store = Lake(lake, storage_options=storage_options)
    _check_options(refresh_days=refresh_days, verify=verify, client=client, today=today)
    recorded = CdrQuery.arguments(store.recorded_query() or {})
    given: dict[str, Any] = {name: value for name, value in query.items() if value is not None}
    built = CdrQuery.build(start, end, **{**recorded, **given})
    store.check_query(built)
    with progress_reporter(progress, description="sync") as reporter, store.writer(lock_timeout=lock_timeout):
        store.check_query(built)  # again under the lock: another writer may have started the lake meanwhile
        day = local_today(built.tz) if today is None else today
        plan = _plan(store, built, day, refresh_days, deep=verify)
        if not (verify or plan.fetch):
            return _outcome_frame(plan.done.values())  # nothing to ask: no client needed
        with _client(client) as active:
            if verify:
                _verify(store, active, built, plan)
            for result in stream_dates(active.transport, built, sorted(plan.fetch), progress=reporter.callback):
                plan.done[result.date] = _store(store, built, plan.fetch[result.date], result, day)
                if store.stopped is not None:
                    break  # the storage failed or the lease was lost: write nothing more
        _unfinished(plan, store)
    return _outcome_frame(plan.done.values())


def _check_options(*, refresh_days: object, verify: object, client: object, today: object) -> None:
    """Every sync argument the query does not check, checked before the lock or any request."""
    if isinstance(refresh_days, bool) or not isinstance(refresh_days, int) or not 0 <= refresh_days <= MAX_REFRESH_DAYS:
        raise InvalidInputError(
            f"refresh_days must be an integer from 0 to {MAX_REFRESH_DAYS}, not {refresh_days!r}",
            parameter="refresh_days",
        )
    if not isinstance(verify, bool):
        raise InvalidInputError(f"verify must be True or False, not {verify!r}", parameter="verify")
    _check_client(client)
    if today is not None and (isinstance(today, dt.datetime) or not isinstance(today, dt.date)):
        raise InvalidInputError(f"today must be a datetime.date or None, not {today!r}", parameter="today")


def _check_client(client: object) -> None:
    if client is not None and not isinstance(client, Client):
        raise InvalidInputError(
            f"client must be an nxframe.Client or None, not {type(client).__name__}", parameter="client"
        )


@contextlib.contextmanager
def _client(client: Client | None) -> Iterator[Client]:
    """The caller's client, or one from the environment that is closed afterwards."""
    if client is not None:
        yield client
        return
    with Client() as own:
        yield own


def _unfinished(plan: _Plan, store: Lake) -> None:
    """Dates a stopped sync did not get to are ``failed``, with the reason it stopped."""
    if store.stopped is None:
        return
    reason = f"not written: {_error_text(store.stopped)}"
    for date in plan.fetch:
        plan.done.setdefault(date, Outcome(date, "failed", None, reason))


def _plan(store: Lake, query: CdrQuery, today: dt.date, refresh_days: int, *, deep: bool) -> _Plan:
    """Decide each date without a request: future, fetch, refresh, or skip (after reading it)."""
    plan = _Plan(fetch={}, done={})
    present = set(store.dates(query.start, query.end))
    window = today - dt.timedelta(days=refresh_days)
    for date in query.dates():
        if date > today:  # nothing to fetch yet; a zero-row file would claim "no calls"
            plan.done[date] = Outcome(date, "future")
        elif date not in present:
            plan.fetch[date] = "fetched"
        elif date >= window:
            plan.fetch[date] = "refreshed"
        else:
            rows = _lake_rows(store, date, query, deep=deep)
            if rows is None:  # a damaged or foreign partition is repaired by fetching the date again
                plan.fetch[date] = "refreshed"
            else:
                plan.done[date] = Outcome(date, "skipped", rows)
    return plan


def _lake_rows(store: Lake, date: dt.date, query: CdrQuery, *, deep: bool) -> int | None:
    """The partition's row count, from its footer (or a full read when ``deep``); ``None`` if damaged.

    Damaged: unreadable, or of another date or query than its folder and the
    lake. A failure of the storage itself is not a damaged partition: it raises.
    """
    try:
        if deep:
            return store.read_partition(date, query.filters())[0].rows
        return store.partition_info(date, query.filters()).rows
    except LakeError as exc:
        if store.failure is not None:
            raise
        log.warning("%s", exc)
        return None


def _verify(store: Lake, client: Client, query: CdrQuery, plan: _Plan) -> None:
    """Compare each skipped date with the API's count: drifted ones join the fetch, uncountable ones fail."""
    skipped = [o for o in plan.done.values() if o.action == "skipped"]
    for outcome, counted in zip(skipped, _api_counts(client, query, [o.date for o in skipped]), strict=True):
        if isinstance(counted, NxframeError):
            plan.done[outcome.date] = Outcome(outcome.date, "failed", None, _error_text(counted))
        elif counted != outcome.rows:
            del plan.done[outcome.date]
            plan.fetch[outcome.date] = "refreshed"


def _api_counts(client: Client, query: CdrQuery, dates: list[dt.date]) -> list[int | NxframeError]:
    """The API's ``totalRow`` per date, asked concurrently; a date that cannot be counted gets its error."""

    def one(date: dt.date) -> int | NxframeError:
        try:
            return count_rows(client.transport, query, date)
        except NxframeError as exc:
            return exc

    if not dates:
        return []
    with ThreadPoolExecutor(min(client.settings.concurrency, len(dates))) as pool:
        return list(pool.map(one, dates))


def _store(store: Lake, query: CdrQuery, action: Action, result: DateResult, today: dt.date) -> Outcome:
    """Write one fetched date; a date that failed, or whose write failed, is ``failed``."""
    if result.error is not None:
        return Outcome(result.date, "failed", None, _error_text(result.error))
    assert result.table is not None
    try:
        store.write_date(result.date, result.table, query, total_row=result.total_row, today=today)
    except (OSError, NxframeError, pa.ArrowException) as exc:
        return Outcome(result.date, "failed", None, _error_text(exc))
    return Outcome(result.date, action, result.table.num_rows)


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _outcome_frame(outcomes: Iterable[Outcome]) -> pd.DataFrame:
    rows = sorted(outcomes, key=lambda o: o.date)
    return pd.DataFrame(
        {
            "date": _dates([o.date for o in rows]),
            "action": pd.array([o.action for o in rows], dtype=pd.ArrowDtype(pa.string())),
            "rows": pd.array([o.rows for o in rows], dtype=pd.ArrowDtype(pa.int64())),
            "error": pd.array([o.error for o in rows], dtype=pd.ArrowDtype(pa.string())),
        }
    )


def check_lake(
    lake: LakeLocation,
    start: str | dt.date,
    end: str | dt.date,
    *,
    deep: bool = False,
    client: Client | None = None,
    today: dt.date | None = None,
    storage_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Compare each date's partition with the API's ``totalRow`` (one ``pageSize=1`` request a date).

    A date after today is ``future``: not asked for, and not a finding (the
    day has not happened, so neither "missing" nor "drift" can be true of it).

    Reading only: no lock is taken, and a sync running meanwhile does not
    disturb it. ``deep=True`` reads every partition in full, verifying its
    page checksums, so damage inside the data (not just the footer) is found.
    A partition whose footer names another date or query than its folder and
    the lake is ``damaged`` either way.

    Returns:
        One row per date: ``date``, ``lake_rows`` (null when missing or
        damaged), ``api_rows`` (null for future dates), ``status``
        (match | drift | missing | damaged | future).

    Args:
        today: the date taken as today (default: the clock, in the lake's
            ``tz`` when it has one); for tests and replays.
        storage_options: passed to fsspec as given; default: the environment.

    Raises:
        InvalidInputError: a bad argument, or there is no lake at ``lake`` (nothing sent).
        ApiError: the API could not be asked for a date's count (after retries).
        LakeError: the storage failed (names the lake and the cause).
    """
    store = Lake(lake, storage_options=storage_options)
    if not isinstance(deep, bool):
        raise InvalidInputError(f"deep must be True or False, not {deep!r}", parameter="deep")
    _check_client(client)
    if today is not None and (not isinstance(today, dt.date) or isinstance(today, dt.datetime)):
        raise InvalidInputError(f"today must be a datetime.date, not {today!r}", parameter="today")
    if not store.exists():
        raise InvalidInputError(
            f"there is no lake at {store.location!r} (no such folder); check the path", parameter="lake"
        )
    query = CdrQuery.build(start, end, **CdrQuery.arguments(store.recorded_query() or {}))
    day = local_today(query.tz) if today is None else today
    dates = [date for date in query.dates() if date <= day]
    counts: list[int | NxframeError] = []
    if dates:
        with _client(client) as active:
            counts = _api_counts(active, query, dates)
    present = set(store.dates(query.start, query.end))
    checked = [Checked(date, None, None, "future") for date in query.dates() if date > day]
    for date, api_rows in zip(dates, counts, strict=True):
        if isinstance(api_rows, NxframeError):  # without the API's count there is nothing to compare
            raise api_rows
        checked.append(_compare(store, date, query, api_rows, present=date in present, deep=deep))
    checked.sort(key=lambda c: c.date)
    return pd.DataFrame(
        {
            "date": _dates([c.date for c in checked]),
            "lake_rows": pd.array([c.lake_rows for c in checked], dtype=pd.ArrowDtype(pa.int64())),
            "api_rows": pd.array([c.api_rows for c in checked], dtype=pd.ArrowDtype(pa.int64())),
            "status": pd.array([c.status for c in checked], dtype=pd.ArrowDtype(pa.string())),
        }
    )


def _dates(dates: list[dt.date]) -> pd.Series:
    """Dates as the frame has them (``datetime64[s]``), so ``result[result.date == "2024-03-01"]`` works."""
    return pd.Series(pd.to_datetime(dates), dtype="datetime64[s]")


def _compare(store: Lake, date: dt.date, query: CdrQuery, api_rows: int, *, present: bool, deep: bool) -> Checked:
    if not present:
        return Checked(date, None, api_rows, "missing")
    rows = _lake_rows(store, date, query, deep=deep)
    if rows is None:
        return Checked(date, None, api_rows, "damaged")
    return Checked(date, rows, api_rows, "match" if rows == api_rows else "drift")
