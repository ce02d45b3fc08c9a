"""The explorer widget driven as a user would: pick dates, type filters, click Fetch, read what it shows.

Everything runs against the simulator over real HTTP. ipywidgets works
without a kernel (its comms are no-ops), so the widgets' values are what a
front end would draw.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import nxframe
from nxframe.report import check_lines
from nxframe.simulator import Simulator
from nxframe.widgets import CdrExplorer, Summary, chart, show, summarize
from nxframe.widgets.display import FIRST_COLUMNS, bundles

DAY = dt.date(2025, 3, 4)
WAIT = 30.0


def _fetch(explorer: CdrExplorer, start: dt.date, end: dt.date | None = None) -> pd.DataFrame | None:
    explorer.start_picker.value = start
    explorer.end_picker.value = end
    explorer.fetch_button.click()
    return explorer.wait(WAIT)


def _everything_shown(explorer: CdrExplorer) -> str:
    """Every widget's state and every output, as one string: what a front end could ever display."""
    parts = [explorer.status.value, json.dumps(explorer.output.outputs)]
    stack = [explorer]
    while stack:
        widget = stack.pop()
        parts.append(json.dumps(widget.get_state(), default=str))
        stack.extend(getattr(widget, "children", ()))
    return "\n".join(parts)


def test_dates_fetched_from_the_form_equal_the_ground_truth(sim: Simulator, client: nxframe.Client) -> None:
    explorer = CdrExplorer(client)
    df = _fetch(explorer, dt.date(2025, 3, 1), dt.date(2025, 3, 3))

    truth = sim.ground_truth("2025-03-01", "2025-03-03")
    assert df is explorer.df
    pd.testing.assert_frame_equal(explorer.df, truth)
    assert explorer.last_error is None
    assert explorer.status_text.startswith(f"✓ {len(truth):,} calls from 2025-03-01 to 2025-03-03")
    assert f"total cost {truth['call_price'].sum():,}" in explorer.status_text
    assert explorer.progress_bar.value == explorer.progress_bar.max == 3 + 3  # one page and one date each
    assert explorer.progress_bar.bar_style == "success"
    assert explorer.progress_label.value == f"3/3 dates · 3/3 pages · {len(truth):,} rows"
    assert not explorer.fetch_button.disabled and not explorer.running


def test_the_filters_reach_the_api_and_the_result_is_exact(sim: Simulator, client: nxframe.Client) -> None:
    did_number = sim.records(DAY)[0]["number"]
    explorer = CdrExplorer(client)
    explorer.did_number_text.value = f" {did_number} "  # pasted with spaces
    explorer.call_type_dropdown.value = "outgoing"
    df = _fetch(explorer, DAY)

    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY, did_number=did_number, call_type="outgoing"))
    assert {r.body["didNumber"] for r in sim.requests if r.body} == {did_number}
    assert {r.body["type"] for r in sim.requests if r.body} == {1}
    assert explorer.summary == summarize(df)


def test_the_progress_bar_advances_per_page_and_per_date_to_its_end(sim: Simulator, client: nxframe.Client) -> None:
    sim.set_rows("2025-03-01", 250)
    sim.set_rows("2025-03-02", 120)
    explorer = CdrExplorer(client, page_size=100)
    seen: list[tuple[int, int]] = []
    explorer.progress_bar.observe(lambda _: seen.append((explorer.progress_bar.value, explorer.progress_bar.max)))
    _fetch(explorer, dt.date(2025, 3, 1), dt.date(2025, 3, 2))

    pages, dates = 3 + 2, 2
    assert explorer.progress_bar.value == explorer.progress_bar.max == pages + dates
    values = [value for value, _ in seen]
    assert values == sorted(values)  # never goes back
    assert len(set(values)) >= pages + dates  # a step for every page and every date
    assert all(value <= maximum for value, maximum in seen)
    assert explorer.progress_label.value == "2/2 dates · 5/5 pages · 370 rows"


