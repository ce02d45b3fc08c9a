"""``nxframe.Report``: the report's data and words (``model.py``) plus the files it writes."""

from __future__ import annotations

import os
from pathlib import Path

from ..outputs import output_path
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
            InvalidInputError: ``out`` is not a path, names a file suffix this report
                cannot write (``.csv``, ``.xls``, ``.pdf``...), which would otherwise
                become a folder of that name, or a file/folder of the wrong kind.
        """
        kind = output_kind(out)
        output_path(out, "out", folder=kind == "csv")
        if kind == "excel":
            return self.to_excel(out)
        if kind == "html":
            return self.to_html(out)
        return self.to_csv(out)

    def to_csv(self, folder: str | os.PathLike[str]) -> Path:
        """One CSV per table plus ``audit.csv``, ``changes.csv``, ``anomalies.csv``, ``notes.csv``.

        Raises:
            InvalidInputError: ``folder`` is not a path, or is an existing file.
        """
        from .render_csv import write_csv

        return write_csv(self, output_path(folder, "folder", folder=True))

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """An .xlsx workbook: Summary, one sheet per table, then Billing check, Compared with, Anomalies.

        Money and minutes are numeric cells (never formulas) with a 6-decimal
        format; Excel keeps numbers as binary doubles, exact to 6 places under
        10^9; the CSVs are the exact copy.

        Raises:
            InvalidInputError: ``path`` is not a path, or is an existing folder.
        """
        from .render_excel import write_excel

        return write_excel(self, output_path(path, "path"))

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """One self-contained HTML file: totals, charts (inline SVG), every table, the checks, the notes.

        Raises:
            InvalidInputError: ``path`` is not a path, or is an existing folder.
        """
        from .render_html import write_html

        return write_html(self, output_path(path, "path"))

    def signoff(self, folder: str | os.PathLike[str]) -> Path:
        """Sign the month off: a new folder with the report's files, its rows and a manifest of their hashes.

        The folder holds ``report.html``, ``report.xlsx``, ``csv/``,
        ``rows.parquet`` (the month and the month before, every column, exact)
        and ``manifest.json`` (what was signed, money as decimal text, the
        SHA-256 of every other file). It is written beside the target and
        renamed into place; an existing package is never overwritten.
        ``nxframe.verify_signoff`` checks it, ``nxframe.restatements`` compares
        it with the lake later, ``monthly_report(folder, month)`` makes this
        report again from it.

        Raises:
            InvalidInputError: ``folder`` is not a path.
            SignoffError: ``folder`` already holds files, or the rows changed
                since this report was made (make it again, then sign).
        """
        from .signoff import write_signoff

        return write_signoff(self, folder)

    def _repr_html_(self) -> str:
        """Jupyter shows the report short: the cards, then every section folded (``<details>``), no charts."""
        from .render_html import html_fragment

        return html_fragment(self)
