"""``nxframe.Report``: the report's data and words (``model.py``) plus the files it writes."""

from __future__ import annotations

import os
from pathlib import Path

from .model import ReportData
from .words import output_kind

__all__ = ["Report"]


class Report(ReportData):
    """A month's exact report: totals, breakdowns, billing check, comparison, anomalies; and its files.

    See :class:`~nxframe.report.model.ReportData` for the attributes.
    Renderers import matplotlib, openpyxl and Jinja2 only when a file is
    written: ``import nxframe`` stays fast for those who only want the tables.
    """

    __slots__ = ()

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write by the name's suffix: ``.xlsx`` Excel, ``.html``/``.htm`` HTML, anything else a CSV folder.

        Raises:
            InvalidInputError: a file suffix this report cannot write (``.csv``,
                ``.xls``, ``.pdf``...), which would otherwise become a folder of that name.
        """
        kind = output_kind(out)
        if kind == "excel":
            return self.to_excel(out)
        if kind == "html":
            return self.to_html(out)
        return self.to_csv(out)

    def to_csv(self, folder: str | os.PathLike[str]) -> Path:
        """One CSV per table plus ``audit.csv``, ``changes.csv``, ``anomalies.csv``, ``notes.csv``."""
        from .render_csv import write_csv

        return write_csv(self, folder)

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """An .xlsx workbook: Summary, one sheet per table, then Billing check, Compared with, Anomalies.

        Money and minutes are numeric cells (never formulas) with a 6-decimal
        format; Excel keeps numbers as binary doubles, exact to 6 places under
        10^9; the CSVs are the exact copy.
        """
        from .render_excel import write_excel

        return write_excel(self, path)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """One self-contained HTML file: totals, charts (inline SVG), every table, the checks, the notes."""
        from .render_html import write_html

        return write_html(self, path)

    def _repr_html_(self) -> str:
        """Jupyter shows the styled report without charts (the notebook's own plots do that better)."""
        from .render_html import html_fragment

        return html_fragment(self)
