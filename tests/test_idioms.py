"""What an analyst types on a fetched frame: each idiom gives the right answer or raises, never a silent wrong one.

One fetch per module from a simulator (seed 3, 2024-03-01..10, 5,370 calls);
every expected figure is computed here in plain Python (``Decimal``, ``date``)
over ``sim.ground_truth`` rows, never with the pandas idiom under test. Where
pandas 3.1 cannot do an operation on an exact decimal, the test pins that it
raises and that the ``df.cdr`` way gives the right answer. The README's
"Working with the frame" table is checked line by line here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import matplotlib
import pandas as pd
import pyarrow as pa
import pytest

import nxframe
import nxframe.export
import nxframe.schema
from nxframe.simulator import Simulator

matplotlib.use("Agg")

START, END = "2024-03-01", "2024-03-10"
DAY = dt.date(2024, 3, 1)
MONEY = ("fee_duration_minute", "call_price_unit", "call_price")
SIX = Decimal("0.000001")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=3) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def df(sim: Simulator) -> pd.DataFrame:
    with sim.client() as client:
        return client.fetch_cdr(START, END, progress=False)


@pytest.fixture(scope="module")
def dz(sim: Simulator) -> pd.DataFrame:
    """Two days with ``tz="Asia/Shanghai"``."""
    with sim.client() as client:
        return client.fetch_cdr(START, "2024-03-02", progress=False, tz="Asia/Shanghai")


@pytest.fixture(scope="module")
def rows(sim: Simulator) -> list[dict[str, Any]]:
    """The truth as plain Python values: ``date``/``datetime``, ``Decimal``, ``str``, ``None`` for NA."""
    truth = sim.ground_truth(START, END)
    out = []
    for record in truth.to_dict("records"):
        row: dict[str, Any] = {k: (None if v is None or v is pd.NA or v is pd.NaT else v) for k, v in record.items()}
        row["date"] = record["date"].date()
        for name in ("start_time", "end_time"):
            stamp: Any = row[name]
            row[name] = None if stamp is None else stamp.to_pydatetime()
        row["call_type"] = str(row["call_type"])
        out.append(row)
    return out


def on(rows: list[dict[str, Any]], day: dt.date) -> list[dict[str, Any]]:
    return [r for r in rows if r["date"] == day]


def total(rows: list[dict[str, Any]], name: str = "call_price") -> Decimal:
    return sum((r[name] for r in rows if r[name] is not None), Decimal(0))


def half_up(value: Decimal) -> Decimal:
    return value.quantize(SIX, rounding=ROUND_HALF_UP)


def exact_mean(values: list[Decimal]) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return half_up(sum(values, Decimal(0)) / len(values))


def plain(series: pd.Series) -> list[Any]:
    """Values with NA as ``None``."""
    return [None if v is pd.NA else v for v in series.tolist()]


def ids(frame: pd.DataFrame) -> list[int]:
    return [int(i) for i in frame["id"]]


def test_the_frame_has_the_schema_dtypes(df: pd.DataFrame, dz: pd.DataFrame) -> None:
    for frame, zone in ((df, None), (dz, "Asia/Shanghai")):
        wanted = nxframe.schema.pandas_dtypes(zone)
        for name, dtype in frame.dtypes.items():
            expected = wanted[name]
            if isinstance(dtype, pd.CategoricalDtype) and isinstance(expected, pd.CategoricalDtype):
                labels = expected.categories.tolist()  # documented labels first, then codes found
                assert dtype.categories.tolist()[: len(labels)] == labels
            else:
                assert dtype == expected, name
    assert df.date.dtype == "datetime64[s]" and str(dz.start_time.dtype) == "datetime64[s, Asia/Shanghai]"


# --- filtering by date and time (the block at the top of issue 11) ---------------------------------------------


def test_date_equals_a_string(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert ids(df[df.date == "2024-03-01"]) == [r["id"] for r in on(rows, DAY)] != []


def test_date_equals_a_timestamp(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert len(df[df.date == pd.Timestamp("2024-03-01")]) == len(on(rows, DAY)) > 0


def test_date_at_or_after_a_string(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert int((df.date >= "2024-03-05").sum()) == sum(r["date"] >= dt.date(2024, 3, 5) for r in rows) > 0


def test_date_between_strings_is_inclusive(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    wanted = sum(dt.date(2024, 3, 3) <= r["date"] <= dt.date(2024, 3, 4) for r in rows)
    assert len(df[df.date.between("2024-03-03", "2024-03-04")]) == wanted > 0


def test_start_time_after_a_string(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    noon = dt.datetime(2024, 3, 1, 12)
    wanted = [r["id"] for r in rows if r["start_time"] is not None and r["start_time"] > noon]
    assert ids(df[df.start_time > "2024-03-01 12:00"]) == wanted != []


def test_start_time_between_office_hours(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    low, high = dt.datetime(2024, 3, 2, 9), dt.datetime(2024, 3, 2, 17)
    wanted = sum(r["start_time"] is not None and low <= r["start_time"] <= high for r in rows)
    assert int(df.start_time.between("2024-03-02 09:00", "2024-03-02 17:00").sum()) == wanted > 0


def test_loc_partial_string_on_a_date_index(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    by_date = df.set_index("date")
    assert ids(by_date.loc["2024-03-01"]) == [r["id"] for r in on(rows, DAY)]
    assert len(by_date.loc["2024-03-05":"2024-03-07"]) == sum(5 <= r["date"].day <= 7 for r in rows)
    assert len(by_date.loc["2024-03"]) == len(rows)


def test_loc_an_hour_on_a_time_index(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    by_time = df.set_index("start_time").sort_index()
    wanted = sum(
        r["start_time"] is not None and r["start_time"].strftime("%Y-%m-%d %H") == "2024-03-02 10" for r in rows
    )
    assert len(by_time.loc["2024-03-02 10"]) == wanted > 0


def test_dt_accessors(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert int((df.date.dt.day == 1).sum()) == len(on(rows, DAY))
    hours = Counter(r["start_time"].hour for r in rows if r["start_time"] is not None)
    assert df.start_time.dt.hour.value_counts().to_dict() == dict(hours)
    assert df.date.dt.strftime("%Y-%m").unique().tolist() == ["2024-03"]
    assert df.date.dt.date.iloc[0] == DAY


def test_isin_with_timestamps(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    days = [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-02")]
    assert int(df.date.isin(days).sum()) == sum(r["date"].day in (1, 2) for r in rows) > 0


def test_a_call_length_from_the_times(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    length = (df.end_time - df.start_time).dt.total_seconds()
    wanted = [
        None if r["end_time"] is None or r["start_time"] is None else (r["end_time"] - r["start_time"]).total_seconds()
        for r in rows
    ]
    assert [None if pd.isna(v) else v for v in length] == wanted


def test_tz_aware_times_compare_with_wall_clock_strings(dz: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    noon = dt.datetime(2024, 3, 1, 12)
    wanted = sum(r["start_time"] is not None and r["start_time"] > noon and r["date"].day <= 2 for r in rows)
    assert int((dz.start_time > "2024-03-01 12:00").sum()) == wanted > 0
    assert int((dz.start_time > pd.Timestamp("2024-03-01 12:00", tz="Asia/Shanghai")).sum()) == wanted
    assert str(dz.start_time.dt.tz_convert("UTC").iloc[0].tz) == "UTC"
    latest = max(r["start_time"] for r in rows if r["start_time"] and r["date"].day <= 2)
    assert dz.cdr.describe().loc["max", "start_time"] == pd.Timestamp(latest, tz="Asia/Shanghai")
    with pytest.raises(
        TypeError, match=r"Invalid comparison between dtype=datetime64\[s, Asia/Shanghai\] and Timestamp"
    ):
        dz.start_time > pd.Timestamp("2024-03-01 12:00")  # naive vs aware: loud  # noqa: B015


# --- the traps that remain (README "Working with the frame"): pinned so the README stays true ------------------


def test_trap_a_datetime_date_matches_nothing_and_orders_raise(df: pd.DataFrame) -> None:
    assert int((df.date == DAY).sum()) == 0  # silently all-False on pandas 3.1: use "2024-03-01" or pd.Timestamp
    assert int(df.date.isin([DAY]).sum()) == 0
    assert int(df.date.isin(["2024-03-01"]).sum()) == 0  # isin does not parse strings either
    with pytest.raises(TypeError, match=r"Invalid comparison between dtype=datetime64\[s\] and date"):
        df.date >= DAY  # noqa: B015


def test_trap_query_with_a_date_string_matches_nothing(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert len(df.query("date == '2024-03-01'")) == 0  # pandas 3.1; pass a Timestamp instead:
    day = pd.Timestamp("2024-03-01")
    assert len(df.query("date == @day", local_dict={"day": day})) == len(on(rows, DAY)) > 0


def test_trap_a_code_column_compares_labels_not_codes(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert int((df.call_type == 0).sum()) == 0
    assert int((df.call_type == "incoming").sum()) == sum(r["call_type"] == "incoming" for r in rows) > 0


def test_trap_float_arithmetic_and_statistics_leave_decimals(df: pd.DataFrame) -> None:
    assert pa.types.is_floating((df.call_price * 1.1).dtype.pyarrow_dtype)
    assert isinstance(df.call_price.median(), float)
    assert isinstance(df.call_price.std(), float)
    assert isinstance(df.call_price.quantile(0.5), float)


def test_trap_round_is_half_to_even(df: pd.DataFrame) -> None:
    ties = pd.Series([Decimal("0.125"), Decimal("0.135")], dtype=df.call_price.dtype)
    assert ties.round(2).tolist() == [Decimal("0.12"), Decimal("0.14")]  # not half-up
    up = pa.compute.round(pa.array(ties), 2, round_mode="half_up")
    assert up.to_pylist() == [Decimal("0.13"), Decimal("0.14")]


def test_trap_to_json_needs_a_date_format(df: pd.DataFrame) -> None:
    with pytest.warns(pd.errors.Pandas4Warning, match="date_format"):
        df.head(1).to_json(orient="records")


def test_trap_excel_refuses_tz_aware_times(dz: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="timezone"):
        dz.head(2).to_excel(io.BytesIO(), index=False)
    dz.head(2).assign(start_time=dz.start_time.dt.tz_localize(None)).drop(columns="end_time").to_excel(io.BytesIO())


# --- grouping and reshaping --------------------------------------------------------------------------------------


def test_groupby_date_sum_is_exact(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    sums = df.groupby("date")["call_price"].sum()
    wanted: dict[dt.date, Decimal] = defaultdict(Decimal)
    for r in rows:
        wanted[r["date"]] += r["call_price"] or 0
    assert {k.date(): v for k, v in sums.items()} == wanted


def test_groupby_country_mean_is_exact_half_up(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    per: dict[str, list[Decimal]] = defaultdict(list)
    for r in rows:
        per[r["country_name"]].append(r["call_price"])
    assert df.groupby("country_name")["call_price"].mean().to_dict() == {k: exact_mean(v) for k, v in per.items()}


def test_groupby_a_code_column(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    sizes = df.groupby("call_type", observed=True).size().to_dict()
    assert sizes == dict(Counter(r["call_type"] for r in rows))


def test_groupby_two_keys_and_named_aggregation(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    table = df.groupby(["date", "call_type"], observed=True).agg(calls=("id", "size"), seconds=("call_duration", "sum"))
    wanted: dict[tuple[dt.date, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        wanted[(r["date"], r["call_type"])][0] += 1
        wanted[(r["date"], r["call_type"])][1] += r["call_duration"] or 0
    got = {
        (d.date(), c): [int(a), int(b)] for (d, c), (a, b) in zip(table.index, table.to_numpy().tolist(), strict=True)
    }
    assert got == dict(wanted)


def test_groupby_hour_of_start_time(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    sums = df.groupby(df.start_time.dt.hour)["call_price"].sum()
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["start_time"] is not None:
            wanted[r["start_time"].hour] += r["call_price"] or 0
    assert {int(k): v for k, v in sums.items()} == wanted


def test_pivot_table_sum_and_mean(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    sums = df.pivot_table(index="date", columns="call_type", values="call_price", aggfunc="sum", observed=True)
    means = df.pivot_table(index="date", columns="call_type", values="call_price", aggfunc="mean", observed=True)
    day = [r for r in on(rows, DAY) if r["call_type"] == "incoming"]
    assert sums.loc["2024-03-01", "incoming"] == total(day)
    assert means.loc["2024-03-01", "incoming"] == exact_mean([r["call_price"] for r in day])


def test_crosstab_and_value_counts(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert df.value_counts("country_name").to_dict() == dict(Counter(r["country_name"] for r in rows))
    assert df.call_type.value_counts().to_dict() == dict(Counter(r["call_type"] for r in rows))
    cross = pd.crosstab(df.date, df.call_type)
    assert int(cross.loc["2024-03-01", "outgoing"]) == sum(r["call_type"] == "outgoing" for r in on(rows, DAY))


def test_resample_daily_and_weekly(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    daily = df.set_index("start_time").resample("D")["call_price"].sum()
    wanted: dict[dt.date, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["start_time"] is not None:
            wanted[r["start_time"].date()] += r["call_price"] or 0
    assert {k.date(): v for k, v in daily.items() if v != 0 or k.date() in wanted} == wanted
    weekly = df.resample("W", on="date").size()  # weeks end on Sunday 2024-03-03 and 2024-03-10
    assert weekly.tolist() == [sum(r["date"].day <= 3 for r in rows), sum(r["date"].day > 3 for r in rows)]


def test_merge_with_datetime64_frames(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    calendar = pd.DataFrame({"date": pd.date_range(START, END), "weekday": pd.date_range(START, END).day_name()})
    for other in (calendar, calendar.astype({"date": "datetime64[s]"})):
        merged = df.merge(other, on="date", how="left")
        assert len(merged) == len(rows)
        assert merged.weekday.tolist() == [r["date"].strftime("%A") for r in rows]


def test_concat_two_fetches_keeps_dtypes(sim: Simulator, df: pd.DataFrame) -> None:
    with sim.client() as client:
        first = client.fetch_cdr("2024-03-01", progress=False)
        rest = client.fetch_cdr("2024-03-02", END, progress=False)
    both = pd.concat([first, rest], ignore_index=True)
    pd.testing.assert_frame_equal(both, df, check_categorical=False)
    assert both.date.dtype == "datetime64[s]" and both.call_price.dtype == df.call_price.dtype


def test_sort_values_by_money_and_time(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    top = df.sort_values("call_price", ascending=False, kind="stable").head(5)
    wanted = sorted(rows, key=lambda r: -(r["call_price"] or 0))[:5]
    assert ids(top) == [r["id"] for r in wanted]
    ordered = df.sort_values(["start_time", "id"], na_position="last")
    known = sorted((r for r in rows if r["start_time"]), key=lambda r: (r["start_time"], r["id"]))
    assert ids(ordered)[: len(known)] == [r["id"] for r in known]


# --- money: arithmetic, comparisons, reductions -----------------------------------------------------------------


def test_money_sum_and_mean_are_exact(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert df.call_price.sum() == total(rows)
    assert df.call_price.mean() == exact_mean([r["call_price"] for r in rows])
    assert df.fee_duration_minute.sum() == total(rows, "fee_duration_minute")
    assert df.call_duration.sum() == sum(r["call_duration"] or 0 for r in rows)


def test_money_max_idxmax_clip_fillna(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    highest = max(r["call_price"] for r in rows)
    assert df.call_price.max() == highest
    assert df.loc[df.call_price.idxmax(), "id"] == next(r["id"] for r in rows if r["call_price"] == highest)
    assert df.call_price.clip(upper=Decimal("0.1")).sum() == sum(min(r["call_price"], Decimal("0.1")) for r in rows)
    assert df.call_price.fillna(Decimal(0)).sum() == total(rows)


def test_arithmetic_between_money_columns_is_exact(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    doubled = df.call_price + df.call_price
    assert doubled.sum() == 2 * total(rows)
    product = df.call_price_unit * df.fee_duration_minute
    assert product.tolist()[:50] == [r["call_price_unit"] * r["fee_duration_minute"] for r in rows[:50]]
    assert (df.call_price * 3).sum() == 3 * total(rows)
    assert (df.call_price * Decimal("1.1")).sum() == total(rows) * Decimal("1.1")


def test_comparisons_with_decimal_and_float_literals(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    assert int((df.call_price > Decimal("0.5")).sum()) == sum(r["call_price"] > Decimal("0.5") for r in rows) > 0
    assert int((df.call_price > 0.5).sum()) == sum(r["call_price"] > Decimal("0.5") for r in rows)
    assert int((df.call_price == Decimal("0.055")).sum()) == sum(r["call_price"] == Decimal("0.055") for r in rows)
    with pytest.raises(TypeError, match=r"Invalid comparison between dtype=decimal128\(18, 6\)\[pyarrow\] and str"):
        df.call_price > "0.5"  # noqa: B015


def test_pandas_money_methods_that_raise(df: pd.DataFrame) -> None:
    with pytest.raises(pa.ArrowTypeError, match=r"int or Decimal object expected, got numpy\.int64"):
        df["call_price"].describe()
    with pytest.raises(TypeError, match=r"operation 'cumsum' not supported for dtype 'decimal128\(18, 6\)\[pyarrow\]'"):
        df["call_price"].cumsum()
    with pytest.raises(TypeError, match="No matching signature found"):
        df.nlargest(3, "call_price")
    with pytest.raises(pa.ArrowInvalid, match="Divide by zero"):
        df.call_price / df.fee_duration_minute
    assert not set(MONEY) & set(df.describe().columns)  # DataFrame.describe() drops money: df.cdr.describe()


# --- the df.cdr accessor ------------------------------------------------------------------------------------------


def test_cdr_totals_are_the_reports_figures(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    totals = df.cdr.totals()
    assert totals.columns.tolist() == ["calls", "answered", "duration_s", "billed_minutes", "cost"]
    assert totals.iloc[0].tolist() == [
        len(rows),
        sum((r["call_duration"] or 0) > 0 for r in rows),
        sum(r["call_duration"] or 0 for r in rows),
        total(rows, "fee_duration_minute"),
        total(rows),
    ]
    kernel = nxframe.report.tables.totals(df)
    assert (
        totals.loc[0, "cost"] == kernel.loc[0, "cost"]
        and totals.loc[0, "duration_s"] == kernel.loc[0, "duration_seconds"]
    )


def test_cdr_describe_is_exact(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    described = df.cdr.describe()
    assert described.index.tolist() == ["count", "mean", "std", "min", "25%", "50%", "75%", "max", "sum"]
    assert "id" not in described.columns and set(MONEY) <= set(described.columns)
    prices = sorted(r["call_price"] for r in rows)
    n = len(prices)
    column = described["call_price"]
    assert column["count"] == n and column["sum"] == total(rows)
    assert column["mean"] == exact_mean(prices)
    assert (column["min"], column["max"]) == (prices[0], prices[-1])
    assert [column["25%"], column["50%"], column["75%"]] == [prices[int(q * (n - 1))] for q in (0.25, 0.5, 0.75)]
    with localcontext() as context:
        context.prec = 60
        mean = sum(prices, Decimal(0)) / n
        std = (sum((p - mean) ** 2 for p in prices) / (n - 1)).sqrt()
    assert column["std"] == half_up(std)
    assert described.loc["max", "start_time"] == max(r["start_time"] for r in rows if r["start_time"])
    assert described.loc["sum", "start_time"] is pd.NA


def test_cdr_cumsum_runs_exactly(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    running = df.cdr.cumsum("call_price")
    assert running.dtype == pd.ArrowDtype(pa.decimal128(18, 6))
    expected, acc = [], Decimal(0)
    for r in rows:
        acc += r["call_price"]
        expected.append(acc)
    assert running.tolist() == expected


def test_cdr_cumsum_keeps_na_and_refuses_overflow(df: pd.DataFrame) -> None:
    money = df.call_price.dtype
    frame = pd.DataFrame({"x": pd.Series([Decimal("1.5"), None, Decimal("2.25")], dtype=money)})
    assert plain(frame.cdr.cumsum("x")) == [Decimal("1.5"), None, Decimal("3.75")]
    big = pd.DataFrame({"x": pd.Series([Decimal("999999999999.999999"), Decimal("0.000001")], dtype=money)})
    with pytest.raises(nxframe.InvalidInputError, match="passes decimal128"):
        big.cdr.cumsum("x")


def test_cdr_nlargest_like_pandas(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    top = df.cdr.nlargest(5, "call_price")
    wanted = sorted(rows, key=lambda r: -r["call_price"])[:5]  # stable: earlier rows win ties
    assert ids(top) == [r["id"] for r in wanted]
    assert top.call_price.tolist() == [r["call_price"] for r in wanted]
    ties = pd.DataFrame({"x": pd.Series([Decimal(1), Decimal(3), None, Decimal(3)], dtype=df.call_price.dtype)})
    assert ties.cdr.nlargest(1, "x").index.tolist() == [1]
    assert ties.cdr.nlargest(1, "x", keep="last").index.tolist() == [3]
    assert ties.cdr.nlargest(1, "x", keep="all").index.tolist() == [1, 3]
    assert ties.cdr.nlargest(5, "x").index.tolist() == [1, 3, 0]  # NA is never chosen


def test_cdr_ratio_is_exact_and_na_on_zero(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    ratio = df.cdr.ratio("call_price", "fee_duration_minute")
    wanted = []
    with localcontext() as context:
        context.prec = 60
        for r in rows:
            minutes = r["fee_duration_minute"]
            wanted.append(None if not minutes else half_up(r["call_price"] / minutes))
    assert plain(ratio) == wanted
    assert None in wanted and ratio.dtype == pd.ArrowDtype(pa.decimal128(18, 6))


def test_cdr_floats_for_charts(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    floats = df.cdr.floats()
    assert all(floats[name].dtype == "float64" for name in MONEY)
    assert floats.call_price.tolist() == [float(r["call_price"]) for r in rows]
    assert df.call_price.dtype == pd.ArrowDtype(pa.decimal128(18, 6))  # the frame itself is untouched


def test_help_lists_the_accessor_methods(df: pd.DataFrame) -> None:
    doc = type(df.cdr).__doc__ or ""
    for method in ("totals", "describe", "cumsum", "nlargest", "ratio", "floats"):
        assert method in doc and "Example:" in (getattr(df.cdr, method).__doc__ or "")


# --- files and charts ---------------------------------------------------------------------------------------------


def test_to_json_with_iso_dates_keeps_money_text(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    records = json.loads(df.head(3).to_json(orient="records", date_format="iso"))
    assert [r["call_price"] for r in records] == [str(r["call_price"]) for r in rows[:3]]
    assert records[0]["date"].startswith("2024-03-01T00:00:00")


def test_to_csv_and_back_with_exact_text(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    back = pd.read_csv(io.StringIO(df.to_csv(index=False)), dtype=str)
    assert back.call_price.tolist() == [str(r["call_price"]) for r in rows]
    assert back.astype({"call_price": df.call_price.dtype}).call_price.sum() == total(rows)


def test_to_parquet_and_back(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    buffer = io.BytesIO()
    df.to_parquet(buffer)
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    assert back.date.dtype.kind == "M" and len(back[back.date == "2024-03-01"]) == len(on(rows, DAY))
    assert sum(back.call_price) == total(rows)


def test_write_frame_parquet_reads_in_plain_pandas(df: pd.DataFrame, rows: list[dict[str, Any]], tmp_path: Any) -> None:
    path = nxframe.export.write_frame(df, tmp_path / "x.parquet")
    plain = pd.read_parquet(path)
    assert len(plain[plain.date == "2024-03-01"]) == len(on(rows, DAY))
    assert plain.call_price.tolist() == [r["call_price"] for r in rows]
    pd.testing.assert_frame_equal(nxframe.export.read_frame(path), df)


def test_to_excel_writes_money_as_numbers(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    import openpyxl

    buffer = io.BytesIO()
    df.head(5).to_excel(buffer, index=False)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet is not None
    column = [cell.value for cell in sheet["M"]]
    assert column[0] == "call_price" and column[1:] == [float(r["call_price"]) for r in rows[:5]]


def test_plot_with_agg(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    import matplotlib.pyplot as plt

    axes = df.groupby("date")["call_price"].sum().plot()
    assert list(axes.lines[0].get_ydata()) == [float(total(on(rows, DAY + dt.timedelta(days=i)))) for i in range(10)]
    plt.close("all")
    with pytest.raises(TypeError, match="ufunc 'isfinite' not supported for the input types"):
        df.call_price.plot.hist()  # a histogram of decimals raises: use df.cdr.floats()
    df.cdr.floats().call_price.plot.hist()
    plt.close("all")
