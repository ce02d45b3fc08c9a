"""The monthly report: a month of call records -> exact totals and breakdowns -> Excel, HTML, CSV.

Two halves, data flowing one way:

1. :func:`monthly_report` is pure arithmetic on Arrow: it reads the month from
   a DataFrame or a lake, groups it and returns a :class:`Report` of typed
   DataFrames. Every money and minute figure is an Arrow ``decimal128`` sum,
   which is exact, so every breakdown adds up to the totals digit for digit.
2. The ``Report.to_*`` renderers turn those tables into files. They import
   openpyxl and matplotlib inside the functions: ``import nxframe`` must stay
   fast, and a user who only wants the DataFrames never pays for them.

Definitions (also written into every rendered report):

- ``calls``: call records of the month (rows whose ``date`` is in the month).
- ``answered``: calls with ``call_duration > 0``.
- ``duration_seconds``: the sum of ``call_duration``.
- ``billed_minutes``: the exact sum of ``fee_duration_minute``.
- ``cost``: the exact sum of ``call_price``, in yuan (``api/did-cdr.md``).
- ``avg_cost_per_minute``: ``cost / billed_minutes`` rounded to 6 decimal
  places, ROUND_HALF_UP (the only rounded figure); null when
  ``billed_minutes`` is 0.

Completeness: a report lists ``missing_dates`` and is ``complete`` only
when there are none. For a lake, a date is missing when it has no partition
(a zero-row partition is a fetched day without calls, not missing). A
DataFrame cannot tell "no calls" from "not fetched", so for a DataFrame a date
is missing when it has no rows: a report errs towards "incomplete" rather
than claim a completeness it cannot show. Use the lake for months with
genuinely empty days. A month still in progress is incomplete until its last
date is synced.

Excel cells are binary doubles, exact to 6 places below 10^9; the CSVs carry
the exact decimal text and are the copy to reconcile against.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import io
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._version import __version__
from ..errors import InvalidInputError
from ..lake import Lake
from .tables import arrow_columns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["AVERAGE_PLACES", "CURRENCY", "TABLES", "Report", "month_range", "monthly_report", "output_kind"]

#: The API documents prices and costs in yuan (``api/did-cdr.md``, callPrice).
CURRENCY = "CNY"
#: Decimal places of ``avg_cost_per_minute``, rounded ROUND_HALF_UP.
AVERAGE_PLACES = 6
_AVERAGE_QUANTUM = Decimal(1).scaleb(-AVERAGE_PLACES)
#: Sums of decimal128(18, 6) columns: Arrow widens them to 38 digits, so no month can overflow.
_SUM = pa.decimal128(38, 6)
#: Label of a null key (a call without a country, say), so its calls still count in the breakdown.
UNKNOWN = "(unknown)"

#: The report's tables, in the order every renderer writes them: name -> (title, key columns).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "totals": ("Totals", ()),
    "by_did": ("By DID number", ("did_number",)),
    "by_country": ("By country", ("country_name",)),
    "by_day": ("By day", ("date", "missing")),
    "by_call_type": ("By direction", ("call_type",)),
    "by_end_reason": ("By hang-up reason", ("end_reason", "end_reason_name")),
}
MEASURES = ("calls", "answered", "duration_seconds", "billed_minutes", "cost", "avg_cost_per_minute")

#: The source columns a report reads, and the Arrow type each is read as.
_NEEDED: dict[str, pa.DataType] = {
    "date": pa.date32(),
    "did_number": pa.string(),
    "country_name": pa.string(),
    "call_type": pa.string(),
    "call_duration": pa.int64(),
    "fee_duration_minute": pa.decimal128(18, 6),
    "call_price": pa.decimal128(18, 6),
    "end_reason": pa.string(),
    "end_reason_name": pa.string(),
}

_LABELS = {
    "did_number": "DID number",
    "country_name": "Country",
    "call_type": "Direction",
    "end_reason": "Reason code",
    "end_reason_name": "Hang-up reason",
    "date": "Date",
    "missing": "Missing",
    "calls": "Calls",
    "answered": "Answered",
    "duration_seconds": "Duration (s)",
    "billed_minutes": "Billed minutes",
    "cost": f"Cost ({CURRENCY})",
    "avg_cost_per_minute": f"Avg per billed minute ({CURRENCY})",
}

_MONTH = re.compile(r"(\d{4})-(\d{2})")

Source: TypeAlias = "pd.DataFrame | str | os.PathLike[str] | Lake"


# -- the month -------------------------------------------------------------------------


def output_kind(out: str | os.PathLike[str]) -> str:
    """``"excel"``, ``"html"`` or ``"csv"`` (a folder) for an output name; checked before any work.

    Raises:
        InvalidInputError: a file suffix a report cannot be written as (``.csv``,
            ``.xls``, ``.pdf``...), which would otherwise become a folder of that name.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "excel"
    if suffix in (".html", ".htm"):
        return "html"
    if suffix in _NOT_FOLDERS:
        raise InvalidInputError(
            f"cannot write a report to {path.name!r}: use FILE.xlsx, FILE.html, or a folder for one CSV per table"
        )
    return "csv"


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``"YYYY-MM"``.

    Raises:
        InvalidInputError: ``month`` is not text of the form ``YYYY-MM`` naming a real month.
    """
    match = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if match is None:
        raise InvalidInputError(f"month must be text 'YYYY-MM' such as '2024-02', not {month!r}")
    year, number = int(match.group(1)), int(match.group(2))
    if year < 1 or not 1 <= number <= 12:
        raise InvalidInputError(f"month {month!r} does not exist: the month must be 01..12 and the year 0001 or later")
    return dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1])


# -- the report ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Report:
    """A month's exact totals and breakdowns, and the files they render to.

    Every table is a DataFrame of ``pd.ArrowDtype`` columns: the key
    column(s), then ``calls``, ``answered``, ``duration_seconds`` (int64),
    ``billed_minutes``, ``cost``, ``avg_cost_per_minute`` (decimal128(38, 6)).
    Breakdowns are sorted by cost, highest first (ties by key); ``by_day``
    lists every day of the month in date order, zeros for days without
    calls, and a ``missing`` flag. The parts of every breakdown sum exactly
    to ``totals``. See the module docstring for the definitions.

    Attributes:
        month: ``"YYYY-MM"``.
        first, last: the month's first and last day.
        source: where the rows came from, for the reader ("lake data/lake").
        rows: call records in the month (= ``totals.calls``).
        ignored_rows: rows of a DataFrame source outside the month (or undated); 0 for a lake.
        missing_dates: dates of the month without data (see the module docstring).
        missing_reason: what "missing" means for this source, in words.
        generated_at: when the report was computed (UTC).
    """

    month: str
    first: dt.date
    last: dt.date
    source: str
    rows: int
    ignored_rows: int
    totals: pd.DataFrame
    by_did: pd.DataFrame
    by_country: pd.DataFrame
    by_day: pd.DataFrame
    by_call_type: pd.DataFrame
    by_end_reason: pd.DataFrame
    missing_dates: list[dt.date] = field(default_factory=list)
    missing_reason: str = ""
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def complete(self) -> bool:
        """True when every date of the month has data; a partial month must never pass for a whole one."""
        return not self.missing_dates

    @property
    def total_cost(self) -> Decimal:
        """The month's exact cost."""
        value: Decimal = self.totals["cost"].iloc[0]
        return value

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name (``totals``, ``by_did``, ...), in the order the renderers write them."""
        return {name: getattr(self, name) for name in TABLES}

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"{len(self.missing_dates)} dates missing"
        return f"Report(month={self.month!r}, rows={self.rows}, cost={self.total_cost}, {state})"

    # -- words -----------------------------------------------------------------------

    def missing_text(self) -> str:
        """One sentence naming the missing dates, or ``""`` for a complete month."""
        if self.complete:
            return ""
        days = (self.last - self.first).days + 1
        return (
            f"INCOMPLETE MONTH: {len(self.missing_dates)} of {days} dates have {self.missing_reason}: "
            f"{_date_ranges(self.missing_dates)}. The figures cover the other dates only."
        )

    def summary_text(self) -> str:
        """A few lines for a terminal or a log: month, rows, calls, minutes, exact cost, any missing dates."""
        totals = self.totals.iloc[0]
        calls, answered = int(totals["calls"]), int(totals["answered"])
        share = f" ({answered / calls:.1%})" if calls else ""
        ignored = f" ({self.ignored_rows:,} rows outside the month ignored)" if self.ignored_rows else ""
        lines = [
            f"Monthly DID call report {self.month} ({self.first} to {self.last}), from {self.source}",
            f"Rows: {self.rows:,}{ignored}",
            f"Calls: {calls:,}, answered: {answered:,}{share}, duration: {int(totals['duration_seconds']):,} s",
            f"Billed minutes: {_decimal(totals['billed_minutes'])}",
            f"Total cost: {_decimal(totals['cost'])} {CURRENCY} (exact)",
        ]
        lines.append(f"WARNING: {self.missing_text()}" if not self.complete else "Complete: every date has data.")
        return "\n".join(lines)

    def notes(self) -> list[tuple[str, str]]:
        """What a reader must know besides the numbers: period, source, completeness, definitions."""
        days = (self.last - self.first).days + 1
        notes = [
            ("month", self.month),
            ("period", f"{self.first} to {self.last} ({days} days)"),
            ("source", self.source),
            ("generated_at", _timestamp(self.generated_at)),
            ("generated_by", f"nxframe {__version__}"),
            ("rows", str(self.rows)),
            ("rows_ignored_outside_month", str(self.ignored_rows)),
            ("complete", "yes" if self.complete else "NO"),
            ("missing_dates_count", str(len(self.missing_dates))),
        ]
        if not self.complete:
            notes.append(("warning", self.missing_text()))
        notes += [("missing_date", d.isoformat()) for d in self.missing_dates]
        notes += [
            ("currency", f"{CURRENCY} (the API's callPrice is in yuan)"),
            ("answered", "calls with call_duration > 0"),
            ("billed_minutes", "exact sum of fee_duration_minute"),
            ("cost", "exact sum of call_price"),
            (
                "avg_cost_per_minute",
                f"cost / billed_minutes, rounded to {AVERAGE_PLACES} places ROUND_HALF_UP; "
                "empty when there are no billed minutes",
            ),
        ]
        return notes

    # -- files -----------------------------------------------------------------------

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write by the name's suffix: ``.xlsx`` Excel, ``.html``/``.htm`` HTML, anything else a CSV folder.

        Raises:
            InvalidInputError: a file suffix this report cannot write (``.csv``,
                ``.xls``, ``.pdf``...), which would otherwise become a folder of that name.
        """
        path = Path(out)
        kind = output_kind(path)
        if kind == "excel":
            return self.to_excel(path)
        if kind == "html":
            return self.to_html(path)
        return self.to_csv(path)

    def to_csv(self, folder: str | os.PathLike[str]) -> Path:
        """One CSV per table (``totals.csv``, ``by_did.csv``...) plus ``notes.csv``; returns the folder.

        Decimals are written as their exact text with 6 places (``0.055000``),
        so ``Decimal(text)`` reads back the very value; dates are ISO.
        """
        path = Path(folder)
        if path.is_file():
            raise InvalidInputError(f"{path} is a file; CSVs need a folder")
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables().items():
            _csv_ready(frame).to_csv(path / f"{name}.csv", index=False, lineterminator="\n")
        notes = pd.DataFrame(self.notes(), columns=["item", "value"])
        notes.to_csv(path / "notes.csv", index=False, lineterminator="\n")
        return path

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """An .xlsx workbook: a Summary sheet (status, notes, totals), then one sheet per table.

        Money and minutes are numeric cells with a 6-decimal number format.
        Excel keeps numbers as binary doubles: exact to 6 places for values
        under 10^9 (15 significant digits); the CSVs are the exact copy.
        """
        from openpyxl import Workbook

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        workbook = Workbook()
        _excel_summary(workbook.active, self)
        for name, (title, _keys) in TABLES.items():
            _excel_table(workbook.create_sheet(title[:31]), getattr(self, name))
        workbook.save(target)
        return target

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """One self-contained HTML file: the totals, three charts (inline SVG), every table, the notes."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_html_document(self, charts=True), encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        """Jupyter shows the report's tables (no charts: the notebook's own plots do that better)."""
        return _html_body(self, charts=False)


_NOT_FOLDERS = frozenset({".csv", ".xls", ".xlsm", ".xlsb", ".ods", ".pdf", ".json", ".txt", ".parquet", ".png"})


# -- building it -----------------------------------------------------------------------


def monthly_report(source: Source, month: str) -> Report:
    """The exact report of one month of call records.

    Args:
        source: a DataFrame from ``fetch_cdr``/``read_lake`` (the columns of
            ``nxframe.schema.COLUMNS``; at least those the report reads), or a
            lake: a folder path, an fsspec URL or a :class:`~nxframe.lake.Lake`.
        month: ``"YYYY-MM"``. Rows dated outside it are ignored.

    Returns:
        A :class:`Report`; ``report.complete`` says whether every date of the
        month has data (see the module docstring for what "missing" means).

    Raises:
        InvalidInputError: a bad month, a source that is neither, a DataFrame
            without the needed columns or with money as floats, a lake path
            that does not exist. All checked before any data is read.
        LakeError: a partition of the month is unreadable.
    """
    first, last = month_range(month)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    if isinstance(source, pd.DataFrame):
        table = _frame_table(source)
        in_month = pc.and_(
            pc.greater_equal(table["date"], pa.scalar(first, pa.date32())),
            pc.less_equal(table["date"], pa.scalar(last, pa.date32())),
        )
        table = table.filter(in_month)
        present = set(pc.unique(table["date"]).to_pylist())
        ignored = len(source) - table.num_rows
        origin = f"a DataFrame of {len(source):,} rows"
        reason = "no rows in the DataFrame (not fetched, or no calls that day)"
    elif isinstance(source, (str, os.PathLike, Lake)):
        lake = Lake(source)
        if not lake.fs.isdir(lake.root):
            raise InvalidInputError(f"there is no lake at {lake.location!r}; check the path, or sync the month first")
        present = set(lake.dates())
        table = _frame_table(lake.read(first, last))
        ignored = 0
        origin = f"lake {lake.location}"
        reason = "no partition in the lake (never synced; run nxframe sync for them)"
    else:
        raise InvalidInputError(
            f"source must be a DataFrame from fetch_cdr/read_lake or a lake path, not {type(source).__name__}"
        )
    return _build(table, month, days, present, origin, reason, ignored)


def _frame_table(frame: pd.DataFrame) -> pa.Table:
    return arrow_columns(frame, _NEEDED)


def _build(
    table: pa.Table,
    month: str,
    days: list[dt.date],
    present: set[dt.date],
    origin: str,
    reason: str,
    ignored: int,
) -> Report:
    answered = pc.fill_null(pc.greater(table["call_duration"], 0), False)
    table = table.append_column("answered", answered)
    for name in ("did_number", "country_name", "call_type", "end_reason", "end_reason_name"):
        table = table.set_column(table.schema.get_field_index(name), name, pc.fill_null(table[name], UNKNOWN))
    missing = [day for day in days if day not in present]
    by_day = _by_day(table, days, set(missing))
    return Report(
        month=month,
        first=days[0],
        last=days[-1],
        source=origin,
        rows=table.num_rows,
        ignored_rows=ignored,
        totals=_to_pandas(_aggregate(table, ())),
        by_did=_breakdown(table, ("did_number",)),
        by_country=_breakdown(table, ("country_name",)),
        by_day=by_day,
        by_call_type=_breakdown(table, ("call_type",)),
        by_end_reason=_breakdown(table, ("end_reason", "end_reason_name")),
        missing_dates=missing,
        missing_reason=reason,
    )


def _aggregate(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Key columns, then the measures, one row per key (one row in all when ``keys`` is empty).

    Arrow's decimal sums are exact and widen to decimal128(38, 6);
    ``min_count=0`` makes an empty sum 0, not null.
    """
    zero = pc.ScalarAggregateOptions(min_count=0)
    grouped = table.group_by(list(keys), use_threads=False).aggregate(
        [
            ([], "count_all"),
            ("answered", "sum", zero),
            ("call_duration", "sum", zero),
            ("fee_duration_minute", "sum", zero),
            ("call_price", "sum", zero),
        ]
    )
    cost = grouped["call_price_sum"].cast(_SUM)
    minutes = grouped["fee_duration_minute_sum"].cast(_SUM)
    columns = {key: grouped[key] for key in keys}
    columns |= {
        "calls": grouped["count_all"].cast(pa.int64()),
        "answered": grouped["answered_sum"].cast(pa.int64()),
        "duration_seconds": grouped["call_duration_sum"].cast(pa.int64()),
        "billed_minutes": minutes,
        "cost": cost,
        "avg_cost_per_minute": _average(cost.to_pylist(), minutes.to_pylist()),
    }
    return pa.table(columns)


