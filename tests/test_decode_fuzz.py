"""Decoder fuzzing: any record either decodes exactly or raises SchemaError/ResponseError.

Records are written as JSON text by hand (numbers as digit strings), so the
oracle knows the exact decimal text the server "sent". A money value must
come back equal to that text or the decode must fail naming the column;
never a float, never a rounding.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
from decimal import Decimal
from functools import partial
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nxframe.decode import ShapeMemory, decode_page, exact
from nxframe.errors import ResponseError, SchemaError
from nxframe.schema import COLUMNS, DECIMAL

MISSING = object()
FIELDS = {c.api_field: c for c in COLUMNS if c.api_field}
KNOWN = set(FIELDS)

digits = st.text("0123456789", min_size=1, max_size=16)


@st.composite
def decimal_text(draw: st.DrawFn) -> str:
    """A JSON number's text: plain, negative, long, with exponents."""
    whole = draw(st.text("0123456789", min_size=1, max_size=15).map(lambda s: s.lstrip("0") or "0"))
    text = ("-" if draw(st.booleans()) else "") + whole
    if draw(st.booleans()):
        text += "." + draw(st.text("0123456789", min_size=1, max_size=9))
    if draw(st.integers(0, 9)) == 0:
        text += "e" + str(draw(st.integers(-8, 8)))
    return text


