"""The report's files: the three check sections in HTML, Excel and CSV, and API text that stays data.

A showcase month (a few off-rule calls, one anomaly of each kind) is synced
from the simulator once; hostile text is planted in a copy of its frame.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import nxframe
from nxframe.report import TABLES, Report, monthly_report
from nxframe.simulator import Simulator

MONTH = "2024-02"
START, END = dt.date(2024, 1, 1), dt.date(2024, 2, 29)
MATH = r"$\foo{bar}$"
FORMULA = '=HYPERLINK("http://evil.example","x")'
HUGE = "A" * 1_000_000


@dataclass
class Showcase:
    lake: Path
    report: Report
    frame: pd.DataFrame


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Showcase]:
    lake = tmp_path_factory.mktemp("outputs") / "lake"
    with Simulator(seed=2026, rows_per_day=40, showcase=MONTH, off_rule=0.02) as sim, sim.client() as client:
        nxframe.sync_lake(lake, START, END, client=client, progress=False)
    frame = nxframe.read_lake(lake)
    yield Showcase(lake, monthly_report(lake, MONTH), frame)


@pytest.fixture(scope="module")
def hostile(showcase: Showcase) -> Report:
    """The showcase month with API text that tries to become markup, math, a formula, or too much."""
    frame = showcase.frame.copy()
    february = frame.index[frame["date"] >= "2024-02-01"]
    frame.loc[february[:30], "country_name"] = MATH
    frame.loc[february[30:40], "country_name"] = HUGE
    frame.loc[february[:5], "end_reason_name"] = "Caller\x00Hang-up"
    frame.loc[february[5:8], "end_reason_name"] = "Red\x1b[31mAlert"
    frame.loc[february[:50], "did_number"] = FORMULA
    frame.loc[february[50:60], "did_number"] = "<script>alert(1)</script>"
    return monthly_report(frame, MONTH)


def test_the_showcase_month_has_findings_in_every_section(showcase: Showcase) -> None:
    report = showcase.report
    assert report.flagged > 0 and report.overcharge_total > 0
    assert report.previous_available and not report.changes.empty
    assert set(report.anomalies["kind"]) == {"cost_spike_day", "did_cost_jump", "new_country", "short_call_burst"}
    positive = [v for v in report.audit["overcharge"].tolist() if v > 0]
    assert report.overcharge_total == sum(positive, Decimal(0))


def test_html_has_the_three_sections_and_the_comparison_chart(showcase: Showcase, tmp_path: Path) -> None:
    report = showcase.report
    page = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    for heading in ("Billing check", "Compared with 2024-01", "Anomalies"):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("<svg") == 4
    assert "Cost by country: 2024-02 vs 2024-01 (CNY)" in page
    assert report.billing_line().replace(">", "&gt;") in page
    for row in report.audit.to_dict("records"):
        assert f">{row['id']}<" in page
    for line in report.anomaly_lines():
        assert line.replace("'", "&#39;") in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_the_notebook_view_carries_the_stylesheet(showcase: Showcase) -> None:
    fragment = showcase.report._repr_html_()
    assert fragment.startswith('<div class="nxr"><style>') and ".nxr .card" in fragment
    assert "<svg" not in fragment and "<html" not in fragment
    assert "Billing check" in fragment and 'class="card cost"' in fragment


def test_the_notebook_view_is_short_every_section_folded(showcase: Showcase) -> None:
    """#20: the cards at a glance, then one folded line per section, its gist beside the title."""
    report = showcase.report
    fragment = report._repr_html_()
    folded = re.findall(
        r"<details class=\"section\"><summary><h2>(.*?)</h2><span class=\"gist\">(.*?)</span>", fragment
    )
    titles = [title for title, _ in folded]
    assert titles == [
        "Billing check",
        "Compared with 2024-01",
        "Anomalies",
        *[t for t, _ in TABLES.values()][1:],
        "Notes",
    ]
    assert "<details open" not in fragment and "<section" not in fragment
    gists = dict(folded)
    assert gists["Billing check"] == report.billing_line()
    assert gists["Anomalies"].startswith("4 anomalies: cost_spike_day")
    assert gists["By day"] == "29 rows"
    assert ' id="' not in fragment  # two reports in one notebook page share no id