def _average(costs: Iterable[Decimal | None], minutes: Iterable[Decimal | None]) -> pa.Array:
    """``cost / minutes`` to 6 places, ROUND_HALF_UP; null without billed minutes.

    Computed with Python's Decimal at 80 digits (tables have at most a few
    hundred rows), so the only rounding is the one documented.
    """
    values: list[Decimal | None] = []
    with localcontext() as context:
        context.prec = 80
        for cost, minute in zip(costs, minutes, strict=True):
            if cost is None or minute is None or minute == 0:
                values.append(None)
            else:
                values.append((cost / minute).quantize(_AVERAGE_QUANTUM, rounding=ROUND_HALF_UP))
    return pa.array(values, _SUM)


def _breakdown(table: pa.Table, keys: tuple[str, ...]) -> pd.DataFrame:
    """Measures per key, highest cost first; ties by key so the order never depends on the input's."""
    grouped = _aggregate(table, keys)
    ordered = grouped.sort_by([("cost", "descending"), *((key, "ascending") for key in keys)])
    return _to_pandas(ordered)


def _by_day(table: pa.Table, days: list[dt.date], missing: set[dt.date]) -> pd.DataFrame:
    """Measures per date for every day of the month, zeros on days without calls."""
    grouped = _aggregate(table, ("date",)).to_pylist()
    found = {row["date"]: row for row in grouped}
    zero = Decimal("0.000000")
    empty = {"calls": 0, "answered": 0, "duration_seconds": 0, "billed_minutes": zero, "cost": zero}
    rows = [{**empty, "avg_cost_per_minute": None, **found.get(day, {}), "date": day} for day in days]
    columns: dict[str, pa.Array] = {
        "date": pa.array(days, pa.date32()),
        "missing": pa.array([day in missing for day in days], pa.bool_()),
    }
    for name, kind in (
        ("calls", pa.int64()),
        ("answered", pa.int64()),
        ("duration_seconds", pa.int64()),
        ("billed_minutes", _SUM),
        ("cost", _SUM),
        ("avg_cost_per_minute", _SUM),
    ):
        columns[name] = pa.array([row[name] for row in rows], kind)
    return _to_pandas(pa.table(columns))


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return frame


