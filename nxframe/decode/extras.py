"""Undocumented fields: their ``extra`` text, and the checks and colon counts of the raw texts the reader keeps.

The fast reader (:mod:`.fast`) keeps an undocumented value as its JSON text
(``msgspec.Raw``, a view of the body). Here those texts are checked as the
exact decoder would read them (valid UTF-8; nested values strict and not
too deep), counted (:func:`colons`, the reader's proof that msgspec dropped
nothing), and written into ``extra`` exactly as the exact decoder writes it:
keys in the order sent, numbers as sent, strings and nested values compact;
only the records that hold one cost a Python step.
"""

from __future__ import annotations

import itertools
import json
import operator
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from ..errors import ResponseError
from . import exact
from .shapes import Unsure
from .structs import MISSING

__all__ = ["RECORD_LEVEL", "colons", "extra_column", "strict", "text_colons"]

#: How deep a record sits in a body (the envelope is level 1).
RECORD_LEVEL = 4
#: Joins the texts: a control character, which msgspec refuses inside a JSON string and between values.
_SEP = b"\x01"


def colons(raw: bytes) -> int:
    """``:`` in a text, an escaped one (``\\u003a``) counted too; numpy on a body (bytes.count is 20x slower)."""
    if len(raw) < 4096:
        count = raw.count(b":")
        return count + (raw.count(b"\\u003a") + raw.count(b"\\u003A") if b"\\u003" in raw else 0)
    text = np.frombuffer(raw, np.uint8)
    count = int(np.count_nonzero(text == _COLON))
    slashes = np.flatnonzero(text[:-5] == _BACKSLASH)
    if len(slashes):
        escaped = (text[slashes + 1] == _U) & (text[slashes + 2] == _ZERO) & (text[slashes + 3] == _ZERO)
        escaped &= (text[slashes + 4] == _THREE) & (text[slashes + 5] | 0x20 == _A)
        count += int(np.count_nonzero(escaped))
    return count


_COLON, _BACKSLASH, _U, _ZERO, _THREE, _A = b":\\u03a"


def strict(raw: msgspec.Raw, level: int) -> None:
    """An undocumented value read as text: valid UTF-8, and if nested, strict JSON and not too deep."""
    text = bytes(raw)
    try:
        if text[:1] in (b"{", b"["):
            exact.strict_value(text, level)
        elif not text.isascii():
            text.decode("utf-8")
    except (ResponseError, UnicodeDecodeError):
        raise Unsure from None


def text_colons(array: pa.Array) -> int:
    """``:`` in a string array's values: counted in its data buffer, which holds exactly their UTF-8 bytes."""
    offsets = np.frombuffer(array.buffers()[1], np.int32, len(array) + 1, array.offset * 4)
    data = array.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return 0
    values = np.frombuffer(data, np.uint8, int(offsets[-1] - offsets[0]), int(offsets[0]))
    return int(np.count_nonzero(values == _COLON))


def extra_column(
    body: bytes, names: tuple[str, ...], fields: list[tuple[Any, ...]], n: int
) -> tuple[pa.Array, int, int, int, int]:
    """``extra`` from the learned fields (absent: :data:`.structs.MISSING`), keys in the order each record sent them.

    Returns the column, how many learned fields were present, the ``:``
    bytes and ``\\u003a`` escapes in their texts, and the ``:`` in their
    names (once per field present). Only the values present cost a Python
    step, and a field's texts are written in a few calls (:func:`_field_texts`);
    msgspec's ``Raw`` is a view of the body, so within a record the values'
    addresses give the order they were sent in (checked to lie in the body).
    """
    rows = [
        list(itertools.compress(range(n), map(operator.is_not, column, itertools.repeat(MISSING)))) for column in fields
    ]
    found = sum(map(len, rows))
    if not found:
        return pa.nulls(n, pa.string()), 0, 0, 0, 0
    raws: list[msgspec.Raw] = []
    texts: list[str] = []
    field: list[int] = []
    colon_bytes = escaped = named = 0
    for index, (name, column, where) in enumerate(zip(names, fields, rows, strict=True)):
        if not where:
            continue
        present = [column[i] for i in where]
        joined = _SEP.join(present)
        colon_bytes += joined.count(b":")
        if b"\\u003" in joined:
            escaped += joined.count(b"\\u003a") + joined.count(b"\\u003A")
        named += name.count(":") * len(where)
        raws += present
        texts += _field_texts(present, joined)
        field += [index] * len(where)
    record = list(itertools.chain.from_iterable(rows))
    order = np.lexsort((_addresses(body, raws, record, n), np.asarray(record))).tolist()
    keys = [_JSON_STRING(name) + ":" for name in names]
    extras: list[str | None] = [None] * n
    start = 0
    for stop in [*(i for i in range(1, found) if record[order[i]] != record[order[i - 1]]), found]:
        extras[record[order[start]]] = "{" + ",".join([keys[field[i]] + texts[i] for i in order[start:stop]]) + "}"
        start = stop
    return pa.array(extras, pa.string()), found, colon_bytes, escaped, named


def _addresses(body: bytes, raws: list[msgspec.Raw], record: list[int], n: int) -> np.ndarray:
    """Where each value lies in the body, for those whose record holds another (0 for the others)."""
    rows = np.asarray(record)
    addresses = np.zeros(len(raws), np.int64)
    which = np.flatnonzero(np.bincount(rows, minlength=n)[rows] > 1)
    if len(which):
        addresses[which] = [_address(raws[i]) for i in which.tolist()]
        start = _address(body)
        if not start <= addresses[which].min() <= addresses[which].max() < start + len(body):
            raise Unsure  # not views of the body: their order is unknown
    return addresses


def _address(raw: msgspec.Raw | bytes) -> int:
    return int(pa.py_buffer(raw).address)


def _field_texts(raws: list[msgspec.Raw], joined: bytes) -> list[str]:
    """Each value's text in ``extra``, as :func:`.exact.value_text` writes it, most without a parse.

    ``joined``: the values' texts separated by :data:`_SEP`. msgspec has
    checked every string's syntax (no raw control character, no bad
    escape), so a string without a backslash, a number, ``true``, ``false``
    and ``null`` are their own text; strings with escapes are decoded and
    written as ``json.dumps`` writes them (a field of strings in two calls);
    nested values are parsed by the exact decoder (duplicate keys, depth).
    """
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsure from None
    if "\\" in text:
        try:  # the usual case: a field of strings (a URL with \\/, escaped names)
            return list(map(_JSON_STRING, _STRINGS.decode(b"[" + joined.replace(_SEP, b",") + b"]")))
        except msgspec.ValidationError:
            pass
    texts = text.split(_SEP_TEXT)
    if "\\" in text:
        escaped = [i for i, value in enumerate(texts) if value[0] == '"' and "\\" in value]
        strings = _STRINGS.decode(("[" + ",".join([texts[i] for i in escaped]) + "]").encode())
        for i, string in zip(escaped, map(_JSON_STRING, strings), strict=True):
            texts[i] = string
    if text[:1] in ("{", "[") or _SEP_TEXT + "{" in text or _SEP_TEXT + "[" in text:
        for i, value in enumerate(texts):
            if value[0] in ("{", "["):
                strict(raws[i], RECORD_LEVEL)
                texts[i] = exact.value_text(bytes(raws[i]))
    return texts


_SEP_TEXT = _SEP.decode()
_STRINGS = msgspec.json.Decoder(list[str])
#: What ``json.dumps(text, ensure_ascii=False)`` calls for a ``str``.
_JSON_STRING = json.encoder.encode_basestring  # type: ignore[attr-defined]
