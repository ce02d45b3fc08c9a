"""``monthly_report``: a month and the month before, from a frame, a lake or a sign-off package, into a Report.

Read the two months once (:mod:`.sources`), then the figures
(:mod:`.assemble`). The report remembers where its rows came from
(:class:`~.signoff.Basis`), so that ``Report.signoff`` can keep them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..errors import InvalidInputError
from ..lake import Lake
from .assemble import DEFAULT_MINUTES, DEFAULT_PRICE, assemble, months, overcharge_total
from .document import Report
from .package import DATAFRAME, is_package, open_package, public_location
from .signoff import Basis, attach_basis
from .sources import Source, read_span

__all__ = ["DEFAULT_MINUTES", "DEFAULT_PRICE", "monthly_report", "overcharge_total"]


def monthly_report(
    source: Source, month: str, *, today: dt.date | None = None, storage_options: dict[str, Any] | None = None
) -> Report:
    """The exact report of one month of call records, checked and compared with the month before.

    Args:
        source: a DataFrame from ``fetch_cdr``/``read_lake`` (the columns of
            ``nxframe.schema.COLUMNS``), or a lake: a folder path, an fsspec
            URL or a :class:`~nxframe.lake.Lake`. The month before is read
            from the same source (its rows, or its partitions). Or the folder
            of a sign-off package (``Report.signoff``): the same report is made
            again from the rows it keeps, without the lake.
        month: ``"YYYY-MM"``. Rows dated outside it (and the month before) are ignored.
        today: the date taken as today (default: the local date; for a
            package, the one the signed report took); missing dates after
            it are reported as the future, not as a sync to run.
        storage_options: for a lake source, passed to fsspec as given (S3:
            ``endpoint_url``, ``key``, ``secret``...); default: the environment.

    Returns:
        A :class:`Report`; ``report.complete`` says whether every date of the
        month has data, ``report.empty`` whether none has.

    Raises:
        InvalidInputError: a bad month (or, for a package, another month than
            the one it signed), a source that is neither, a DataFrame
            without the needed columns or with money as floats, a lake path
            that does not exist. All checked before any data is read.
        LakeError: a partition of the two months is unreadable.
        SignoffError: a package whose files changed since it was signed.
    """
    _, last, _, before_first, _ = months(month)  # a bad month is refused before the source is touched
    if is_package(source):
        return _from_package(source, month, today)
    span = read_span(source, before_first, last, storage_options=storage_options)
    report = Report(**assemble(span, month, today=dt.date.today() if today is None else today))
    attach_basis(report, _basis(source, storage_options))
    return report


def _from_package(folder: object, month: str, today: dt.date | None) -> Report:
    """The signed report made again from the package's rows: the same figures, whatever the lake holds now."""
    package = open_package(folder, parameter="source")
    if month != package.month:
        raise InvalidInputError(
            f"month {month!r} is not in the sign-off package {package.folder}: it signed {package.month}; "
            f"ask for month={package.month!r}",
            parameter="month",
        )
    manifest = package.manifest
    span = read_span(folder, months(month)[3], package.last)
    today = dt.date.fromisoformat(manifest["today"]) if today is None else today
    report = Report(**assemble(span, month, today=today, ignored_rows=manifest["ignored_rows"]))
    attach_basis(report, Basis(package.folder, package.source, manifest["query"]))
    return report


def _basis(source: Source, storage_options: dict[str, Any] | None = None) -> Basis:
    """Where a report's rows came from, as a sign-off keeps it (never a credential)."""
    if isinstance(source, pd.DataFrame):
        return Basis(source.copy(deep=False), DATAFRAME, None)
    lake = Lake(source, storage_options=storage_options)
    return Basis(lake, public_location(lake.location), lake.recorded_query())
