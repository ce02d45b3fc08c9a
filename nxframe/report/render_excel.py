"""The report as an .xlsx workbook: a Summary sheet, one sheet per table, then the three checks.

API text is data, never a formula: every text cell is typed as a string
(``=HYPERLINK(...)`` stays text), the C0 control characters Excel refuses
(all but tab, newline and carriage return) become U+FFFD, and a value over
Excel's 32,767-character limit is cut with an ellipsis and noted on the
Summary sheet (the rule is :func:`nxframe.outputs.excel_text`). Each column's
number format comes from its kind in the report's column table
(:mod:`.columns`): money and minutes are numeric cells with a 6-decimal
format. The workbook is saved to a temporary beside the target and renamed.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ..outputs import EXCEL_CELL_LIMIT, atomic_file, excel_text
from .columns import LABELS, column
from .model import SECTIONS, TABLES, ReportData
from .tables import MEASURES
from .words import timestamp

__all__ = ["FORMATS", "write_excel"]

#: Number format of each kind of column (:mod:`.columns`); text and flags have none.
FORMATS = {
    "money": "#,##0.000000",
    "minutes": "#,##0.000000",
    "count": "#,##0",
    "id": "0",
    "percent": "0.0",
    "date": "yyyy-mm-dd",
}


def _value(value: Any, where: str, cuts: list[str]) -> object:
    """A Python value for a cell: Decimal stays a number, timestamps become datetimes, text is cleaned."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if isinstance(value, Decimal | int | float | bool):
        return value
    return excel_text(str(value), where, cuts)


def _as_text_cells(sheet: Any) -> None:
    """Never a formula: a string cell openpyxl took for one (it starts with ``=``) is typed back to text."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _table(sheet: Any, frame: pd.DataFrame, cuts: list[str], words: str = "") -> None:
    """A header row of labels, then one row per record; typed cells, numeric money, frozen header."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    first = 1
    if words:
        sheet.append([excel_text(words, sheet.title, cuts)])
        sheet.cell(row=1, column=1).font = Font(bold=True)
        first = 3
        sheet.append([])
    names = [str(name) for name in frame.columns]
    sheet.append([LABELS.get(name, name) for name in names])
    for cell in sheet[first]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DCE6F1")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for number, record in enumerate(frame.itertuples(index=False, name=None), start=first + 1):
        sheet.append(
            [_value(v, f"{sheet.title}!{get_column_letter(i)}{number}", cuts) for i, v in enumerate(record, 1)]
        )
    _as_text_cells(sheet)
    for index, name in enumerate(names, start=1):
        number_format = FORMATS.get(column(name).kind)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=first + 1, min_col=index, max_col=index):
                cell.number_format = number_format
        widest = max([len(LABELS.get(name, name)) * 0.8, *(min(len(str(v)), 60) + 3 for v in frame[name].tolist())])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest, 10), 48)
    sheet.freeze_panes = f"A{first + 1}"


def _summary(sheet: Any, report: ReportData, cuts: list[str]) -> None:
    """The first sheet a reader sees: title, status (red when incomplete), the checks, totals, notes."""
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet.title = "Summary"
    sheet.append([f"Monthly DID call report {report.month}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"{report.first} to {report.last} · generated {timestamp(report.generated_at)}"])
    sheet.append([])
    status = "Complete: every date of the month has data." if report.complete else report.missing_text()
    lines = [
        ("Status", status),
        ("Billing check", report.billing_line()),
        ("Comparison", report.comparison_line()),
        *(("Anomaly", line) for line in report.anomaly_lines()),
    ]
    for label, text in lines:
        sheet.append([label, excel_text(text, "Summary", cuts)])
        sheet.cell(row=sheet.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
        alarm = (label == "Status" and not report.complete) or (label == "Billing check" and report.flagged)
        if alarm:
            for cell in sheet[sheet.max_row]:
                cell.fill = PatternFill("solid", fgColor="F8D7DA")
                cell.font = Font(bold=True, color="9B1C1C")
    sheet.append([])
    sheet.append(["Totals"])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=12)
    totals = report.totals.iloc[0]
    for name in MEASURES:
        sheet.append([LABELS[name], _value(totals[name], "Summary", cuts)])
        sheet.cell(row=sheet.max_row, column=2).number_format = FORMATS[column(name).kind]
    sheet.append([])
    sheet.append(["Notes"])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=12)
    for item, value in report.notes():
        sheet.append([item, excel_text(value, "Summary", cuts)])
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 90


def write_excel(report: ReportData, path: str | os.PathLike[str]) -> Path:
    """Summary, one sheet per table, then Billing check, Compared with <month>, Anomalies; saved atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    target = Path(path)
    workbook = Workbook()
    cuts: list[str] = []
    summary = workbook.active
    for name, (title, _keys) in TABLES.items():
        _table(workbook.create_sheet(title[:31]), getattr(report, name), cuts)
    words = {
        "audit": (f"{report.billing_line()}: every call was billed by the documented rules.", report.billing_line()),
        "changes": (report.comparison_line(), report.comparison_line()),
        "anomalies": ("No anomalies found.", f"{len(report.anomalies):,} anomalies found."),
    }
    for name in SECTIONS:
        frame: pd.DataFrame = getattr(report, name)
        clean, found = words[name]
        _table(workbook.create_sheet(report.section_title(name)[:31]), frame, cuts, clean if frame.empty else found)
    _summary(summary, report, cuts)
    if cuts:
        summary.append([])
        summary.append(["Cut cells", f"{len(cuts)} values were longer than Excel's {EXCEL_CELL_LIMIT:,} characters"])
        summary.cell(row=summary.max_row, column=1).font = Font(bold=True, color="9B1C1C")
        for cut in cuts:
            summary.append(["cut", cut])
    _as_text_cells(summary)
    with atomic_file(target) as temporary:
        workbook.save(temporary)
    return target