@st.composite
def value_for(draw: st.DrawFn, kind: str) -> tuple[Any, str]:
    """(oracle value, JSON text) for a field of ``kind``; the oracle value MISSING means absent."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return MISSING, ""
    if choice == 1:
        return None, "null"
    if kind == "decimal":
        text = draw(decimal_text())
        if choice < 5:
            return Decimal(text), json.dumps(text)  # a number sent as a JSON string
        if choice == 5:
            garbage = draw(st.text("abcxyz ,", min_size=1, max_size=5))
            return SchemaError, json.dumps(garbage)
        return Decimal(text), text
    if kind == "int":
        number = draw(st.integers(-(2**63), 2**63 - 1) | st.integers(2**63, 2**70))
        if choice == 2:
            return SchemaError, f"{number}.5"
        value: Any = number if -(2**63) <= number < 2**63 else SchemaError
        return value, json.dumps(str(number)) if choice == 3 else str(number)
    if kind == "code":
        code = draw(st.sampled_from(["0", "1", "2", "7", "-1"]))
        return code, json.dumps(code) if choice < 4 else code
    if kind == "time":
        if choice == 2:
            return "", '""'
        if choice == 3:
            return SchemaError, json.dumps(
                draw(st.sampled_from(["yesterday", "2023-02-29 00:00:00", "2024-01-01T00:00:00"]))
            )
        moment = draw(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)))
        moment = moment.replace(microsecond=0)
        return moment, json.dumps(moment.strftime("%Y-%m-%d %H:%M:%S"))
    # text
    if choice == 2:
        phone = draw(digits)
        return phone, phone.lstrip("0") or "0"  # a phone number sent as a JSON number
    text = draw(st.text(max_size=12))
    return text, json.dumps(text, ensure_ascii=draw(st.booleans()))


@st.composite
def record(draw: st.DrawFn, record_id: int) -> tuple[dict[str, Any], str]:
    oracle: dict[str, Any] = {"id": record_id}
    parts = [f'"id":{record_id}']
    for field, c in FIELDS.items():
        if field == "id":
            continue
        value, text = draw(value_for(c.kind))
        if value is MISSING:
            continue
        if c.kind == "text" and isinstance(value, str) and text.isdigit():
            value = text  # the oracle of a JSON number is its text as sent
        oracle[field] = value
        parts.append(f"{json.dumps(field)}:{text}")
    extras = draw(
        st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: k not in KNOWN), decimal_text(), max_size=2)
    )
    for key, number in extras.items():
        parts.append(f"{json.dumps(key)}:{number}")
    oracle["__extra__"] = extras
    draw(st.randoms()).shuffle(parts)
    return oracle, "{" + ",".join(parts) + "}"


def _page(total: int, records: list[str]) -> str:
    return f'{{"code":0,"message":"ok","data":{{"totalRow":{total},"list":[{",".join(records)}]}}}}'


def _fits(value: Decimal) -> bool:
    with decimal.localcontext() as context:
        context.prec = 100
        return value == value.quantize(Decimal("0.000001")) and abs(value) < Decimal(10) ** 12


def _expected(c: Any, value: Any) -> Any:
    """What the column must hold for an oracle value, or SchemaError."""
    if value is SchemaError:
        return SchemaError
    if value is None or value is MISSING:
        return None
    if c.kind == "decimal":
        return value if _fits(value) else SchemaError
    if c.kind == "code":
        return c.labels[int(value)] if value in ("0", "1") else value
    if c.kind == "time":
        return None if value == "" else value
    if c.kind == "text":
        return None if value == "" else value
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(1, 6))
def test_random_records_decode_exactly_or_raise(data: st.DataObject, count: int) -> None:
    pairs = [data.draw(record(record_id=i + 1)) for i in range(count)]
    body = _page(count, [text for _, text in pairs])
    expected_error = any(
        _expected(FIELDS[f], v) is SchemaError for oracle, _ in pairs for f, v in oracle.items() if f in FIELDS
    )
    try:
        reply = decode_page(body.encode())
    except SchemaError as exc:
        assert expected_error, f"unexpected SchemaError: {exc}"
        assert exc.column in {c.name for c in COLUMNS}
        return
    assert not expected_error, "a value that does not fit was accepted"
    assert reply.page is not None
    table = reply.page.table
    for c in COLUMNS[1:]:
        if c.kind == "decimal":
            assert table.schema.field(c.name).type == DECIMAL  # never a float
    rows = table.to_pylist()
    for (oracle, _), row in zip(pairs, rows, strict=True):
        for field, c in FIELDS.items():
            want = _expected(c, oracle.get(field, MISSING))
            assert row[c.name] == want, (c.name, oracle.get(field), row[c.name])
        extras = oracle["__extra__"]
        if extras:
            decoded = json.loads(row["extra"], parse_float=Decimal, parse_int=Decimal)
            assert decoded == {k: Decimal(v) for k, v in extras.items()}
            for number in extras.values():
                assert number in row["extra"]  # written exactly as sent
        else:
            assert row["extra"] is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**12), decimal_text(), st.booleans()), min_size=1, max_size=8))
def test_whatever_path_decodes_a_page_the_exact_path_agrees(records: list[tuple[int, str, bool]]) -> None:
    parts = []
    for record_id, price, as_string in records:
        parts.append(f'{{"id":{record_id},"callPrice":{json.dumps(price) if as_string else price},"callType":1}}')
    body = _page(len(parts), parts).encode()
    try:
        reference = exact.decode_page(body)
    except SchemaError:
        try:
            decode_page(body)
        except SchemaError:
            return
        raise AssertionError("the fast path accepted what the exact path refuses") from None
    assert reference.page is not None
    assert decode_page(body).page.table.equals(reference.page.table)  # type: ignore[union-attr]


@given(st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_never_crash_the_decoder(raw: bytes) -> None:
    with contextlib.suppress(ResponseError, SchemaError):
        decode_page(raw)
    with contextlib.suppress(ResponseError, SchemaError):
        exact.decode_page(raw)


def test_a_value_too_long_for_decimal_18_6_names_the_row_and_field() -> None:
    body = b'{"code":0,"data":{"totalRow":1,"list":[{"id":42,"callPrice":1234567890123456.5}]}}'
    for decode in (decode_page, exact.decode_page):
        with pytest.raises(SchemaError, match=r"call_price \(callPrice\) of call id 42") as caught:
            decode(body)
        assert caught.value.column == "call_price" and caught.value.row_id == 42


# -- the fast path and the exact reference decoder never drift apart -----------------------

PHONE = st.text("0123456789", min_size=1, max_size=13)
TIME_TEXT = st.sampled_from(
    ["2024-03-05 10:11:12", "2024-12-31 23:59:59", "", "", "2023-02-29 00:00:00", "2024-3-5 1:2:3", "24:00"]
)


@st.composite
def shaped_value(draw: st.DrawFn, kind: str) -> str | None:
    """JSON text for a field in any shape a server may send it (``None``: the field is left out)."""
    choice = draw(st.integers(0, 11))
    if choice == 0:
        return None
    if choice == 1:
        return "null"
    if kind in ("decimal", "int", "id", "code"):
        number = draw(
            decimal_text() if kind == "decimal" else st.sampled_from(["0", "1", "2", "-1", "64", "64.0", "1e2"])
        )
        if kind == "code" and choice == 2:
            return json.dumps(draw(st.sampled_from(["caller", "callee", "01", " 1", "x"])))
        return json.dumps(number) if choice % 2 else number
    if kind == "time":
        return json.dumps(draw(TIME_TEXT)) if choice > 1 else "20240305"
    phone = draw(PHONE)
    if choice == 2 and (phone == "0" or not phone.startswith("0")):
        return phone  # a phone number sent as a JSON number
    if choice == 4:
        return json.dumps(draw(NAMES), ensure_ascii=draw(st.booleans()))  # often as \u escapes
    return json.dumps(draw(st.text(max_size=8)) if choice == 3 else phone, ensure_ascii=draw(st.booleans()))


#: Country and reason names as a server in Asia sends them, and text holding colons (which the fast reader counts).
NAMES = st.sampled_from(["泰国", "ประเทศไทย", "Thái Lan", "主叫挂机", "a:b", "x\\y", "Hong Kong", ""])


EXTRA_VALUE = st.recursive(
    st.one_of(
        decimal_text(),
        st.sampled_from(["true", "null", '"a b"', '"\\u00e9"', '"x"', '"\\u5ba2\\u6237"', '"a\\u003ab"', '"h:m"']),
        st.just('"callNumber"'),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]"),
        st.dictionaries(st.sampled_from(["a", "callNumber", "number", "k"]), inner, max_size=3).map(
            lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=5,
)


@st.composite
def key_text(draw: st.DrawFn, field: str) -> str:
    """A key's JSON text: mostly plain, sometimes with a letter written as a ``\\u`` escape."""
    if draw(st.integers(0, 15)) or not field:
        return json.dumps(field)
    at = draw(st.integers(0, len(field) - 1))
    return '"' + field[:at] + f"\\u{ord(field[at]):04x}" + field[at + 1 :] + '"'


