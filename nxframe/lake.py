"""The Parquet lake: one Hive partition per date, written atomically, read back exactly.

Layout::

    <lake>/_nxframe_lake.json                 the query the lake holds (filters, tz)
    <lake>/date=2024-03-01/part-0.parquet     one file per date, zstd, same schema
    <lake>/date=2024-03-02/part-0.parquet     zero rows when the day had no calls

A partition is replaced atomically: the file is serialised in memory, written
to a hidden temporary beside the target (``.part-0.parquet.<id>.tmp``, which
Arrow, DuckDB, Polars and Spark all skip), flushed, fsynced and renamed over
the target. A process killed at any moment leaves the old complete file or
the new complete file. On object stores (``s3://``...), where a single PUT is
already atomic, the bytes are written in one call.

The ``date`` column lives in the directory name only (Hive style), which is
what Spark and DuckDB expect; ``read_lake`` puts it back first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import uuid
import zoneinfo
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pa_ds
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from ._version import __version__
from .errors import InvalidInputError, LakeError, NxframeError
from .frames import to_frame
from .pages import count_rows, fetch_dates
from .query import CdrQuery, parse_date
from .schema import arrow_schema

__all__ = ["Lake", "check_lake", "read_lake", "sync_lake"]

log = logging.getLogger("nxframe")

MARKER = "_nxframe_lake.json"
PART = "part-0.parquet"
METADATA_KEY = b"nxframe"
_PARTITION = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def _file_schema(tz: str | None) -> pa.Schema:
    """The schema inside each file: everything but ``date``, which the path carries."""
    schema = arrow_schema(tz)
    return schema.remove(schema.get_field_index("date"))


def _same_columns(found: pa.Schema, expected: pa.Schema) -> bool:
    """Same names and types; Parquet keeps ``timestamp[s]`` as milliseconds, so any unit matches."""
    if found.names != expected.names:
        return False
    for got, want in zip(found.types, expected.types, strict=True):
        if pa.types.is_timestamp(want):
            if not (pa.types.is_timestamp(got) and got.tz == want.tz):
                return False
        elif got != want:
            return False
    return True


def _columns(schema: pa.Schema) -> str:
    shown = ", ".join(f"{field.name}: {field.type}" for field in schema)
    return shown if len(shown) <= 200 else shown[:197] + "..."


@dataclass(frozen=True)
class PartitionInfo:
    """What a partition's footer says, read without reading its rows."""

    date: dt.date
    rows: int
    metadata: dict[str, Any]


