"""The monthly report: a month synced from the simulator over HTTP, checked against the ground truth in Decimal.

One month (February 2024, default volume, ~18k calls) is synced once per
module; tests that need a damaged lake copy it. The expected figures are
computed from ``Simulator.records`` with Python ``Decimal``: no pandas, no
Arrow, nothing shared with the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nxframe
from nxframe.lake import Lake
from nxframe.report import CHART_TITLES, TABLES, Report, month_range, monthly_report
from nxframe.simulator import Simulator

MONTH = "2024-02"
FIRST, LAST = dt.date(2024, 2, 1), dt.date(2024, 2, 29)
DAYS = [FIRST + dt.timedelta(days=n) for n in range(29)]
SIX = Decimal("0.000001")
MEASURES = ("calls", "answered", "duration_seconds", "billed_minutes", "cost")
DECIMAL_TYPE = pd.ArrowDtype(pa.decimal128(38, 6))


@dataclass
class Figures:
    """What a report must say, from the simulator's records in plain Python."""

    calls: int = 0
    answered: int = 0
    duration_seconds: int = 0
    billed_minutes: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    def add(self, record: dict[str, Any]) -> None:
        self.calls += 1
        self.answered += int(record["callDuration"]) > 0
        self.duration_seconds += int(record["callDuration"])
        self.billed_minutes += Decimal(str(record["feeDurationMinute"]))
        self.cost += Decimal(str(record["callPrice"]))

    def row(self) -> tuple[int, int, int, Decimal, Decimal]:
        return (self.calls, self.answered, self.duration_seconds, self.billed_minutes, self.cost)


@dataclass
class Month:
    sim: Simulator
    client: nxframe.Client
    lake: Path
    records: dict[dt.date, list[dict[str, Any]]]

    def figures(self, dates: list[dt.date] | None = None, key: str | None = None) -> dict[Any, Figures]:
        """Totals (``key=None``) or totals per API field value, over ``dates``."""
        found: dict[Any, Figures] = defaultdict(Figures)
        for date in DAYS if dates is None else dates:
            for record in self.records[date]:
                found[None if key is None else str(record[key])].add(record)
        return found


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    """February 2024 synced into a lake over real HTTP, once for the module."""
    lake = tmp_path_factory.mktemp("report") / "lake"
    with Simulator(seed=7) as sim, sim.client() as client:
        synced = nxframe.sync_lake(lake, FIRST, LAST, client=client, progress=False)
        assert set(synced["action"]) == {"fetched"}
        yield Month(sim, client, lake, {date: sim.records(date) for date in DAYS})


@pytest.fixture(scope="module")
def report(month: Month) -> Report:
    return monthly_report(month.lake, MONTH)


@pytest.fixture
def gappy_lake(month: Month, tmp_path: Path) -> Path:
    """A copy of the month's lake with three partitions deleted."""
    lake = tmp_path / "lake"
    shutil.copytree(month.lake, lake)
    for date in ("2024-02-10", "2024-02-11", "2024-02-20"):
        shutil.rmtree(lake / f"date={date}")
    return lake


GAPS = [dt.date(2024, 2, 10), dt.date(2024, 2, 11), dt.date(2024, 2, 20)]


def totals_row(report: Report) -> tuple[Any, ...]:
    row = report.totals.iloc[0]
    return tuple(row[name] for name in MEASURES)


# -- the month -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [("2024-02", FIRST, LAST), ("2023-02", dt.date(2023, 2, 1), dt.date(2023, 2, 28)), ("1999-12", None, None)],
)
def test_month_range_is_the_first_and_last_day(text: str, first: dt.date | None, last: dt.date | None) -> None:
    first = first or dt.date(1999, 12, 1)
    last = last or dt.date(1999, 12, 31)
    assert month_range(text) == (first, last)


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024-2", "24-02", "2024-02-01", "", "Feb 2024", "0000-01"])
def test_bad_month_text_is_invalid_input(text: str) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=r"YYYY-MM|does not exist"):
        month_range(text)


@pytest.mark.parametrize("value", [None, 202402, dt.date(2024, 2, 1)])
def test_a_month_that_is_not_text_is_invalid_input(value: Any) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="YYYY-MM"):
        monthly_report(pd.DataFrame(), value)


def test_the_month_is_checked_before_the_source_is_touched(tmp_path: Path) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="month"):
        monthly_report(tmp_path / "no-such-lake", "2024-2")


# -- bad sources -----------------------------------------------------------------------


def test_a_source_that_is_neither_frame_nor_lake_is_invalid_input() -> None:
    with pytest.raises(nxframe.InvalidInputError, match=r"DataFrame .* or a lake path"):
        monthly_report(42, MONTH)  # type: ignore[arg-type]


