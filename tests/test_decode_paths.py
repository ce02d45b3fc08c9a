"""The decoder's paths agree (batched == page by page == the exact reference), and both refuse the same bodies.

Bodies come from the simulator (documented shape and its quirks) and from
hand-written JSON for each shape and each refusal of a hostile or broken
server: duplicate keys, nesting deeper than 64, NaN/Infinity, a pageNumber
that is not the page asked for, a negative totalRow.
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial

import pandas as pd
import pyarrow as pa
import pytest

from nxframe.decode import Reply, ShapeMemory, decode_page, decode_pages, exact, fast
from nxframe.decode.shapes import Plan
from nxframe.errors import ResponseError, SchemaError
from nxframe.simulator import Simulator
from nxframe.simulator.data import CallGenerator, page_body, record_json

DAY = dt.date(2024, 3, 5)
SIZE = 50


def bodies(*, quirks: bool, date: dt.date = DAY, pages: int = 5, seed: int = 7) -> list[bytes]:
    """A day's pages exactly as the simulator serves them."""
    records = CallGenerator(seed, rows_per_day=pages * SIZE - 7, quirks=quirks).day(date)
    return [
        page_body(
            (record_json(r) for r in records[i : i + SIZE]), total_row=len(records), page=i // SIZE + 1, page_size=SIZE
        )
        for i in range(0, len(records), SIZE)
    ]


def awkward_date(seed: int = 7) -> dt.date:
    generator = CallGenerator(seed, quirks=True)
    return next(DAY + dt.timedelta(days=n) for n in range(60) if generator.is_awkward(DAY + dt.timedelta(days=n)))


def tables(replies: list[Reply]) -> list[pa.Table]:
    assert all(reply.page is not None for reply in replies)
    return [reply.page.table for reply in replies]  # type: ignore[union-attr]


def dense(table: pa.Table) -> pa.Table:
    """The values, whatever the dictionaries: a batch's code columns share one dictionary, a page's has its own."""
    return table.cast(
        pa.schema([pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in table.schema])
    )


def assert_same(left: list[Reply], right: list[Reply]) -> None:
    assert [(r.code, r.message) for r in left] == [(r.code, r.message) for r in right]
    assert [(r.page.number, r.page.total_row) if r.page else None for r in left] == [
        (r.page.number, r.page.total_row) if r.page else None for r in right
    ]
    for a, b in zip(left, right, strict=True):
        if a.page is not None and b.page is not None:
            assert a.page.table.schema == b.page.table.schema
            assert dense(a.page.table).equals(dense(b.page.table)), f"page {a.page.number} differs"


@pytest.mark.parametrize("quirks", [False, True], ids=["documented", "quirks"])
@pytest.mark.parametrize("tz", [None, "Asia/Shanghai"])
def test_batched_equals_page_by_page_equals_exact(quirks: bool, tz: str | None) -> None:
    pages = bodies(quirks=quirks)
    single = [decode_page(body, page_number=n, tz=tz) for n, body in enumerate(pages, 1)]
    reference = [exact.decode_page(body, page_number=n, tz=tz) for n, body in enumerate(pages, 1)]
    assert_same(single, reference)
    assert_same(decode_pages(pages, tz=tz), single)
    assert_same(decode_pages(pages, tz=tz, memory=ShapeMemory()), single)
    assert sum(t.num_rows for t in tables(single)) == 5 * SIZE - 7


def test_an_awkward_day_decodes_the_same_batched_and_page_by_page() -> None:
    pages = bodies(quirks=True, date=awkward_date())
    single = [decode_page(body, page_number=n) for n, body in enumerate(pages, 1)]
    assert any(t.column("extra").null_count < t.num_rows for t in tables(single))  # really awkward
    assert_same(decode_pages(pages), single)


def test_one_odd_page_does_not_change_its_neighbours() -> None:
    clean = bodies(quirks=False)
    odd = bodies(quirks=True, date=awkward_date())[1]
    mixed = [clean[0], odd.replace(b'"pageNumber":2', b'"pageNumber":3'), clean[3], clean[4]]
    numbers = [1, 3, 4, 5]
    assert_same(
        decode_pages(mixed, page_numbers=numbers),
        [decode_page(body, page_number=n) for n, body in zip(numbers, mixed, strict=True)],
    )


