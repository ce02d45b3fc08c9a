"""The report as a folder of CSV files: the exact copy to reconcile against.

One file per table (``totals.csv``, ``by_did.csv``...), then ``audit.csv``,
``changes.csv``, ``anomalies.csv`` and ``notes.csv``, each written by
nxframe's one CSV writer (:func:`nxframe.outputs.write_csv`): decimals are
their exact text with 6 places (``Decimal(text)`` reads back the very
value), NA is an empty cell, the columns the column table calls dates are
ISO dates, every text cell follows OWASP's CSV-injection rule, and each file
is written to a temporary beside it and renamed, so a failed write leaves
the old file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .. import outputs
from .columns import column
from .model import SECTIONS, ReportData

__all__ = ["write_csv", "write_frame_csv"]


def write_frame_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as one CSV file, atomically; its date columns (by the column table) as ``YYYY-MM-DD``."""
    dates = [str(name) for name in frame.columns if column(str(name)).kind == "date"]
    outputs.write_csv(frame, path, dates=dates)


def write_csv(report: ReportData, folder: str | os.PathLike[str]) -> Path:
    """Every table, the three checks and the notes, one CSV each; returns the folder.

    Raises:
        InvalidInputError: ``folder`` is not a path, or is an existing file.
    """
    path = outputs.output_path(folder, "folder", folder=True)
    path.mkdir(parents=True, exist_ok=True)
    for name, frame in report.tables().items():
        write_frame_csv(frame, path / f"{name}.csv")
    for name in SECTIONS:
        write_frame_csv(getattr(report, name), path / f"{name}.csv")
    write_frame_csv(pd.DataFrame(report.notes(), columns=["item", "value"]), path / "notes.csv")
    return path
