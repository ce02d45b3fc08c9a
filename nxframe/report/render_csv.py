"""The report as a folder of CSV files: the exact copy to reconcile against.

One file per table (``totals.csv``, ``by_did.csv``...), then ``audit.csv``,
``changes.csv``, ``anomalies.csv`` and ``notes.csv``. Decimals are their exact
text with 6 places (``Decimal(text)`` reads back the very value), NA is an
empty cell, dates are ISO, and every text cell goes through
:func:`nxframe.export.csv_cell` (OWASP's CSV-injection rule). Each file is
written to a temporary beside it and renamed, so a failed write leaves the
old file.
"""

from __future__ import annotations

import csv
import io
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..export import atomic_file, csv_cell
from .model import SECTIONS, ReportData

__all__ = ["cell_text", "write_csv", "write_frame_csv"]


def cell_text(value: Any) -> str:
    """One cell as CSV text: exact decimals, ISO dates, NA empty, text neutralised."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, pd.Timestamp):
        midnight = value == value.normalize() and value.tzinfo is None
        return str(value.date().isoformat() if midnight else value.isoformat(" "))
    text: str = csv_cell(str(value))
    return text


def write_frame_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as one CSV file, atomically."""
    with atomic_file(path) as temporary, open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(_csv_line([csv_cell(str(name)) for name in frame.columns]))
        for record in frame.itertuples(index=False, name=None):
            handle.write(_csv_line([cell_text(value) for value in record]))


def _csv_line(row: list[str]) -> str:
    """One CSV line ending in ``"\\n"``; a cell holding a newline *or* a carriage return is quoted.

    Python's ``csv`` quotes only the characters of its ``lineterminator``, so
    the row is written with ``"\\r\\n"`` (both get quoted) and ends in ``"\\n"``.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.getvalue()[:-2] + "\n"


def write_csv(report: ReportData, folder: str | os.PathLike[str]) -> Path:
    """Every table, the three checks and the notes, one CSV each; returns the folder.

    Raises:
        InvalidInputError: ``folder`` is an existing file.
    """
    path = Path(folder)
    if path.is_file():
        raise InvalidInputError(f"{path} is a file; CSVs need a folder", parameter="folder")
    path.mkdir(parents=True, exist_ok=True)
    for name, frame in report.tables().items():
        write_frame_csv(frame, path / f"{name}.csv")
    for name in SECTIONS:
        write_frame_csv(getattr(report, name), path / f"{name}.csv")
    write_frame_csv(pd.DataFrame(report.notes(), columns=["item", "value"]), path / "notes.csv")
    return path