def test_excel_has_a_sheet_per_section_with_numeric_money(showcase: Showcase, tmp_path: Path) -> None:
    report = showcase.report
    workbook = openpyxl.load_workbook(report.to_excel(tmp_path / "r.xlsx"))
    assert workbook.sheetnames[-3:] == ["Billing check", "Compared with 2024-01", "Anomalies"]
    sheet = workbook["Billing check"]
    assert sheet["A1"].value == report.billing_line()
    header = [cell.value for cell in sheet[3]]
    assert header[0] == "Date" and "Overcharge (CNY)" in header
    column = header.index("Overcharge (CNY)") + 1
    values = [sheet.cell(row=4 + n, column=column).value for n in range(report.flagged)]
    assert all(isinstance(v, int | float) for v in values)  # numbers, never text
    assert [Decimal(repr(v)).quantize(Decimal("0.000001")) for v in values] == report.audit["overcharge"].tolist()
    assert len(list(workbook["Anomalies"].iter_rows(min_row=4))) == len(report.anomalies)
    for book_sheet in workbook.worksheets:
        assert all(cell.data_type != "f" for row in book_sheet.iter_rows() for cell in row)


def test_csv_folder_holds_the_sections_as_exact_text(showcase: Showcase, tmp_path: Path) -> None:
    report = showcase.report
    folder = report.to_csv(tmp_path / "csv")
    audit = pd.read_csv(folder / "audit.csv", dtype=str, keep_default_na=False)
    assert list(audit.columns) == list(report.audit.columns)
    assert [Decimal(v) for v in audit["overcharge"]] == report.audit["overcharge"].tolist()
    assert all(re.fullmatch(r"-?\d+\.\d{6}", v) for v in audit["expected_price"])
    assert audit["date"].tolist() == [d.date().isoformat() for d in report.audit["date"]]
    anomalies = pd.read_csv(folder / "anomalies.csv", dtype=str, keep_default_na=False)
    burst = anomalies[anomalies["kind"] == "short_call_burst"].iloc[0]
    assert burst["baseline"] == ""  # NA is an empty cell
    changes = pd.read_csv(folder / "changes.csv", dtype=str, keep_default_na=False)
    assert len(changes) == len(report.changes)
    assert [Decimal(v) for v in changes["cost_change"]] == report.changes["cost_change"].tolist()
    new = changes[(changes["key"] == "Kazakhstan")].iloc[0]
    assert (new["previous_cost"], new["cost_change_pct"]) == ("0.000000", "")


def test_clean_sections_say_so_in_words(tmp_path: Path) -> None:
    with Simulator(seed=4, rows_per_day=10) as sim, sim.client() as client:
        frame = client.fetch_cdr("2024-02-01", "2024-02-03", progress=False)
    report = monthly_report(frame, MONTH)
    page = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "every call was billed by the documented rules" in page
    assert "no data for 2024-01" in page
    assert "No anomalies: no cost spike day, no short-call burst." in page
    sheet = openpyxl.load_workbook(report.to_excel(tmp_path / "r.xlsx"))["Billing check"]
    assert sheet["A1"].value.endswith("every call was billed by the documented rules.")
    assert (report.to_csv(tmp_path / "csv") / "audit.csv").read_text(encoding="utf-8").count("\n") == 1


def test_api_text_is_drawn_literally_and_escaped_in_html(hostile: Report, tmp_path: Path) -> None:
    page = hostile.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "\x00" not in page and "\x1b" not in page  # C0 controls become U+FFFD
    assert "Caller\ufffdHang-up" in page and "Red\ufffd[31mAlert" in page
    assert "<details" not in page  # the file shows every section open
    charts = page[page.index("<h2>Charts</h2>") : page.index('<section id="billing-check">')]
    assert MATH in charts  # drawn as text, not parsed as math
    assert "A" * 39 + "…" in charts and "A" * 41 not in charts  # shortened in the charts
    assert HUGE in page  # tables keep it whole
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert FORMULA.replace('"', "&#34;") in page


