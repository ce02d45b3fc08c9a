"""Files other people open: safe text cells and atomic writes.

API text (country names, reason names, numbers) is data, never a formula or
markup. Every file nxframe hands to someone else (report CSV/Excel/HTML,
``nxframe fetch --out``) goes through here:

- :func:`csv_cell` applies OWASP's CSV-injection rule: a cell starting with
  ``=``, ``@``, tab or carriage return, or with ``+``/``-``, gets a leading
  ``'`` unless the whole cell is a plain number (``+6621234567``, ``-0.5``).
- :func:`atomic_file` writes to a temporary beside the target and renames it
  over the target only when the write finished, so a full disk or a crash
  leaves the old file, never a truncated one.
- :func:`write_frame` writes a frame (``nxframe fetch --out``, ``audit
  --out``) as Parquet or CSV that plain pandas reads without surprises;
  :func:`read_frame` reads such a Parquet file back with the frame's exact
  dtypes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .errors import InvalidInputError
from .frames import to_frame, types_mapper
from .schema import arrow_schema

__all__ = ["atomic_file", "csv_cell", "read_frame", "write_frame"]

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_RISKY_FIRST = ("=", "@", "\t", "\r", "+", "-")


def csv_cell(text: str) -> str:
    """``text`` made safe to open in a spreadsheet (OWASP CSV injection rule).

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("+6621234567"), csv_cell("-0.5"), csv_cell("-")
    ("'=HYPERLINK(1)", '+6621234567', '-0.5', "'-")
    """
    if text.startswith(_RISKY_FIRST) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    The temporary is hidden (``.name.<random>.tmp``) so readers and globbing
    tools skip it; on any failure it is removed and ``path`` is untouched.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


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
        InvalidInputError: ``path`` ends in neither ``.parquet`` nor ``.csv``.
    """
    target = Path(path)
    kind = target.suffix.lower()
    if kind not in (".parquet", ".csv"):
        raise InvalidInputError(f"path must end in .parquet or .csv, not {target.name!r}")
    table = pa.Table.from_pandas(_numpy_times(frame), preserve_index=False)
    with atomic_file(target) as temporary:
        if kind == ".parquet":
            pq.write_table(_plain_metadata(table), temporary, compression="zstd")
        else:
            options = pa_csv.WriteOptions(quoting_style="needed")
            pa_csv.write_csv(_csv_table(table), temporary, write_options=options)
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


def _csv_table(table: pa.Table) -> pa.Table:
    """Every column as the text a spreadsheet or ``pd.read_csv`` should see (numbers stay numbers)."""
    columns = {}
    for name, values in zip(table.column_names, table.columns, strict=True):
        kind = values.type
        if pa.types.is_dictionary(kind):
            values, kind = values.cast(kind.value_type), kind.value_type
        if pa.types.is_decimal(kind):
            columns[name] = values.cast(pa.string())
        elif pa.types.is_date(kind):
            columns[name] = pc.strftime(values.cast(pa.timestamp("s")), format="%Y-%m-%d")
        elif pa.types.is_timestamp(kind):
            columns[name] = pc.strftime(values, format=_time_format(name, values))
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[name] = _safe_text(values.cast(pa.string()))
        else:
            columns[name] = values
    return pa.table(columns)


def _time_format(name: str, values: pa.ChunkedArray) -> str:
    """``date`` (all midnight) as a day; other times to the second, with the UTC offset when tz-aware."""
    if values.type.tz is not None:
        return "%Y-%m-%d %H:%M:%S%z"
    midnight = pc.cast(pc.cast(values, pa.date32()), values.type)
    if name == "date" and pc.all(pc.equal(midnight, values)).as_py() is not False:
        return "%Y-%m-%d"
    return "%Y-%m-%d %H:%M:%S"


def _safe_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """:func:`csv_cell` on every cell, applied once per distinct value."""
    distinct = pc.unique(values).drop_null()
    safe = [csv_cell(text) for text in distinct.to_pylist()]
    if safe == distinct.to_pylist():
        return values
    return pa.array(safe, pa.string()).take(pc.index_in(values, value_set=distinct))