def test_a_lake_path_that_does_not_exist_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="no lake at"):
        monthly_report(tmp_path / "typo", MONTH)


def test_a_frame_without_the_columns_is_invalid_input() -> None:
    with pytest.raises(nxframe.InvalidInputError, match=r"lacks .*call_price"):
        monthly_report(pd.DataFrame({"date": [FIRST]}), MONTH)


def test_money_as_floats_is_refused(month: Month) -> None:
    frame = month.sim.ground_truth("2024-02-05")
    frame["call_price"] = frame["call_price"].astype("float64")
    with pytest.raises(nxframe.InvalidInputError, match=r"call_price.*floats"):
        monthly_report(frame, MONTH)


# -- exact figures ---------------------------------------------------------------------


def test_the_totals_equal_the_ground_truth_exactly(month: Month, report: Report) -> None:
    expected = month.figures()[None]
    assert totals_row(report) == expected.row()
    assert isinstance(report.total_cost, Decimal)
    assert report.total_cost == expected.cost
    truth = month.sim.ground_truth(FIRST, LAST)
    assert report.rows == len(truth) == expected.calls
    assert report.total_cost == truth["call_price"].sum()
    assert report.totals["cost"].dtype == DECIMAL_TYPE
    assert report.totals["billed_minutes"].dtype == DECIMAL_TYPE


@pytest.mark.parametrize("name", [name for name in TABLES if name != "totals"])
def test_every_breakdown_adds_up_to_the_totals_exactly(report: Report, name: str) -> None:
    table = getattr(report, name)
    sums = tuple(sum(table[measure].tolist(), start=0) for measure in MEASURES)
    assert sums == totals_row(report)
    for measure in ("billed_minutes", "cost", "avg_cost_per_minute"):
        assert table[measure].dtype == DECIMAL_TYPE, measure
    if name == "by_day":
        assert table["date"].dt.date.tolist() == DAYS
    else:
        costs = table["cost"].tolist()
        assert costs == sorted(costs, reverse=True)


@pytest.mark.parametrize(
    ("table", "column", "field"), [("by_did", "did_number", "number"), ("by_country", "country_name", "countryName")]
)
def test_each_key_matches_the_ground_truth(month: Month, report: Report, table: str, column: str, field: str) -> None:
    expected = {key: figures.row() for key, figures in month.figures(key=field).items()}
    frame = getattr(report, table)
    got = {row[column]: tuple(row[m] for m in MEASURES) for row in frame.to_dict("records")}
    assert got == expected


def test_by_day_lists_every_day_and_a_complete_month_says_so(month: Month, report: Report) -> None:
    assert report.complete is True
    assert report.missing_dates == []
    assert report.by_day["missing"].tolist() == [False] * 29
    assert report.by_day["date"].dtype == "datetime64[s]"  # as in the frame: by_day[by_day.date == "..."] works
    for row in report.by_day.to_dict("records"):
        day = row["date"].date()
        assert (row["calls"], row["cost"]) == (len(month.records[day]), month.figures([day])[None].cost)
    assert "Complete" in report.summary_text()


def test_the_average_is_cost_per_billed_minute_to_six_places_half_up(report: Report) -> None:
    for name in TABLES:
        for row in getattr(report, name).to_dict("records"):
            if row["billed_minutes"] == 0:
                assert row["avg_cost_per_minute"] is None or pd.isna(row["avg_cost_per_minute"])
            else:
                expected = (row["cost"] / row["billed_minutes"]).quantize(SIX, ROUND_HALF_UP)
                assert row["avg_cost_per_minute"] == expected
    # unanswered hang-up reasons bill nothing: their average is null, not 0 and not an error
    assert report.by_end_reason["avg_cost_per_minute"].isna().any()


def test_a_tie_rounds_half_up_not_to_even(month: Month) -> None:
    frame = month.sim.ground_truth("2024-02-05").head(1).copy()
    frame["fee_duration_minute"] = pd.array([Decimal("2")], dtype=pd.ArrowDtype(pa.decimal128(18, 6)))
    frame["call_price"] = pd.array([Decimal("0.000001")], dtype=pd.ArrowDtype(pa.decimal128(18, 6)))
    report = monthly_report(frame, MONTH)
    # 0.000001 / 2 = 0.0000005: half up gives 0.000001, banker's rounding would give 0.000000
    assert report.totals["avg_cost_per_minute"].iloc[0] == Decimal("0.000001")


# -- completeness ----------------------------------------------------------------------