# -- formatting ------------------------------------------------------------------------


def _decimal(value: Any) -> str:
    """A decimal with thousands separators and all 6 places, exactly; ``—`` for null."""
    if value is None or value is pd.NA:
        return "—"
    return f"{Decimal(value):,.6f}"


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _date_ranges(dates: Sequence[dt.date]) -> str:
    """``2024-02-03, 2024-02-10 to 2024-02-12``: runs of three or more consecutive dates shortened."""
    runs: list[list[dt.date]] = []
    for date in sorted(dates):
        if runs and date - runs[-1][-1] == dt.timedelta(days=1):
            runs[-1].append(date)
        else:
            runs.append([date])
    return ", ".join(f"{run[0]} to {run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimals as their exact text (Arrow's cast writes all 6 places), nulls empty, everything else as is."""
    ready = frame.copy()
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype):
            text = pc.cast(pa.array(frame[name]), pa.string())
            ready[name] = pd.Series(text, index=frame.index, dtype=pd.ArrowDtype(pa.string()))
    return ready


def _cell(value: Any) -> object:
    """A Python value for a spreadsheet cell: Decimal stays Decimal (openpyxl writes it as a number)."""
    if value is None or value is pd.NA:
        return None
    return value


# -- Excel -------------------------------------------------------------------------------

