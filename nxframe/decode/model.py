"""What both decoders produce and the checks they share, so the two cannot disagree on them.

A decoder reads a body into :class:`Wire` values (the envelope, and for
code 0 the record columns still in their wire types); :mod:`.finish` turns
the columns into the table's types; :func:`check_envelope` refuses an
envelope that is not believable, the same way for both decoders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..errors import ResponseError
from ..schema import COLUMNS, Column

__all__ = [
    "FIELD_COLUMNS",
    "KNOWN_FIELDS",
    "MAX_DEPTH",
    "Page",
    "Reply",
    "Wire",
    "check_envelope",
    "short",
]

#: The columns that come from a record field, in table order.
FIELD_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.api_field is not None)
KNOWN_FIELDS = frozenset(c.api_field for c in FIELD_COLUMNS if c.api_field is not None)
#: Nesting deeper than this (the envelope object is level 1, a record level 4) is refused.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Page:
    """One page of call records; no I/O.

    Attributes:
        number: the page number that was asked for.
        total_row: the day's ``totalRow`` as this page saw it.
        table: the records, typed as ``schema.COLUMNS`` minus ``date``.
    """

    number: int
    total_row: int
    table: pa.Table

    @property
    def ids(self) -> pa.ChunkedArray:
        """The record ids, the key that proves nothing is lost or repeated."""
        return self.table.column("id")


@dataclass(frozen=True)
class Reply:
    """A decoded response: the API's code and message, and the page when code is 0."""

    code: int
    message: str | None
    page: Page | None = None


@dataclass(frozen=True)
class Wire:
    """One body's envelope as a decoder read it, and for code 0 its records' columns.

    ``columns`` hold the wire types (text, integers or code text, decimals)
    that :func:`.finish.finish` turns into the table's; ``rows`` counts them.
    """

    code: int
    message: str | None
    total_row: int | None = None
    page_number: int | None = None
    rows: int = 0
    columns: Mapping[str, pa.Array] | None = field(default=None, repr=False)


def check_envelope(wire: Wire, page_number: int) -> None:
    """Refuse a code-0 envelope that cannot be the page asked for.

    Raises:
        ResponseError: ``totalRow`` missing or negative, or ``pageNumber``
            present and not ``page_number``.
    """
    if wire.code != 0:
        return
    if wire.total_row is None or wire.total_row < 0:
        raise ResponseError(
            f"NXCloud's page has no valid 'totalRow' ({wire.total_row!r}); a row count cannot be negative or missing"
        )
    if wire.page_number is not None and wire.page_number != page_number:
        raise ResponseError(
            f"NXCloud answered the request for page {page_number} with page {wire.page_number}; "
            "its rows cannot be trusted to belong where they were asked for"
        )


def short(value: Any) -> str:
    """A value for an error message, cut to 60 characters."""
    text = repr(str.__str__(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