def test_a_lake_month_with_deleted_partitions_says_which_dates_are_missing(month: Month, gappy_lake: Path) -> None:
    report = monthly_report(gappy_lake, MONTH)
    assert report.complete is False
    assert report.missing_dates == GAPS
    present = [d for d in DAYS if d not in GAPS]
    assert totals_row(report) == month.figures(present)[None].row()
    gaps = report.by_day[report.by_day["missing"]]
    assert gaps["date"].dt.date.tolist() == GAPS
    assert gaps["calls"].tolist() == [0, 0, 0]
    assert gaps["cost"].tolist() == [Decimal(0)] * 3
    text = report.summary_text()
    assert "INCOMPLETE" in text
    for date in ("2024-02-10", "2024-02-11", "2024-02-20"):
        assert date in text
    assert "3 of 29 dates" in text


def test_an_incomplete_month_warns_in_every_file(gappy_lake: Path, tmp_path: Path) -> None:
    report = monthly_report(gappy_lake, MONTH)
    page = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'class="banner incomplete"' in page
    assert "INCOMPLETE MONTH" in page and "2024-02-10, 2024-02-11, 2024-02-20" in page
    notes = list(csv.reader((report.to_csv(tmp_path / "csv") / "notes.csv").read_text(encoding="utf-8").splitlines()))
    assert ["complete", "NO"] in notes
    assert [row[1] for row in notes if row[0] == "missing_date"] == ["2024-02-10", "2024-02-11", "2024-02-20"]
    summary = openpyxl.load_workbook(report.to_excel(tmp_path / "r.xlsx"))["Summary"]
    status = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row[0]}
    assert "INCOMPLETE MONTH" in status["Status"] and "2024-02-20" in status["Status"]


def test_a_zero_row_partition_is_a_day_without_calls_not_a_missing_day(tmp_path: Path) -> None:
    quiet = dt.date(2024, 2, 14)
    with Simulator(seed=3, rows_per_day=lambda d: 0 if d == quiet else 4) as sim, sim.client() as client:
        nxframe.sync_lake(tmp_path / "lake", FIRST, LAST, client=client, progress=False)
    report = monthly_report(tmp_path / "lake", MONTH)
    assert report.complete is True
    day = report.by_day[report.by_day["date"] == pd.Timestamp(quiet)].iloc[0]
    assert (day["calls"], day["cost"], day["missing"]) == (0, Decimal(0), False)
    assert pd.isna(day["avg_cost_per_minute"])
    assert report.rows == 4 * 28


def test_a_month_without_any_data_says_so_loudly(month: Month, tmp_path: Path) -> None:
    report = monthly_report(month.lake, "2024-03", today=dt.date(2024, 6, 1))
    assert report.empty is True
    assert report.missing_dates == [dt.date(2024, 3, d) for d in range(1, 32)]
    assert totals_row(report) == (0, 0, 0, Decimal(0), Decimal(0))
    assert pd.isna(report.totals["avg_cost_per_minute"].iloc[0])
    assert len(report.by_day) == 31 and report.by_did.empty
    text = report.summary_text()
    assert text.splitlines()[1].startswith("NO DATA: no date of 2024-03 has data")
    assert "nxframe sync" in text
    page = report.to_html(tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "NO DATA" in page and 'role="alert"' in page
    assert page.count("<svg") == 4  # February has data: the comparison chart is drawn too
    assert not monthly_report(month.lake, MONTH).empty


def test_future_dates_are_not_advised_to_be_synced(month: Month) -> None:
    report = monthly_report(month.lake, "2024-03", today=dt.date(2024, 3, 10))
    text = report.missing_text()
    assert "10 have no partition in the lake: 2024-03-01 to 2024-03-10; sync them" in text
    assert "21 are after today (2024-03-10) and have no calls yet: 2024-03-11 to 2024-03-31" in text
    future = monthly_report(month.lake, "2030-01", today=dt.date(2024, 3, 10))
    assert future.empty and "2030-01 is in the future" in future.summary_text()
    assert "sync" not in future.summary_text().split("Compared with")[0]


# -- other sources ---------------------------------------------------------------------


def test_a_dataframe_gives_the_same_figures_and_ignores_other_months(month: Month, report: Report) -> None:
    march = month.client.fetch_cdr("2024-03-01", progress=False)
    frame = pd.concat([nxframe.read_lake(month.lake), march], ignore_index=True)
    from_frame = monthly_report(frame, MONTH)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(from_frame, name), getattr(report, name), check_exact=True)
    assert from_frame.complete is True
    assert from_frame.ignored_rows == len(march) > 0
    assert f"{len(march):,} rows outside the month ignored" in from_frame.summary_text()