def test_what_the_output_shows_summary_checks_decimals_as_written_rows_and_a_chart(
    sim: Simulator, client: nxframe.Client
) -> None:
    explorer = CdrExplorer(client)
    df = _fetch(explorer, DAY)
    assert df is not None
    outputs = explorer.output.outputs
    kinds = [sorted(output["data"]) for output in outputs]
    assert kinds == [["text/html", "text/plain"]] * 4 + [["image/svg+xml", "text/plain"]]
    summary_html, checks_html, _, head_html = (output["data"]["text/html"] for output in outputs[:4])
    total = df["call_price"].sum()
    minutes = df["fee_duration_minute"].sum()
    assert isinstance(total, Decimal)
    # #15.11: money with thousands separators, as the counts have them; every digit kept
    assert f"<td>{total:,}</td>" in summary_html and f"<td>{minutes:,}</td>" in summary_html
    assert f"<td>{len(df):,}</td>" in summary_html
    assert "Billing check:" in checks_html and check_lines(df)[0] in checks_html
    assert outputs[1]["data"]["text/plain"].startswith(f"Billing check: {check_lines(df)[0]}")
    first = df.iloc[0]
    for column in ("fee_duration_minute", "call_price_unit", "call_price"):
        assert f'<td style="white-space: nowrap">{first[column]}</td>' in head_html  # 0.055000, not a float repr
    svg = outputs[4]["data"]["image/svg+xml"]
    assert svg.startswith("<svg") and "Cost by country" in svg  # labels are text, not paths
    # #20: one line per cell, the money columns among the first
    assert "white-space: nowrap" in head_html and "table-layout: auto" in head_html
    heads = re.findall(r"<th style=[^>]*>(.*?)</th>", head_html)
    assert [h.replace("<wbr>", "") for h in heads[:9]] == list(FIRST_COLUMNS)


def test_end_before_start_is_one_line_and_sends_nothing(sim: Simulator, client: nxframe.Client) -> None:
    explorer = CdrExplorer(client)
    _fetch(explorer, dt.date(2025, 3, 5), dt.date(2025, 3, 1))

    assert explorer.status_text == (
        "✗ InvalidInputError: end 2025-03-01 is before start 2025-03-05; the range is inclusive, start first"
    )
    assert isinstance(explorer.last_error, nxframe.InvalidInputError)
    assert sim.requests == []
    assert explorer.future is None and explorer.df is None
    assert not explorer.fetch_button.disabled


def test_a_form_error_after_a_fetch_leaves_that_result_alone(sim: Simulator, client: nxframe.Client) -> None:
    explorer = CdrExplorer(client)
    good = _fetch(explorer, DAY)
    shown = explorer.output.outputs
    sim.reset()
    explorer.end_picker.value = DAY - dt.timedelta(days=1)
    explorer.fetch_button.click()

    assert explorer.status_text.startswith("✗ InvalidInputError: end ")
    assert explorer.df is good
    # #15.11: the result still shown is labelled as the previous one, and its bar is no longer green
    marker, *rest = explorer.output.outputs
    assert marker["data"]["text/plain"].startswith(f"Previous result ({DAY}); the form's new values were refused")
    assert tuple(rest) == shown
    # #20: the bar no longer speaks of the previous fetch ("1/1 dates", green)
    assert explorer.progress_bar.bar_style == ""
    assert (explorer.progress_bar.value, explorer.progress_label.value) == (0, "")
    assert sim.requests == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("did_number_text", "66-12", "did_number must be digits"),
        ("call_number_text", "abc", "call_number must be digits"),
        ("start_picker", None, "pick a start date"),
    ],
)
def test_bad_form_values_are_one_line_and_send_nothing(
    sim: Simulator, client: nxframe.Client, field: str, value: object, message: str
) -> None:
    explorer = CdrExplorer(client, start=DAY)
    getattr(explorer, field).value = value
    explorer.fetch_button.click()

    assert explorer.status_text.startswith("✗ InvalidInputError: ")
    assert message in explorer.status_text
    assert sim.requests == []


