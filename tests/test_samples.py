"""The sample responses in data/samples decode as documented: exact, every awkward case kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from nxframe.decode import decode_page, exact
from nxframe.frames import to_frame

SAMPLES = Path(__file__).parents[1] / "data" / "samples"


def test_the_documented_example_decodes_exactly() -> None:
    reply = decode_page((SAMPLES / "did-cdr-example.json").read_bytes())
    assert reply.code == 0 and reply.page is not None and reply.page.total_row == 1
    (row,) = reply.page.table.to_pylist()
    assert row["call_price"] == Decimal("0.11") and row["call_price_unit"] == Decimal("0.055")
    assert row["fee_duration_minute"] == Decimal(2)
    assert (row["call_type"], row["fee_type"], row["end_direction"]) == ("incoming", "60+60", "caller")
    assert row["start_time"] == dt.datetime(2022, 10, 1, 11, 4, 57)


def test_an_error_body_carries_its_code_and_message() -> None:
    reply = decode_page((SAMPLES / "did-cdr-error-1002.json").read_bytes())
    assert (reply.code, reply.message, reply.page) == (1002, "Parameter error", None)


def test_the_awkward_sample_keeps_every_value() -> None:
    reply = decode_page((SAMPLES / "did-cdr-awkward.json").read_bytes())
    assert reply.page is not None
    rows = reply.page.table.to_pylist()
    assert rows[0]["did_number"] == "0066123456" and rows[0]["call_number"] == "66812345678"
    assert rows[0]["call_price"] == Decimal("0.051333")
    assert rows[0]["extra"] == '{"taskId":3924129984,"recordUrl":"https://rec.example.com/1521000001.mp3"}'
    assert rows[1]["call_price_unit"] == Decimal("1234567890.123457")  # 16 digits: a float would change it
    assert rows[1]["end_time"] is None and rows[1]["call_number"] == "+6598765432"
    assert rows[2]["call_number"] == "0065874433254" and rows[2]["country_name"] is None
    assert rows[2]["end_direction"] == "2"


@pytest.mark.parametrize("name", ["did-cdr-example.json", "did-cdr-awkward.json"])
def test_samples_make_a_frame_with_the_full_schema(name: str) -> None:
    import pyarrow as pa

    reply = decode_page((SAMPLES / name).read_bytes())
    assert reply.page is not None
    table = reply.page.table
    dated = table.add_column(0, "date", pa.repeat(pa.scalar(dt.date(2024, 3, 1), pa.date32()), table.num_rows))
    frame = to_frame([dated])
    assert str(frame["call_price"].dtype) == "decimal128(18, 6)[pyarrow]"
    assert frame["call_price"].sum() == sum(Decimal(str(v)) for v in table.column("call_price").to_pylist())


@pytest.mark.parametrize("name", ["did-cdr-example.json", "did-cdr-awkward.json"])
def test_samples_decode_the_same_with_the_exact_reference_decoder(name: str) -> None:
    raw = (SAMPLES / name).read_bytes()
    fast, reference = decode_page(raw), exact.decode_page(raw)
    assert (fast.code, fast.message) == (reference.code, reference.message)
    assert fast.page is not None and reference.page is not None
    assert fast.page.table.num_rows > 0 and fast.page.table.equals(reference.page.table)


def test_an_error_sample_decodes_the_same_with_the_exact_reference_decoder() -> None:
    raw = (SAMPLES / "did-cdr-error-1002.json").read_bytes()
    fast, reference = decode_page(raw), exact.decode_page(raw)
    assert (fast.code, fast.message, fast.page) == (reference.code, reference.message, reference.page)
    assert (fast.code, fast.page) == (1002, None)