def test_error_codes_and_empty_pages_in_a_batch() -> None:
    clean = bodies(quirks=False)
    failed = b'{"code":-1,"data":null,"message":"Request failed"}'
    empty = b'{"code":0,"message":"ok","data":{"totalRow":0,"totalPage":0,"pageSize":50,"list":[]}}'
    batch = [clean[0], failed, empty, clean[1] + b"\r\n"]
    replies = decode_pages(batch, page_numbers=[1, 4, 5, 2])
    assert [r.code for r in replies] == [0, -1, 0, 0]
    assert replies[1].page is None and replies[1].message == "Request failed"
    assert [r.page.number for r in replies if r.page] == [1, 5, 2]
    assert replies[2].page is not None and replies[2].page.table.num_rows == 0
    assert_same(replies, [decode_page(body, page_number=n) for n, body in zip([1, 4, 5, 2], batch, strict=True)])


def test_a_value_too_big_for_decimal_18_6_fails_in_a_batch_too() -> None:
    clean = bodies(quirks=False)
    bad = clean[1].replace(b'"callPrice":', b'"callPrice":1234567890123456.5,"x":', 1)
    with pytest.raises(SchemaError, match="call_price") as caught:
        decode_pages([clean[0], bad, clean[2]])
    assert caught.value.column == "call_price"


@pytest.mark.parametrize(
    ("marker", "invalid"),
    [(b'"countryName":"', b'"countryName":"Tha\xffland'), (b'"callPrice":', b'"x":"\xff\xfe","callPrice":')],
)
def test_a_body_that_is_not_utf8_is_a_response_error_on_every_path(marker: bytes, invalid: bytes) -> None:
    """pyarrow.json does not validate UTF-8; a bad byte must not reach a string column as a raw UnicodeDecodeError."""
    clean = bodies(quirks=False)
    bad = clean[1].replace(marker, invalid, 1)
    assert bad != clean[1]
    with pytest.raises(ResponseError, match="not JSON"):
        decode_page(bad, page_number=2)
    with pytest.raises(ResponseError, match="not JSON"):
        decode_pages([clean[0], bad, clean[2]])


def test_code_columns_have_the_labels_first_then_other_codes_sorted() -> None:
    body = (
        b'{"code":0,"message":"ok","data":{"totalRow":3,"list":['
        b'{"id":1,"callType":1,"feeType":0,"endDirection":"9"},'
        b'{"id":2,"callType":0,"feeType":1,"endDirection":"caller"},'
        b'{"id":3,"callType":0,"feeType":1,"endDirection":2}]}}'
    )
    reply = decode_page(body)
    assert reply.page is not None
    direction = reply.page.table.column("end_direction").combine_chunks()
    assert direction.dictionary.to_pylist() == ["caller", "callee", "2", "9"]
    assert direction.to_pylist() == ["9", "caller", "2"]


def test_page_numbers_must_match_the_bodies() -> None:
    with pytest.raises(ValueError, match="page numbers"):
        decode_pages(bodies(quirks=False), page_numbers=[1])


def test_no_bodies_no_replies() -> None:
    assert decode_pages([]) == []


# -- any shape the contract accepts, read fast and exactly -------------------------------

MIXED = (
    b'{"code":0,"message":"ok","data":{"totalRow":4,"pageNumber":1,"list":['
    b'{"id":1,"number":"0066123456","callNumber":66812345678,"callType":"1","callDuration":"64",'
    b'"feeDurationMinute":2,"callPriceUnit":"0.055","callPrice":"0.110000","endReason":-7,'
    b'"taskId":3924129984,"meta":{"n":5,"tags":["a b"],"rate":1E-7},"startTime":"2024-03-05 10:00:00"},'
    b'{"callPrice":1234567890.123457,"id":2,"callNumber":"+6598765432","callType":0,"endDirection":"caller",'
    b'"feeDurationMinute":"1.5","callDuration":64.0,"endTime":null},'
    b'{"id":3,"callNumber":"0065874433254","endDirection":2,"x\\"callNumber":7},'
    b'{"id":4,"callNumber":12,"note":null}]}}'
)
#: The same deviations, but counts as JSON integers and no key msgspec cannot name: what the fast reader reads.
FAST_MIXED = MIXED.replace(b'"callDuration":64.0', b'"callDuration":64').replace(b',"x\\"callNumber":7', b',"k":7')


