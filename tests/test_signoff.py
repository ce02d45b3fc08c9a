"""Signing a month off: the package, its manifest, its hashes; tampering found; the report made again from it.

A month (February 2024, with January before it) is synced from the simulator
over HTTP into a lake and signed off once per module. The simulator bills
some calls off the rules and plants one anomaly of each kind, so the audit,
the comparison and the anomalies all have rows to prove equal. Tests that
damage a package work on a copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import Demo

import nxframe
from nxframe.export import read_frame
from nxframe.report import Report
from nxframe.simulator import Simulator

MONTH, PREVIOUS = "2024-02", "2024-01"
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2024, 2, 29)
FILES = ["report.html", "report.xlsx", "rows.parquet"]
CSVS = [
    "anomalies.csv",
    "audit.csv",
    "by_call_type.csv",
    "by_country.csv",
    "by_day.csv",
    "by_did.csv",
    "by_end_reason.csv",
    "changes.csv",
    "notes.csv",
    "totals.csv",
]
#: The report's figures that a package must reproduce.
FRAMES = ["totals", "by_did", "by_country", "by_day", "by_call_type", "by_end_reason", "audit", "changes", "anomalies"]
SCALARS = ["rows", "overcharge_total", "previous", "previous_available", "previous_calls", "previous_cost"]


@dataclass
class Signed:
    sim: Simulator
    lake: Path
    report: Report
    package: Path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    root = tmp_path_factory.mktemp("signoff")
    with Simulator(seed=2026, rows_per_day=40, showcase=MONTH, off_rule=0.02) as sim, sim.client() as client:
        nxframe.sync_lake(root / "lake", FIRST, LAST, client=client, progress=False)
        report = nxframe.monthly_report(root / "lake", MONTH)
        yield Signed(sim, root / "lake", report, report.signoff(root / "signoff" / MONTH))


@pytest.fixture
def copy(signed: Signed, tmp_path: Path) -> Path:
    """A copy of the package a test may damage."""
    return Path(shutil.copytree(signed.package, tmp_path / "package"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(package: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((package / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def assert_same_report(ours: Report, theirs: Report) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(theirs, name), obj=name)
    for name in SCALARS:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.missing_dates == theirs.missing_dates


# -- the package -------------------------------------------------------------------------


def test_the_showcase_month_has_rows_in_every_section(signed: Signed) -> None:
    """Otherwise 'equal' below would compare empty tables."""
    assert len(signed.report.audit) and len(signed.report.changes) and len(signed.report.anomalies)
    assert signed.report.previous_available


def test_the_package_holds_the_reports_files_its_rows_and_a_manifest(signed: Signed) -> None:
    found = sorted(p.relative_to(signed.package).as_posix() for p in signed.package.rglob("*") if p.is_file())
    assert found == sorted([*FILES, "manifest.json", *(f"csv/{name}" for name in CSVS)])
    assert (signed.package / "report.html").read_text(encoding="utf-8").count(MONTH) > 0
    assert [p.name for p in signed.package.parent.iterdir()] == [MONTH]  # no temporary left beside it


def test_the_manifest_says_what_was_signed_with_money_as_decimal_text(signed: Signed) -> None:
    record = manifest(signed.package)
    totals = signed.report.totals.iloc[0]
    assert record["format"] == "nxframe-signoff/1"
    assert (record["month"], record["previous"]) == (MONTH, PREVIOUS)
    assert record["source"] == str(signed.lake.absolute())
    assert record["query"] == {"did_number": None, "call_number": None, "call_type": None, "tz": None}
    assert record["nxframe_version"] == nxframe.__version__
    created = dt.datetime.fromisoformat(record["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(hours=1)
    assert record["totals"] == {
        "calls": int(totals["calls"]),
        "answered": int(totals["answered"]),
        "duration_s": int(totals["duration_seconds"]),
        "billed_minutes": format(totals["billed_minutes"], "f"),
        "cost": format(totals["cost"], "f"),
    }
    assert isinstance(record["totals"]["cost"], str) and Decimal(record["totals"]["cost"]) == signed.report.total_cost
    assert Decimal(record["overcharge_total"]) == signed.report.overcharge_total > 0
    assert isinstance(record["overcharge_total"], str)


def test_the_manifest_lists_each_date_of_the_month_with_rows_and_exact_cost(signed: Signed) -> None:
    dates = manifest(signed.package)["dates"]
    assert [entry["date"] for entry in dates] == [f"2024-02-{day:02d}" for day in range(1, 30)]
    frame = nxframe.read_lake(signed.lake, "2024-02-01", "2024-02-29")
    for entry in dates:
        day = frame[frame["date"] == entry["date"]]
        assert entry["rows"] == len(day)
        assert isinstance(entry["cost"], str) and Decimal(entry["cost"]) == day["call_price"].sum()
    assert sum(Decimal(entry["cost"]) for entry in dates) == signed.report.total_cost


def test_the_manifest_holds_the_sha256_of_every_other_file(signed: Signed) -> None:
    files = manifest(signed.package)["files"]
    assert sorted(files) == sorted([*FILES, *(f"csv/{name}" for name in CSVS)])
    for name, digest in files.items():
        assert digest == sha256(signed.package / name), name


def test_rows_parquet_holds_both_months_exactly_as_the_lake_had_them(signed: Signed) -> None:
    rows = read_frame(signed.package / "rows.parquet")
    lake = nxframe.read_lake(signed.lake, FIRST, LAST).sort_values(["date", "id"], ignore_index=True)
    pd.testing.assert_frame_equal(rows, lake)
    schema = pq.read_schema(signed.package / "rows.parquet")
    assert str(schema.field("call_price").type) == "decimal128(18, 6)"
    assert str(schema.field("date").type) == "date32[day]"


def test_an_existing_package_is_never_overwritten(signed: Signed) -> None:
    before = {p: sha256(p) for p in signed.package.rglob("*") if p.is_file()}
    with pytest.raises(nxframe.SignoffError, match="already holds files") as caught:
        signed.report.signoff(signed.package)
    assert caught.value.path == str(signed.package)
    assert {p: sha256(p) for p in signed.package.rglob("*") if p.is_file()} == before
    assert [p.name for p in signed.package.parent.iterdir()] == [MONTH]


def test_a_file_in_the_way_is_not_replaced(signed: Signed, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("mine")
    with pytest.raises(nxframe.SignoffError, match="not a folder"):
        signed.report.signoff(tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "mine"


def test_an_empty_folder_made_for_it_takes_the_package(signed: Signed, tmp_path: Path) -> None:
    (tmp_path / "ready").mkdir()
    path = signed.report.signoff(tmp_path / "ready")
    assert path == tmp_path / "ready"
    nxframe.verify_signoff(path)


def test_a_folder_that_is_not_a_path_is_invalid_input(signed: Signed) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="folder"):
        signed.report.signoff(None)  # type: ignore[arg-type]


def test_a_lake_that_changed_since_the_report_is_not_signed(signed: Signed, tmp_path: Path) -> None:
    lake = Path(shutil.copytree(signed.lake, tmp_path / "lake"))
    report = nxframe.monthly_report(lake, MONTH)
    shutil.rmtree(lake / "date=2024-02-14")
    with pytest.raises(nxframe.SignoffError, match=r"changed since this report was made .*make the report again"):
        report.signoff(tmp_path / "signoff")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]  # no package, no temporary


# -- verify ----------------------------------------------------------------------------------


def test_an_intact_package_verifies(signed: Signed) -> None:
    nxframe.verify_signoff(signed.package)  # raises SignoffError on any difference
    nxframe.verify_signoff(str(signed.package))


def test_a_changed_byte_is_found_and_named(copy: Path) -> None:
    data = bytearray((copy / "rows.parquet").read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / "rows.parquet").write_bytes(bytes(data))
    with pytest.raises(nxframe.SignoffError, match=r"rows\.parquet changed since the sign-off") as caught:
        nxframe.verify_signoff(copy)
    assert caught.value.path == str(copy / "rows.parquet")


def test_a_changed_csv_cell_is_found(copy: Path) -> None:
    path = copy / "csv" / "totals.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";", 1), encoding="utf-8")
    with pytest.raises(nxframe.SignoffError, match=r"csv/totals\.csv changed"):
        nxframe.verify_signoff(copy)


def test_a_removed_file_is_found(copy: Path) -> None:
    (copy / "report.xlsx").unlink()
    with pytest.raises(nxframe.SignoffError, match=r"report\.xlsx is missing"):
        nxframe.verify_signoff(copy)


def test_an_added_file_is_found(copy: Path) -> None:
    (copy / "csv" / "extra.csv").write_text("a,b\n")
    with pytest.raises(nxframe.SignoffError, match=r"csv/extra\.csv was added"):
        nxframe.verify_signoff(copy)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("totals", "cost"), "1.000000"),
        (("month",), "2024-03"),
        (("files", "rows.parquet"), "0" * 64),
        (("source",), "/elsewhere"),
    ],
)
def test_an_edited_manifest_is_found(copy: Path, field: tuple[str, ...], value: str) -> None:
    record = manifest(copy)
    target = record
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = value
    (copy / "manifest.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(nxframe.SignoffError, match=r"manifest\.json changed since the sign-off") as caught:
        nxframe.verify_signoff(copy)
    assert caught.value.path == str(copy / "manifest.json")


def test_a_reformatted_manifest_with_the_same_content_still_verifies(copy: Path) -> None:
    (copy / "manifest.json").write_text(json.dumps(manifest(copy), indent=4, sort_keys=True), encoding="utf-8")
    nxframe.verify_signoff(copy)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", r"manifest\.json is malformed: not JSON"),
        ("[]", r"manifest\.json is malformed: a JSON object"),
        ('{"format": "nxframe-signoff/1"}', r"manifest\.json is malformed: month is missing"),
    ],
)
def test_a_malformed_manifest_is_found(copy: Path, text: str, match: str) -> None:
    (copy / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(nxframe.SignoffError, match=match):
        nxframe.verify_signoff(copy)


def test_money_as_a_json_number_makes_the_manifest_malformed(copy: Path) -> None:
    record = manifest(copy)
    record["totals"]["cost"] = float(record["totals"]["cost"])
    (copy / "manifest.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(nxframe.SignoffError, match=r"malformed: .*not decimal text"):
        nxframe.verify_signoff(copy)


def test_a_missing_manifest_or_folder_is_named(copy: Path, tmp_path: Path) -> None:
    (copy / "manifest.json").unlink()
    with pytest.raises(nxframe.SignoffError, match=r"manifest\.json is missing"):
        nxframe.verify_signoff(copy)
    with pytest.raises(nxframe.SignoffError, match="no sign-off package at"):
        nxframe.verify_signoff(tmp_path / "nowhere")
    with pytest.raises(nxframe.InvalidInputError, match="signoff must be the folder"):
        nxframe.verify_signoff(42)  # type: ignore[arg-type]


# -- the report made again from the package ----------------------------------------------


def test_the_report_is_made_again_from_the_package_with_the_lake_gone(signed: Signed, tmp_path: Path) -> None:
    lake = Path(shutil.copytree(signed.lake, tmp_path / "lake"))
    report = nxframe.monthly_report(lake, MONTH)
    package = report.signoff(tmp_path / "signoff")
    shutil.rmtree(lake)
    again = nxframe.monthly_report(package, MONTH)
    assert_same_report(again, report)
    assert again.complete and again.source.startswith(f"sign-off package {package}")
    assert again.summary_text().splitlines()[1:] == report.summary_text().splitlines()[1:]


def test_a_package_signed_again_keeps_the_lake_it_came_from(signed: Signed, tmp_path: Path) -> None:
    again = nxframe.monthly_report(signed.package, MONTH)
    second = again.signoff(tmp_path / "again")
    assert manifest(second)["source"] == manifest(signed.package)["source"]
    assert manifest(second)["files"]["rows.parquet"] == manifest(signed.package)["files"]["rows.parquet"]


def test_another_month_of_a_package_is_invalid_input(signed: Signed) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=r"month '2024-01' is not in the sign-off package") as caught:
        nxframe.monthly_report(signed.package, PREVIOUS)
    assert caught.value.parameter == "month"


def test_a_tampered_package_makes_no_report(copy: Path) -> None:
    (copy / "report.html").write_text("<p>edited</p>")
    with pytest.raises(nxframe.SignoffError, match=r"report\.html changed"):
        nxframe.monthly_report(copy, MONTH)


def test_the_billing_check_reads_a_package_too(signed: Signed) -> None:
    pd.testing.assert_frame_equal(
        nxframe.audit_billing(signed.package, "2024-02-01", "2024-02-29"), signed.report.audit
    )


# -- a DataFrame source -----------------------------------------------------------------------


def test_a_report_of_a_dataframe_is_signed_and_made_again(signed: Signed, tmp_path: Path) -> None:
    frame = nxframe.read_lake(signed.lake)
    report = nxframe.monthly_report(frame, MONTH)
    frame.loc[frame.index[:10], "call_price"] = Decimal("99")  # the user's frame changes; the report's rows do not
    package = report.signoff(tmp_path / "from-frame")
    record = manifest(package)
    assert (record["source"], record["query"]) == ("DataFrame", None)
    assert_same_report(nxframe.monthly_report(package, MONTH), report)
    with pytest.raises(nxframe.InvalidInputError, match="signed from a DataFrame") as caught:
        nxframe.restatements(package)
    assert caught.value.parameter == "source"


def test_a_dataframe_without_every_column_cannot_be_signed(signed: Signed, tmp_path: Path) -> None:
    frame = nxframe.read_lake(signed.lake).drop(columns=["caller_ip", "callee_ip"])
    report = nxframe.monthly_report(frame, MONTH)
    with pytest.raises(nxframe.InvalidInputError, match=r"lacks caller_ip, callee_ip.*every column"):
        report.signoff(tmp_path / "thin")
    assert not (tmp_path / "thin").exists()


# -- the command line ---------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_nxframe_report_signs_off_and_nxframe_verify_checks(signed: Signed, tmp_path: Path) -> None:
    package = tmp_path / "cli-signoff"
    out = tmp_path / "report.html"
    result = run("report", "--lake", str(signed.lake), "--month", MONTH, "--out", str(out), "--signoff", str(package))
    assert result.returncode == 0, result.stderr
    assert f"signed {MONTH} off into {package}" in result.stdout
    assert out.is_file() and manifest(package)["month"] == MONTH
    intact = run("verify", "--signoff", str(package))
    assert (intact.returncode, intact.stderr) == (0, "")
    assert intact.stdout.startswith(f"intact: {package} signs {MONTH} off")
    (package / "csv" / "audit.csv").unlink()
    broken = run("verify", "--signoff", str(package))
    assert broken.returncode == 1
    assert broken.stderr.strip().splitlines() == [
        f"nxframe: error: SignoffError: sign-off package {package}: csv/audit.csv is missing; "
        "the package no longer proves what was signed (restore it from a copy, or sign the month off again)"
    ]


def test_nxframe_report_refuses_an_existing_package_before_any_work(signed: Signed, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run(
        "report", "--lake", str(signed.lake), "--month", MONTH, "--out", str(out), "--signoff", str(signed.package)
    )
    assert result.returncode == 1
    assert "already holds files" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_the_demo_signs_its_month_off_and_replaces_its_own_package(demo: Demo, tmp_path: Path) -> None:
    """The session's `make demo` signed off; a second demo on a copy of its data replaces that package."""
    from nxframe.demo import last_month

    month = last_month()
    data = tmp_path / "data"
    shutil.copytree(demo.data, data)
    for result, folder in ((demo.result, demo.data), (run("demo", "--offline", "--data", str(data)), data)):
        package = folder / "signoff" / month
        assert result.returncode == 0, result.stderr
        assert f"   Sign-off: {package.resolve()}" in result.stdout.splitlines()
        assert "0 calls restated since" in result.stdout
        assert f"nxframe restatements --signoff {package}" in result.stdout
        nxframe.verify_signoff(package)
        assert manifest(package)["source"] == str((folder / "lake").absolute())
    assert sorted(p.name for p in package.parent.iterdir()) == [month]


def test_the_readmes_sign_off_examples_run_on_the_demos_data(demo: Demo, tmp_path: Path) -> None:
    """The README is a contract: its 'Signing the month off' blocks run as written, after `make demo`."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Signing the month off\n", 1)[1].split("\n## ", 1)[0]
    shell, python = re.findall(r"```(?:sh|python)\n(.*?)```", section, flags=re.DOTALL)
    for name in ("sh", "python"):
        shutil.copytree(demo.data, tmp_path / name / "data")  # the session's `make demo` output, as if made here
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-e", "-c", shell], cwd=tmp_path / "sh", env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "0 calls added, 0 removed, 0 changed on 0 dates" in result.stdout
    code = f"import nxframe, nxframe.demo\n{python}\nprint(len(nxframe.restatements(package)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path / "python", env=env, capture_output=True, text=True, timeout=300
    )
    assert (result.returncode, result.stdout.strip()) == (0, "0"), result.stderr
