"""International text is text: a Chinese-language account's names in every output, as characters.

NXCloud's customers are largely in China and South-East Asia; an account set
to Chinese gets ``countryName`` and ``endReasonName`` in Chinese. Here a
``Simulator(language="zh")`` serves a showcase month (off-rule calls, one
anomaly of each kind) and every output is made from it: the HTML report (its
charts' SVG ``<text>`` and its tables), the Excel workbook, the CSV folder,
the widgets (``show``'s bundles, the explorer), the command line and the
notebooks. The names must be there as text, and producing them must print no
warning (pytest turns every warning into an error; the subprocesses' stderr
is read). Japanese, Thai, Vietnamese, Korean and Arabic names go through the
charts too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest
from nbclient import NotebookClient

import nxframe
from nxframe.report import Report, monthly_report
from nxframe.simulator import Simulator
from nxframe.widgets import CdrExplorer, summarize
from nxframe.widgets.display import bundles

MONTH = "2024-02"
START, END = dt.date(2024, 1, 1), dt.date(2024, 2, 29)
DAY = dt.date(2024, 2, 6)
#: What the zh simulator calls the countries and reasons these tests look for.
CHINESE = ("泰国", "哈萨克斯坦", "主叫挂机")
NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def svg_texts(markup: str) -> list[str]:
    """The ``<text>`` contents of every SVG in ``markup``: what a browser draws with its fonts."""
    return [
        text
        for svg in re.findall(r"<svg.*?</svg>", markup, flags=re.S)
        for text in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    ]


@dataclass
class Chinese:
    sim: Simulator
    lake: Path
    report: Report
    frame: pd.DataFrame


@pytest.fixture(scope="module")
def chinese(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chinese]:
    lake = tmp_path_factory.mktemp("zh") / "lake"
    with Simulator(seed=2026, rows_per_day=40, showcase=MONTH, language="zh") as sim, sim.client() as client:
        nxframe.sync_lake(lake, START, END, client=client, progress=False)
        yield Chinese(sim, lake, monthly_report(lake, MONTH), nxframe.read_lake(lake, DAY, DAY))


@pytest.fixture(autouse=True)
def _no_warning_at_all() -> Iterator[None]:
    """Every warning recorded, so a test can say there was none (pytest's error filter would raise anyway)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert [str(w.message) for w in caught] == []


def test_the_language_changes_only_the_names() -> None:
    with Simulator(seed=5, language="zh") as zh, Simulator(seed=5) as en:
        chinese, english = zh.ground_truth(DAY), en.ground_truth(DAY)
        with zh.client() as client:
            fetched = client.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(fetched, chinese)
    names = ["country_name", "end_reason_name"]
    pd.testing.assert_frame_equal(chinese.drop(columns=names), english.drop(columns=names))
    pairs = set(zip(english["country_name"], chinese["country_name"], strict=True))
    assert ("Thailand", "泰国") in pairs and ("United Kingdom", "英国") in pairs
    reasons = set(zip(english["end_reason_name"], chinese["end_reason_name"], strict=True))
    assert ("Caller Hang-up", "主叫挂机") in reasons


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language must be one of en, zh, ja, th, vi, not 'fr'"):
        Simulator(language="fr")


def test_the_html_report_draws_chinese_names_as_text(chinese: Chinese, tmp_path: Path) -> None:
    page = chinese.report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    drawn = svg_texts(page)
    assert "泰国" in drawn  # the country chart's label is a <text>, drawn by the reader's fonts
    assert "哈萨克斯坦" in drawn  # the month-before chart: the new country
    assert "<td>泰国</td>" in page.replace(' class=""', "")
    assert "主叫挂机" in page
    assert "Anomaly new_country: 哈萨克斯坦" in page
    fragment = chinese.report._repr_html_()
    assert "<td>泰国</td>" in fragment.replace(' class=""', "")


def test_the_workbook_and_the_csv_folder_hold_chinese_names(chinese: Chinese, tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(chinese.report.to_excel(tmp_path / "r.xlsx"))
    countries = [row[0] for row in workbook["By country"].iter_rows(min_row=2, values_only=True)]
    assert "泰国" in countries and "哈萨克斯坦" in countries
    reasons = [row[1] for row in workbook["By hang-up reason"].iter_rows(min_row=2, values_only=True)]
    assert "主叫挂机" in reasons
    folder = chinese.report.to_csv(tmp_path / "csv")
    by_country = pd.read_csv(folder / "by_country.csv", dtype=str, encoding="utf-8")
    assert "泰国" in set(by_country["country_name"])
    anomalies = pd.read_csv(folder / "anomalies.csv", dtype=str, keep_default_na=False)
    assert "哈萨克斯坦" in set(anomalies["key"])


def test_show_and_the_explorer_draw_chinese_names_as_text(chinese: Chinese) -> None:
    parts = bundles(chinese.frame, summarize(chinese.frame))
    chart = parts[-1]["image/svg+xml"]
    assert "泰国" in svg_texts(chart)
    cells = re.sub(r"<td [^>]*>", "<td>", parts[3]["text/html"])
    assert "<td>泰国</td>" in cells and "<td>主叫挂机</td>" in cells
    with chinese.sim.client() as client:
        explorer = CdrExplorer(client, start=DAY)
        explorer.fetch_button.click()
        assert explorer.wait(60) is not None
    shown = json.dumps(explorer.output.outputs, ensure_ascii=False)
    assert "泰国" in shown
    svg = next(o["data"]["image/svg+xml"] for o in explorer.output.outputs if "image/svg+xml" in o["data"])
    assert "泰国" in svg_texts(svg)


@pytest.mark.parametrize(
    ("language", "names"),
    [("ja", ("タイ", "発信者切断")), ("th", ("ประเทศไทย", "ผู้โทรวางสาย")), ("vi", ("Thái Lan", "Người gọi gác máy"))],
)
def test_japanese_thai_and_vietnamese_names_are_text_too(language: str, names: tuple[str, str], tmp_path: Path) -> None:
    with Simulator(seed=2026, rows_per_day=40, language=language) as sim:
        frame = sim.ground_truth(DAY - dt.timedelta(days=2), DAY)
    country, reason = names
    assert country in set(frame["country_name"]) and reason in set(frame["end_reason_name"])
    chart = bundles(frame, summarize(frame))[-1]["image/svg+xml"]
    assert country in svg_texts(chart)
    page = monthly_report(frame, MONTH).to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert country in svg_texts(page) and reason in page


def test_korean_and_arabic_names_are_text_in_every_chart(chinese: Chinese, tmp_path: Path) -> None:
    frame = chinese.frame.copy()
    frame.loc[frame.index[:5], "country_name"] = "대한민국"
    frame.loc[frame.index[5:10], "country_name"] = "مصر"
    chart = bundles(frame, summarize(frame))[-1]["image/svg+xml"]
    assert {"대한민국", "مصر"} <= set(svg_texts(chart))
    page = monthly_report(frame, MONTH).to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert {"대한민국", "مصر"} <= set(svg_texts(page))


def run(sim: Simulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    env.update(sim.env())
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *args], capture_output=True, text=True, encoding="utf-8", env=env, timeout=300
    )


def test_the_command_line_prints_and_writes_chinese_names(chinese: Chinese, tmp_path: Path) -> None:
    report = run(
        chinese.sim, "report", "--lake", str(chinese.lake), "--month", MONTH, "--out", str(tmp_path / "r.html")
    )
    assert report.returncode == 0, report.stderr
    assert report.stderr == ""  # no warning of any kind
    assert "Anomaly new_country: 哈萨克斯坦" in report.stdout
    assert "泰国" in svg_texts((tmp_path / "r.html").read_text(encoding="utf-8"))

    fetched = run(chinese.sim, "fetch", str(DAY), "--out", str(tmp_path / "day.csv"))
    assert fetched.returncode == 0 and fetched.stderr == ""
    assert "泰国" in (tmp_path / "day.csv").read_text(encoding="utf-8")

    audit = run(chinese.sim, "audit", "--lake", str(chinese.lake), "--month", MONTH)
    assert audit.returncode == 1 and audit.stderr == ""  # the showcase bills some calls off the rules
    assert "off the rules" in audit.stdout


def test_nxframe_simulate_language_zh_serves_chinese_names() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    command = [sys.executable, "-m", "nxframe", "simulate", "--port", "0", "--language", "zh"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, encoding="utf-8", env=env) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(4)]
            exports = dict(line.strip().removeprefix("export ").split("=", 1) for line in lines[1:4])
            key, secret, url = (exports[f"NXCLOUD_{name}"] for name in ("ACCESS_KEY", "ACCESS_SECRET", "BASE_URL"))
            with nxframe.Client(key, secret, base_url=url) as client:
                frame = client.fetch_cdr(DAY, progress=False)
        finally:
            process.terminate()
            process.wait(30)
    assert {"泰国", "主叫挂机"} & (set(frame["country_name"]) | set(frame["end_reason_name"]))
    assert set(frame["country_name"]).isdisjoint({"Thailand", "Singapore", "Japan"})


@pytest.fixture
def zh_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A kernel of this interpreter whose environment points nxframe at a Chinese-language simulator."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    kernel = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "language": "python"}
    (spec / "kernel.json").write_text(json.dumps({**kernel, "display_name": "Python 3 (nxframe zh)"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    with Simulator(seed=2026, showcase="2026-10", language="zh") as sim:
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        work = tmp_path / "work"
        work.mkdir()
        yield work


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebooks_show_chinese_names_from_a_chinese_account(path: Path, zh_kernel: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(zh_kernel)}}
    ).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    stderr = "".join(output.get("text", "") for output in outputs if output.get("name") == "stderr")
    assert "Warning" not in stderr and "Glyph" not in stderr and "Traceback" not in stderr, stderr
    shown = json.dumps(nbformat.from_dict(notebook), ensure_ascii=False)
    assert "泰国" in shown or "哈萨克斯坦" in shown
    assert "Thailand" not in shown
    pictures = [output["data"]["image/svg+xml"] for output in outputs if "image/svg+xml" in output.get("data", {})]
    for picture in pictures:  # every chart of API names is SVG with text labels
        assert any("\u4e00" <= c <= "\u9fff" for text in svg_texts(picture) for c in text)