_EXCEL_FORMATS = {
    "calls": "#,##0",
    "answered": "#,##0",
    "duration_seconds": "#,##0",
    "billed_minutes": "#,##0.000000",
    "cost": "#,##0.000000",
    "avg_cost_per_minute": "0.000000",
    "date": "yyyy-mm-dd",
}


def _excel_table(sheet: Any, frame: pd.DataFrame) -> None:
    """A header row of labels, then one row per record; typed cells, numeric money, frozen header."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_fill = PatternFill("solid", fgColor="DCE6F1")
    names = list(frame.columns)
    sheet.append([_LABELS.get(name, name) for name in names])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for record in frame.itertuples(index=False, name=None):
        sheet.append([_cell(value) for value in record])
    _no_formulas(sheet)
    for index, name in enumerate(names, start=1):
        letter = get_column_letter(index)
        number_format = _EXCEL_FORMATS.get(name)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
        widest = max([len(_LABELS.get(name, name)) * 0.8, *(len(str(v)) + 3 for v in frame[name].tolist())])
        sheet.column_dimensions[letter].width = min(max(widest, 10), 48)
    sheet.freeze_panes = "A2"


def _no_formulas(sheet: Any) -> None:
    """Text such as ``=HYPERLINK(...)`` in a DID or a reason name is data: never let Excel run it."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _excel_summary(sheet: Any, report: Report) -> None:
    """The first sheet a reader sees: title, status (red when incomplete), notes, the totals."""
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet.title = "Summary"
    sheet.append([f"Monthly DID call report {report.month}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"{report.first} to {report.last} · generated {_timestamp(report.generated_at)}"])
    sheet.append([])
    status = "Complete: every date of the month has data." if report.complete else report.missing_text()
    sheet.append(["Status", status])
    status_cell = sheet.cell(row=sheet.max_row, column=2)
    status_cell.alignment = Alignment(wrap_text=True, vertical="top")
    if not report.complete:
        warning = PatternFill("solid", fgColor="F8D7DA")
        for cell in sheet[sheet.max_row]:
            cell.fill = warning
            cell.font = Font(bold=True, color="9B1C1C")
    sheet.append([])
    sheet.append(["Totals"])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=12)
    totals = report.totals.iloc[0]
    for name in MEASURES:
        sheet.append([_LABELS[name], _cell(totals[name])])
        sheet.cell(row=sheet.max_row, column=2).number_format = _EXCEL_FORMATS[name]
    sheet.append([])
    sheet.append(["Notes"])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=12)
    for item, value in report.notes():
        sheet.append([item, value])
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 90
    _no_formulas(sheet)