@st.composite
def shaped_page(draw: st.DrawFn) -> bytes:
    """A page mixing shapes record by record, sometimes pretty-printed or with a hostile envelope."""
    records = []
    for number in range(draw(st.integers(0, 5))):
        parts = [f'"id":{draw(st.sampled_from([str(number + 1)] * 8 + [json.dumps(str(number + 1)), "1.5"]))}']
        for field, c in FIELDS.items():
            if field != "id" and (text := draw(shaped_value(c.kind))) is not None:
                parts.append(f"{draw(key_text(field))}:{text}")
        keys = st.sampled_from(
            ['"taskId"', '"x\\"callNumber"', '"meta"', '"k"', '"re\\u006dark"', '"a:b"']
        )  # key texts
        for key in draw(st.lists(keys, max_size=2, unique=True)):
            parts.append(f"{key}:{draw(EXTRA_VALUE)}")
        if draw(st.integers(0, 20)) == 0:
            parts.append(draw(st.sampled_from(['"callPrice":1', '"taskId":NaN', '"endTime":Infinity'])))
        draw(st.randoms()).shuffle(parts)
        records.append("{" + ",".join(parts) + "}")
    total = draw(st.sampled_from([str(len(records)), "-1", json.dumps(str(len(records)))]))
    page_number = draw(st.sampled_from(["", ',"pageNumber":1', ',"pageNumber":2', ',"pageNumber":null']))
    body = f'{{"code":0,"message":"ok","data":{{"totalRow":{total}{page_number},"list":[{",".join(records)}]}}}}'
    if draw(st.booleans()):
        body = body.replace(",", ",\n  ").replace("{", "{\n ")  # pretty-printed (no string holds , or {)
    return body.encode()


def outcome(decode: Any, body: bytes) -> Any:
    """The table a decoder gives, or the class of its error."""
    try:
        reply = decode(body, page_number=1)
    except (ResponseError, SchemaError) as exc:
        return type(exc)
    assert reply.page is not None
    return reply.page.table


def differential(bodies: list[bytes]) -> None:
    memory = ShapeMemory()  # what one client learns of its server, page after page
    for body in bodies:
        agree(body, memory)


def agree(body: bytes, memory: ShapeMemory | None = None) -> None:
    reference = outcome(exact.decode_page, body)
    fast = outcome(partial(decode_page, memory=memory), body)
    if isinstance(reference, pa.Table):
        assert isinstance(fast, pa.Table), f"fast: {fast}, exact decoded the page"
        assert fast.schema == reference.schema
        assert fast.equals(reference), (fast.to_pylist(), reference.to_pylist())
    else:
        assert fast is reference, f"fast: {fast if not isinstance(fast, pa.Table) else 'a table'}, exact: {reference}"