def test_a_wrong_secret_names_the_variable_to_check_and_never_shows_the_secret(sim: Simulator) -> None:
    secret = "wrong-secret-4f9c"
    with nxframe.Client(sim.access_key, secret, base_url=sim.base_url) as client:
        explorer = CdrExplorer(client)
        assert _fetch(explorer, DAY) is None

    assert explorer.status_text.startswith("✗ AuthError: ")
    assert "NXCLOUD_ACCESS_SECRET" in explorer.status_text
    assert "\n" not in explorer.status_text and "Traceback" not in explorer.status_text
    assert isinstance(explorer.last_error, nxframe.AuthError)
    assert explorer.progress_bar.bar_style == "danger"
    assert explorer.df is None
    assert secret not in _everything_shown(explorer)
    assert sim.access_secret not in _everything_shown(explorer)


def test_without_credentials_the_status_names_the_environment_variables(sim: Simulator) -> None:
    explorer = CdrExplorer(start=DAY)  # conftest cleared NXCLOUD_* from the environment
    explorer.fetch_button.click()

    assert explorer.status_text.startswith("✗ InvalidInputError: no NXCloud credentials")
    assert "NXCLOUD_ACCESS_KEY" in explorer.status_text and "NXCLOUD_ACCESS_SECRET" in explorer.status_text
    assert sim.requests == []


def test_without_a_client_one_is_made_from_the_environment_at_fetch_time(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    explorer = CdrExplorer(start=DAY)  # made before the credentials exist: nothing is read yet
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    explorer.fetch_button.click()
    df = explorer.wait(WAIT)
    explorer.close()

    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
    assert sim.access_secret not in _everything_shown(explorer)


def test_the_button_is_disabled_while_a_fetch_runs_and_a_second_click_is_ignored(
    sim: Simulator, client: nxframe.Client
) -> None:
    explorer = CdrExplorer(client, start=DAY)
    with sim.held():  # the simulator answers only when the block ends, however slow the machine
        explorer.fetch_button.click()

        # the click returned before the answer came: the fetch runs in the background
        assert explorer.future is not None and not explorer.future.done()
        assert explorer.running and explorer.fetch_button.disabled
        assert explorer.status_text == f"⏳ Fetching {DAY}…"
        explorer.fetch_button.click()  # Button.click() ignores `disabled`; the explorer must not
    df = explorer.wait(WAIT)

    assert df is not None and len(df) == len(sim.ground_truth(DAY))
    assert len(sim.requests) == 1  # one page, fetched once
    assert not explorer.running and not explorer.fetch_button.disabled


def test_wait_times_out_while_the_fetch_is_still_running(sim: Simulator, client: nxframe.Client) -> None:
    explorer = CdrExplorer(client, start=DAY)
    with sim.held():
        explorer.fetch_button.click()
        with pytest.raises(TimeoutError, match=r"the fetch is still running after 0\.05 s; call wait\(\) again"):
            explorer.wait(0.05)
    assert explorer.wait(WAIT) is not None


def test_threaded_false_fetches_inside_the_click(sim: Simulator, client: nxframe.Client) -> None:
    explorer = CdrExplorer(client, start=DAY, threaded=False)
    explorer.fetch_button.click()

    assert explorer.future is not None and explorer.future.done()
    pd.testing.assert_frame_equal(explorer.df, sim.ground_truth(DAY))


def test_an_unexpected_exception_is_kept_in_last_error_and_shown_as_one_line_without_the_secret(
    sim: Simulator,
) -> None:
    secret = sim.access_secret

    class BrokenClient(nxframe.Client):
        def fetch_query(self, *args: object, **kwargs: object) -> pd.DataFrame:
            raise RuntimeError(f"disk on fire (config secret={secret!r})")

    with BrokenClient(sim.access_key, sim.access_secret, base_url=sim.base_url) as client:
        explorer = CdrExplorer(client, start=DAY)
        assert _fetch(explorer, DAY) is None

    assert isinstance(explorer.last_error, RuntimeError)
    assert explorer.status_text.startswith("✗ Unexpected RuntimeError: disk on fire (config secret='********')")
    assert secret not in _everything_shown(explorer)
    assert not explorer.running and not explorer.fetch_button.disabled


def test_a_failing_fetch_keeps_the_last_good_frame(sim: Simulator, client: nxframe.Client) -> None:
    explorer = CdrExplorer(client)
    good = _fetch(explorer, DAY)
    sim.faults.add("code_1005", times=None)
    assert _fetch(explorer, DAY) is None

    assert explorer.df is good
    assert isinstance(explorer.last_error, nxframe.AuthError)
    assert explorer.output.outputs == ()  # nothing shown that could pass for the failed query's result


def test_the_lake_checkbox_writes_each_date_as_a_partition(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    explorer = CdrExplorer(client, lake=lake)
    assert explorer.lake_checkbox is not None and explorer.lake_checkbox.value is False
    _fetch(explorer, dt.date(2025, 3, 1))
    assert not lake.exists()  # unticked: nothing written

    explorer.lake_checkbox.value = True
    df = _fetch(explorer, dt.date(2025, 3, 1), dt.date(2025, 3, 2))

    assert sorted(p.parent.name for p in lake.glob("date=*/part-0.parquet")) == ["date=2025-03-01", "date=2025-03-02"]
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), df)
    assert explorer.status_text.endswith(f"; saved to the lake {lake}")