# -- HTML --------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --head: #f0f4f8; --accent: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; }
.meta { color: var(--muted); margin: 0; }
.banner { margin: 20px 0 6px; padding: 14px 18px; border-radius: 6px; font-weight: 600; }
.banner.incomplete { background: #fde8e8; border: 2px solid #c81e1e; color: #7f1d1d; }
.banner.complete { background: #e6f4ea; border: 1px solid #8bc79a; color: #14532d; font-weight: 500; }
.banner .dates { display: block; font-weight: 400; margin-top: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fbfcfe; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card .sub { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.card.cost { border-color: var(--accent); background: #eef4ff; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 22px; }
figure { margin: 0; }
figure.wide { grid-column: 1 / -1; }
figure svg { width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); text-align: left; font-weight: 600; vertical-align: bottom; }
th.num, td.num { text-align: right; white-space: nowrap; }
thead th.num { white-space: normal; }
td.cost { font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; }
tfoot td { font-weight: 700; border-top: 2px solid var(--ink); border-bottom: none; }
tr.missing td { background: #fde8e8; color: #7f1d1d; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; background: #c81e1e; color: #fff; font-size: 11px; }
.scroll { max-height: 560px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll thead th { position: sticky; top: 0; }
dl.notes { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; color: var(--muted); }
dl.notes dt { font-weight: 600; color: var(--ink); }
dl.notes dd { margin: 0; }
@media print { .scroll { max-height: none; overflow: visible; border: none; } .charts { display: block; } }
"""

_MONTH_NAMES = [""] + [calendar.month_name[n] for n in range(1, 13)]


def _html_document(report: Report, *, charts: bool) -> str:
    title = f"DID call report {report.month}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="nxframe {html.escape(__version__)}">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{_html_body(report, charts=charts)}\n</main>\n</body>\n</html>\n"
    )


def _html_body(report: Report, *, charts: bool) -> str:
    """Header, completeness banner, totals, charts, the breakdown tables, notes: the order a reader asks in."""
    name = f"{_MONTH_NAMES[report.first.month]} {report.first.year}"
    parts = [
        f"<header><h1>DID call report — {html.escape(name)}</h1>",
        f'<p class="meta">Period {report.first} to {report.last} · Source: {html.escape(report.source)}'
        f" · Generated {html.escape(_timestamp(report.generated_at))} by nxframe {html.escape(__version__)}"
        f" · Amounts in {CURRENCY}</p></header>",
        _html_banner(report),
        "<section><h2>Totals</h2>",
        _html_cards(report),
        "</section>",
    ]
    if charts:
        parts += ['<section><h2>Charts</h2><div class="charts">', *_html_charts(report), "</div></section>"]
    totals = report.totals.iloc[0]
    for table_name, (title, _keys) in TABLES.items():
        if table_name == "totals":
            continue
        frame: pd.DataFrame = getattr(report, table_name)
        parts.append(f"<section><h2>{html.escape(title)}</h2>")
        parts.append(_html_table(frame, totals, missing=table_name == "by_day"))
        parts.append("</section>")
    parts.append("<section><h2>Notes</h2>" + _html_notes(report) + "</section>")
    return "\n".join(parts)


def _html_banner(report: Report) -> str:
    if report.complete:
        days = (report.last - report.first).days + 1
        return f'<div class="banner complete">Complete month: all {days} dates have data.</div>'
    days = (report.last - report.first).days + 1
    return (
        '<div class="banner incomplete" role="alert">⚠ Incomplete month: '
        f"{len(report.missing_dates)} of {days} dates have {html.escape(report.missing_reason)}."
        f'<span class="dates">Missing: {html.escape(_date_ranges(report.missing_dates))}. '
        "The totals, charts and tables cover the other dates only.</span></div>"
    )


def _html_cards(report: Report) -> str:
    totals = report.totals.iloc[0]
    calls, answered = int(totals["calls"]), int(totals["answered"])
    seconds = int(totals["duration_seconds"])
    share = f"{answered / calls:.1%} of calls" if calls else "no calls"
    average = totals["avg_cost_per_minute"]
    days = (report.last - report.first).days + 1
    cards = [
        ("cost", f"Total cost ({CURRENCY})", _decimal(totals["cost"]), "exact"),
        ("", "Calls", f"{calls:,}", f"on {days - len(report.missing_dates)} of {days} dates with data"),
        ("", "Answered", f"{answered:,}", share),
        ("", "Billed minutes", _decimal(totals["billed_minutes"]), ""),
        ("", "Duration", f"{seconds / 3600:,.1f} h", f"{seconds:,} s"),
        ("", "Avg cost per billed minute", _decimal(average), f"{AVERAGE_PLACES} places, half up"),
    ]
    body = "".join(
        f'<div class="card {kind}"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div><div class="sub">{html.escape(sub)}</div></div>'
        for kind, label, value, sub in cards
    )
    return f'<div class="cards">{body}</div>'


def _html_value(name: str, value: Any) -> tuple[str, bool]:
    """(text, is a number) of one cell."""
    if name == "missing":
        return ('<span class="tag">missing</span>' if value else ""), False
    if value is None or value is pd.NA:
        return "—", name in MEASURES
    if isinstance(value, Decimal):
        return _decimal(value), True
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, dt.date):
        return f"{value.isoformat()} {value:%a}", False
    return html.escape(str(value)), False


def _html_table(frame: pd.DataFrame, totals: pd.Series, *, missing: bool) -> str:
    """A table with right-aligned numbers and a total row, which shows the parts adding up."""
    names = list(frame.columns)
    head = "".join(
        f'<th class="{"num" if name in MEASURES else ""}">{html.escape(_LABELS.get(name, name))}</th>' for name in names
    )
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = []
        for name, value in zip(names, record, strict=True):
            text, numeric = _html_value(name, value)
            css = "num cost" if name == "cost" else "num"
            cells.append(f'<td class="{css}">{text}</td>' if numeric else f"<td>{text}</td>")
        row_class = ' class="missing"' if missing and record[names.index("missing")] else ""
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    keys = [name for name in names if name not in MEASURES]
    foot = [f'<td colspan="{len(keys)}">Total ({len(frame):,} rows)</td>']
    for name in names[len(keys) :]:
        text, _ = _html_value(name, totals[name])
        foot.append(f'<td class="num">{text}</td>')
    table = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        f"<tfoot><tr>{''.join(foot)}</tr></tfoot></table>"
    )
    return f'<div class="scroll">{table}</div>' if len(frame) > 40 else table  # a month of days never scrolls


def _html_notes(report: Report) -> str:
    shown = [(item, value) for item, value in report.notes() if item != "missing_date"]
    items = "".join(f"<dt>{html.escape(item)}</dt><dd>{html.escape(value)}</dd>" for item, value in shown)
    return f'<dl class="notes">{items}</dl>'


# -- charts ------------------------------------------------------------------------------

#: The HTML report's three charts, in page order.
CHART_TITLES = (f"Cost per day ({CURRENCY})", f"Top DID numbers by cost ({CURRENCY})", f"Cost by country ({CURRENCY})")
_TOP = 10
_BAR = "#2563eb"


def _html_charts(report: Report) -> list[str]:
    """The charts as inline SVG figures (text stays text: searchable, crisp at any zoom)."""
    drawers: list[tuple[str, str, Callable[[Figure, Report], None]]] = [
        (CHART_TITLES[0], "wide", _chart_days),
        (CHART_TITLES[1], "", _chart_dids),
        (CHART_TITLES[2], "", _chart_countries),
    ]
    figures = []
    for number, (title, css, draw) in enumerate(drawers, start=1):
        svg = _svg(draw, report, f"chart{number}")
        figures.append(
            f'<figure class="{css}" role="img" aria-label="{html.escape(title)}">'
            f"<h3>{html.escape(title)}</h3>{svg}</figure>"
        )
    return figures


def _svg(draw: Callable[[Figure, Report], None], report: Report, prefix: str) -> str:
    """One chart as an ``<svg>`` element, its ids prefixed so several can share a page.

    A bare ``Figure`` with the Agg canvas, never pyplot: no global figure
    state, safe in a server or a thread, no GUI backend chosen by accident.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # svg.fonttype "none" keeps text as <text>; the hash salt makes the ids stable and unique per chart.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": prefix, "font.size": 9}):
        figure = Figure(figsize=(11, 3.4) if prefix == "chart1" else (5.6, 4.2), layout="constrained")
        FigureCanvasAgg(figure)
        draw(figure, report)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = text.replace("url(#", f"url(#{prefix}-").replace('href="#', f'href="#{prefix}-')
    return text


def _style(axes: Any) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_axisbelow(True)


def _money_axis(axis: Any, top: float) -> None:
    """Thousands separators; decimals only when the amounts are small enough to need them."""
    from matplotlib.ticker import StrMethodFormatter

    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}" if top >= 20 else "{x:,.2f}"))


def _chart_days(figure: Figure, report: Report) -> None:
    axes = figure.add_subplot()
    _style(axes)
    days = report.by_day
    dates: list[dt.date] = days["date"].tolist()
    costs = [float(value) for value in days["cost"].tolist()]  # floats for drawing only
    positions = list(range(len(dates)))
    colors = ["#93c5fd" if date.weekday() >= 5 else _BAR for date in dates]
    axes.bar(positions, costs, color=colors, width=0.75)
    top = max(costs, default=0.0) or 1.0
    for position, is_missing in enumerate(days["missing"].tolist()):
        if is_missing:
            axes.axvspan(position - 0.5, position + 0.5, color="#fecaca", zorder=0)
            axes.text(
                position, top * 0.04, "missing", rotation=90, ha="center", va="bottom", color="#991b1b", fontsize=8
            )
    axes.set_xticks(positions, [str(date.day) for date in dates])
    axes.set_xlim(-0.6, len(dates) - 0.4)
    axes.set_ylim(0, top * 1.08)
    axes.grid(axis="y", color="#e4e7eb")
    axes.set_ylabel(CURRENCY)
    axes.set_xlabel(f"Day of {_MONTH_NAMES[report.first.month]} {report.first.year} (weekends in lighter blue)")
    _money_axis(axes.yaxis, top)


def _horizontal_bars(figure: Figure, labels: list[str], values: list[float], empty: str) -> None:
    axes = figure.add_subplot()
    _style(axes)
    if not labels:
        axes.text(0.5, 0.5, empty, ha="center", va="center", transform=axes.transAxes, color="#52606d")
        axes.set_axis_off()
        return
    positions = list(range(len(labels)))[::-1]  # largest on top
    bars = axes.barh(positions, values, color=_BAR, height=0.7)
    axes.bar_label(bars, labels=[f"{value:,.2f}" for value in values], padding=3, fontsize=8)
    axes.set_yticks(positions, labels)
    axes.set_xlim(0, max(max(values), 1e-9) * 1.22)
    axes.grid(axis="x", color="#e4e7eb")
    axes.set_xlabel(CURRENCY)
    _money_axis(axes.xaxis, max(values))


def _chart_dids(figure: Figure, report: Report) -> None:
    top = report.by_did.head(_TOP)
    _horizontal_bars(
        figure, [str(v) for v in top["did_number"].tolist()], [float(v) for v in top["cost"].tolist()], "no calls"
    )


def _chart_countries(figure: Figure, report: Report) -> None:
    countries = report.by_country
    labels = [str(v) for v in countries["country_name"].tolist()]
    values = [float(v) for v in countries["cost"].tolist()]
    if len(labels) > 12:  # a readable chart: the 11 largest and the rest together
        labels = [*labels[:11], f"{len(labels) - 11} others"]
        values = [*values[:11], float(sum(Decimal(v) for v in countries["cost"].tolist()[11:]))]
    _horizontal_bars(figure, labels, values, "no calls")
