"""Hostile and broken answers, built from the normal page body: what a client must refuse.

Each function takes the body the server would have sent and returns an
:class:`~nxframe.simulator.answer.Answer` that lies about it in one way
(the kinds are documented in :mod:`nxframe.simulator.faults`). Big answers
are streams of chunks, never one buffer, so the simulator itself stays small
while it sends a gigabyte; the gzip bomb is compressed once and cached.
"""

from __future__ import annotations

import functools
import re
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .answer import Answer

__all__ = ["SHAPES", "act", "gzip_bomb"]

_CHUNK = 1 << 20
_PREFIX = b'{"code":0,"message":"Request successful","data":{"totalRow":1,"pageNumber":1,"totalPage":1,"pageSize":10,'

#: Code-0 bodies whose ``data`` is not the documented shape.
SHAPES: dict[str, bytes] = {
    "data_null": b'{"code":0,"message":"Request successful","data":null}',
    "list_not_list": _PREFIX + b'"list":{}}}',
    "missing_total_row": b'{"code":0,"message":"Request successful","data":{"pageNumber":1,"totalPage":1,'
    b'"pageSize":10,"list":[]}}',
}

_TOTAL_ROW = re.compile(rb'"totalRow":-?\d+')
_TOTAL_PAGE = re.compile(rb'"totalPage":-?\d+')
_PAGE_NUMBER = re.compile(rb'"pageNumber":(-?\d+)')
_PAGE_SIZE = re.compile(rb'"pageSize":(\d+)')
_FIRST_RECORD = b'"list":[{'


def act(kind: str, options: Mapping[str, Any], normal: bytes) -> Answer:
    """The hostile answer of ``kind`` in place of ``normal``."""
    if kind.startswith("redirect_"):
        location = str(options.get("location", "http://127.0.0.1:9/api/did/cdr"))
        headers = {} if options.get("no_location") else {"Location": location}
        return Answer(int(kind[9:]), b'{"error":"moved"}', headers)
    if kind == "drip_headers":
        return Answer(200, normal, header_interval=float(options.get("interval", 0.2)))
    if kind == "drip":
        step = int(options.get("bytes", 1))
        pieces = (normal[i : i + step] for i in range(0, len(normal), step))
        return Answer(200, b"", length=len(normal), chunks=pieces, interval=float(options.get("interval", 0.2)))
    if kind == "endless":
        return Answer(200, length=-1, chunks=_endless(normal, float(options.get("seconds", 120.0))))
    if kind == "huge":
        size = int(options.get("size", 64 * _CHUNK))
        head, tail = b'{"code":0,"message":"', b'","data":null}'
        body = _padded(head, tail, size - len(head) - len(tail), b"x")
        return Answer(200, length=size, chunks=body)
    if kind == "gzip_bomb":
        packed = gzip_bomb(int(options.get("size", 1 << 30)))
        return Answer(200, packed, {"Content-Encoding": "gzip"})
    edit = _EDITS.get(kind)
    if edit is None:
        raise ValueError(f"no such hostile answer: {kind!r}")
    return Answer(200, edit(normal, options) if normal.startswith(b'{"code":0,') else normal)


def _total_row(normal: bytes, options: Mapping[str, Any]) -> bytes:
    total = int(options.get("value", 10**12))
    found = _PAGE_SIZE.search(normal)
    size = int(found.group(1)) if found else 100
    body = _TOTAL_ROW.sub(f'"totalRow":{total}'.encode(), normal, count=1)
    return _TOTAL_PAGE.sub(f'"totalPage":{-(-total // size)}'.encode(), body, count=1)


def _page_number(normal: bytes, options: Mapping[str, Any]) -> bytes:
    found = _PAGE_NUMBER.search(normal)
    asked = int(found.group(1)) if found else 1
    value = int(options.get("value", asked + 1))
    return _PAGE_NUMBER.sub(f'"pageNumber":{value}'.encode(), normal, count=1)


def _deep_nesting(normal: bytes, options: Mapping[str, Any]) -> bytes:
    """An undocumented field holding ``depth`` nested objects, in the first record (or in ``data``)."""
    depth = int(options.get("depth", 1000))
    nested = b'{"x":' * depth + b"1" + b"}" * depth
    return _insert(normal, b'"undocumentedTree":' + nested + b",")


def _duplicate_key(normal: bytes, options: Mapping[str, Any]) -> bytes:
    """``"code":1003,"code":0`` in the envelope, or an ``id`` given twice in the first record."""
    if options.get("where", "envelope") == "record":
        return normal.replace(_FIRST_RECORD, _FIRST_RECORD + b'"id":1,', 1)
    return b'{"code":1003,' + normal[1:]


def _nan(normal: bytes, options: Mapping[str, Any]) -> bytes:
    """A bare ``NaN`` (or ``Infinity``): Python's json reads it, strict JSON has no such number."""
    value = str(options.get("value", "NaN")).encode()
    return _insert(normal, b'"score":' + value + b",")


def _insert(normal: bytes, field: bytes) -> bytes:
    if _FIRST_RECORD in normal:
        return normal.replace(_FIRST_RECORD, _FIRST_RECORD + field, 1)
    return normal.replace(b'"data":{', b'"data":{' + field, 1)


_EDITS: dict[str, Callable[[bytes, Mapping[str, Any]], bytes]] = {
    "total_row": _total_row,
    "page_number": _page_number,
    "deep_nesting": _deep_nesting,
    "duplicate_key": _duplicate_key,
    "nan": _nan,
}


def _endless(normal: bytes, seconds: float) -> Iterator[bytes]:
    """The start of a page, then the first record again and again, until the client hangs up."""
    start = normal.find(_FIRST_RECORD)
    if start < 0:
        head, record = _PREFIX + b'"list":[', b'{"id":1},'
    else:
        end = normal.find(b"}", start)
        head, record = normal[: start + len(_FIRST_RECORD) - 1], normal[start + len(_FIRST_RECORD) - 1 : end + 1] + b","
    block = record * max(1, (64 << 10) // len(record))
    yield head
    stop = time.monotonic() + seconds  # a client that never hangs up does not keep this thread forever
    while time.monotonic() < stop:
        yield block


def _padded(head: bytes, tail: bytes, size: int, fill: bytes) -> Iterator[bytes]:
    yield head
    block = fill * _CHUNK
    while size > _CHUNK:
        yield block
        size -= _CHUNK
    yield fill * max(size, 0) + tail


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A gzip member that inflates to a ``size``-byte JSON-looking body (about 1 000 : 1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = b'{"code":0,"message":"'
    parts = [packer.compress(head)]
    block = b" " * _CHUNK
    left = size - len(head) - 2
    while left > 0:
        piece = block if left >= _CHUNK else block[:left]
        parts.append(packer.compress(piece))
        left -= len(piece)
    parts.append(packer.compress(b'"}'))
    parts.append(packer.flush())
    return b"".join(parts)