def test_excel_cleans_controls_cuts_huge_cells_and_never_writes_formulas(hostile: Report, tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(hostile.to_excel(tmp_path / "r.xlsx"))
    values = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert any(cell.value == "Caller\ufffdHang-up" for cell in values)
    assert not any(isinstance(cell.value, str) and "\x00" in cell.value for cell in values)
    formulas = [cell for cell in values if cell.value == FORMULA]
    assert formulas and all(cell.data_type == "s" for cell in formulas)
    assert all(cell.data_type != "f" for cell in values)
    long_cells = [cell.value for cell in values if isinstance(cell.value, str) and cell.value.startswith("AAAA")]
    assert long_cells and all(len(text) == 32_767 and text.endswith("…") for text in long_cells)
    summary = [row for row in workbook["Summary"].iter_rows(values_only=True)]
    assert any(row[0] == "Cut cells" for row in summary)
    assert any(row[0] == "cut" and "1,000,000 characters" in str(row[1]) for row in summary)


def test_csv_cells_that_would_be_formulas_are_neutralised(hostile: Report, tmp_path: Path) -> None:
    csv.field_size_limit(2_000_000)
    folder = hostile.to_csv(tmp_path / "csv")
    with open(folder / "by_did.csv", encoding="utf-8", newline="") as handle:
        dids = [row[0] for row in csv.reader(handle)][1:]
    assert "'" + FORMULA in dids and FORMULA not in dids
    assert all(not d.startswith(("=", "@", "+", "-")) or d.lstrip("+-").isdigit() for d in dids)
    with open(folder / "by_country.csv", encoding="utf-8", newline="") as handle:
        countries = [row[0] for row in csv.reader(handle)]
    assert HUGE in countries and MATH in countries


def test_csv_cells_holding_a_carriage_return_are_quoted(showcase: Showcase, tmp_path: Path) -> None:
    frame = showcase.frame.copy()
    february = frame.index[frame["date"] >= "2024-02-01"]
    frame.loc[february[:3], "country_name"] = "Line\rbreak"
    frame.loc[february[3:6], "country_name"] = "\rLead"
    frame.loc[february[6:9], "country_name"] = "Two\nlines"
    folder = monthly_report(frame, MONTH).to_csv(tmp_path / "csv")
    text = (folder / "by_country.csv").read_bytes().decode("utf-8")
    assert '"Line\rbreak"' in text and '"\'\rLead"' in text and '"Two\nlines"' in text
    with open(folder / "by_country.csv", encoding="utf-8", newline="") as handle:
        countries = [row[0] for row in csv.reader(handle)]
    assert {"Line\rbreak", "'\rLead", "Two\nlines"} <= set(countries)


_FAILING_WRITE = """
import resource, signal, sys
import nxframe
report = nxframe.monthly_report(sys.argv[1], "2024-02")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    getattr(report, sys.argv[3])(sys.argv[2])
except OSError as error:
    print("failed", error.errno)
"""


@pytest.mark.parametrize(("method", "name"), [("to_html", "report.html"), ("to_excel", "report.xlsx")])
def test_a_failing_write_leaves_the_old_file(showcase: Showcase, tmp_path: Path, method: str, name: str) -> None:
    target = tmp_path / name
    target.write_bytes(b"the old report")
    result = subprocess.run(
        [sys.executable, "-c", _FAILING_WRITE, str(showcase.lake), str(target), method],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.startswith("failed"), result.stdout + result.stderr
    assert target.read_bytes() == b"the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary left behind


@pytest.mark.parametrize(
    ("method", "parameter"), [("to_html", "path"), ("to_excel", "path"), ("to_csv", "folder"), ("write", "out")]
)
@pytest.mark.parametrize("value", [None, 42, "", b"r.html"], ids=["None", "int", "empty", "bytes"])
def test_a_refused_output_argument_names_the_parameter(
    showcase: Showcase, tmp_path: Path, method: str, parameter: str, value: object
) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=f"^{parameter} must be a path") as caught:
        getattr(showcase.report, method)(value)
    assert caught.value.parameter == parameter
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("method", "parameter"), [("to_html", "path"), ("to_excel", "path")])
def test_a_file_output_refuses_an_existing_folder(
    showcase: Showcase, tmp_path: Path, method: str, parameter: str
) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=f"^{parameter} .* is a folder; name a file inside it"):
        getattr(showcase.report, method)(tmp_path)


def test_write_refuses_what_it_cannot_write_naming_out(showcase: Showcase, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(nxframe.InvalidInputError, match=r"^out .* is a file; pass a folder") as caught:
        showcase.report.write(tmp_path / "taken")
    assert caught.value.parameter == "out"
    with pytest.raises(nxframe.InvalidInputError, match=r"cannot write a report to 'r\.pdf'") as caught:
        showcase.report.write(tmp_path / "r.pdf")
    assert caught.value.parameter == "out"