def test_every_deviation_in_one_page_is_read_fast_and_equal_to_the_exact_decoder() -> None:
    memory = ShapeMemory()
    assert fast.read(FAST_MIXED, memory) is not None  # read fast, not by the fallback
    assert memory.plan.record == ("k", "meta", "note", "taskId")
    for body in (FAST_MIXED, MIXED):
        reply = decode_page(body, memory=memory)
        reference = exact.decode_page(body)
        assert reply.page is not None and reference.page is not None
        assert reply.page.table.equals(reference.page.table)
    rows = reply.page.table.to_pylist()
    assert [r["call_number"] for r in rows] == ["66812345678", "+6598765432", "0065874433254", "12"]
    assert rows[0]["did_number"] == "0066123456" and rows[0]["end_reason"] == "-7"
    assert (rows[0]["call_type"], rows[0]["call_duration"], rows[1]["call_duration"]) == ("outgoing", 64, 64)
    assert rows[0]["call_price_unit"] == Decimal("0.055") and rows[1]["call_price"] == Decimal("1234567890.123457")
    assert rows[1]["fee_duration_minute"] == Decimal("1.5") and rows[1]["end_direction"] == "caller"
    assert rows[2]["end_direction"] == "2"
    # Undocumented fields keep their exact text, in the order sent.
    assert rows[0]["extra"] == '{"taskId":3924129984,"meta":{"n":5,"tags":["a b"],"rate":1E-7}}'
    assert rows[1]["extra"] is None
    assert rows[2]["extra"] == '{"x\\"callNumber":7}' and rows[3]["extra"] == '{"note":null}'


_NULLS = b'{"id":1,"endTime":null,"note":"a b"},{"id":2,"endTime":null},'


@pytest.mark.parametrize(
    ("records", "extras"),
    [
        (_NULLS + b'{"id":3,"note":null}', ['{"note":"a b"}', None, '{"note":null}']),
        # Counting "note" would find one key and one value: the escape is what makes the reader look.
        (_NULLS + b'{"id":3,"n\\u006fte":null}', ['{"note":"a b"}', None, '{"note":null}']),
        (
            _NULLS + b'{"id":3,"meta":{"note":null},"note":"x"}',
            ['{"note":"a b"}', None, '{"meta":{"note":null},"note":"x"}'],
        ),
        (_NULLS + b'{"id":3,"note":"null"}', ['{"note":"a b"}', None, '{"note":"null"}']),
    ],
    ids=["null", "escaped key", "nested null", "the text null"],
)
def test_an_undocumented_field_sent_as_null_is_kept_wherever_other_nulls_are(
    records: bytes, extras: list[str | None]
) -> None:
    # Arrow reads "note": null as no note; the reader finds such records by counting the key's
    # occurrences on the page against its values, unless the key may be spelt with an escape.
    body = b'{"code":0,"message":"ok","data":{"totalRow":3,"pageNumber":1,"list":[' + records + b"]}}"
    memory = ShapeMemory()
    assert fast.read(body, memory) is not None  # read by the fast reader
    reply = decode_page(body, memory=memory)
    assert reply.page is not None
    assert reply.page.table.equals(exact.decode_page(body).page.table)  # type: ignore[union-attr]
    assert reply.page.table.column("extra").to_pylist() == extras


def test_a_nested_key_named_like_a_rewritten_field_keeps_its_number() -> None:
    decode_page(MIXED)  # the reader now quotes callNumber numbers
    body = MIXED.replace(b'"n":5', b'"callNumber":5')
    reply = decode_page(body)
    assert reply.page is not None
    assert reply.page.table.equals(exact.decode_page(body).page.table)  # type: ignore[union-attr]
    assert '"callNumber":5' in reply.page.table.column("extra")[0].as_py()


def test_two_clients_of_servers_with_different_shapes_learn_each_their_own() -> None:
    """What the decoder learns of a server is its client's: another client's server neither slows nor confuses it."""
    with (
        Simulator(seed=7, quirks=True, rows_per_day=300) as untidy,
        Simulator(seed=7, quirks=False, rows_per_day=300) as tidy,
    ):
        day = awkward_date()
        assert any("taskId" in record for record in untidy.records(day))
        with untidy.client() as a, tidy.client() as b, ThreadPoolExecutor(2) as pool:
            for _ in range(2):  # interleaved, pages of both servers decoding at once
                frames = pool.map(lambda c: c.fetch_cdr(day, page_size=40, progress=False), [a, b])
                for frame, server in zip(frames, (untidy, tidy), strict=True):
                    pd.testing.assert_frame_equal(frame, server.ground_truth(day))
        assert a.transport.shapes.plan.record == ("recordUrl", "taskId")
        assert a.transport.shapes.plan.loose == {"callNumber"}  # sent as text and as numbers: now read as text
        assert a.transport.shapes.lessons == 1  # learned on one page, every later page read in one pass
        assert b.transport.shapes.plan == Plan() and b.transport.shapes.lessons == 0


