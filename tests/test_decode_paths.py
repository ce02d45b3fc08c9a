"""The decoder's paths agree: batched == page by page == the exact fallback, on the same bodies."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from nxframe.decode import Reply, decode_page, decode_pages
from nxframe.errors import SchemaError
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


def exact_only(body: bytes) -> bytes:
    """The same JSON with a newline in it, which the fast reader refuses: only the exact decoder reads it."""
    return body.replace(b'{"code"', b'{\n"code"', 1)


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
    exact = [decode_page(exact_only(body), page_number=n, tz=tz) for n, body in enumerate(pages, 1)]
    assert_same(single, exact)
    for threads in (False, True):
        assert_same(decode_pages(pages, tz=tz, use_threads=threads), single)
    assert sum(t.num_rows for t in tables(single)) == 5 * SIZE - 7


def test_an_awkward_day_decodes_the_same_batched_and_page_by_page() -> None:
    pages = bodies(quirks=True, date=awkward_date())
    single = [decode_page(body, page_number=n) for n, body in enumerate(pages, 1)]
    assert any(t.column("extra").null_count < t.num_rows for t in tables(single))  # really awkward
    assert_same(decode_pages(pages), single)


def test_one_odd_page_does_not_change_its_neighbours() -> None:
    clean = bodies(quirks=False)
    odd = bodies(quirks=True, date=awkward_date())[1]
    mixed = [clean[0], odd, exact_only(clean[2]), clean[3]]
    assert_same(decode_pages(mixed), [decode_page(body, page_number=n) for n, body in enumerate(mixed, 1)])


def test_error_codes_and_empty_pages_in_a_batch() -> None:
    clean = bodies(quirks=False)
    failed = b'{"code":-1,"data":null,"message":"Request failed"}'
    empty = b'{"code":0,"message":"ok","data":{"totalRow":0,"pageNumber":1,"totalPage":0,"pageSize":50,"list":[]}}'
    batch = [clean[0], failed, empty, clean[1] + b"\r\n"]
    replies = decode_pages(batch, page_numbers=[3, 4, 5, 6])
    assert [r.code for r in replies] == [0, -1, 0, 0]
    assert replies[1].page is None and replies[1].message == "Request failed"
    assert [r.page.number for r in replies if r.page] == [3, 5, 6]
    assert replies[2].page is not None and replies[2].page.table.num_rows == 0
    assert_same(replies, [decode_page(body, page_number=n) for n, body in zip([3, 4, 5, 6], batch, strict=True)])


def test_a_value_too_big_for_decimal_18_6_fails_in_a_batch_too() -> None:
    clean = bodies(quirks=False)
    bad = clean[1].replace(b'"callPrice":', b'"callPrice":1234567890123456.5,"x":', 1)
    with pytest.raises(SchemaError) as caught:
        decode_pages([clean[0], bad, clean[2]])
    assert caught.value.column == "call_price"


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
