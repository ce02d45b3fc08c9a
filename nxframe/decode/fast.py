"""The fast reader: ``pyarrow.json`` reads every field columnar, whatever shape the server sends.

Measured (FACTS.md, "Decoding pages that are not the documented shape"):
``pyarrow.json`` with an explicit schema reads decimals exactly from JSON
numbers *and* strings, and checks duplicate keys itself, but a ``string``
field refuses a JSON number and an ``int64`` field a JSON string, and a
Python loop over the records costs more than the parse. So the reader
keeps every value in C and learns the server's habits (:mod:`.shapes`):

- integers and codes are read as ``decimal128(38, 0)`` (``64``, ``"64"``
  and ``64.0`` alike, ``64.5`` refused), then cast to ``int64`` (checked);
- a text field the server sends as a JSON number (a phone number) has
  its numbers quoted in the body by one RE2 pass before reading;
- undocumented fields: the body is read with ``unexpected_field_behavior="infer"``
  after msgspec has checked it (strict JSON, no stack-deep nesting), and
  only the records holding such fields are parsed again, by msgspec, for
  their exact text (``extra``).

Whatever this reader is not sure of, it does not guess: :func:`read`
returns ``None`` and the caller asks the exact decoder, which gives the
answer or the error. The learned shape only changes speed, never a value.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from .exact import value_text
from .model import FIELD_COLUMNS, KNOWN_FIELDS, MAX_DEPTH, Wire
from .shapes import Learned, Plan, Unsure, current, learn, remember, rewrite

__all__ = ["read"]

_WHOLE = pa.decimal128(38, 0)

#: What the reader reads each record field as.
_WIRE_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "int": _WHOLE,
    "text": pa.string(),
    "code": _WHOLE,
    "time": pa.string(),
    "decimal": pa.decimal128(18, 6),
}
_RECORD = pa.struct([pa.field(c.api_field or c.name, _WIRE_TYPES[c.kind]) for c in FIELD_COLUMNS])
_DATA_FIELDS = ("totalRow", "pageNumber", "totalPage", "pageSize", "list")
_ENVELOPE = pa.schema(
    [
        ("code", pa.int64()),
        ("message", pa.string()),
        ("data", pa.struct([*((name, pa.int64()) for name in _DATA_FIELDS[:-1]), ("list", pa.list_(_RECORD))])),
    ]
)

#: msgspec's view of a body before an inferring read: strict JSON, not deeper than its stack allows, the records' text.
_GuardData = msgspec.defstruct("_GuardData", [("list", list[msgspec.Raw] | None, None)])
_Guard = msgspec.defstruct("_Guard", [("data", _GuardData | None, None)])
_GUARD = msgspec.json.Decoder(_Guard)
_RECORD_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ENCODE = msgspec.json.Encoder().encode
_COMPACT = msgspec.json.format
_NULL = re.compile(b"null")  # measured: searching for it with re is 1.5x faster than ``in`` on a page
#: A key that JSON can write only one way when the text holds no ``\u`` escape.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")
_TRIES = 2 + len(FIELD_COLUMNS)


def read(raws: Sequence[bytes], *, use_threads: bool) -> list[Wire] | None:
    """Every body's envelope and the code-0 pages' wire columns (one batch); ``None`` when unsure."""
    plan = current()
    for _ in range(_TRIES):
        try:
            return _read(raws, plan, use_threads)
        except Learned as learned:
            plan = learned.plan
            remember(plan, used=True)  # true of the server even if this body ends with the exact decoder
        except Unsure:
            return None
    return None  # pragma: no cover - each try learns one more field; there are only so many


def _lines(raws: Sequence[bytes]) -> list[bytes]:
    lines: list[bytes] = []
    for raw in raws:
        line = raw.strip(b" \t\r\n")  # JSON's whitespace only
        if not (line.startswith(b"{") and line.endswith(b"}")):
            # The envelope is an object. Anything else is the exact decoder's to refuse; pyarrow 26's
            # read_json with an explicit schema even crashes the process (SIGSEGV) on a body that is `null`.
            raise Unsure
        if not line.isascii():
            # pyarrow.json does not validate UTF-8: a bad byte would reach a string column (and fail later,
            # as a raw UnicodeDecodeError). The exact decoder refuses such a body with a ResponseError.
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise Unsure from None
        lines.append(line)
    return lines


def _read(raws: Sequence[bytes], plan: Plan, use_threads: bool) -> list[Wire]:
    lines = _lines(raws)
    guards = [_guard(line) for line in lines] if plan.infer else None
    for position, line in enumerate(lines):
        if b"\n" in line or b"\r" in line:
            # pyarrow.json reads a body a line. Once msgspec has found the body strict (it refuses a raw
            # control character inside a string), every newline in it is whitespace between tokens.
            if guards is None:
                _guard(line)
            lines[position] = line.replace(b"\n", b" ").replace(b"\r", b" ")
    source, changed = rewrite(lines, plan)
    try:
        table = pa_json.read_json(
            source,
            # A block must hold a whole body; 1 MiB blocks give the threads a few pages each.
            read_options=pa_json.ReadOptions(
                use_threads=use_threads, block_size=max(max(len(line) for line in lines) + 1, 1 << 20)
            ),
            parse_options=pa_json.ParseOptions(
                explicit_schema=_ENVELOPE,
                unexpected_field_behavior="infer" if plan.infer else "error",
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise learn(plan, str(exc)) from None
    if table.num_rows != len(lines):
        raise Unsure
    unknown = _check_inferred(table.schema, plan) if plan.infer else ()
    remember(plan, used=changed or bool(unknown))
    return _wires(table, guards, unknown, lines)


def _guard(line: bytes) -> list[msgspec.Raw]:
    try:
        guard: Any = _GUARD.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        raise Unsure from None
    return [] if guard.data is None or guard.data.list is None else guard.data.list


def _check_inferred(schema: pa.Schema, plan: Plan) -> tuple[str, ...]:
    """The records' undocumented fields; ``Unsure`` if an inferred part is too deep or could have been rewritten."""
    envelope = pa.struct(list(schema))
    if _depth(envelope) > MAX_DEPTH:
        raise Unsure
    rewritten = plan.quoted
    inferred: list[pa.Field] = [f for f in schema if f.name not in ("code", "message", "data")]
    data = schema.field("data").type
    inferred += [data.field(i) for i in range(data.num_fields) if data.field(i).name not in _DATA_FIELDS]
    record = data.field("list").type.value_type
    unknown = [record.field(i) for i in range(record.num_fields) if record.field(i).name not in KNOWN_FIELDS]
    for f in inferred + unknown:
        for name in [f.name, *_names(f.type)]:
            if name in rewritten or any(name.endswith('"' + field) for field in rewritten):
                raise Unsure  # a key the rewrite may have touched (nested, or ending like a field's name)
    return tuple(f.name for f in unknown)