def test_a_dataframe_missing_a_date_is_incomplete(month: Month) -> None:
    frame = nxframe.read_lake(month.lake)
    frame = frame[frame["date"] != "2024-02-29"]
    report = monthly_report(frame, MONTH)
    assert report.missing_dates == [dt.date(2024, 2, 29)]
    assert "no rows in the DataFrame" in report.summary_text()


def test_a_lake_object_and_a_string_path_work_too(month: Month, report: Report) -> None:
    for source in (Lake(month.lake), str(month.lake)):
        assert totals_row(monthly_report(source, MONTH)) == totals_row(report)


def test_a_null_key_is_counted_under_unknown(month: Month) -> None:
    frame = month.sim.ground_truth("2024-02-05")
    frame.loc[frame.index[:7], "country_name"] = None
    report = monthly_report(frame, MONTH)
    unknown = report.by_country[report.by_country["country_name"] == "(unknown)"]
    assert unknown["calls"].tolist() == [7]
    assert sum(report.by_country["cost"].tolist(), start=Decimal(0)) == report.total_cost


decimals = st.decimals(min_value=0, max_value=Decimal("99999.999999"), places=6, allow_nan=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([*DAYS, dt.date(2024, 3, 1)]),
            st.sampled_from(["6621", "6622", "0063", None]),
            st.sampled_from(["incoming", "outgoing"]),
            st.integers(0, 7200),
            decimals,
            decimals,
        ),
        max_size=40,
    )
)
def test_parts_always_add_up_to_the_totals(rows: list[tuple[Any, ...]]) -> None:
    frame = pd.DataFrame(
        {
            "date": pd.array([r[0] for r in rows], dtype=pd.ArrowDtype(pa.date32())),  # a frame of older code
            "id": pd.array(range(len(rows)), dtype=pd.ArrowDtype(pa.int64())),
            "did_number": pd.array([r[1] for r in rows], dtype=pd.ArrowDtype(pa.string())),
            "call_number": pd.array(["6681234567"] * len(rows), dtype=pd.ArrowDtype(pa.string())),
            "start_time": pd.Series([dt.datetime.combine(r[0], dt.time(9)) for r in rows], dtype="datetime64[s]"),
            "fee_type": pd.Categorical(["60+60"] * len(rows), categories=["60+60", "1+1"]),
            "call_price_unit": pd.array([Decimal("0.05")] * len(rows), dtype=pd.ArrowDtype(pa.decimal128(18, 6))),
            "country_name": pd.array(["Thailand"] * len(rows), dtype=pd.ArrowDtype(pa.string())),
            "call_type": pd.Categorical([r[2] for r in rows], categories=["incoming", "outgoing"]),
            "call_duration": pd.array([r[3] for r in rows], dtype=pd.ArrowDtype(pa.int64())),
            "fee_duration_minute": pd.array([r[4] for r in rows], dtype=pd.ArrowDtype(pa.decimal128(18, 6))),
            "call_price": pd.array([r[5] for r in rows], dtype=pd.ArrowDtype(pa.decimal128(18, 6))),
            "end_reason": pd.array(["-7"] * len(rows), dtype=pd.ArrowDtype(pa.string())),
            "end_reason_name": pd.array(["Caller Hang-up"] * len(rows), dtype=pd.ArrowDtype(pa.string())),
        }
    )
    report = monthly_report(frame, MONTH)
    feb = [r for r in rows if r[0].month == 2]
    expected = (
        len(feb),
        sum(r[3] > 0 for r in feb),
        sum(r[3] for r in feb),
        sum(r[4] for r in feb),
        sum(r[5] for r in feb),
    )
    assert totals_row(report) == expected
    for name in TABLES:
        table = getattr(report, name)
        assert tuple(sum(table[m].tolist(), start=0) for m in MEASURES) == expected, name


# -- files -----------------------------------------------------------------------------


