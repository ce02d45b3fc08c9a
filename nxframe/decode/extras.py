"""Undocumented fields: their ``extra`` text, and the checks and colon counts of the raw texts the reader keeps.

The fast reader (:mod:`.fast`) keeps an undocumented value as its JSON text
(``msgspec.Raw``, a view of the body). Here those texts are checked as the
exact decoder would read them (valid UTF-8; nested values strict and not
too deep), counted (:func:`colons`, the reader's proof that msgspec dropped
nothing), and written into ``extra`` exactly as the exact decoder writes it:
keys in the order sent, numbers as sent, strings and nested values compact.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from ..errors import ResponseError
from . import exact
from .shapes import Unsure
from .structs import UNSET

__all__ = ["RECORD_LEVEL", "colons", "extra_column", "strict", "text_colons"]

#: How deep a record sits in a body (the envelope is level 1).
RECORD_LEVEL = 4


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


def extra_column(body: bytes, wire: tuple[str, ...], fields: list[tuple[Any, ...]]) -> tuple[pa.Array, int, int]:
    """``extra`` from the learned fields, in the order each record sent them; its pairs and colons.

    msgspec's ``Raw`` is a view of the body, so within a record the values'
    addresses give the order they were sent in (checked to lie in the body).
    """
    found: list[tuple[int, int, str, msgspec.Raw]] = []  # (record, address, name, value)
    counted = 0
    for name, values in zip(wire, fields, strict=True):
        before = len(found)
        found.extend((i, _address(v), name, v) for i, v in enumerate(values) if v is not UNSET)
        counted += name.count(":") * (len(found) - before)
    start = _address(body)
    if found and not start <= min(item[1] for item in found) <= max(item[1] for item in found) < start + len(body):
        raise Unsure  # not views of the body: their order is unknown
    found.sort()
    raws = [item[3] for item in found]
    joined = b"\n".join(raws)
    counted += colons(joined)
    texts = _value_texts(raws, joined)
    extras: list[str | None] = [None] * len(fields[0])
    keys = {name: _JSON_STRING(name) for name in wire}  # as the exact decoder's json.dumps writes a key
    for record, items in itertools.groupby(zip(found, texts, strict=True), key=_record_of):
        extras[record] = "{" + ",".join(f"{keys[item[2]]}:{text}" for item, text in items) + "}"
    return pa.array(extras, pa.string()), len(found), counted


def _record_of(entry: tuple[tuple[int, int, str, msgspec.Raw], str]) -> int:
    return entry[0][0]


def _address(raw: msgspec.Raw | bytes) -> int:
    return int(pa.py_buffer(raw).address)


def _value_texts(raws: list[msgspec.Raw], joined: bytes) -> list[str]:
    """Each value's text in ``extra``, as :func:`.exact.value_text` writes it, most without a parse.

    msgspec has checked every string's syntax (no raw control character, no
    bad escape), so a string without a backslash, a number, ``true``,
    ``false`` and ``null`` are their own text; escaped strings are decoded
    in one call and written as ``json.dumps`` writes them; nested values
    are parsed by the exact decoder (duplicate keys, depth).
    """
    try:
        texts = joined.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise Unsure from None
    if len(texts) != len(raws):  # a newline inside a nested value
        texts = [bytes(raw).decode("utf-8") for raw in raws]
    escaped = [i for i, text in enumerate(texts) if text[:1] == '"' and "\\" in text]
    if escaped:
        strings = msgspec.json.decode(("[" + ",".join(texts[i] for i in escaped) + "]").encode(), type=list[str])
        for i, string in zip(escaped, strings, strict=True):
            texts[i] = _JSON_STRING(string)
    for i, text in enumerate(texts):
        if text[:1] in ("{", "["):
            strict(raws[i], RECORD_LEVEL)
            texts[i] = exact.value_text(bytes(raws[i]))
    return texts


#: What ``json.dumps(text, ensure_ascii=False)`` calls for a ``str``.
_JSON_STRING = json.encoder.encode_basestring  # type: ignore[attr-defined]
