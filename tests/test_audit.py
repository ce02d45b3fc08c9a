"""The billing check against the simulator: planted off-rule calls found exactly, nothing else.

The expected answer is computed here, from ``Simulator.records`` with Python
``Decimal``: an implementation of the documented rules that shares no code
with nxframe's vectorised Arrow one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nxframe
from nxframe.report import AUDIT_COLUMNS
from nxframe.simulator import Simulator

START, END = dt.date(2024, 5, 1), dt.date(2024, 5, 4)
DATES = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
SIX = Decimal("0.000001")
MONEY = pd.ArrowDtype(pa.decimal128(18, 6))


def rule_minutes(duration: int, fee_type: int) -> Decimal:
    if fee_type == 0:
        return Decimal(-(-duration // 60))  # every started minute
    return (Decimal(duration) / Decimal(60)).quantize(SIX, rounding=ROUND_HALF_UP)


def rule_check(
    record: dict[str, Any], minutes_tolerance: Decimal = Decimal("0.005"), price_tolerance: Decimal = SIX
) -> tuple[str, Decimal, Decimal, Decimal] | None:
    """(issue, expected minutes, expected price, overcharge) of a flagged record, else None."""
    duration, fee_type = int(record["callDuration"]), int(record["feeType"])
    minutes, unit, price = (Decimal(str(record[f])) for f in ("feeDurationMinute", "callPriceUnit", "callPrice"))
    expected_minutes = rule_minutes(duration, fee_type)
    expected_price = (expected_minutes * unit).quantize(SIX, rounding=ROUND_HALF_UP)
    minutes_off = abs(minutes - expected_minutes) > minutes_tolerance
    price_off = abs(price - expected_price) > price_tolerance + minutes_tolerance * unit
    if not (minutes_off or price_off):
        return None
    issue = "minutes+price" if minutes_off and price_off else "minutes" if minutes_off else "price"
    return issue, expected_minutes, expected_price, price - expected_price


@dataclass
class Billed:
    sim: Simulator
    lake: Path
    frame: pd.DataFrame
    records: dict[int, tuple[dt.date, dict[str, Any]]]
    off_rule: dict[int, str]


@pytest.fixture(scope="module")
def billed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Billed]:
    """Four days, 3% of answered calls billed off the rules, synced into a lake and fetched as a frame."""
    lake = tmp_path_factory.mktemp("audit") / "lake"
    with Simulator(seed=11, rows_per_day=300, off_rule=0.03, canary=True) as sim, sim.client() as client:
        nxframe.sync_lake(lake, START, END, client=client, progress=False)
        frame = client.fetch_cdr(START, END, progress=False)
        records = {r["id"]: (date, r) for date in DATES for r in sim.records(date)}
        yield Billed(sim, lake, frame, records, sim.off_rule_calls(START, END))


def test_the_audit_finds_exactly_the_planted_calls_with_exact_overcharges(billed: Billed) -> None:
    audit = nxframe.audit_billing(billed.frame)
    assert len(billed.off_rule) >= 10  # the month has something to find
    assert set(audit["id"].tolist()) == set(billed.off_rule)
    price_signs: list[tuple[str, bool]] = []  # (planted kind, overcharge > 0) of the calls billed off on price alone
    expected = {i: rule_check(r) for i, (_date, r) in billed.records.items()}
    assert {i for i, found in expected.items() if found} == set(billed.off_rule)
    for row in audit.to_dict("records"):
        issue, minutes, price, overcharge = expected[row["id"]]  # type: ignore[misc]
        assert (row["issue"], row["expected_minutes"], row["expected_price"], row["overcharge"]) == (
            issue,
            minutes,
            price,
            overcharge,
        )
        assert row["overcharge"] == row["call_price"] - row["expected_price"]
        kind = billed.off_rule[row["id"]]
        assert issue == kind.rsplit("_", 1)[0]  # "minutes_over" -> "minutes", "minutes+price_under" -> "minutes+price"
        if kind.startswith("price"):
            price_signs.append((kind, row["overcharge"] > 0))
    assert {kind for kind, _ in price_signs} == {"price_over", "price_under"}  # both directions were checked
    assert all(over == kind.endswith("over") for kind, over in price_signs)


def test_the_columns_order_and_types_are_the_documented_ones(billed: Billed) -> None:
    audit = nxframe.audit_billing(billed.frame)
    assert tuple(audit.columns) == AUDIT_COLUMNS
    for name in ("fee_duration_minute", "expected_minutes", "call_price_unit", "call_price", "expected_price"):
        assert audit[name].dtype == MONEY, name
    assert audit["overcharge"].dtype == MONEY
    assert audit["date"].dtype == "datetime64[s]"
    ordered = audit.sort_values(["date", "id"], kind="stable")
    assert audit["id"].tolist() == ordered["id"].tolist()
    assert set(audit["issue"]) <= {"minutes", "price", "minutes+price"}


def test_a_lake_and_its_frame_give_the_same_audit(billed: Billed) -> None:
    from_lake = nxframe.audit_billing(billed.lake)
    pd.testing.assert_frame_equal(from_lake, nxframe.audit_billing(billed.frame), check_exact=True)


def test_start_and_end_pick_the_dates(billed: Billed) -> None:
    day = DATES[1]
    audit = nxframe.audit_billing(billed.lake, day, day)
    assert set(audit["date"].dt.date) <= {day}
    assert set(audit["id"]) == {i for i in billed.off_rule if billed.records[i][0] == day}
    assert len(nxframe.audit_billing(billed.frame, "2024-05-02", "2024-05-02")) == len(audit)


def test_a_month_billed_by_the_rules_is_an_empty_frame_with_the_columns(tmp_path: Path) -> None:
    with Simulator(seed=11, rows_per_day=300, canary=True) as sim, sim.client() as client:
        frame = client.fetch_cdr(START, END, progress=False)
        records = [r for date in DATES for r in sim.records(date)]
    assert all(rule_check(r, Decimal(0), Decimal(0)) is None for r in records)  # exactly by the rules
    audit = nxframe.audit_billing(frame)
    assert audit.empty and tuple(audit.columns) == AUDIT_COLUMNS
    assert audit["overcharge"].dtype == MONEY
    assert nxframe.audit_billing(frame, minutes_tolerance="0", price_tolerance="0").empty


def test_the_tolerances_widen_and_narrow_the_check(billed: Billed) -> None:
    frame = billed.frame[~billed.frame["id"].isin(list(billed.off_rule))].copy()
    odd = [int(d) % 60 != 0 for d in frame["call_duration"].fillna(0)]
    per_second = frame.index[(frame["fee_type"] == "1+1") & pd.Series(odd, index=frame.index)][0]
    per_minute = frame.index[(frame["fee_type"] == "60+60") & (frame["call_duration"] > 0)][0]
    # a server rounding 1+1 minutes to 2 places: forgiven by the default, flagged at 0
    minutes = frame.at[per_second, "fee_duration_minute"].quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    frame.loc[per_second, "fee_duration_minute"] = minutes
    # one unit in the 6th place on a price: forgiven by the default price tolerance, flagged at 0
    frame.loc[per_minute, "call_price"] = frame.at[per_minute, "call_price"] + SIX
    assert nxframe.audit_billing(frame).empty
    strict = nxframe.audit_billing(frame, minutes_tolerance="0", price_tolerance=Decimal(0))
    assert dict(zip(strict["id"], strict["issue"], strict=True)) == {
        frame.at[per_second, "id"]: "minutes",
        frame.at[per_minute, "id"]: "price",
    }
    assert nxframe.audit_billing(billed.frame, minutes_tolerance="2", price_tolerance="1000").empty


@pytest.mark.parametrize("bad", [0.005, float("nan"), "-0.1", "abc", "NaN", "Infinity", True, None, [1]])
def test_a_float_or_a_bad_tolerance_is_invalid_input(billed: Billed, bad: Any) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="minutes_tolerance"):
        nxframe.audit_billing(billed.frame, minutes_tolerance=bad)
    with pytest.raises(nxframe.InvalidInputError, match="price_tolerance"):
        nxframe.audit_billing(billed.frame, price_tolerance=bad)


def test_unknown_fee_types_and_missing_values_are_flagged_with_na_expectations(billed: Billed) -> None:
    frame = billed.frame[~billed.frame["id"].isin(list(billed.off_rule))].head(6).copy()
    frame["fee_type"] = frame["fee_type"].cat.add_categories(["7"])
    frame.iloc[0, frame.columns.get_loc("fee_type")] = "7"
    frame.iloc[1, frame.columns.get_loc("call_price")] = pd.NA
    frame.iloc[2, frame.columns.get_loc("call_duration")] = pd.NA
    audit = nxframe.audit_billing(frame).set_index("id")
    ids = frame["id"].tolist()
    assert list(audit.index) == ids[:3]
    assert audit.loc[ids[0], "issue"] == "unknown_fee_type"
    assert audit.loc[ids[0], "fee_type"] == "7"
    assert audit.loc[ids[0], ["expected_minutes", "expected_price", "overcharge"]].isna().all()
    assert audit.loc[ids[1], "issue"] == "missing_values"
    assert not pd.isna(audit.loc[ids[1], "expected_price"]) and pd.isna(audit.loc[ids[1], "overcharge"])
    assert audit.loc[ids[2], "issue"] == "missing_values" and pd.isna(audit.loc[ids[2], "expected_minutes"])


def test_a_zero_second_call_must_bill_nothing(billed: Billed) -> None:
    frame = billed.frame[billed.frame["call_duration"] == 0].head(1).copy()
    frame["fee_duration_minute"] = pd.array([Decimal(1)], dtype=MONEY)
    frame["call_price"] = frame["call_price_unit"]
    row = nxframe.audit_billing(frame).iloc[0]
    assert (row["issue"], row["expected_minutes"], row["expected_price"]) == ("minutes+price", 0, 0)
    assert row["overcharge"] == frame["call_price_unit"].iloc[0]


def test_bad_sources_and_dates_are_invalid_input(billed: Billed, tmp_path: Path) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="no lake"):
        nxframe.audit_billing(tmp_path / "nowhere")
    with pytest.raises(nxframe.InvalidInputError, match="end"):
        nxframe.audit_billing(billed.frame, "2024-05-03", "2024-05-01")
    with pytest.raises(nxframe.InvalidInputError, match="floats"):
        nxframe.audit_billing(billed.frame.cdr.floats())
    with pytest.raises(nxframe.InvalidInputError, match=r"source must be a DataFrame .* or a lake path, not int"):
        nxframe.audit_billing(42)  # type: ignore[arg-type]


durations = st.integers(0, 50_000)
units = st.decimals(min_value=0, max_value=Decimal("99999.999999"), places=6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(durations, st.sampled_from([0, 1]), units, st.booleans()), min_size=1, max_size=30))
def test_the_vectorised_rules_equal_decimal_arithmetic(rows: list[tuple[int, int, Decimal, bool]]) -> None:
    """Every row billed one minute (or one millionth) off: the audit's expectations equal Decimal's."""
    records = []
    for n, (duration, fee_type, unit, shift) in enumerate(rows):
        minutes = rule_minutes(duration, fee_type) + (1 if shift else 0)
        records.append(
            {
                "id": n,
                "callDuration": duration,
                "feeType": fee_type,
                "feeDurationMinute": minutes,
                "callPriceUnit": unit,
                "callPrice": (minutes * unit).quantize(SIX, rounding=ROUND_HALF_UP) + SIX,
            }
        )
    frame = pd.DataFrame(
        {
            "date": pd.Series([dt.datetime(2024, 5, 1)] * len(rows), dtype="datetime64[s]"),
            "id": pd.array([r["id"] for r in records], dtype=pd.ArrowDtype(pa.int64())),
            "did_number": pd.array(["6621"] * len(rows), dtype=pd.ArrowDtype(pa.string())),
            "fee_type": pd.Categorical([("60+60", "1+1")[r["feeType"]] for r in records], categories=["60+60", "1+1"]),
            "call_duration": pd.array([r["callDuration"] for r in records], dtype=pd.ArrowDtype(pa.int64())),
            **{
                name: pd.array([r[field] for r in records], dtype=MONEY)
                for name, field in (
                    ("fee_duration_minute", "feeDurationMinute"),
                    ("call_price_unit", "callPriceUnit"),
                    ("call_price", "callPrice"),
                )
            },
        }
    )
    audit = nxframe.audit_billing(frame, minutes_tolerance="0", price_tolerance="0").set_index("id")
    assert list(audit.index) == [r["id"] for r in records]  # every row is one millionth off at least
    for record in records:
        found = audit.loc[record["id"]]
        expected_minutes = rule_minutes(record["callDuration"], record["feeType"])
        expected_price = (expected_minutes * record["callPriceUnit"]).quantize(SIX, rounding=ROUND_HALF_UP)
        assert found["expected_minutes"] == expected_minutes
        assert found["expected_price"] == expected_price
        assert found["overcharge"] == record["callPrice"] - expected_price
        assert math.isfinite(float(found["overcharge"]))
