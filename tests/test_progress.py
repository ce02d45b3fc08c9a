"""``progress=``: None (auto), True, False or a callable, and the bars people see in notebooks and terminals."""

from __future__ import annotations

import pytest
import tqdm.auto
import tqdm.notebook

import nxframe
from nxframe.pages import FetchProgress
from nxframe.progress import progress_reporter
from nxframe.simulator import Simulator

START, END = "2025-03-01", "2025-03-02"


@pytest.fixture
def two_days(sim: Simulator) -> int:
    """Two dates of 250 and 120 calls: 3 + 2 pages at page_size=100."""
    sim.set_rows(START, 250)
    sim.set_rows(END, 120)
    return 5


def test_a_callable_gets_every_step_from_the_workers(client: nxframe.Client, two_days: int) -> None:
    states: list[FetchProgress] = []
    nxframe.fetch_cdr(START, END, client=client, page_size=100, progress=states.append)

    assert states[-1] == FetchProgress(pages_done=5, pages_total=5, dates_done=2, dates_total=2, rows=370)
    done = [s.pages_done + s.dates_done for s in states]
    assert done == sorted(done)


def test_true_outside_a_notebook_draws_a_text_bar_on_stderr(
    client: nxframe.Client, two_days: int, capsys: pytest.CaptureFixture[str]
) -> None:
    nxframe.fetch_cdr(START, END, client=client, page_size=100, progress=True)

    captured = capsys.readouterr()
    assert captured.out == ""
    final = captured.err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("pages: 100%")
    assert "5/5" in final and "dates=2/2" in final and "rows=370" in final


@pytest.mark.parametrize("option", [None, False])
def test_none_is_silent_when_nobody_watches_and_false_always(
    client: nxframe.Client, capsys: pytest.CaptureFixture[str], option: bool | None
) -> None:
    nxframe.fetch_cdr(START, client=client, progress=option)  # pytest's stderr is not a terminal
    assert capsys.readouterr() == ("", "")


def test_the_notebook_bar_grows_with_the_pages_found(
    client: nxframe.Client, two_days: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tqdm.notebook draws a full 'info' bar for an unknown total; the widget must follow the real total."""
    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)  # what tqdm.auto is inside a Jupyter kernel
    reporter = progress_reporter(True)
    with reporter:
        client.fetch_cdr(START, END, page_size=100, progress=reporter.callback)

    _, meter, counts = reporter.bar.container.children
    assert (meter.value, meter.max, meter.bar_style) == (5, 5, "success")
    assert "5/5" in counts.value


def test_a_widget_bar_that_cannot_be_built_falls_back_to_text(
    client: nxframe.Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class NoWidgets(tqdm.notebook.tqdm):  # type: ignore[misc]
        @staticmethod
        def status_printer(*args: object, **kwargs: object) -> None:
            raise ImportError("IProgress not found")  # what tqdm.notebook raises when it cannot build the widget

    monkeypatch.setattr(tqdm.auto, "tqdm", NoWidgets)
    nxframe.fetch_cdr(START, client=client, progress=True)

    assert "pages: 100%" in capsys.readouterr().err
