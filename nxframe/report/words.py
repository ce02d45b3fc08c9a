"""The report's words and numbers as text: months, labels, exact decimals, date runs.

Shared by the Report's ``summary_text`` and every renderer, so a figure reads
the same in a terminal, a spreadsheet and a web page.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidInputError

__all__ = [
    "CURRENCY",
    "MONTH_NAMES",
    "billing_text",
    "date_ranges",
    "decimal_text",
    "month_name",
    "month_range",
    "output_kind",
    "previous_month",
    "timestamp",
]

#: The API documents prices and costs in yuan (``docs/nxcloud-api.md``, callPrice).
CURRENCY = "CNY"
MONTH_NAMES = [""] + [calendar.month_name[n] for n in range(1, 13)]
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits: "２０２４-０２" is not a month here
_NOT_FOLDERS = frozenset({".csv", ".xls", ".xlsm", ".xlsb", ".ods", ".pdf", ".json", ".txt", ".parquet", ".png"})


def output_kind(out: str | os.PathLike[str]) -> str:
    """``"excel"``, ``"html"`` or ``"csv"`` (a folder) for an output name; checked before any work.

    Raises:
        InvalidInputError: a file suffix a report cannot be written as (``.csv``,
            ``.xls``, ``.pdf``...), which would otherwise become a folder of that name.
    """
    if not isinstance(out, str | os.PathLike) or not str(os.fspath(out)).strip():
        shown = repr(out) if isinstance(out, str) else type(out).__name__
        raise InvalidInputError(
            f"out must be a path (str or pathlib.Path) ending in .xlsx or .html, or a folder, not {shown}",
            parameter="out",
        )
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "excel"
    if suffix in (".html", ".htm"):
        return "html"
    if suffix in _NOT_FOLDERS:
        raise InvalidInputError(
            f"cannot write a report to {path.name!r}: use FILE.xlsx, FILE.html, or a folder for one CSV per table",
            parameter="out",
        )
    return "csv"


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``"YYYY-MM"``.

    Raises:
        InvalidInputError: ``month`` is not text of the form ``YYYY-MM`` naming a real month.
    """
    match = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if match is None:
        raise InvalidInputError(f"month must be text 'YYYY-MM' such as '2024-02', not {month!r}", parameter="month")
    year, number = int(match.group(1)), int(match.group(2))
    if year < 1 or not 1 <= number <= 12:
        raise InvalidInputError(
            f"month {month!r} does not exist: the month must be 01..12 and the year 0001 or later", parameter="month"
        )
    return dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1])


def previous_month(first: dt.date) -> str:
    """``"YYYY-MM"`` of the month before the one starting on ``first`` (``""`` before year 1)."""
    before = first - dt.timedelta(days=1) if first > dt.date.min else None
    return "" if before is None else f"{before.year:04d}-{before.month:02d}"


def month_name(first: dt.date) -> str:
    """``February 2024``."""
    return f"{MONTH_NAMES[first.month]} {first.year}"


def decimal_text(value: Any) -> str:
    """A decimal with thousands separators and all 6 places, exactly; ``—`` for null."""
    if value is None or value is pd.NA:
        return "—"
    return f"{Decimal(value):,.6f}"


def billing_text(calls: int, flagged: int, overcharge: Decimal) -> str:
    """``31,245 calls checked, 12 off the rules, overcharge 3.210000 CNY``."""
    return f"{calls:,} calls checked, {flagged:,} off the rules, overcharge {decimal_text(overcharge)} {CURRENCY}"


def timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def date_ranges(dates: Sequence[dt.date]) -> str:
    """``2024-02-03, 2024-02-10 to 2024-02-12``: runs of three or more consecutive dates shortened."""
    runs: list[list[dt.date]] = []
    for date in sorted(dates):
        if runs and date - runs[-1][-1] == dt.timedelta(days=1):
            runs[-1].append(date)
        else:
            runs.append([date])
    return ", ".join(f"{run[0]} to {run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)