def test_excel_has_a_sheet_per_table_with_numeric_exact_cells(report: Report, tmp_path: Path) -> None:
    path = report.to_excel(tmp_path / "deep" / "folder" / "report.xlsx")
    assert path == tmp_path / "deep" / "folder" / "report.xlsx"
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [
        "Summary",
        *(title for title, _ in TABLES.values()),
        "Billing check",
        "Compared with 2024-01",
        "Anomalies",
    ]
    for name, (title, _keys) in TABLES.items():
        frame = getattr(report, name)
        sheet = workbook[title]
        rows = list(sheet.iter_rows(min_row=2))
        assert len(rows) == len(frame)
        for cells, record in zip(rows, frame.to_dict("records"), strict=True):
            for cell, column in zip(cells, frame.columns, strict=True):
                value = record[column]
                if column in ("billed_minutes", "cost", "avg_cost_per_minute"):
                    if pd.isna(value):
                        assert cell.value is None
                        continue
                    assert isinstance(cell.value, (int, float)), (title, column, cell.value)
                    assert Decimal(repr(cell.value)).quantize(SIX) == value
                    assert re.fullmatch(r"[#,]*0\.0{2,6}", cell.number_format), cell.number_format
                elif column == "date":
                    assert cell.value == value and cell.number_format == "yyyy-mm-dd"
                else:
                    assert cell.value == value
    status = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True) if row[0]}
    assert status["Status"].startswith("Complete")


def test_csv_decimals_read_back_exactly(report: Report, tmp_path: Path) -> None:
    folder = report.to_csv(tmp_path / "csv")
    expected = [*(f"{n}.csv" for n in TABLES), "audit.csv", "changes.csv", "anomalies.csv", "notes.csv"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
    for name in TABLES:
        frame = getattr(report, name)
        text = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        assert list(text.columns) == list(frame.columns)
        for column in ("billed_minutes", "cost", "avg_cost_per_minute"):
            for written, value in zip(text[column], frame[column].tolist(), strict=True):
                if pd.isna(value):
                    assert written == ""
                else:
                    assert re.fullmatch(r"-?\d+\.\d{6}", written), written
                    assert Decimal(written) == value
    totals = pd.read_csv(folder / "totals.csv", dtype=str)
    assert Decimal(totals["cost"].iloc[0]) == report.total_cost


def test_html_is_one_self_contained_file_with_three_charts(report: Report, tmp_path: Path) -> None:
    page = report.to_html(tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    for title in CHART_TITLES:
        assert title in page
    for title in ("Cost per day", "Top DID numbers by cost", "Cost by country"):
        assert title in page
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(?!#|data:)', page)  # nothing fetched from outside
    assert f"{report.total_cost:,.6f}" in page
    assert "February 2024" in page and "Generated" in page
    assert "Complete month" in page and "banner incomplete" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # the three SVGs do not clash


def test_write_picks_the_format_from_the_name(report: Report, tmp_path: Path) -> None:
    assert report.write(tmp_path / "a" / "r.xlsx").read_bytes()[:2] == b"PK"
    assert report.write(tmp_path / "r.HTM").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    folder = report.write(tmp_path / "csvs")
    assert folder.is_dir() and (folder / "by_did.csv").is_file()
    with pytest.raises(nxframe.InvalidInputError, match=r"FILE\.xlsx"):
        report.write(tmp_path / "report.csv")


def test_importing_the_report_loads_neither_matplotlib_nor_openpyxl() -> None:
    code = "import sys, nxframe.report; print(sorted(m for m in ('matplotlib', 'openpyxl') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_summary_text_has_the_month_the_counts_and_the_exact_cost(month: Month, report: Report) -> None:
    expected = month.figures()[None]
    text = report.summary_text()
    assert MONTH in text
    assert f"Rows: {expected.calls:,}" in text
    assert f"answered: {expected.answered:,}" in text
    assert f"Billed minutes: {expected.billed_minutes:,.6f}" in text
    assert f"Total cost: {expected.cost:,.6f} CNY" in text
    assert f"Billing check: {expected.calls:,} calls checked, 0 off the rules, overcharge 0.000000 CNY" in text
    assert "Compared with 2024-01: no data for 2024-01." in text
    assert text.splitlines()[-1] == "Anomalies: none found."
    assert len(text.splitlines()) <= 10


# -- in a browser ----------------------------------------------------------------------


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="no Chromium binary (apt-get install chromium)")
def test_the_html_renders_in_headless_chromium(gappy_lake: Path, tmp_path: Path) -> None:
    from PIL import Image

    page = monthly_report(gappy_lake, MONTH).to_html(tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    command = [
        str(_chromium()),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        page.resolve().as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert shot.is_file() and shot.stat().st_size > 20_000
    with Image.open(shot) as image:
        pixels = image.convert("RGB")
        assert pixels.size == (1280, 2000)
        colors = pixels.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 50  # text, tables and charts, not a blank page
    counts = {color: n for n, color in colors}
    assert counts.get((255, 255, 255), 0) < 0.95 * 1280 * 2000
    assert counts.get((0x25, 0x63, 0xEB), 0) > 2000  # the charts' bars were drawn
    assert counts.get((0xFD, 0xE8, 0xE8), 0) > 2000  # the incomplete-month banner is visible