@pytest.mark.parametrize("examples", [60, pytest.param(600, marks=pytest.mark.slow)])
def test_fast_and_exact_decoders_agree_on_mixed_shapes(examples: int) -> None:
    # The fast reader learns the server's habits as it goes; the agreement must hold whatever it has learned.
    run = settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))(
        given(st.lists(shaped_page(), min_size=1, max_size=3))(differential)
    )
    run()


# -- pages as an untidy but working server sends them: what the fast reader must read itself ------------

MONEY_TEXT = st.builds(
    lambda whole, places, digits: f"{whole}.{digits[:places].ljust(places, '0')}",
    st.sampled_from(["0", "1", "12", "1234567890"]),
    st.integers(2, 6),
    st.text("0123456789", min_size=6, max_size=6),
)
LOCAL_NAMES = st.sampled_from(["泰国", "ประเทศไทย", "Thái Lan", "タイ", "主叫挂机", "Thailand", "a:b", "Hong Kong"])


@st.composite
def untidy_record(draw: st.DrawFn, record_id: int) -> str:
    """One record in any key order, escaped names, money as number or string text, phone numbers as numbers."""
    escape = draw(st.booleans())
    money = {name: draw(MONEY_TEXT) for name in ("feeDurationMinute", "callPriceUnit", "callPrice")}
    quote_money = draw(st.booleans())
    phone = draw(st.text("123456789", min_size=1, max_size=12))
    parts = {
        "id": str(record_id),
        "number": json.dumps("0066" + phone) if draw(st.booleans()) else "66" + phone,
        "callNumber": phone if draw(st.booleans()) else json.dumps("+" + phone),
        "callType": draw(st.sampled_from(["0", "1", '"1"'])),
        "countryName": json.dumps(draw(LOCAL_NAMES), ensure_ascii=escape),
        "callDuration": draw(st.sampled_from(["0", "64", '"64"', "7200"])),
        "feeType": draw(st.sampled_from(["0", "1"])),
        **{name: json.dumps(text) if quote_money else text for name, text in money.items()},
        "endDirection": draw(st.sampled_from(["0", "1", "2", '"caller"'])),
        "endReason": draw(st.sampled_from(['"-7"', "-7", '"-10"'])),
        "endReasonName": json.dumps(draw(LOCAL_NAMES), ensure_ascii=escape),
        "callerIp": '"203.0.113.7"',
        "calleeIp": '"10.20.1.2"',
        "startTime": '"2024-03-08 00:00:05"',
        "endTime": draw(st.sampled_from(['"2024-03-08 00:01:05"', '""', "null", None])),
    }
    for name in draw(st.lists(st.sampled_from(["taskId", "remark", "recordUrl", "meta"]), max_size=3, unique=True)):
        parts[name] = draw(
            st.sampled_from(
                [
                    "3924129984",
                    '"\\u5ba2\\u6237\\u56de\\u62e8"',
                    '"https:\\/\\/rec.example.com\\/1.mp3"',
                    '{"attempt":2,"tags":["ivr"]}',
                    "null",
                    '"a\\u003ab"',
                ]
            )
        )
    items = [(name, text) for name, text in parts.items() if text is not None]
    draw(st.randoms()).shuffle(items)
    return "{" + ",".join(f"{json.dumps(name)}:{text}" for name, text in items) + "}"


@st.composite
def untidy_page(draw: st.DrawFn) -> bytes:
    """A page of untidy records; now and then one flaw the reader must not miss (a duplicate key, a bad value)."""
    records = [draw(untidy_record(record_id=n + 1)) for n in range(draw(st.integers(1, 6)))]
    flaw = draw(st.sampled_from([None] * 6 + ["duplicate", "escaped duplicate", "bad money", "float count"]))
    if flaw == "duplicate":
        records[0] = records[0][:-1] + ',"callPrice":0.5}'
    elif flaw == "escaped duplicate":
        records[0] = records[0][:-1] + ',"c\\u0061llPrice":0.5,"k":"\\u003a"}'
    elif flaw == "bad money":
        records[-1] = records[-1].replace('"callPriceUnit":', '"callPriceUnit":0.1234567,"y":', 1)
    elif flaw == "float count":
        records[0] = records[0].replace('"callDuration":', '"callDuration":64.0,"z":', 1)
    return _page(len(records), records).encode()


@pytest.mark.parametrize("examples", [80, pytest.param(600, marks=pytest.mark.slow)])
def test_fast_and_exact_decoders_agree_on_untidy_pages(examples: int) -> None:
    run = settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))(
        given(st.lists(untidy_page(), min_size=1, max_size=4))(differential)
    )
    run()
