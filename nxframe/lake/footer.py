"""What a partition file must hold to be read: nxframe's record, its query, its query's columns."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .._version import __version__
from ..errors import LakeError
from ..schema import arrow_schema

__all__ = ["METADATA_KEY", "PartitionInfo", "checked", "describe", "encode_partition", "file_schema"]

METADATA_KEY = b"nxframe"


@dataclass(frozen=True)
class PartitionInfo:
    """What a partition's footer says: its row count and nxframe's record."""

    date: dt.date
    rows: int
    metadata: dict[str, Any]


def file_schema(tz: str | None) -> pa.Schema:
    """The schema inside each file: everything but ``date``, which the path carries."""
    schema = arrow_schema(tz)
    return schema.remove(schema.get_field_index("date"))


def encode_partition(date: dt.date, table: pa.Table, query: dict[str, Any], total_row: int | None) -> bytes:
    """A date's rows as the bytes of its partition file: zstd, page checksums, nxframe's record in the footer.

    The record holds the date and the query, so a file moved into another
    date's folder, or written with other filters, tells on itself.
    """
    schema = file_schema(query.get("tz"))
    rows = table.drop_columns(["date"]) if "date" in table.column_names else table
    rows = rows.select(schema.names).cast(schema)
    metadata = {
        "nxframe_version": __version__,
        "date": date.isoformat(),
        "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "query": query,
        "rows": rows.num_rows,
        "total_row": rows.num_rows if total_row is None else total_row,
    }
    # One JSON record, and the same facts as flat keys for tools that list key-value metadata.
    keys: dict[str | bytes, str | bytes] = {METADATA_KEY: json.dumps(metadata).encode()}
    for key, value in metadata.items():
        keys[f"nxframe.{key.removeprefix('nxframe_')}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    sink = pa.BufferOutputStream()
    pq.write_table(rows.replace_schema_metadata(keys), sink, compression="zstd", write_page_checksum=True)
    return bytes(sink.getvalue().to_pybytes())


def checked(date: dt.date, path: str, footer: pq.FileMetaData, lake_query: dict[str, Any] | None) -> PartitionInfo:
    """A partition's facts from its footer, once it proves to be nxframe's, of its folder's date and the lake's query.

    A file copied or moved into another date's folder, or written by a
    writer with other filters, would otherwise be read as that date of this
    lake; its own record says what it is.

    Raises:
        LakeError: the footer has no nxframe record, another date or query
            than ``date`` and ``lake_query`` (when known), or other columns than its query gives.
    """
    try:
        metadata = json.loads((footer.metadata or {})[METADATA_KEY])
    except (KeyError, ValueError):
        raise LakeError(
            f"{path} was not written by nxframe (no nxframe metadata); use another lake folder", path=path
        ) from None
    query = metadata.get("query") if isinstance(metadata, dict) else None
    if not isinstance(query, dict):
        raise LakeError(f"{path} records no query; use another lake folder", path=path)
    if metadata.get("date") != date.isoformat():
        raise LakeError(
            f"partition {path} holds the calls of {metadata.get('date') or 'an unrecorded date'}, not of its "
            f"folder's date {date}; sync the date again to replace it",
            path=path,
        )
    if lake_query is not None and query != lake_query:
        raise LakeError(
            f"partition {path} holds {describe(query)}, but the lake holds {describe(lake_query)}; "
            "sync the date again to replace it",
            path=path,
        )
    schema = footer.schema.to_arrow_schema()
    if not _same_columns(schema, file_schema(query.get("tz"))):
        raise LakeError(
            f"partition {path} does not have the lake's schema (found {_columns(schema)}); "
            "sync the date again to replace it",
            path=path,
        )
    return PartitionInfo(date, footer.num_rows, metadata)


def describe(filters: dict[str, Any]) -> str:
    """A query's filters in words, for messages that refuse to mix two queries."""
    shown = [f"{k}={v}" for k, v in filters.items() if v is not None and k != "tz"]
    text = "calls with " + ", ".join(shown) if shown else "all calls (no filters)"
    return text + (f", times in {filters['tz']}" if filters.get("tz") else ", naive times")


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
