"""``decode_page`` and ``decode_pages``: the fast reader first, the exact decoder when it is unsure.

Both functions end in the same two steps, :func:`_decode_one` for a body on
its own and :func:`_replies` for a batch the fast reader read, so neither
calls the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import exact, fast
from .finish import finish
from .model import Page, Reply, Wire, check_envelope

__all__ = ["decode_page", "decode_pages"]


def decode_page(raw: bytes, *, page_number: int = 1, tz: str | None = None) -> Reply:
    """Decode one response body.

    Args:
        raw: the HTTP body exactly as received.
        page_number: the page that was requested; a body that says it is another page is refused.
        tz: the zone of the API's wall-clock times; ``None`` keeps them naive.

    Raises:
        ResponseError: the body is not strict JSON, not the documented shape,
            another page than ``page_number``, or has a negative ``totalRow``.
        SchemaError: a value does not fit its column (names the column, id, value).
    """
    return _decode_one(raw, page_number, tz)


def decode_pages(
    raws: Sequence[bytes],
    *,
    page_numbers: Sequence[int] | None = None,
    tz: str | None = None,
    use_threads: bool = True,
) -> list[Reply]:
    """Decode many response bodies at once; the same replies as :func:`decode_page` on each.

    The bodies are joined by newlines and read by one ``pyarrow.json`` call
    (in blocks on several threads when ``use_threads``), then finished as
    one table that each page gets a zero-copy slice of: several times
    faster than page by page. When the fast reader is unsure of the batch,
    each page is decoded on its own, so a page's rows never depend on its
    neighbours (only the code columns' dictionaries are shared by the batch:
    an undocumented code on one page appears in every page's dictionary).

    Args:
        raws: the HTTP bodies exactly as received.
        page_numbers: the page each body answers; ``1, 2, ...`` when ``None``.
        tz: the zone of the API's wall-clock times; ``None`` keeps them naive.
        use_threads: let ``pyarrow.json`` parse blocks of the batch in parallel.

    Raises:
        ResponseError: a body is not strict JSON or not the documented shape (see :func:`decode_page`).
        SchemaError: a value does not fit its column (names the column, id, value).
    """
    numbers = list(range(1, len(raws) + 1)) if page_numbers is None else list(page_numbers)
    if len(numbers) != len(raws):
        raise ValueError(f"{len(raws)} bodies but {len(numbers)} page numbers")
    if not raws:
        return []
    wires = fast.read(raws, use_threads=use_threads)
    if wires is None:
        return [_decode_one(raw, number, tz) for raw, number in zip(raws, numbers, strict=True)]
    return _replies(wires, numbers, tz)


def _decode_one(raw: bytes, page_number: int, tz: str | None) -> Reply:
    wires = fast.read([raw], use_threads=False)
    if wires is None:
        return exact.decode_page(raw, page_number=page_number, tz=tz)
    return _replies(wires, [page_number], tz)[0]


def _replies(wires: list[Wire], numbers: list[int], tz: str | None) -> list[Reply]:
    for wire, number in zip(wires, numbers, strict=True):
        check_envelope(wire, number)
    columns = next((wire.columns for wire in wires if wire.columns is not None), None)
    table = None if columns is None else finish(columns, tz)
    replies: list[Reply] = []
    offset = 0
    for wire, number in zip(wires, numbers, strict=True):
        if wire.code != 0:
            replies.append(Reply(wire.code, wire.message))
            continue
        assert table is not None and wire.total_row is not None
        replies.append(Reply(0, wire.message, Page(number, wire.total_row, table.slice(offset, wire.rows))))
        offset += wire.rows
    return replies
