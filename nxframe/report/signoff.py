"""``Report.signoff``: write a month's sign-off package, the evidence of what was signed.

The package (layout in :mod:`.package`) holds the report's files as they were
signed, the rows the report used and a manifest with their hashes. It is
made in a hidden temporary folder beside the target and renamed into place
in one step, like a lake partition: a crash leaves no half package, and an
existing package is never overwritten.

A report does not keep its rows (a 3-million-row month would hold a
gigabyte for as long as the report lives); it keeps where they came from
(:class:`Basis`, attached by ``monthly_report``). Signing reads the rows
again, makes the figures again from them and compares them with the
report's: if the lake changed since the report was made, the package would
not prove the report, so that is a :class:`~nxframe.errors.SignoffError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._version import __version__
from ..errors import InvalidInputError, SignoffError
from ..schema import COLUMNS, arrow_schema
from .assemble import FIGURES, assemble, months
from .model import ReportData
from .package import (
    DIGEST,
    FORMAT,
    MANIFEST,
    ROWS,
    canonical_digest,
    file_hashes,
    totals_entry,
)
from .sources import Span, read_span

__all__ = ["ALL_COLUMNS", "Basis", "attach_basis", "basis_of", "refuse_existing", "write_signoff"]

#: Every column of the frame: a package keeps the rows whole, not only what the report reads.
ALL_COLUMNS = tuple(c.name for c in COLUMNS)
_BASIS = "_signoff_basis"


@dataclass(frozen=True)
class Basis:
    """Where a report's rows came from, so that a sign-off can read them again.

    Attributes:
        source: what :func:`~nxframe.report.sources.read_span` reads: the
            report's DataFrame (a shallow copy: pandas' copy-on-write keeps it
            as it was when the user changes theirs), a lake, or a package folder.
        label: the manifest's ``source``: the lake's URL without credentials, or ``"DataFrame"``.
        query: the lake's filters (``None`` for a DataFrame).
    """

    source: Any
    label: str
    query: Mapping[str, Any] | None


@runtime_checkable
class Renders(Protocol):
    """The files a report writes of itself (``nxframe.Report``'s public methods)."""

    def to_html(self, path: str | os.PathLike[str]) -> Path: ...
    def to_excel(self, path: str | os.PathLike[str]) -> Path: ...
    def to_csv(self, folder: str | os.PathLike[str]) -> Path: ...


def attach_basis(report: ReportData, basis: Basis) -> None:
    """Remember where ``report``'s rows came from (the report's fields stay frozen)."""
    object.__setattr__(report, _BASIS, basis)


def basis_of(report: ReportData) -> Basis | None:
    basis: Basis | None = getattr(report, _BASIS, None)
    return basis


def write_signoff(report: ReportData, folder: str | os.PathLike[str]) -> Path:
    """Write ``report``'s sign-off package into ``folder`` (which must not hold anything yet); returns it.

    Raises:
        InvalidInputError: ``folder`` is not a path; the report was not made by
            ``monthly_report``; its DataFrame lacks columns of the frame.
        SignoffError: ``folder`` exists and is not an empty folder; the rows
            changed since the report was made.
        LakeError: a partition of the two months is unreadable.
    """
    if not isinstance(folder, (str, os.PathLike)) or not os.fspath(folder):
        raise InvalidInputError(
            f"folder must be the path of a new folder for the package, not {folder!r}", parameter="folder"
        )
    target = Path(folder)
    refuse_existing(target)
    basis = basis_of(report)
    if basis is None or not isinstance(report, Renders):
        raise InvalidInputError(
            "this report does not know where its rows came from; make it with nxframe.monthly_report(source, month)"
        )
    span = _checked_span(report, basis)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir()
    try:
        report.to_html(staging / "report.html")
        report.to_excel(staging / "report.xlsx")
        report.to_csv(staging / "csv")
        pq.write_table(_rows_table(span, report), staging / ROWS, compression="zstd", write_page_checksum=True)
        manifest = _manifest(report, basis, span.present, file_hashes(staging))
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _sync_tree(staging)
        refuse_existing(target)
        try:
            os.rename(staging, target)  # atomic; replaces only an empty folder, refuses one with files
        except OSError as exc:
            raise SignoffError(
                f"{target} appeared while the package was written ({exc.strerror}); {_KEPT}", path=target
            ) from None
        _sync_folder(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


_KEPT = "a sign-off package is never overwritten: pick a new folder, or move the old package away first"


def refuse_existing(target: Path) -> None:
    """A package goes into a new (or empty) folder only: anything already there is kept.

    Raises:
        SignoffError: ``target`` is a file, a link, or a folder holding anything.
    """
    if target.is_symlink() or target.is_file():
        raise SignoffError(f"{target} exists and is not a folder; {_KEPT}", path=target)
    if target.is_dir() and any(target.iterdir()):
        raise SignoffError(f"{target} already holds files (a package signed before?); {_KEPT}", path=target)


def _checked_span(report: ReportData, basis: Basis) -> Span:
    """The two months' rows from the basis, every column, once they prove to give the report's figures."""
    _, last, _, before_first, _ = months(report.month)
    try:
        span = read_span(basis.source, before_first, last, ALL_COLUMNS)
    except InvalidInputError as exc:
        raise InvalidInputError(f"cannot sign this report off: {exc} (a package keeps every column)") from None
    remade = assemble(span, report.month, today=report.today, ignored_rows=report.ignored_rows)
    for name in FIGURES:
        if not _same(getattr(report, name), remade[name]):
            raise SignoffError(
                f"the rows of {span.origin} changed since this report was made ({name} differs now); "
                "make the report again and sign that one off"
            )
    return span


def _rows_table(span: Span, report: ReportData) -> pa.Table:
    """The rows in the lake's Arrow types, sorted by date and id, with the month named in the file's metadata."""
    start = span.table.schema.field("start_time").type
    schema = arrow_schema(start.tz if pa.types.is_timestamp(start) else None)
    table = span.table.select(schema.names).cast(schema)
    metadata = {b"nxframe.signoff": json.dumps({"month": report.month, "previous": report.previous}).encode()}
    return table.sort_by([("date", "ascending"), ("id", "ascending")]).replace_schema_metadata(metadata)


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, pd.DataFrame):
        return isinstance(theirs, pd.DataFrame) and list(ours.columns) == list(theirs.columns) and ours.equals(theirs)
    return bool(ours == theirs)


def _manifest(report: ReportData, basis: Basis, present: frozenset[dt.date], files: dict[str, str]) -> dict[str, Any]:
    _, _, _, before_first, before_last = months(report.month)
    by_day = report.by_day
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "month": report.month,
        "previous": report.previous,
        "source": basis.label,
        "query": None if basis.query is None else dict(basis.query),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nxframe_version": __version__,
        "totals": totals_entry(report.totals.iloc[0]),
        "overcharge_total": _text(report.overcharge_total),
        "dates": [
            {"date": date.date().isoformat(), "rows": int(rows), "cost": _text(cost)}
            for date, rows, cost in zip(by_day["date"], by_day["calls"], by_day["cost"], strict=True)
        ],
        "missing_dates": [day.isoformat() for day in report.missing_dates],
        "previous_totals": {"calls": report.previous_calls, "cost": _text(report.previous_cost)},
        "previous_dates": [day.isoformat() for day in sorted(present) if before_first <= day <= before_last],
        "today": report.today.isoformat(),
        "ignored_rows": report.ignored_rows,
        "files": files,
    }
    manifest[DIGEST] = canonical_digest(manifest)
    return manifest


def _text(value: Any) -> str:
    """Money as the manifest keeps it: exact decimal text with 6 places."""
    return format(Decimal(value).quantize(Decimal("0.000001")), "f")


def _sync_tree(folder: Path) -> None:
    """fsync every file and folder below ``folder``: the rename must not publish unwritten bytes."""
    for directory, _, files in os.walk(folder):
        for name in files:
            with open(Path(directory) / name, "rb") as handle:
                os.fsync(handle.fileno())
        _sync_folder(Path(directory))


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder; the data is synced already
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