class Lake:
    """A lake at a local path or an fsspec URL (``memory://``, ``s3://``...).

    Raises:
        InvalidInputError: the location is an existing file, not a folder.
    """

    def __init__(self, location: Any) -> None:
        if isinstance(location, Lake):
            location = location.location
        if not isinstance(location, (str, os.PathLike)) or not str(location):
            raise InvalidInputError(f"lake must be a folder path or an fsspec URL, not {location!r}")
        self.location: str = str(location)
        try:
            self.fs, root = fsspec.core.url_to_fs(self.location)
        except (ImportError, ValueError) as exc:  # e.g. s3:// without s3fs installed
            raise InvalidInputError(f"lake {self.location!r} cannot be opened: {exc}") from None
        self.local = isinstance(self.fs, LocalFileSystem)
        self.root = root.rstrip("/") or "/"
        if self.fs.isfile(self.root):
            raise InvalidInputError(f"lake {self.location!r} is a file; pass a folder (it is created if missing)")

    def __repr__(self) -> str:
        return f"Lake({self.location!r})"

    # -- layout ----------------------------------------------------------------------

    def partition_dir(self, date: dt.date) -> str:
        return f"{self.root}/date={date.isoformat()}"

    def partition_path(self, date: dt.date) -> str:
        return f"{self.partition_dir(date)}/{PART}"

    def dates(self) -> list[dt.date]:
        """Dates with a complete partition file, in order."""
        if not self.fs.isdir(self.root):
            return []
        found = []
        for path in self.fs.glob(f"{self.root}/date=*/{PART}"):
            match = _PARTITION.fullmatch(path.rstrip("/").split("/")[-2])
            if match:
                with contextlib.suppress(ValueError):
                    found.append(dt.date.fromisoformat(match.group(1)))
        return sorted(found)

    # -- the query the lake holds ------------------------------------------------------

    def recorded_query(self) -> dict[str, Any] | None:
        """The filters recorded by the first write, or ``None`` for a new lake."""
        path = f"{self.root}/{MARKER}"
        if self.fs.isfile(path):
            try:
                recorded: dict[str, Any] = json.loads(self.fs.cat_file(path))["query"]
            except (ValueError, KeyError, TypeError) as exc:
                raise LakeError(f"{path} is damaged ({exc}); restore it or start a new lake") from None
            return recorded
        dates = self.dates()
        if dates:  # the marker was lost: trust the newest partition's own record
            recorded = self.partition_info(dates[-1]).metadata["query"]  # raises if nxframe did not write it
            return recorded
        return None

    def check_query(self, query: CdrQuery) -> None:
        """Refuse to mix queries: a lake holds the rows of one set of filters only.

        Raises:
            LakeError: the lake was written with other filters (or another ``tz``).
        """
        recorded = self.recorded_query()
        wanted = query.filters()
        if recorded is not None and recorded != wanted:
            raise LakeError(
                f"lake {self.location!r} holds {_describe(recorded)}, but this asks for {_describe(wanted)}; "
                "use another lake folder for another query"
            )

    # -- writing ---------------------------------------------------------------------

    def write_date(
        self, date: dt.date, table: pa.Table, query: CdrQuery, *, total_row: int | None = None
    ) -> str | None:
        """Replace ``date``'s partition with ``table`` atomically; returns its path.

        A date after today (in the query's ``tz``, else here) is not written and
        ``None`` is returned: its empty answer means "not yet", and a zero-row
        partition would say "no calls that day".

        Raises:
            LakeError: the lake holds another query.
        """
        self.check_query(query)
        if date > _today(query.tz):
            log.info("%s is after today: not persisted", date)
            return None
        schema = _file_schema(query.tz)
        rows = table.drop_columns(["date"]) if "date" in table.column_names else table
        rows = rows.select(schema.names).cast(schema)
        metadata = {
            "nxframe_version": __version__,
            "date": date.isoformat(),
            "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "query": query.filters(),
            "rows": rows.num_rows,
            "total_row": rows.num_rows if total_row is None else total_row,
        }
        # One JSON record, and the same facts as flat keys for tools that list key-value metadata.
        keys: dict[str | bytes, str | bytes] = {METADATA_KEY: json.dumps(metadata).encode()}
        for key, value in metadata.items():
            keys[f"nxframe.{key.removeprefix('nxframe_')}"] = (
                json.dumps(value) if isinstance(value, dict) else str(value)
            )
        rows = rows.replace_schema_metadata(keys)
        sink = pa.BufferOutputStream()
        pq.write_table(rows, sink, compression="zstd")
        data = sink.getvalue().to_pybytes()  # serialised first: a failure here touches nothing on disk
        self.fs.makedirs(self.partition_dir(date), exist_ok=True)
        self._ensure_marker(query)
        path = self.partition_path(date)
        self._atomic_write(path, data)
        return path

    def _ensure_marker(self, query: CdrQuery) -> None:
        path = f"{self.root}/{MARKER}"
        if not self.fs.exists(path):
            text = json.dumps({"format": "nxframe-lake/1", "query": query.filters()}, indent=2) + "\n"
            self._atomic_write(path, text.encode())

    def _atomic_write(self, path: str, data: bytes) -> None:
        if not self.local:
            self.fs.pipe_file(path, data)  # a single PUT is atomic on object stores
            return
        folder, name = os.path.split(path)
        for stray in self.fs.glob(f"{folder}/.{name}.*.tmp"):  # left by a killed writer
            with contextlib.suppress(FileNotFoundError):
                os.remove(stray)
        temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
            raise
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the rename itself survives a power cut
        finally:
            os.close(descriptor)

    # -- reading ---------------------------------------------------------------------

    def partition_info(self, date: dt.date) -> PartitionInfo:
        """Row count and nxframe metadata of a partition, from its footer alone.

        Raises:
            LakeError: the file is unreadable, was not written by nxframe, or
                its columns are not the ones its recorded query gives.
        """
        path = self.partition_path(date)
        try:
            with self.fs.open(path, "rb") as handle:
                footer = pq.ParquetFile(handle).metadata
        except (OSError, pa.ArrowException) as exc:
            raise LakeError(f"partition {path} is unreadable ({exc}); sync the date again to replace it") from None
        return _checked(date, path, footer)

    def tz(self) -> str | None:
        recorded = self.recorded_query()
        return None if recorded is None else recorded.get("tz")

    def read(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """The lake's rows between ``start`` and ``end`` (inclusive), in date order."""
        first = None if start is None else parse_date(start, "start")
        last = None if end is None else parse_date(end, "end")
        if first is not None and last is not None and last < first:
            raise InvalidInputError(f"end {last} is before start {first}")
        if not self.fs.isdir(self.root):
            raise InvalidInputError(f"there is no lake at {self.location!r} (no such folder); sync_lake creates one")
        recorded = self.recorded_query()
        tz = None if recorded is None else recorded.get("tz")
        dates = [d for d in self.dates() if (first is None or d >= first) and (last is None or d <= last)]
        if not dates:
            return to_frame([], tz)
        paths = [self.partition_path(d) for d in dates]
        dataset = pa_ds.dataset(
            paths,
            schema=_file_schema(tz).append(pa.field("date", pa.date32())),
            format="parquet",
            filesystem=self.fs,
            partitioning=pa_ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive"),
            partition_base_dir=self.root,
        )
        # Every footer is checked before the scan, which then reuses the footers the fragments hold.
        for date, path, fragment in zip(dates, paths, dataset.get_fragments(), strict=True):
            try:
                footer = fragment.metadata
            except (OSError, pa.ArrowException) as exc:
                raise LakeError(f"partition {path} is unreadable ({exc}); sync the date again to replace it") from None
            info = _checked(date, path, footer)
            if info.metadata["query"] != recorded:
                raise LakeError(
                    f"partition {path} holds {_describe(info.metadata['query'])}, "
                    f"but the lake holds {_describe(recorded or {})}; sync that date again"
                )
        try:
            table = dataset.to_table()
        except (OSError, pa.ArrowException) as exc:
            raise LakeError(f"lake {self.location!r} could not be read: {exc}") from None
        return to_frame([table.select(arrow_schema(tz).names)], tz)


def _checked(date: dt.date, path: str, footer: pq.FileMetaData) -> PartitionInfo:
    """A partition's facts from its footer, once it proves to be nxframe's, with its query's columns.

    Raises:
        LakeError: the footer has no nxframe record, or other columns than its query gives.
    """
    try:
        metadata = json.loads((footer.metadata or {})[METADATA_KEY])
    except (KeyError, ValueError):
        raise LakeError(f"{path} was not written by nxframe (no nxframe metadata); use another lake folder") from None
    query = metadata.get("query") if isinstance(metadata, dict) else None
    if not isinstance(query, dict):
        raise LakeError(f"{path} records no query; use another lake folder")
    schema = footer.schema.to_arrow_schema()
    if not _same_columns(schema, _file_schema(query.get("tz"))):
        raise LakeError(
            f"partition {path} does not have the lake's schema (found {_columns(schema)}); "
            "sync the date again to replace it"
        )
    return PartitionInfo(date, footer.num_rows, metadata)


def _describe(filters: dict[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in filters.items() if v is not None and k != "tz"]
    text = "calls with " + ", ".join(shown) if shown else "all calls (no filters)"
    return text + (f", times in {filters['tz']}" if filters.get("tz") else ", naive times")


# -- the public functions --------------------------------------------------------------


def read_lake(lake: Any, start: Any = None, end: Any = None) -> pd.DataFrame:
    """The call records stored in a lake, in the same schema ``fetch_cdr`` returns.

    Only complete partitions are read (hidden temporaries of an interrupted
    write are not); dates come back in order, ``date`` first.

    Args:
        lake: the lake's folder or fsspec URL.
        start, end: optional inclusive date bounds (``"YYYY-MM-DD"`` or ``date``).

    Raises:
        InvalidInputError: there is no lake at that location.
        LakeError: a partition is unreadable, was not written by nxframe or
            holds another query (the message names it).
    """
    return Lake(lake).read(start, end)


def sync_lake(
    lake: Any,
    start: Any,
    end: Any,
    *,
    refresh_days: int = 2,
    verify: bool = False,
    client: Any = None,
    progress: Any = None,
    did_number: str | None = None,
    call_number: str | None = None,
    call_type: int | str | None = None,
    tz: str | None = None,
    page_size: int = 999,
) -> pd.DataFrame:
    """Bring a lake up to date for ``start``..``end``; safe to re-run at any time.

    Dates without a partition are fetched; dates from ``today - refresh_days``
    through today are fetched again (costs may still settle, today is still
    growing); older dates are skipped, and so are dates after today (nothing
    to fetch yet: a zero-row partition would claim a day without calls).
    "Today" is in the lake's ``tz`` when it has one, else this machine's.
    A damaged partition is fetched again. With ``verify=True`` each skipped
    date's row count is compared with the API's ``totalRow`` (one small
    request) and drifted dates are fetched again. One failed date does not
    stop the others: it is reported with ``action="failed"`` and fetched by
    the next run.

    The filters (``did_number``, ``call_number``, ``call_type``, ``tz``)
    default to what the lake already holds, or none for a new lake;
    ``page_size`` is the rows per request (1..999).

    Returns:
        One row per date: ``date``, ``action`` (fetched | refreshed |
        skipped | failed), ``rows``, ``error``.
    """
    from .client import Client
    from .progress import progress_reporter

    store = Lake(lake)
    recorded = store.recorded_query() or {}
    query = CdrQuery.build(
        start,
        end,
        did_number=did_number if did_number is not None else recorded.get("did_number"),
        call_number=call_number if call_number is not None else recorded.get("call_number"),
        call_type=call_type if call_type is not None else recorded.get("call_type"),
        tz=tz if tz is not None else recorded.get("tz"),
        page_size=page_size,
    )
    if isinstance(refresh_days, bool) or not isinstance(refresh_days, int) or refresh_days < 0:
        raise InvalidInputError(f"refresh_days must be an integer >= 0, not {refresh_days!r}")
    store.check_query(query)
    own = client is None
    client = Client() if own else client
    try:
        today = _today(query.tz)
        present = set(store.dates())
        plan: dict[dt.date, str] = {}
        outcome: dict[dt.date, tuple[str, int | None, str | None]] = {}
        for date in query.dates():
            if date > today:  # nothing to fetch yet; a zero-row file would claim "no calls"
                outcome[date] = ("skipped", None, None)
            elif date not in present:
                plan[date] = "fetched"
            elif date >= today - dt.timedelta(days=refresh_days):
                plan[date] = "refreshed"
            else:
                try:
                    outcome[date] = ("skipped", store.partition_info(date).rows, None)
                except LakeError as exc:  # a damaged partition is repaired by fetching the date again
                    log.warning("%s; fetching it again", exc)
                    plan[date] = "refreshed"
        if verify:
            skipped = [date for date, (action, _, _) in outcome.items() if action == "skipped" and date <= today]
            for date, counted in _compare(store, client, query, skipped).items():
                if isinstance(counted, BaseException):
                    outcome[date] = ("failed", None, f"{type(counted).__name__}: {counted}")
                elif counted[0] != counted[1]:
                    del outcome[date]
                    plan[date] = "refreshed"
        wanted = sorted(plan)
        with progress_reporter(progress, description="sync") as reporter:
            for result in fetch_dates(client.transport, query, wanted, progress=reporter.callback):
                if result.error is None:
                    assert result.table is not None
                    try:
                        store.write_date(result.date, result.table, query, total_row=result.total_row)
                    except (OSError, NxframeError, pa.ArrowException) as exc:
                        outcome[result.date] = ("failed", None, f"{type(exc).__name__}: {exc}")
                    else:
                        outcome[result.date] = (plan[result.date], result.table.num_rows, None)
                else:
                    error = result.error
                    outcome[result.date] = ("failed", None, f"{type(error).__name__}: {error}")
    finally:
        if own:
            client.close()
    dates = sorted(outcome)
    return pd.DataFrame(
        {
            "date": pd.array(dates, dtype=pd.ArrowDtype(pa.date32())),
            "action": pd.array([outcome[d][0] for d in dates], dtype=pd.ArrowDtype(pa.string())),
            "rows": pd.array([outcome[d][1] for d in dates], dtype=pd.ArrowDtype(pa.int64())),
            "error": pd.array([outcome[d][2] for d in dates], dtype=pd.ArrowDtype(pa.string())),
        }
    )


def check_lake(lake: Any, start: Any, end: Any, *, client: Any = None) -> pd.DataFrame:
    """Compare each date's partition with the API's ``totalRow`` (one ``pageSize=1`` request a date).

    Returns:
        One row per date: ``date``, ``lake_rows`` (null when missing or
        unreadable), ``api_rows``, ``status`` (match | drift | missing).

    Raises:
        ApiError: the API could not be asked for a date's count (after retries).
    """
    from .client import Client

    store = Lake(lake)
    recorded = store.recorded_query() or {}
    query = CdrQuery.build(
        start,
        end,
        did_number=recorded.get("did_number"),
        call_number=recorded.get("call_number"),
        call_type=recorded.get("call_type"),
        tz=recorded.get("tz"),
    )
    own = client is None
    client = Client() if own else client
    try:
        counts = _compare(store, client, query, query.dates())
    finally:
        if own:
            client.close()
    dates = sorted(counts)
    pairs = []
    for date in dates:
        counted = counts[date]
        if isinstance(counted, BaseException):  # without the API's count there is nothing to compare
            raise counted
        pairs.append(counted)
    lake_rows = [have for have, _ in pairs]
    api_rows = [api for _, api in pairs]
    status = [
        "missing" if have is None else ("match" if have == api else "drift")
        for have, api in zip(lake_rows, api_rows, strict=True)
    ]
    return pd.DataFrame(
        {
            "date": pd.array(dates, dtype=pd.ArrowDtype(pa.date32())),
            "lake_rows": pd.array(lake_rows, dtype=pd.ArrowDtype(pa.int64())),
            "api_rows": pd.array(api_rows, dtype=pd.ArrowDtype(pa.int64())),
            "status": pd.array(status, dtype=pd.ArrowDtype(pa.string())),
        }
    )


def _compare(
    store: Lake, client: Any, query: CdrQuery, dates: Iterable[dt.date]
) -> dict[dt.date, tuple[int | None, int] | NxframeError]:
    """(rows in the lake or ``None``, the API's ``totalRow``) per date, asked concurrently.

    A date whose count cannot be had gets its error instead, so one bad date
    does not hide the others.
    """
    present = set(store.dates())
    dates = list(dates)

    def one(date: dt.date) -> tuple[dt.date, tuple[int | None, int] | NxframeError]:
        have = None
        if date in present:
            try:
                have = store.partition_info(date).rows
            except LakeError as exc:  # a damaged partition counts as absent: a sync fetches it again
                log.warning("%s", exc)
        try:
            return date, (have, count_rows(client.transport, query, date))
        except NxframeError as exc:
            return date, exc

    if not dates:
        return {}
    with ThreadPoolExecutor(min(client.settings.concurrency, len(dates))) as pool:
        return dict(pool.map(one, dates))


def _today(tz: str | None) -> dt.date:
    """Today where the API's clock is, when the lake knows its zone; else here."""
    if tz is None:
        return dt.date.today()
    return dt.datetime.now(zoneinfo.ZoneInfo(tz)).date()
