"""The lake: Hive partitions written whole under the writer lock, read pinned to one version each.

See :mod:`nxframe.lake` for the layout and the guarantees; the medium
(local disk, ``memory://``, S3) is :mod:`nxframe.lake.storage`'s business.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import logging
import os
import re
import zoneinfo
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InvalidInputError, LakeError
from ..frames import to_frame
from ..query import CdrQuery, parse_date
from ..schema import arrow_schema
from .footer import PartitionInfo, checked, describe, encode_partition
from .lock import LOCK, check_lock_timeout, process_lock, remove_stale_temporaries, writer_lock
from .opener import check_storage_options, open_storage
from .storage import Storage

__all__ = ["MARKER", "PART", "Lake", "local_today", "read_lake"]

log = logging.getLogger("nxframe")

MARKER = "_nxframe_lake.json"
PART = "part-0.parquet"
_PARTITION = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def local_today(tz: str | None) -> dt.date:
    """Today where the API's clock is, when the lake knows its zone; else here."""
    if tz is None:
        return dt.date.today()
    return dt.datetime.now(zoneinfo.ZoneInfo(tz)).date()


class Guard(Protocol):
    """What a writer holds: :meth:`ensure` is called before every write (a lease may have been lost)."""

    def ensure(self) -> None: ...


class _Held:
    """A lock that cannot be lost while held (a local ``flock``, an in-process lock)."""

    def ensure(self) -> None:
        return None


