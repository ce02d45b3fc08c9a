"""The lake's storage: Hive partitions written atomically under the writer lock, read from one handle each.

See :mod:`nxframe.lake` for the layout and the guarantees.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import logging
import os
import re
import uuid
import zoneinfo
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from .._version import __version__
from ..errors import InvalidInputError, LakeError
from ..frames import to_frame
from ..query import CdrQuery, parse_date
from ..schema import arrow_schema
from .footer import METADATA_KEY, PartitionInfo, checked, describe, file_schema
from .lock import check_lock_timeout, remove_stale_temporaries, writer_lock

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


class Lake:
    """A lake at a local path or an fsspec URL (``memory://``, ``s3://``...).

    Raises:
        InvalidInputError: the location is not a path or URL, or is an existing file.
    """

    def __init__(self, location: str | os.PathLike[str] | Lake) -> None:
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
            raise InvalidInputError(f"lake {self.location!r} is a file, not a folder; pass the lake's folder")

    def __repr__(self) -> str:
        return f"Lake({self.location!r})"

    # -- layout ----------------------------------------------------------------------

    def exists(self) -> bool:
        return bool(self.fs.isdir(self.root))

    def partition_dir(self, date: dt.date) -> str:
        return f"{self.root}/date={date.isoformat()}"

    def partition_path(self, date: dt.date) -> str:
        return f"{self.partition_dir(date)}/{PART}"

    def dates(self) -> list[dt.date]:
        """Dates with a complete partition file, in order."""
        if not self.exists():
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
                raise LakeError(f"{path} is damaged ({exc}); restore it or start a new lake", path=path) from None
            return recorded
        dates = self.dates()
        if dates:  # the marker was lost: trust the newest partition's own record
            recorded = self.partition_info(dates[-1]).metadata["query"]  # raises if nxframe did not write it
            return recorded
        return None

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
    def writer(self, *, lock_timeout: float = 60) -> Iterator[None]:
        """Hold ``<lake>/_nxframe.lock`` for a whole write job (re-entrant in one thread).

        Every writer holds it: ``sync_lake``, ``fetch_cdr(lake=...)``, and
        :meth:`write_date` itself. A second writer, in this process or
        another, waits up to ``lock_timeout`` seconds. On taking the lock,
        temporaries older than it (left by killed writers) are removed.
        Object stores get no lock.

        Raises:
            InvalidInputError: ``lock_timeout`` is not a number of seconds from 0 to a week.
            LakeError: another writer held the lake for all of ``lock_timeout``; names it
                (pid, host, since when).
        """
        check_lock_timeout(lock_timeout)
        if not self.local:
            yield
            return
        with writer_lock(self.root, lock_timeout=lock_timeout, location=self.location) as outermost:
            if outermost:
                root = glob.escape(self.root)
                remove_stale_temporaries(self.root, [f"{root}/date=*/.{PART}.*.tmp", f"{root}/.{MARKER}.*.tmp"])
            yield

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
        """Replace ``date``'s partition with ``table`` atomically, under the lock; returns its path.

        A date after ``today`` (default: today in the query's ``tz``, else
        here; a parameter so tests and replays can fix it) is not written and
        ``None`` is returned: its empty answer means "not yet", while a
        zero-row partition says "no calls that day".

        Raises:
            LakeError: the lake holds another query, or another writer holds it.
        """
        if date > (local_today(query.tz) if today is None else today):
            log.info("%s is after today: not persisted", date)
            return None
        schema = file_schema(query.tz)
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
        sink = pa.BufferOutputStream()
        pq.write_table(rows.replace_schema_metadata(keys), sink, compression="zstd", write_page_checksum=True)
        data = sink.getvalue().to_pybytes()  # serialised first: a failure here touches nothing on disk
        with self.writer():
            self.check_query(query)
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
        """Temporary, fsync, rename, fsync the folder; called with the lock held."""
        if not self.local:
            self.fs.pipe_file(path, data)  # a single PUT is atomic on object stores
            return
        folder, name = os.path.split(path)
        temporary = os.path.join(folder, f".{name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
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
        """A partition's row count and nxframe record, from its footer alone.

        Raises:
            LakeError: the file is unreadable, was not written by nxframe, or
                its columns are not the ones its recorded query gives (names the file).
        """
        return self._open_partition(date, rows=False)[0]

    def read_partition(self, date: dt.date) -> tuple[PartitionInfo, pa.Table]:
        """A partition read in full (every page checksum verified), ``date`` first.

        Raises:
            LakeError: as :meth:`partition_info`, or a page does not read back (names the file).
        """
        info, table = self._open_partition(date, rows=True)
        assert table is not None
        return info, table

    def _open_partition(self, date: dt.date, *, rows: bool) -> tuple[PartitionInfo, pa.Table | None]:
        path = self.partition_path(date)
        try:
            # One handle for footer and rows: a file renamed over meanwhile is still the one we opened.
            with pa.OSFile(path) if self.local else self.fs.open(path, "rb") as handle:
                parquet = pq.ParquetFile(handle, page_checksum_verification=True)
                info = checked(date, path, parquet.metadata)
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

    def read(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """The lake's rows between ``start`` and ``end`` (inclusive), in date order."""
        first = None if start is None else parse_date(start, "start")
        last = None if end is None else parse_date(end, "end")
        if first is not None and last is not None and last < first:
            raise InvalidInputError(f"end {last} is before start {first}")
        if not self.exists():
            raise InvalidInputError(f"there is no lake at {self.location!r} (no such folder); sync_lake creates one")
        recorded = self.recorded_query()
        tz = None if recorded is None else recorded.get("tz")
        dates = [d for d in self.dates() if (first is None or d >= first) and (last is None or d <= last)]
        if not dates:
            return to_frame([], tz)
        with ThreadPoolExecutor(min(8, len(dates)), thread_name_prefix="nxframe-read") as pool:
            parts = list(pool.map(self.read_partition, dates))
        for date, (info, _) in zip(dates, parts, strict=True):
            if info.metadata["query"] != recorded:
                path = self.partition_path(date)
                raise LakeError(
                    f"partition {path} holds {describe(info.metadata['query'])}, "
                    f"but the lake holds {describe(recorded or {})}; sync that date again",
                    path=path,
                )
        return to_frame([table for _, table in parts], tz)


def read_lake(lake: str | os.PathLike[str] | Lake, start: Any = None, end: Any = None) -> pd.DataFrame:
    """The call records stored in a lake, in the same schema ``fetch_cdr`` returns.

    Only complete partitions are read (hidden temporaries of a write in
    progress are not), each from one open file, so a sync running meanwhile
    never makes this fail; dates come back in order, ``date`` first.

    Args:
        lake: the lake's folder or fsspec URL.
        start, end: optional inclusive date bounds (``"YYYY-MM-DD"`` or ``date``).

    Raises:
        InvalidInputError: there is no lake at that location.
        LakeError: a partition is unreadable (a page checksum fails, say), was
            not written by nxframe or holds another query (the message names the file).
    """
    return Lake(lake).read(start, end)
