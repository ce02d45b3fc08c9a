"""fetch_cdr against the simulator over real HTTP: the result equals the ground truth exactly."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import nxframe
from nxframe.pages import FetchProgress
from nxframe.simulator import Simulator

DAY = "2024-03-05"


@pytest.mark.parametrize("page_size", [999, 100])
def test_a_2500_row_day_equals_ground_truth_at_any_page_size(
    sim: Simulator, client: nxframe.Client, page_size: int
) -> None:
    sim.set_rows(DAY, 2500)
    df = nxframe.fetch_cdr(DAY, client=client, page_size=page_size, progress=False)
    truth = sim.ground_truth(DAY)
    assert len(df) == 2500
    pd.testing.assert_frame_equal(df, truth)
    assert df["id"].is_unique
    pages = [r.body["page"] for r in sim.requests if r.body]
    assert sorted(pages) == list(range(1, -(-2500 // page_size) + 1))


def test_a_week_comes_back_in_date_order_with_every_row(sim: Simulator, client: nxframe.Client) -> None:
    df = client.fetch_cdr("2024-03-01", "2024-03-07", progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth("2024-03-01", "2024-03-07"))
    dates = df["date"].drop_duplicates().tolist()
    assert dates == [pd.Timestamp(2024, 3, d) for d in range(1, 8)]


def test_money_is_the_json_text_digit_for_digit(sim: Simulator, client: nxframe.Client) -> None:
    """Every decimal equals the decimal text the server sent, including 16-digit ones a float would change."""
    df = client.fetch_cdr(DAY, progress=False)
    sent = {r["id"]: r for r in sim.records(DAY)}
    long_digits = 0
    for row in df[["id", "fee_duration_minute", "call_price_unit", "call_price"]].itertuples(index=False):
        record = sent[row.id]
        for got, field in zip(row[1:], ("feeDurationMinute", "callPriceUnit", "callPrice"), strict=True):
            assert isinstance(got, Decimal)
            assert got == Decimal(str(record[field]))
            if len(got.normalize().as_tuple().digits) > 15:
                long_digits += 1
                assert Decimal(repr(float(got))) != got  # a float would have changed it
    assert long_digits >= 1
    assert df["call_price"].sum() == sum(Decimal(str(r["callPrice"])) for r in sent.values())


def test_the_schema_is_exactly_the_design_table(client: nxframe.Client) -> None:
    df = client.fetch_cdr(DAY, progress=False)
    expected = [
        ("date", np.dtype("datetime64[s]")),
        ("id", pd.ArrowDtype(pa.int64())),
        ("did_number", pd.ArrowDtype(pa.string())),
        ("call_number", pd.ArrowDtype(pa.string())),
        ("call_type", "category"),
        ("country_name", pd.ArrowDtype(pa.string())),
        ("start_time", np.dtype("datetime64[s]")),
        ("end_time", np.dtype("datetime64[s]")),
        ("call_duration", pd.ArrowDtype(pa.int64())),
        ("fee_type", "category"),
        ("fee_duration_minute", pd.ArrowDtype(pa.decimal128(18, 6))),
        ("call_price_unit", pd.ArrowDtype(pa.decimal128(18, 6))),
        ("call_price", pd.ArrowDtype(pa.decimal128(18, 6))),
        ("end_direction", "category"),
        ("end_reason", pd.ArrowDtype(pa.string())),
        ("end_reason_name", pd.ArrowDtype(pa.string())),
        ("caller_ip", pd.ArrowDtype(pa.string())),
        ("callee_ip", pd.ArrowDtype(pa.string())),
        ("extra", pd.ArrowDtype(pa.string())),
    ]
    assert [(name, str(dtype)) for name, dtype in df.dtypes.items()] == [(n, str(d)) for n, d in expected]
    assert list(df["call_type"].cat.categories[:2]) == ["incoming", "outgoing"]
    assert list(df["fee_type"].cat.categories[:2]) == ["60+60", "1+1"]
    assert list(df["end_direction"].cat.categories[:2]) == ["caller", "callee"]
    assert not any(str(dtype) in ("object", "float64", "double[pyarrow]") for dtype in df.dtypes)


def test_an_empty_day_has_every_column_and_no_rows(sim: Simulator, client: nxframe.Client) -> None:
    sim.set_rows(DAY, 0)
    df = client.fetch_cdr(DAY, progress=False)
    full = client.fetch_cdr("2024-03-06", progress=False)
    assert len(df) == 0
    assert list(df.columns) == [c.name for c in nxframe.COLUMNS]
    assert df.dtypes.astype(str).tolist() == full.dtypes.astype(str).tolist()


def test_filters_are_sent_and_respected(sim: Simulator, client: nxframe.Client) -> None:
    did = sim.records(DAY)[0]["number"]
    df = client.fetch_cdr(DAY, did_number=did, call_type="outgoing", progress=False)
    assert len(df) > 0
    assert set(df["did_number"]) == {did}
    assert set(df["call_type"].astype(str)) == {"outgoing"}
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY, did_number=did, call_type="outgoing"))
    assert sim.requests[-1].body == {"date": DAY, "didNumber": did, "page": 1, "pageSize": 999, "type": 1}


def test_a_call_number_filter_with_no_calls_gives_an_empty_frame(client: nxframe.Client) -> None:
    df = client.fetch_cdr(DAY, call_number="+000", progress=False)
    assert df.empty and list(df.columns) == [c.name for c in nxframe.COLUMNS]


def test_awkward_json_is_decoded_exactly(sim: Simulator, client: nxframe.Client) -> None:
    """Decimals as strings, phone numbers as numbers, undocumented fields and codes, empty times."""
    awkward = next(dt.date(2024, 3, d) for d in range(1, 29) if sim.generator.is_awkward(dt.date(2024, 3, d)))
    records = sim.records(awkward)
    assert any(isinstance(r["callNumber"], int) for r in records)
    assert any(isinstance(r["callPrice"], str) for r in records)
    assert any("taskId" in r for r in records) and any("taskId" not in r for r in records)
    assert any(r["endTime"] == "" for r in records)  # every branch below runs
    df = client.fetch_cdr(awkward, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(awkward))
    by_id = df.set_index("id")
    for record in records:
        row = by_id.loc[record["id"]]
        assert row["call_number"] == str(record["callNumber"])
        assert row["call_price"] == Decimal(str(record["callPrice"]))
        if "taskId" in record:
            assert f'"taskId":{record["taskId"]}' in row["extra"]
        else:
            assert pd.isna(row["extra"])
        if record["endTime"] == "":
            assert pd.isna(row["end_time"])


def test_an_undocumented_code_is_kept_as_text(sim: Simulator, client: nxframe.Client) -> None:
    df = client.fetch_cdr("2024-03-01", "2024-03-07", progress=False)
    raw = [r for d in range(1, 8) for r in sim.records(f"2024-03-0{d}") if r["endDirection"] == 2]
    assert raw, "the simulator sends endDirection 2 now and then"
    assert (df["end_direction"].astype(str) == "2").sum() == len(raw)
    assert "2" in df["end_direction"].cat.categories


def test_tz_makes_times_aware_with_the_same_wall_clock(sim: Simulator, client: nxframe.Client) -> None:
    naive = client.fetch_cdr(DAY, progress=False)
    aware = client.fetch_cdr(DAY, tz="Asia/Shanghai", progress=False)
    assert str(aware["start_time"].dtype) == "datetime64[s, Asia/Shanghai]"
    assert (aware["start_time"].dt.tz_localize(None) == naive["start_time"]).all()
    pd.testing.assert_frame_equal(aware, sim.ground_truth(DAY, tz="Asia/Shanghai"))


def test_sha256_signing_is_accepted(sim: Simulator) -> None:
    with sim.client(algorithm="sha256") as c:
        df = c.fetch_cdr(DAY, progress=False)
    assert len(df) == len(sim.ground_truth(DAY))
    assert sim.requests[-1].headers["algorithm"] == "sha256"
    assert len(sim.requests[-1].headers["sign"]) == 64


def test_progress_callback_reaches_every_page(sim: Simulator, client: nxframe.Client) -> None:
    sim.set_rows(DAY, 950)
    seen: list[FetchProgress] = []
    client.fetch_cdr(DAY, "2024-03-06", page_size=100, progress=seen.append)
    last = seen[-1]
    assert last.pages_done == last.pages_total == 10 + -(-len(sim.records("2024-03-06")) // 100)
    assert last.dates_done == last.dates_total == 2
    assert last.rows == 950 + len(sim.records("2024-03-06"))


def test_module_level_fetch_uses_the_environment(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    df = nxframe.fetch_cdr(dt.date(2024, 3, 5), progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))


def test_a_server_that_caps_its_page_size_is_paged_by_its_size() -> None:
    with Simulator(seed=7, max_page_size=300) as capped, capped.client() as c:
        capped.set_rows(DAY, 1000)
        df = c.fetch_cdr(DAY, progress=False)
        pd.testing.assert_frame_equal(df, capped.ground_truth(DAY))
        assert sorted(r.body["page"] for r in capped.requests if r.body) == [1, 2, 3, 4]


def test_a_fetch_into_a_lake_holds_the_writer_lock_until_it_ends(sim: Simulator, tmp_path: Path) -> None:
    """Another writer (here: another process) cannot take the lake while fetch_cdr(lake=) writes it."""
    lake = tmp_path / "lake"
    probe = (
        "import sys, nxframe\n"
        "from nxframe.lake import Lake\n"
        "try:\n"
        "    with Lake(sys.argv[1]).writer(lock_timeout=0):\n"
        "        print('taken')\n"
        "except nxframe.LakeError as error:\n"
        "    print('refused', error)\n"
    )

    def try_the_lock() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(lake)], capture_output=True, text=True).stdout

    during: list[str] = []

    def after_the_first_page(state: FetchProgress) -> None:  # runs inside the fetch, between two pages
        if state.pages_done == 1 and not during:
            during.append(try_the_lock())

    with sim.client(concurrency=1) as c:
        df = c.fetch_cdr("2024-03-04", "2024-03-06", lake=lake, progress=after_the_first_page)
    assert during[0].startswith("refused") and "pid" in during[0]
    assert try_the_lock().strip() == "taken"
    pd.testing.assert_frame_equal(df, sim.ground_truth("2024-03-04", "2024-03-06"))