def _depth(type_: pa.DataType) -> int:
    if pa.types.is_struct(type_):
        return 1 + max((_depth(type_.field(i).type) for i in range(type_.num_fields)), default=0)
    if pa.types.is_list(type_):
        return 1 + _depth(type_.value_type)
    return 0


def _names(type_: pa.DataType) -> list[str]:
    if pa.types.is_struct(type_):
        fields = [type_.field(i) for i in range(type_.num_fields)]
        return [f.name for f in fields] + [name for f in fields for name in _names(f.type)]
    if pa.types.is_list(type_):
        return _names(type_.value_type)
    return []


def _wires(
    table: pa.Table, guards: list[list[msgspec.Raw]] | None, unknown: tuple[str, ...], lines: list[bytes]
) -> list[Wire]:
    codes = table.column("code").to_pylist()
    if None in codes:
        raise Unsure
    messages = table.column("message").to_pylist()
    ok = [code == 0 for code in codes]
    if not any(ok):
        return [Wire(code, message) for code, message in zip(codes, messages, strict=True)]
    data = table.column("data").combine_chunks()
    if not all(ok):
        data = data.filter(pa.array(ok))
    records = pc.struct_field(data, "list")
    total_rows = pc.struct_field(data, "totalRow").to_pylist()
    numbers = pc.struct_field(data, "pageNumber").to_pylist()
    if data.null_count or records.null_count or None in total_rows:
        raise Unsure
    flat = records.flatten()
    columns = _columns(flat)
    sizes = pc.list_value_length(records).to_pylist()
    if unknown:
        assert guards is not None
        held = [guard for guard, good in zip(guards, ok, strict=True) if good]
        if [len(guard) for guard in held] != sizes:
            raise Unsure
        texts = held[0] if len(held) == 1 else [raw for guard in held for raw in guard]
        null_pages = _null_pages(flat, unknown, [line for line, good in zip(lines, ok, strict=True) if good], sizes)
        maybe = (
            [null for null, size in zip(null_pages, sizes, strict=True) for _ in range(size)]
            if any(null_pages)
            else None
        )
        columns["extra"] = _extras(flat, unknown, texts, maybe)
    pages = iter(zip(total_rows, numbers, sizes, strict=True))
    wires: list[Wire] = []
    for code, message, good in zip(codes, messages, ok, strict=True):
        if good:
            total, number, size = next(pages)
            wires.append(Wire(0, message, total, number, size, columns))
        else:
            wires.append(Wire(code, message))
    return wires


