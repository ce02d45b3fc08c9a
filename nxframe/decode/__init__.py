"""Page bytes -> :class:`Reply` holding a typed Arrow table; exact, never via a float.

A page looks like (the API reference's example)::

    {"code": 0, "message": "Request successful",
     "data": {"totalRow": 1, "pageNumber": 1, "totalPage": 1, "pageSize": 10,
              "list": [{"id": 1, "callPrice": 0.11, "startTime": "2022-10-01 11:04:57", ...}]}}

The package, in the order a body goes through it:

- :mod:`.fast`: one msgspec pass reads every field into structs
  (:mod:`.structs`), in any shape a server sends (numbers as strings, phone
  numbers as numbers, undocumented fields, any key order, escapes,
  pretty-printed), proved complete by counting, helped by what a
  :class:`ShapeMemory` (:mod:`.shapes`) has learned of the server;
  :mod:`.columns` turns the records into wire columns, :mod:`.extras`
  writes undocumented fields into ``extra``; when it is not sure it steps
  aside;
- :mod:`.exact`: the reference decoder (text-preserving ``json.loads``,
  Arrow casts that refuse rather than round); ``nxframe.decode.exact.decode_page``
  forces it;
- :mod:`.finish`: wire columns -> the table's types, one code for both;
- :mod:`.reader`: :func:`decode_page` and :func:`decode_pages`.

Both decoders refuse the same bodies with a ``ResponseError`` (not strict
JSON: duplicate keys, nesting deeper than 64, NaN/Infinity; a ``pageNumber``
that is not the page asked for; a negative ``totalRow``) and the same
values with a ``SchemaError`` naming the id and column.
"""

from __future__ import annotations

from .model import Page, Reply
from .reader import decode_page, decode_pages
from .shapes import ShapeMemory

__all__ = ["Page", "Reply", "ShapeMemory", "decode_page", "decode_pages"]