def test_a_lake_holding_other_filters_is_refused_before_any_request(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    nxframe.fetch_cdr(DAY, client=client, lake=lake, progress=False)
    sim.reset()
    explorer = CdrExplorer(client, lake=lake, start=DAY)
    assert explorer.lake_checkbox is not None
    explorer.lake_checkbox.value = True
    explorer.call_type_dropdown.value = "incoming"
    _fetch(explorer, DAY)

    assert explorer.status_text.startswith("✗ LakeError: ")
    assert sim.requests == []


def test_show_displays_any_frame_and_returns_exact_totals(
    sim: Simulator, client: nxframe.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nxframe.sync_lake(tmp_path, "2025-03-01", "2025-03-02", client=client, progress=False)
    df = nxframe.read_lake(tmp_path)
    summary = show(df)

    truth = sim.ground_truth("2025-03-01", "2025-03-02")
    assert summary == Summary(
        rows=len(truth),
        calls=len(truth),
        answered=int((truth["call_duration"] > 0).sum()),
        billed_minutes=sum(truth["fee_duration_minute"], Decimal(0)),
        total_cost=sum(truth["call_price"], Decimal(0)),
        first_date=dt.date(2025, 3, 1),
        last_date=dt.date(2025, 3, 2),
        dates=2,
        did_numbers=truth["did_number"].nunique(),
    )
    printed = capsys.readouterr().out  # no IPython here: the summary and the checks are printed
    assert f"total cost      {summary.total_cost:,}" in printed
    assert f"Billing check: {check_lines(df)[0]}" in printed


def test_the_summary_writes_money_with_thousands_separators_like_the_counts() -> None:
    """#15.11: "34,323.050009" next to "19,505", not "34323.050009"; no digit lost."""
    summary = Summary(19505, 19505, 12000, Decimal("81234.500000"), Decimal("34323.050009"), None, None, 0, 12)
    values = summary.to_frame()["value"]
    assert values["calls"] == "19,505"
    assert values["total cost"] == "34,323.050009" and values["billed minutes"] == "81,234.500000"


def test_the_billing_check_line_counts_a_call_billed_off_the_rules(sim: Simulator) -> None:
    """show() and the explorer say what the billing check found in the fetched dates (issue 14 item 5)."""
    truth = sim.ground_truth(DAY)
    answered = truth.index[truth["call_duration"] > 0][0]
    overcharged = truth.copy()
    overcharged.loc[answered, "call_price"] = truth.loc[answered, "call_price"] + Decimal("1.5")
    clean, flagged = check_lines(truth)[0], check_lines(overcharged)[0]
    assert clean == f"{len(truth):,} calls checked, 0 off the rules, overcharge 0.000000 CNY"
    assert flagged == f"{len(truth):,} calls checked, 1 off the rules, overcharge 1.500000 CNY"
    plain = "\n".join(bundle["text/plain"] for bundle in bundles(overcharged, summarize(overcharged)))
    assert f"Billing check: {flagged}" in plain


def test_chart_labels_are_literal_and_cut_to_40_characters(sim: Simulator) -> None:
    """API text is data: a country like ``$\\foo{bar}$`` is drawn as written (mathtext would raise)."""
    truth = sim.ground_truth(DAY)
    math = "$\\foo{bar}$"
    long = "Republic of " + "Very " * 20 + "Long Name"
    names = [math if i % 2 else long for i in range(len(truth))]
    frame = truth.assign(country_name=pd.array(names, dtype=truth["country_name"].dtype))
    figure = chart(frame)
    figure.savefig(io.BytesIO(), format="png")  # text is laid out (and mathtext parsed) only here
    labels = [text.get_text() for text in figure.axes[1].get_yticklabels()]
    assert math in labels
    cut = next(label for label in labels if label.startswith("Republic"))
    assert len(cut) == 40 and cut.endswith("…") and long.startswith(cut[:-1])


def test_show_refuses_floats_for_money_and_foreign_frames(sim: Simulator) -> None:
    truth = sim.ground_truth(DAY)
    with pytest.raises(nxframe.InvalidInputError, match="call_price is float64, not an exact decimal"):
        show(truth.assign(call_price=truth["call_price"].astype("float64")))
    with pytest.raises(nxframe.InvalidInputError, match="lacks date, id"):
        show(pd.DataFrame({"x": [1]}))


def test_an_empty_result_still_summarises_and_charts(sim: Simulator, client: nxframe.Client) -> None:
    explorer = CdrExplorer(client)
    tomorrow = sim.today() + dt.timedelta(days=1)  # the simulator has no calls after today
    df = _fetch(explorer, tomorrow)

    assert df is not None and len(df) == 0
    assert explorer.status_text.startswith(f"✓ no calls on {tomorrow}, total cost 0")
    assert summarize(df).first_date is None
    assert len(chart(df).axes) == 2


def test_the_plain_text_fallback_says_why_no_form_appears(client: nxframe.Client) -> None:
    bundle = CdrExplorer(client)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "cannot show Jupyter widgets" in bundle["text/plain"]


def test_bad_constructor_arguments_raise_at_once(client: nxframe.Client) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="page_size"):
        CdrExplorer(client, page_size=1000)
    with pytest.raises(nxframe.InvalidInputError, match="before start"):
        CdrExplorer(client, start="2025-03-05", end="2025-03-01")


def test_import_nxframe_loads_no_notebook_machinery() -> None:
    """The core never imports ipywidgets, tqdm or matplotlib; only nxframe.widgets does (ipywidgets)."""
    code = "import sys, nxframe; print(sorted(m for m in ('ipywidgets', 'tqdm', 'matplotlib') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_svg_shows_a_figure_of_your_own_with_its_labels_as_text() -> None:
    """#20: a pandas chart of Chinese, Thai or Japanese names, with no missing-glyph warning (they are errors here)."""
    from matplotlib.figure import Figure

    from nxframe.widgets import svg

    axes = Figure(figsize=(5, 2)).subplots()
    costs = pd.Series([1.5, 2.25, 3.0], index=["泰国", "ประเทศไทย", "日本"])
    costs.plot(kind="barh", ax=axes, title="国家 cost")
    bundle = svg(axes.figure)._repr_mimebundle_()
    drawn = re.findall(r"<text\b[^>]*>([^<]*)</text>", bundle["image/svg+xml"])
    assert {"泰国", "ประเทศไทย", "日本", "国家 cost"} <= set(drawn)
    assert [t.get_text() for t in axes.get_yticklabels()] == ["泰国", "ประเทศไทย", "日本"]  # the figure is as it was
    assert axes.get_title() == "国家 cost"


def test_a_hostile_server_message_is_one_short_escaped_status_line(sim: Simulator, client: nxframe.Client) -> None:
    """#20: an ANSI escape and 200 KB from the server: shown as ``\\x1b``, the server's part cut to 300 characters."""
    sim.faults.add("code_1005", times=None, message="\x1b[31mred\x00" + "A" * 200_000)
    explorer = CdrExplorer(client)
    assert _fetch(explorer, DAY) is None

    status = explorer.status_text
    assert status.startswith("✗ AuthError: NXCloud denied permission") and "\\x1b[31mred\\x00AAA" in status
    assert "\x1b" not in explorer.status.value and "\x00" not in explorer.status.value
    assert "A" * 300 not in status and len(status) < 1_100