class Lake:
    """A lake at a local path or an fsspec URL (``memory://``, ``s3://``...).

    Args:
        location: the lake's folder or URL (a path, never a pattern).
        storage_options: passed to fsspec as given (``endpoint_url``, ``key``,
            ``secret``, ``client_kwargs``...); a ``Lake`` passed as ``location``
            keeps its own unless new ones are given.

    Attributes:
        location: the lake's location as it may be shown (no credentials).

    Raises:
        InvalidInputError: the location is not a path or URL, is an existing
            file, or ``storage_options`` is not a dict.
    """

    def __init__(self, location: str | os.PathLike[str] | Lake, *, storage_options: object = None) -> None:
        if isinstance(location, Lake):
            other: Lake = location
            if storage_options is None:
                storage_options = other._options
            location = other._given
        if not isinstance(location, (str, os.PathLike)) or not os.fspath(location):
            raise InvalidInputError(f"lake must be a folder path or an fsspec URL, not {location!r}", parameter="lake")
        self._given: str = str(os.fspath(location))
        self._options: dict[str, Any] = check_storage_options(storage_options)
        self.storage: Storage = open_storage(self._given, self._options)
        self.location: str = self.storage.url
        self.fs, self.root = self.storage.fs, self.storage.root
        self.local = self.storage.kind == "local"
        self._holding = 0
        self._recorded: dict[str, Any] | None = None  # the lake's query, remembered while this object writes
        self._lost: LakeError | None = None
        if self.storage.is_file():
            raise InvalidInputError(
                f"lake {self.location!r} is a file, not a folder; pass the lake's folder", parameter="lake"
            )

    def __repr__(self) -> str:
        return f"Lake({self.location!r})"

    @property
    def failure(self) -> LakeError | None:
        """The first failure of the storage itself (unreachable, denied, ...), if one happened."""
        return self.storage.failure

    @property
    def stopped(self) -> LakeError | None:
        """Why this lake's writer must write nothing more: the storage failed, or its lease was lost."""
        return self._lost or self.storage.failure

    # -- layout ----------------------------------------------------------------------

    def exists(self) -> bool:
        return self.storage.exists()

    def partition_dir(self, date: dt.date) -> str:
        return f"{self.root}/date={date.isoformat()}"

    def partition_path(self, date: dt.date) -> str:
        """A partition's path as messages show it (no credentials)."""
        name = _name(date)
        return f"{self.root}/{name}" if self.local else self.storage.where(name)

    def dates(self, first: dt.date | None = None, last: dt.date | None = None) -> list[dt.date]:
        """Dates with a complete partition file (within ``first``..``last`` when given), in order.

        One listing, of the narrowest prefix the bounds share (a month of a
        ten-year lake lists ``date=2024-03-``); no partition is opened.
        """
        prefix = "date="
        if first is not None and last is not None:
            prefix += _shared_start(first.isoformat(), last.isoformat())
        found = []
        for folder in self.storage.folders_with(prefix, PART):
            match = _PARTITION.fullmatch(folder)
            if match:
                with contextlib.suppress(ValueError):
                    date = dt.date.fromisoformat(match.group(1))
                    if (first is None or date >= first) and (last is None or date <= last):
                        found.append(date)
        return sorted(found)

    # -- the query the lake holds ------------------------------------------------------

    def recorded_query(self) -> dict[str, Any] | None:
        """The filters recorded by the first write, or ``None`` for a new lake."""
        if self._holding and self._recorded is not None:
            return self._recorded  # nobody else writes while we hold the lock
        data = self.storage.read(MARKER)
        recorded: dict[str, Any] | None = None
        if data is not None:
            try:
                recorded = json.loads(data)["query"]
            except (ValueError, KeyError, TypeError) as exc:
                path = self.storage.where(MARKER)
                raise LakeError(f"{path} is damaged ({exc}); restore it or start a new lake", path=path) from None
        else:
            dates = self.dates()
            if dates:  # the marker was lost: trust the newest partition's own record
                recorded = self.partition_info(dates[-1]).metadata["query"]  # raises if nxframe did not write it
        if self._holding:
            self._recorded = recorded
        return recorded

    def tz(self) -> str | None:
        recorded = self.recorded_query()
        return None if recorded is None else recorded.get("tz")

    def check_query(self, query: CdrQuery) -> None:
        """Refuse to mix queries: a lake holds the rows of one set of filters only.

        Raises:
            LakeError: the lake was written with other filters (or another ``tz``).
        """
        recorded = self.recorded_query()
        wanted = query.filters()
        if recorded is not None and recorded != wanted:
            raise LakeError(
                f"lake {self.location!r} holds {describe(recorded)}, but this asks for {describe(wanted)}; "
                "use another lake folder for another query",
                path=self.location,
            )

    # -- one writer ------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self, *, lock_timeout: float = 60) -> Iterator[Guard]:
        """Hold the lake's lock for a whole write job (re-entrant in one thread).

        Every writer holds it: ``sync_lake``, ``fetch_cdr(lake=...)``, and
        :meth:`write_date` itself. A second writer, in this process or
        another, waits up to ``lock_timeout`` seconds. A local lake's lock is
        ``<lake>/_nxframe.lock`` under ``flock`` (temporaries older than it,
        left by killed writers, are removed on taking it); ``memory://`` has an
        in-process lock; an S3 lake holds a lease object (:mod:`nxframe.lake.lease`).

        Raises:
            InvalidInputError: ``lock_timeout`` is not a number of seconds from 0 to a week.
            LakeError: another writer held the lake for all of ``lock_timeout`` (names it), the
                store cannot hold a lock, or the storage failed.
        """
        check_lock_timeout(lock_timeout)
        kind = self.storage.kind
        with contextlib.ExitStack() as stack:
            guard: Guard = _Held()
            if kind == "local":
                if stack.enter_context(writer_lock(self.root, lock_timeout=lock_timeout, location=self.location)):
                    root = glob.escape(self.root)
                    remove_stale_temporaries(self.root, [f"{root}/date=*/.{PART}.*.tmp", f"{root}/.{MARKER}.*.tmp"])
            elif kind == "memory":
                stack.enter_context(
                    process_lock(f"memory:{self.root}", lock_timeout=lock_timeout, location=self.location)
                )
            elif kind == "s3":
                from .lease import leased

                guard = stack.enter_context(leased(self.storage, LOCK, lock_timeout=lock_timeout))  # type: ignore[arg-type]
            else:
                raise LakeError(
                    f"lake {self.location!r}: nxframe can lock a lake for writing on a local disk, memory:// or an "
                    "S3-compatible store (s3://), not here; write the lake to one of those (others may read it)",
                    path=self.location,
                )
            self._holding += 1
            try:
                yield guard
            finally:
                self._holding -= 1
                if not self._holding:
                    self._recorded = None

    # -- writing ---------------------------------------------------------------------

    def write_date(
        self,
        date: dt.date,
        table: pa.Table,
        query: CdrQuery,
        *,
        total_row: int | None = None,
        today: dt.date | None = None,
    ) -> str | None:
        """Replace ``date``'s partition with ``table`` in one write, under the lock; returns its path.

        A date after ``today`` (default: today in the query's ``tz``, else
        here; a parameter so tests and replays can fix it) is not written and
        ``None`` is returned: its empty answer means "not yet", while a
        zero-row partition says "no calls that day".

        Raises:
            LakeError: the lake holds another query, another writer holds it, this writer's
                lease was lost, or the storage failed.
        """
        if date > (local_today(query.tz) if today is None else today):
            log.info("%s is after today: not persisted", date)
            return None
        data = encode_partition(date, table, query.filters(), total_row)  # first: a failure touches nothing stored
        with self.writer() as guard:
            self.check_query(query)
            if self.recorded_query() is None:
                text = json.dumps({"format": "nxframe-lake/1", "query": query.filters()}, indent=2) + "\n"
                self._ensure(guard)
                self.storage.create(MARKER, text.encode())
                self._recorded = query.filters()
            self._ensure(guard)
            self.storage.write(_name(date), data)
        return self.partition_path(date)

    def _ensure(self, guard: Guard) -> None:
        """The lock is still ours (a lease may have been taken over); else remember why we stopped."""
        try:
            guard.ensure()
        except LakeError as exc:
            self._lost = exc
            raise

    # -- reading ---------------------------------------------------------------------

    def partition_info(self, date: dt.date, query: dict[str, Any] | None = None) -> PartitionInfo:
        """A partition's row count and nxframe record, from its footer alone.

        Args:
            query: the lake's query, when known: a partition holding another is refused.

        Raises:
            LakeError: the file is unreadable, was not written by nxframe, is of
                another date or query, or its columns are not the ones its recorded
                query gives (names the file); or the storage failed.
        """
        return self._open_partition(date, rows=False, query=query)[0]

    def read_partition(self, date: dt.date, query: dict[str, Any] | None = None) -> tuple[PartitionInfo, pa.Table]:
        """A partition read in full (every page checksum verified), ``date`` first.

        Raises:
            LakeError: as :meth:`partition_info`, or a page does not read back (names the file).
        """
        info, table = self._open_partition(date, rows=True, query=query)
        assert table is not None
        return info, table

    def _open_partition(
        self, date: dt.date, *, rows: bool, query: dict[str, Any] | None
    ) -> tuple[PartitionInfo, pa.Table | None]:
        path = self.partition_path(date)
        handle = self.storage.source(_name(date), whole=rows)  # one version: one handle, or one request
        try:
            with handle:
                parquet = pq.ParquetFile(handle, page_checksum_verification=True)
                info = checked(date, path, parquet.metadata, query)
                table = parquet.read() if rows else None
        except (OSError, pa.ArrowException) as exc:
            raise LakeError(
                f"partition {path} is unreadable ({exc}); sync the date again to replace it", path=path
            ) from None
        if table is not None:
            schema = arrow_schema(info.metadata["query"].get("tz"))
            table = table.select(schema.names[1:])
            table = table.add_column(0, schema.field("date"), pa.repeat(pa.scalar(date, pa.date32()), len(table)))
        return info, table

    def read_dates(
        self, first: dt.date | None, last: dt.date | None
    ) -> tuple[list[dt.date], list[pa.Table], str | None]:
        """The dates present from ``first`` to ``last`` and their rows (one listing, then only those files).

        Returns:
            The dates, their rows (a table per date, ``date`` first), and the lake's ``tz``.

        Raises:
            InvalidInputError: there is no lake at this location.
            LakeError: a partition is unreadable, of another date or query (names it), or the storage failed.
        """
        recorded = self.recorded_query()
        dates = self.dates(first, last)
        if not dates and recorded is None and not self.exists():
            raise InvalidInputError(
                f"there is no lake at {self.location!r} (no such folder); sync_lake creates one", parameter="lake"
            )
        tz = None if recorded is None else recorded.get("tz")
        if not dates:
            return dates, [], tz
        with ThreadPoolExecutor(min(8, len(dates)), thread_name_prefix="nxframe-read") as pool:
            parts = list(pool.map(lambda date: self.read_partition(date, recorded)[1], dates))
        return dates, parts, tz

    def read(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """The lake's rows between ``start`` and ``end`` (inclusive), in date order."""
        first = None if start is None else parse_date(start, "start")
        last = None if end is None else parse_date(end, "end")
        if first is not None and last is not None and last < first:
            raise InvalidInputError(f"end {last} is before start {first}", parameter="end")
        _, tables, tz = self.read_dates(first, last)
        return to_frame(tables, tz)


def _shared_start(one: str, other: str) -> str:
    """The longest common start of two strings (``2024-03-01``, ``2024-03-31`` -> ``2024-03-``)."""
    size = 0
    while size < min(len(one), len(other)) and one[size] == other[size]:
        size += 1
    return one[:size]


def _name(date: dt.date) -> str:
    return f"date={date.isoformat()}/{PART}"


def read_lake(
    lake: str | os.PathLike[str] | Lake, start: Any = None, end: Any = None, *, storage_options: object = None
) -> pd.DataFrame:
    """The call records stored in a lake, in the same schema ``fetch_cdr`` returns.

    Only complete partitions are read (hidden temporaries of a write in
    progress are not), each pinned to one version (one open file, or one
    request on an object store), so a sync running meanwhile never makes
    this fail; dates come back in order, ``date`` first. The lake is listed
    once and only the dates asked for are opened.

    Args:
        lake: the lake's folder or fsspec URL (a path, never a pattern).
        start, end: optional inclusive date bounds (``"YYYY-MM-DD"`` or ``date``).
        storage_options: passed to fsspec as given (e.g. ``{"endpoint_url": ...,
            "key": ..., "secret": ...}`` for S3); default: the environment
            (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ...).

    Raises:
        InvalidInputError: there is no lake at that location, or bad arguments.
        LakeError: a partition is unreadable (a page checksum fails, say), was
            not written by nxframe, is of another date or query (the message
            names the file), or the storage failed (names the lake and the cause).
    """
    return Lake(lake, storage_options=storage_options).read(start, end)
