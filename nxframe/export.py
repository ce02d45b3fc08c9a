"""A frame as a file other people open: Parquet or CSV that plain pandas reads without surprises.

:func:`write_frame` writes a frame (``nxframe fetch --out``, ``audit --out``)
as Parquet or CSV; :func:`read_frame` reads such a Parquet file back with the
frame's exact dtypes. The rules every file for people follows (atomic
writes, the one CSV writer with OWASP's CSV-injection rule) live in
:mod:`nxframe.outputs`; :func:`csv_cell` and :func:`atomic_file` are
re-exported here for code that imported them from this module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InvalidInputError
from .frames import to_frame, types_mapper
from .outputs import atomic_file, csv_cell, output_path, write_csv
from .schema import arrow_schema

__all__ = ["atomic_file", "csv_cell", "read_frame", "write_frame"]


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to ``path`` (``.parquet`` or ``.csv``, by its suffix), atomically.

    Parquet: the frame's columns and exact decimals; plain
    ``pd.read_parquet(path)`` reads it without error (money as ``Decimal``
    objects, times as ``datetime64[ms]``: Parquet has no seconds unit, and
    ``date`` is stored as a TIMESTAMP at midnight so string date filters work
    on it); :func:`read_frame` gives back the frame's exact dtypes. The
    pandas metadata is kept only where plain pandas can honour it.

    CSV: decimals as their exact text (``0.055000``), NA as an empty cell,
    ``date`` as ``YYYY-MM-DD``, times as ``YYYY-MM-DD HH:MM:SS`` (``+0800``
    appended when tz-aware), every text cell through :func:`csv_cell`, text
    cells quoted (so newlines survive). ``pd.read_csv(path, dtype=str)`` reads
    the exact text back.

    Raises:
        InvalidInputError: ``path`` is not a path ending in ``.parquet`` or ``.csv``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"frame must be a pandas DataFrame, not {type(frame).__name__}", parameter="frame")
    target = output_path(path, "path")
    kind = target.suffix.lower()
    if kind not in (".parquet", ".csv"):
        raise InvalidInputError(f"path must end in .parquet or .csv, not {target.name!r}", parameter="path")
    if kind == ".csv":
        return write_csv(frame, target)
    table = pa.Table.from_pandas(_numpy_times(frame), preserve_index=False)
    with atomic_file(target) as temporary:
        pq.write_table(_plain_metadata(table), temporary, compression="zstd")
    return target


def read_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A Parquet file from :func:`write_frame` with the frame's exact dtypes, as ``fetch_cdr`` gives them.

    ``nxframe.export.read_frame("x.parquet")`` is the one line; a file with
    other columns (e.g. ``audit --out``) reads as ``pd.ArrowDtype`` columns
    with numpy ``datetime64[s]`` times.
    """
    table = pq.read_table(path)
    zone = _zone(table)
    schema = arrow_schema(zone)
    if table.column_names == schema.names:
        date = table.schema.get_field_index("date")
        table = table.set_column(date, "date", table["date"].cast(pa.date32()))
        return to_frame([table.cast(schema)], zone)
    frame: pd.DataFrame = table.to_pandas(types_mapper=types_mapper)
    for name in table.column_names:
        kind = table.schema.field(name).type
        if pa.types.is_timestamp(kind):
            frame[name] = frame[name].astype("datetime64[s]" if kind.tz is None else pd.DatetimeTZDtype("s", kind.tz))
    return frame


def _zone(table: pa.Table) -> str | None:
    if "start_time" in table.column_names and pa.types.is_timestamp(table.schema.field("start_time").type):
        zone: str | None = table.schema.field("start_time").type.tz
        return zone
    return None


def _numpy_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed dates and times (frames from older code) as numpy ``datetime64[s]``.

    Their pandas metadata would bring them back Arrow-backed, where
    ``df.date == "2024-03-01"`` is silently empty.
    """
    arrow_times = [
        name
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.ArrowDtype)
        and (pa.types.is_date(dtype.pyarrow_dtype) or pa.types.is_timestamp(dtype.pyarrow_dtype))
    ]
    if not arrow_times:
        return frame
    frame = frame.copy()
    for name in arrow_times:
        kind = frame[name].dtype.pyarrow_dtype
        zone = getattr(kind, "tz", None)
        frame[name] = frame[name].astype("datetime64[s]" if zone is None else pd.DatetimeTZDtype("s", zone))
    return frame


def _plain_metadata(table: pa.Table) -> pa.Table:
    """``table`` with pandas metadata plain pandas can honour: a dtype it cannot build becomes ``object``.

    pandas writes e.g. ``dictionary<values=string, ...>[pyarrow]`` or
    ``list<item: int64>[pyarrow]`` as a column's ``numpy_type``, which plain
    ``pd.read_parquet`` cannot construct and raises on (pandas 3.1).
    """
    metadata = dict(table.schema.metadata or {})
    if b"pandas" not in metadata:
        return table
    pandas_meta = json.loads(metadata[b"pandas"])
    for entry in pandas_meta.get("columns", []):
        try:
            pd.api.types.pandas_dtype(entry.get("numpy_type"))
        except (TypeError, ValueError, NotImplementedError):
            entry["numpy_type"] = "object"
    metadata[b"pandas"] = json.dumps(pandas_meta).encode()
    return table.replace_schema_metadata(metadata)
