"""Files other people open: written whole or not at all, and one CSV writer for all of them.

- :func:`atomic_file` writes to a hidden temporary beside the target, fsyncs
  it, renames it over the target and fsyncs the folder (so the rename itself
  survives a power cut): a full disk or a crash leaves the old file, never a
  truncated one. Every file nxframe writes for a person goes through it (the
  lake keeps its own, which also works on object stores).
- :func:`write_csv` is the one CSV writer (``nxframe fetch --out x.csv``,
  ``audit --out``, the report's CSV folder): decimals as their exact text, NA
  as an empty cell, dates as ``YYYY-MM-DD``, times to the second (with the UTC
  offset when tz-aware), every text cell through :func:`~.text.csv_cell`
  (OWASP's CSV-injection rule) and quoted, so a newline or carriage return
  inside a cell never breaks a row.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..errors import InvalidInputError
from .text import csv_cell

__all__ = ["atomic_file", "csv_table", "output_path", "write_csv", "write_text"]


def output_path(value: object, parameter: str, *, folder: bool = False) -> Path:
    """A path argument of a method that writes, checked before any work.

    Raises:
        InvalidInputError: ``value`` is not a ``str`` or ``os.PathLike`` naming a
            file (``folder=False``: not an existing folder) or a folder
            (``folder=True``: not an existing file); the message names ``parameter``.
    """
    what = "a folder" if folder else "a file"
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if not isinstance(text, str) or not text.strip():
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise InvalidInputError(
            f"{parameter} must be a path (str or pathlib.Path) naming {what}, not {shown}", parameter=parameter
        )
    path = Path(text)
    if folder and path.is_file():
        raise InvalidInputError(f"{parameter} {text!r} is a file; pass a folder", parameter=parameter)
    if not folder and path.is_dir():
        raise InvalidInputError(f"{parameter} {text!r} is a folder; name a file inside it", parameter=parameter)
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error it replaces ``path``.

    The temporary is hidden (``.name.<random>.tmp``) so readers and globbing
    tools skip it; on any failure it is removed and ``path`` is untouched.
    The folder is created if needed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
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
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; a system that cannot open a folder (Windows) has nothing to do here."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - not on POSIX
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """``text`` as a UTF-8 file, atomically."""
    target = Path(path)
    with atomic_file(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return target


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, dates: Collection[str] = ("date",)) -> Path:
    """``frame`` as one CSV file, atomically (see the module docstring for the cells).

    Args:
        dates: columns shown as ``YYYY-MM-DD`` when every value is a midnight.
    """
    table = csv_table(pa.Table.from_pandas(frame, preserve_index=False), dates)
    target = Path(path)
    with atomic_file(target) as temporary:
        pa_csv.write_csv(table, temporary, write_options=pa_csv.WriteOptions(quoting_style="needed"))
    return target


def csv_table(table: pa.Table, dates: Collection[str] = ("date",)) -> pa.Table:
    """Every column as the text a spreadsheet or ``pd.read_csv`` should see (integers stay numbers)."""
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
            columns[name] = pc.strftime(values, format=_time_format(values, name in dates))
        elif pa.types.is_floating(kind):
            columns[name] = _distinct(values, lambda v: None if math.isnan(v) else repr(v))
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[name] = _distinct(values.cast(pa.string()), csv_cell)
        elif pa.types.is_null(kind):
            columns[name] = values.cast(pa.string())
        else:
            columns[name] = values
    return pa.table(columns) if columns else table


def _time_format(values: pa.ChunkedArray, date: bool) -> str:
    """A date column (all midnight) as a day; other times to the second, with the UTC offset when tz-aware."""
    if values.type.tz is not None:
        return "%Y-%m-%d %H:%M:%S%z"
    midnight = pc.cast(pc.cast(values, pa.date32()), values.type)
    if date and pc.all(pc.equal(midnight, values)).as_py() is not False:
        return "%Y-%m-%d"
    return "%Y-%m-%d %H:%M:%S"


def _distinct(values: pa.ChunkedArray, text: Callable[[Any], str | None]) -> pa.ChunkedArray | pa.Array:
    """``text(value)`` on every cell, computed once per distinct value; NA (and ``None``) an empty cell."""
    distinct = pc.unique(values).drop_null()
    plain = distinct.to_pylist()
    shown = [text(value) for value in plain]
    if shown == plain and pa.types.is_string(values.type):
        return values
    return pa.array(shown, pa.string()).take(pc.index_in(values, value_set=distinct))