def _columns(flat: pa.StructArray) -> dict[str, pa.Array]:
    columns: dict[str, pa.Array] = {}
    for c in FIELD_COLUMNS:
        array = flat.field(c.api_field)
        try:
            if c.kind == "decimal":
                array.validate(full=True)  # pyarrow.json does not check total precision: 1234567890123456.5 gets in
            elif c.kind in ("int", "code"):
                array = array.cast(pa.int64())  # checked: a whole number too big for int64 is refused
        except pa.ArrowInvalid:
            raise Unsure from None
        columns[c.name] = array
    if columns["id"].null_count:
        raise Unsure
    columns["extra"] = pa.nulls(len(flat), pa.string())
    return columns


def _null_pages(flat: pa.StructArray, unknown: tuple[str, ...], lines: list[bytes], sizes: list[int]) -> list[bool]:
    """Per page: may one of its records hold an undocumented field as ``null``?

    Arrow reads ``"x": null`` and no ``x`` alike, so such records must be
    parsed again. A page can hold one only if some key ``"x"`` occurs in its
    text more often than ``x`` has a value there: every record holding the key
    writes it (extra occurrences, in nested objects or strings, only make the
    answer "maybe"). That holds when a key cannot be spelt another way: plain
    names, and no ``\\u`` escape in the page; otherwise "maybe".
    """
    nulls = [_NULL.search(line) is not None for line in lines]
    if not any(nulls):
        return nulls
    if not all(_PLAIN_NAME.fullmatch(name) for name in unknown):
        return nulls
    ends = np.cumsum(sizes)
    starts = ends - np.asarray(sizes, dtype=ends.dtype)
    counts = {}  # per name, per page: the records where it has a value
    for name in unknown:
        seen = np.concatenate([[0], np.cumsum(flat.field(name).is_valid().to_numpy(zero_copy_only=False))])
        counts[name] = (seen[ends] - seen[starts]).tolist()
    return [
        null and (b"\\u" in line or any(line.count(b'"%s"' % name.encode()) != counts[name][page] for name in unknown))
        for page, (null, line) in enumerate(zip(nulls, lines, strict=True))
    ]


def _extras(
    flat: pa.StructArray, unknown: tuple[str, ...], texts: list[msgspec.Raw], maybe_null: list[bool] | None
) -> pa.Array:
    """``extra`` for the records that hold an undocumented field, each parsed again for its exact text.

    A record is looked at when one of those fields has a value, or when its
    page may hold one as ``null`` (:func:`_null_pages`) and it holds a ``null``.
    """
    present = pc.is_valid(flat.field(unknown[0]))
    for name in unknown[1:]:
        present = pc.or_(present, pc.is_valid(flat.field(name)))
    chosen: list[int] = pc.indices_nonzero(present).to_pylist()
    if maybe_null is not None:
        flags = present.to_pylist()
        chosen = [
            position
            for position, raw in enumerate(texts)
            if flags[position] or (maybe_null[position] and b"null" in bytes(raw))
        ]
    extras: list[str | None] = [None] * len(flat)
    for position in chosen:
        try:
            fields = _RECORD_FIELDS.decode(texts[position])
        except (msgspec.DecodeError, RecursionError):  # pragma: no cover - the guard read it already
            raise Unsure from None
        extras[position] = _extra_text(fields)
    return pa.array(extras, pa.string())


def _extra_text(fields: dict[str, msgspec.Raw]) -> str | None:
    """The record's undocumented fields as the exact decoder writes them (``None`` when it has none)."""
    keys = fields.keys() - KNOWN_FIELDS
    if not keys:
        return None
    unknown = {key: value for key, value in fields.items() if key in keys}
    text = _ENCODE(unknown)
    if b"\\" not in text:
        # No escape anywhere: msgspec wrote each key as json.dumps does, each value is its text as sent,
        # and compacting keeps every number's and string's text: what the exact decoder writes.
        return _COMPACT(text, indent=-1).decode("utf-8")
    return "{" + ",".join(f"{_key_text(key)}:{value_text(bytes(value))}" for key, value in unknown.items()) + "}"


@functools.lru_cache(maxsize=4096)
def _key_text(key: str) -> str:
    """A key as ``extra`` writes it (what the exact decoder's ``json.dumps`` writes), cached: keys repeat."""
    return json.dumps(key, ensure_ascii=False)