def test_a_pretty_printed_body_decodes_like_the_compact_one() -> None:
    pretty = json.dumps(json.loads(MIXED), indent=2).encode()
    compact = json.dumps(json.loads(MIXED), separators=(",", ":")).encode()
    assert b"\n" in pretty
    replies = (decode_page(pretty), decode_page(compact), exact.decode_page(pretty))
    tables = [r.page.table for r in replies if r.page is not None]
    assert len(tables) == 3 and tables[0].equals(tables[1]) and tables[0].equals(tables[2])


def test_what_the_reader_learned_never_changes_a_value() -> None:
    clean = bodies(quirks=False)
    memory = ShapeMemory()
    before = decode_page(clean[0], memory=memory)
    decode_page(FAST_MIXED, memory=memory)  # learns undocumented fields
    assert memory.plan.record
    after = decode_page(clean[0], memory=memory)
    assert before.page is not None and after.page is not None
    assert before.page.table.equals(after.page.table)


# -- what both decoders refuse -----------------------------------------------------------

RECORD = b'{"id":1,"callPrice":0.11,"startTime":"2024-03-05 10:00:00"}'


def page(records: bytes = RECORD, data: bytes = b'"totalRow":1,"pageNumber":1', head: bytes = b'"code":0') -> bytes:
    return b"{" + head + b',"message":"ok","data":{' + data + b',"list":[' + records + b"]}}"


def nested(depth: int) -> bytes:
    """A record whose undocumented field makes the body ``depth`` levels deep (the record is level 4)."""
    inner = depth - 4
    return page(b'{"id":1,"meta":' + b"[" * inner + b"]" * inner + b"}")


DUPLICATE, DEEP, NOT_JSON = "duplicate key", "nested more than 64 levels", "not JSON"
#: Each refused body and what the refusal says.
REFUSED = {
    "duplicate key in the envelope": (page(head=b'"code":1003,"code":0'), DUPLICATE),
    "duplicate key in data": (page(data=b'"totalRow":1,"totalRow":2'), DUPLICATE),
    "duplicate documented key in a record": (page(b'{"id":1,"callPrice":0.11,"callPrice":0.12}'), DUPLICATE),
    "duplicate undocumented key in a record": (page(b'{"id":1,"taskId":1,"taskId":2}'), DUPLICATE),
    "duplicate key in a nested value": (page(b'{"id":1,"meta":{"a":1,"a":2}}'), DUPLICATE),
    "duplicate key spelt with an escape": (page(b'{"id":1,"callPrice":0.11,"c\\u0061llPrice":0.12}'), DUPLICATE),
    "duplicate key hidden by an escaped colon": (
        page(b'{"id":1,"callPrice":0.11,"callPrice":0.12,"countryName":"a\\u003ab"}'),
        DUPLICATE,
    ),
    "nesting 65 deep": (nested(65), DEEP),
    "nesting 100000 deep": (nested(100_000), DEEP),
    "NaN money": (page(b'{"id":1,"callPrice":NaN}'), NOT_JSON),
    "Infinity in an undocumented field": (page(b'{"id":1,"taskId":-Infinity}'), NOT_JSON),
    "another page": (page(data=b'"totalRow":1,"pageNumber":2'), "with page 2"),
    "negative totalRow": (page(data=b'"totalRow":-1'), "no valid 'totalRow'"),
}


@pytest.mark.parametrize(("body", "refusal"), list(REFUSED.values()), ids=list(REFUSED))
@pytest.mark.parametrize("decoder", ["fast", "exact"])
def test_both_decoders_refuse_what_is_not_strict_or_not_the_page(body: bytes, refusal: str, decoder: str) -> None:
    memory = ShapeMemory()
    decode = partial(decode_page, memory=memory) if decoder == "fast" else exact.decode_page
    with pytest.raises(ResponseError, match=refusal):
        decode(body, page_number=1)
    decode(FAST_MIXED)  # with undocumented names learned too
    with pytest.raises(ResponseError, match=refusal):
        decode(body, page_number=1)


def test_nesting_64_deep_is_accepted_and_kept_in_extra() -> None:
    for decode in (decode_page, exact.decode_page):
        reply = decode(nested(64))
        assert reply.page is not None
        assert reply.page.table.column("extra")[0].as_py() == '{"meta":' + "[" * 60 + "]" * 60 + "}"


def test_a_wrong_page_number_is_refused_in_a_batch_too() -> None:
    clean = bodies(quirks=False)
    with pytest.raises(ResponseError, match="page 2 with page 1"):
        decode_pages([clean[0], clean[0]])
