"""The month before and the anomalies, against a simulator that plants one of each kind.

Expected figures come from ``Simulator.records`` in plain Python ``Decimal``
(sums, a median, hour buckets), nothing shared with nxframe's Arrow code.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import nxframe
from nxframe.report import ANOMALY_COLUMNS, CHANGE_COLUMNS, KINDS, check_lines, monthly_report
from nxframe.simulator import Simulator
from nxframe.simulator.plant import PLANTED

JANUARY = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(31)]
FEBRUARY = [dt.date(2024, 2, 1) + dt.timedelta(days=n) for n in range(29)]
SIX = Decimal("0.000001")


@dataclass
class Months:
    lake: Path
    records: dict[dt.date, list[dict[str, Any]]]

    def of(self, dates: list[dt.date]) -> list[dict[str, Any]]:
        return [r for date in dates for r in self.records[date]]


def _synced(tmp_path_factory: pytest.TempPathFactory, name: str, **options: Any) -> Iterator[Months]:
    lake = tmp_path_factory.mktemp(name) / "lake"
    with Simulator(seed=5, rows_per_day=40, **options) as sim, sim.client() as client:
        nxframe.sync_lake(lake, JANUARY[0], FEBRUARY[-1], client=client, progress=False)
        yield Months(lake, {date: sim.records(date) for date in JANUARY + FEBRUARY})


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Months]:
    """January and February 2024 in a lake, one anomaly of each kind planted in February."""
    yield from _synced(tmp_path_factory, "planted", anomalies="2024-02")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Months]:
    """The same two months with nothing planted."""
    yield from _synced(tmp_path_factory, "clean")


def sums(records: list[dict[str, Any]], field: str) -> dict[str, tuple[int, Decimal]]:
    found: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for r in records:
        found[r[field]][0] += 1
        found[r[field]][1] += Decimal(str(r["callPrice"]))
    return {k: (n, c) for k, (n, c) in found.items()}


def by_kind(report: nxframe.Report) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in report.anomalies.to_dict("records"):
        found[row["kind"]].append(row)
    return found


def test_each_planted_anomaly_is_found_with_exact_figures(planted: Months) -> None:
    report = monthly_report(planted.lake, "2024-02")
    found = by_kind(report)
    assert sorted(found) == sorted(KINDS)
    assert all(len(rows) == 1 for rows in found.values())

    daily = sorted(sum((Decimal(str(r["callPrice"])) for r in planted.records[d]), Decimal(0)) for d in FEBRUARY)
    median = daily[len(daily) // 2]  # 29 dates: the middle one
    spike_day = dt.date(2024, 2, PLANTED.spike_day)
    spike_cost = sum((Decimal(str(r["callPrice"])) for r in planted.records[spike_day]), Decimal(0))
    spike = found["cost_spike_day"][0]
    assert (spike["key"], spike["value"], spike["baseline"]) == (spike_day.isoformat(), spike_cost, median)
    assert spike_cost > 3 * median

    country = found["new_country"][0]
    assert country["key"] == PLANTED.new_country[0]
    assert country["value"] == sums(planted.of(FEBRUARY), "countryName")[country["key"]][1]

    jump = found["did_cost_jump"][0]
    before = sums(planted.of(JANUARY), "number")[PLANTED.jump_did][1]
    after = sums(planted.of(FEBRUARY), "number")[PLANTED.jump_did][1]
    assert (jump["key"], jump["value"], jump["baseline"]) == (PLANTED.jump_did, after, before)
    assert after > 2 * before and after - before > 100

    burst = found["short_call_burst"][0]
    hour = f"2024-02-{PLANTED.burst_day:02d} {PLANTED.burst_hour:02d}:00"
    assert (burst["key"], burst["value"], burst["detail"]) == (PLANTED.burst_number, PLANTED.burst_calls, hour)
    assert tuple(report.anomalies.columns) == ANOMALY_COLUMNS
    assert report.anomalies["kind"].tolist() == sorted(report.anomalies["kind"])


def test_a_clean_month_has_no_anomalies_and_says_so(clean: Months, tmp_path: Path) -> None:
    report = monthly_report(clean.lake, "2024-02")
    assert report.anomalies.empty and tuple(report.anomalies.columns) == ANOMALY_COLUMNS
    assert report.summary_text().splitlines()[-1] == "Anomalies: none found."
    page = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No anomalies: no cost spike day, no new country, no DID cost jump, no short-call burst." in page


def test_changes_equal_sums_over_the_ground_truth(planted: Months) -> None:
    report = monthly_report(planted.lake, "2024-02")
    assert report.previous == "2024-01" and report.previous_available is True
    assert tuple(report.changes.columns) == CHANGE_COLUMNS
    for dimension, field in (("did_number", "number"), ("country_name", "countryName")):
        now, before = sums(planted.of(FEBRUARY), field), sums(planted.of(JANUARY), field)
        rows = report.changes[report.changes["dimension"] == dimension]
        assert set(rows["key"]) == set(now) | set(before)
        for row in rows.to_dict("records"):
            calls, cost = now.get(row["key"], (0, Decimal(0)))
            previous_calls, previous_cost = before.get(row["key"], (0, Decimal(0)))
            assert (row["calls"], row["cost"], row["previous_calls"], row["previous_cost"]) == (
                calls,
                cost,
                previous_calls,
                previous_cost,
            )
            assert row["cost_change"] == cost - previous_cost
            if previous_cost:
                assert row["cost_change_pct"] == pytest.approx(float((cost - previous_cost) / previous_cost * 100))
            else:
                assert pd.isna(row["cost_change_pct"])
    january = sum((Decimal(str(r["callPrice"])) for r in planted.of(JANUARY)), Decimal(0))
    assert f"cost {january:,.6f} -> {report.total_cost:,.6f} CNY" in report.comparison_line()


def test_a_frame_with_both_months_gives_the_same_comparison(planted: Months) -> None:
    lake_report = monthly_report(planted.lake, "2024-02")
    frame_report = monthly_report(nxframe.read_lake(planted.lake), "2024-02")
    pd.testing.assert_frame_equal(frame_report.changes, lake_report.changes, check_exact=True)
    pd.testing.assert_frame_equal(frame_report.anomalies, lake_report.anomalies, check_exact=True)


def test_without_the_month_before_there_is_no_comparison(planted: Months, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(planted.lake, lake)
    for date in JANUARY:
        shutil.rmtree(lake / f"date={date}")
    report = monthly_report(lake, "2024-02")
    assert report.previous_available is False and report.changes.empty
    assert tuple(report.changes.columns) == CHANGE_COLUMNS
    assert "Compared with 2024-01: no data for 2024-01." in report.summary_text()
    assert set(report.anomalies["kind"]) == {"cost_spike_day", "short_call_burst"}  # the rest needs January


def test_a_partial_month_before_says_how_many_of_its_dates_had_data(planted: Months, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(planted.lake, lake)
    for date in JANUARY[:20]:
        shutil.rmtree(lake / f"date={date}")
    report = monthly_report(lake, "2024-02")
    assert report.previous_available is True and report.previous_dates == 11
    assert "only 11 of 31 dates of 2024-01 had data" in report.summary_text()
    assert not report.changes.empty


def test_check_lines_name_the_billing_check_and_the_anomalies_of_the_frames_dates(planted: Months) -> None:
    frame = nxframe.read_lake(planted.lake, FEBRUARY[0], FEBRUARY[-1])
    lines = check_lines(frame)
    assert lines[0] == f"{len(frame):,} calls checked, 0 off the rules, overcharge 0.000000 CNY"
    assert len(lines) == 3
    assert lines[1].startswith(f"Anomaly cost_spike_day: 2024-02-{PLANTED.spike_day}")
    assert lines[2].startswith(f"Anomaly short_call_burst: {PLANTED.burst_number} made {PLANTED.burst_calls}")
    assert check_lines(frame.iloc[:0]) == ["0 calls checked, 0 off the rules, overcharge 0.000000 CNY"]


def test_a_burst_needs_twenty_short_incoming_calls_within_one_clock_hour(planted: Months) -> None:
    day = dt.date(2024, 2, PLANTED.burst_day)
    frame = nxframe.read_lake(planted.lake, day, day)
    burst = frame[frame["call_number"] == PLANTED.burst_number]
    counted = Counter(str(t)[:13] for t in burst["start_time"])
    assert counted == {f"{day} {PLANTED.burst_hour:02d}": PLANTED.burst_calls}
    keep = frame[frame["call_number"] != PLANTED.burst_number]
    nineteen = pd.concat([keep, burst.head(19)], ignore_index=True)
    assert not any("short_call_burst" in line for line in check_lines(nineteen))
    outgoing = burst.copy()
    outgoing["call_type"] = "outgoing"
    assert not any("short_call_burst" in line for line in check_lines(pd.concat([keep, outgoing])))
    assert any("short_call_burst" in line for line in check_lines(pd.concat([keep, burst])))


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(planted: Months) -> None:
    dates = FEBRUARY[:28]  # 28 dates, the spike day among them
    frame = nxframe.read_lake(planted.lake, dates[0], dates[-1])
    report = monthly_report(frame, "2024-02")
    daily = sorted(sum((Decimal(str(r["callPrice"])) for r in planted.records[d]), Decimal(0)) for d in dates)
    median = ((daily[13] + daily[14]) / 2).quantize(SIX, rounding=ROUND_HALF_UP)
    spikes = report.anomalies[report.anomalies["kind"] == "cost_spike_day"]
    assert spikes["baseline"].tolist() == [median]


def test_the_burst_hour_is_the_wall_clock_of_a_tz_aware_frame() -> None:
    day = f"2024-02-{PLANTED.burst_day:02d}"
    with Simulator(seed=5, rows_per_day=20, anomalies="2024-02") as sim, sim.client() as client:
        frame = client.fetch_cdr(day, progress=False, tz="Asia/Shanghai")
    assert str(frame["start_time"].dtype) == "datetime64[s, Asia/Shanghai]"
    bursts = [line for line in check_lines(frame) if "short_call_burst" in line]
    assert bursts == [
        f"Anomaly short_call_burst: {PLANTED.burst_number} made {PLANTED.burst_calls} incoming calls under 10 s "
        f"in the hour {day} {PLANTED.burst_hour:02d}:00 (wangiri pattern)"
    ]
