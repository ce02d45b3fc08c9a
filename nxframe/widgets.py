"""Jupyter widgets for call records: :class:`CdrExplorer` (pick, fetch, look) and :func:`show` (summary + chart).

>>> from nxframe.widgets import CdrExplorer, show
>>> CdrExplorer()                     # doctest: +SKIP   (last line of a cell: the form appears)
>>> summary = show(df)                # doctest: +SKIP   summary table, first rows, chart
>>> summary.total_cost                # doctest: +SKIP
Decimal('2234.665697')

This is an edge module: the core never imports it, and it is the only module
that imports ipywidgets.

Why the explorer fetches in a background thread
-----------------------------------------------
A button's click handler runs on the kernel's main thread, inside the handler
of the comm message that carried the click. Fetched there, a month of calls
(a few seconds on the simulator, minutes against NXCloud at about one request
a second) would hold the kernel for the whole time: no other cell runs, and
every other widget event (a second click, a date change) waits in the queue.
The progress bar would still move, since its updates are messages the kernel
sends, not ones it receives, but the notebook would feel frozen. So the click
only validates the form (bad dates fail at once, before any request), disables
the Fetch button and hands the fetch to a thread; the kernel stays free, and
the disabled button means at most one fetch per explorer.

What makes the thread safe:

- the fetch's own workers already call the progress callback from their
  threads, so widgets are updated off the main thread either way; ipykernel
  sends comm messages from any thread through its IOPub thread;
- results go into ``Output.outputs`` as ready-made MIME bundles. The
  ``with output:`` capture routes by the *current cell's* parent message, so
  from a thread it would misplace output (the ipywidgets documentation's
  "output widgets and background threads" caveat);
- charts use matplotlib's object API (:class:`~matplotlib.figure.Figure`, no
  ``pyplot``), which has no global figure state to race with a plotting cell;
- every exception in the thread is caught: expected ones
  (:class:`~nxframe.errors.NxframeError`) become the status line, others too,
  marked unexpected, and both are kept in :attr:`CdrExplorer.last_error`
  (ipywidgets would only log an exception raised in a callback).

Tests and scripts wait deterministically with :meth:`CdrExplorer.wait` (or
``.future``); ``threaded=False`` runs the fetch inside the click instead,
which is simpler to step through in a debugger.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as dt
import html
import io
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
from matplotlib.figure import Figure

try:
    import ipywidgets as widgets
except ImportError as exc:  # pragma: no cover - ipywidgets is a dependency; a broken install lands here
    raise ImportError(
        f"nxframe.widgets needs ipywidgets 8.1 or later ({exc}); install it with: pip install 'ipywidgets>=8.1'. "
        "nxframe.fetch_cdr and the rest of nxframe work without it"
    ) from exc

from .client import Client
from .errors import InvalidInputError, NxframeError
from .lake import Lake
from .pages import FetchProgress
from .query import MAX_PAGE_SIZE, CdrQuery
from .redaction import MASK

__all__ = ["CdrExplorer", "Summary", "chart", "show", "summarize"]

log = logging.getLogger("nxframe")

#: Columns :func:`summarize` and :func:`chart` read; every frame from fetch_cdr/read_lake has them.
NEEDED_COLUMNS = (
    "date",
    "id",
    "call_type",
    "country_name",
    "start_time",
    "call_duration",
    "fee_duration_minute",
    "call_price",
)
#: Rows of the table shown under the summary.
HEAD_ROWS = 10
#: Countries in the cost chart; the rest are summed into "other".
TOP_COUNTRIES = 10
#: Status line colours: JupyterLab's theme variables, with fallbacks for other front ends.
_COLOURS = {
    "idle": "var(--jp-ui-font-color2, #57606a)",
    "busy": "var(--jp-ui-font-color1, #24292f)",
    "ok": "var(--jp-success-color1, #1a7f37)",
    "error": "var(--jp-error-color1, #cf222e)",
}
_MARKS = {"idle": "", "busy": "⏳ ", "ok": "✓ ", "error": "✗ "}


# -- the summary -----------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The headline numbers of a call-record DataFrame, money exact.

    Attributes:
        rows: rows in the frame.
        calls: distinct calls, by ``(date, id)``; equals ``rows`` for a frame
            from fetch_cdr or read_lake, less if frames were concatenated twice.
        answered: calls that lasted at least a second (``call_duration > 0``).
        billed_minutes: sum of ``fee_duration_minute``, an exact ``Decimal``.
        total_cost: sum of ``call_price``, an exact ``Decimal``.
        first_date, last_date: the dates covered, ``None`` when there are no rows.
        dates: distinct dates with rows.
        did_numbers: distinct DID numbers.
    """

    rows: int
    calls: int
    answered: int
    billed_minutes: Decimal
    total_cost: Decimal
    first_date: dt.date | None
    last_date: dt.date | None
    dates: int
    did_numbers: int

    def __repr__(self) -> str:
        span = "no rows" if self.first_date is None else f"{self.first_date}..{self.last_date}"
        return (
            f"Summary(rows={self.rows}, calls={self.calls}, answered={self.answered}, "
            f"billed_minutes=Decimal('{self.billed_minutes}'), total_cost=Decimal('{self.total_cost}'), dates={span})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per figure, values as text so the decimals show every digit (no float on the way)."""
        if self.first_date is None:
            span = "none"
        elif self.first_date == self.last_date:
            span = str(self.first_date)
        else:
            span = f"{self.first_date} … {self.last_date} ({self.dates} with calls)"
        share = f" ({self.answered / self.calls:.1%})" if self.calls else ""
        values = {
            "dates": span,
            "rows": f"{self.rows:,}",
            "calls": f"{self.calls:,}",
            "answered": f"{self.answered:,}{share}",
            "DID numbers": f"{self.did_numbers:,}",
            "billed minutes": str(self.billed_minutes),
            "total cost": str(self.total_cost),
        }
        return pd.DataFrame({"value": list(values.values())}, index=pd.Index(list(values), name="summary"))

    def text(self) -> str:
        """The summary as plain lines, for a terminal or a log."""
        frame = self.to_frame()
        width = max(len(str(name)) for name in frame.index)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in zip(frame.index, frame["value"], strict=True))


def summarize(df: pd.DataFrame) -> Summary:
    """The :class:`Summary` of a DataFrame from ``fetch_cdr`` or ``read_lake``; sums are exact decimals.

    Raises:
        InvalidInputError: a needed column is missing, or money is not a decimal
            column (a float sum would not be exact).
    """
    _check_frame(df)
    dates = df["date"].dropna()
    return Summary(
        rows=len(df),
        calls=len(df[["date", "id"]].drop_duplicates()),
        answered=int((df["call_duration"].fillna(0) > 0).sum()),
        billed_minutes=_exact_sum(df["fee_duration_minute"]),
        total_cost=_exact_sum(df["call_price"]),
        first_date=dates.min() if len(dates) else None,
        last_date=dates.max() if len(dates) else None,
        dates=int(dates.nunique()),
        did_numbers=int(df["did_number"].nunique()) if "did_number" in df.columns else 0,
    )


def _check_frame(df: Any) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"expected a DataFrame from nxframe.fetch_cdr or read_lake, not {type(df).__name__}")
    missing = [name for name in NEEDED_COLUMNS if name not in df.columns]
    if missing:
        raise InvalidInputError(
            f"the DataFrame lacks {', '.join(missing)}; pass a frame from nxframe.fetch_cdr or read_lake "
            "(all columns, or at least these)"
        )
    for name in ("fee_duration_minute", "call_price"):
        dtype = df[name].dtype
        if not (isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype)):
            raise InvalidInputError(
                f"{name} is {dtype}, not an exact decimal: totals would be rounded. Keep the column as "
                "fetch_cdr returns it (decimal128) and convert to float only for a chart"
            )


def _exact_sum(values: pd.Series) -> Decimal:
    """Sum of an Arrow decimal column as a ``Decimal``: Arrow adds exactly, in decimal128(38, s)."""
    total = values.sum()
    if total is None or total is pd.NA:
        return Decimal(0)
    return total if isinstance(total, Decimal) else Decimal(str(total))


# -- the chart -------------------------------------------------------------------------


def chart(df: pd.DataFrame) -> Figure:
    """Calls per hour (by direction) and cost by country, as a matplotlib :class:`Figure`.

    Uses the object API (no ``pyplot``), so it is safe in any thread and
    leaves no figure open. Bar lengths are floats, which is fine for pixels;
    the cost labels print the exact decimal totals.

    Raises:
        InvalidInputError: as :func:`summarize`.
    """
    _check_frame(df)
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    hours_axes, country_axes = figure.subplots(1, 2, width_ratios=(3, 2))
    _plot_hours(hours_axes, df)
    _plot_countries(country_axes, df)
    return figure


def _plot_hours(axes: Any, df: pd.DataFrame) -> None:
    frame = pd.DataFrame({"hour": df["start_time"].dt.hour.astype("Int64"), "call_type": df["call_type"]})
    frame = frame.dropna()
    counts = frame.groupby(["hour", "call_type"], observed=False).size().unstack(fill_value=0)
    counts = counts.reindex(range(24), fill_value=0)
    bottom = [0] * 24
    for direction in counts.columns:
        heights = [int(v) for v in counts[direction]]
        if any(heights):
            axes.bar(range(24), heights, bottom=bottom, label=str(direction), width=0.85)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title("Calls per hour of the day")
    axes.set_xlabel("hour (start time)")
    axes.set_ylabel("calls")
    axes.set_xticks(range(0, 24, 2))
    axes.set_xlim(-0.6, 23.6)
    if not any(bottom):
        axes.text(0.5, 0.5, "no calls", transform=axes.transAxes, ha="center", va="center", color="grey")
    elif len(axes.get_legend_handles_labels()[0]) > 1:
        axes.legend(frameon=False)


def _plot_countries(axes: Any, df: pd.DataFrame) -> None:
    # Sums stay exact decimals; only the bar lengths are converted to float.
    cost = df.groupby(df["country_name"].fillna("(unknown)"), sort=False)["call_price"].sum().sort_values()
    if len(cost) > TOP_COUNTRIES:
        rest = cost.iloc[: len(cost) - TOP_COUNTRIES + 1]
        top = cost.iloc[len(cost) - TOP_COUNTRIES + 1 :]
        cost = pd.concat([pd.Series([rest.sum()], index=["other"], dtype=cost.dtype), top])
    axes.set_title("Cost by country")
    if len(cost) == 0:
        axes.text(0.5, 0.5, "no calls", transform=axes.transAxes, ha="center", va="center", color="grey")
        axes.set_xticks([])
        axes.set_yticks([])
        return
    labels = [str(name) for name in cost.index]
    values = [Decimal(value) for value in cost]  # iterating an Arrow decimal column gives Decimals
    axes.barh(labels, [float(v) for v in values], color="#4c72b0")
    for row, value in enumerate(values):
        axes.annotate(f" {value}", (float(value), row), va="center", fontsize=8)
    axes.set_xlabel("cost (exact totals at the bars)")
    axes.margins(x=0.35)


# -- MIME bundles: one rendering for show() and the explorer --------------------------------


def _frame_bundle(frame: pd.DataFrame) -> dict[str, str]:
    """A DataFrame as Jupyter renders it: pandas' HTML repr (decimals as written, e.g. 0.055000).

    Wrapped in a box that scrolls sideways, as JupyterLab's own outputs do:
    inside a widget the 19 columns would otherwise push the form's width.
    """
    rich = frame._repr_html_() or frame.to_html()
    wide = f'<div class="nxframe-rows" style="overflow-x: auto">{rich}</div>'
    return {"text/plain": repr(frame), "text/html": wide}


def _summary_bundle(summary: Summary) -> dict[str, str]:
    """The summary as a two-column table, no header: figure, value."""
    frame = summary.to_frame()
    table = frame.rename_axis(None).to_html(header=False, classes="nxframe-summary")
    return {"text/plain": summary.text(), "text/html": table}


def _figure_bundle(figure: Figure) -> dict[str, str]:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96)
    return {
        "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
        "text/plain": "<chart: calls per hour of the day; cost by country>",
    }


def _bundles(df: pd.DataFrame, summary: Summary, rows: int = HEAD_ROWS) -> list[dict[str, str]]:
    """Summary table, first rows, chart: what both :func:`show` and the explorer display."""
    heading = f"<b>First {min(rows, len(df))} of {len(df):,} rows</b>"
    return [
        _summary_bundle(summary),
        {"text/html": heading, "text/plain": f"First {min(rows, len(df))} of {len(df):,} rows"},
        _frame_bundle(df.head(rows)),
        _figure_bundle(chart(df)),
    ]


def _outputs(bundles: list[dict[str, str]]) -> tuple[dict[str, Any], ...]:
    """Bundles as notebook outputs, for ``Output.outputs`` (safe to set from any thread)."""
    return tuple({"output_type": "display_data", "data": bundle, "metadata": {}} for bundle in bundles)


def show(df: pd.DataFrame, *, rows: int = HEAD_ROWS) -> Summary:
    """Display a call-record DataFrame: summary (exact totals), its first rows and a chart.

    Works on any frame from ``fetch_cdr`` or ``read_lake``. In Jupyter or
    IPython it displays rich output (no widget needed, so it also renders in
    exported notebooks); elsewhere it prints the summary.

    Returns:
        The :class:`Summary`, e.g. ``show(df).total_cost`` is the exact total.

    Raises:
        InvalidInputError: as :func:`summarize`.
    """
    summary = summarize(df)
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        print(summary.text())
        return summary
    for bundle in _bundles(df, summary, rows):
        display(bundle, raw=True)  # type: ignore[no-untyped-call]
    return summary


# -- the explorer ----------------------------------------------------------------------


class CdrExplorer(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """A form for call records: dates and filters, Fetch, then a summary, the first rows and a chart.

    Display it as the last line of a cell. Each Fetch runs in a background
    thread (see the module docstring); the button is disabled until it ends.

    Args:
        client: the :class:`~nxframe.Client` to use. ``None``: ``nxframe.Client()``
            from the environment, made at the first Fetch so that missing
            credentials show in the status line, not as a traceback.
        lake: a lake folder or fsspec URL; adds a "save to lake" checkbox that
            writes each fetched date as a partition (``fetch_cdr(..., lake=)``).
        start, end: the dates the pickers start with; default yesterday.
        tz: passed to ``fetch_cdr``; default the lake's zone, if it has one.
        page_size: rows per request (1..999).
        threaded: ``False`` fetches inside the click handler (blocks the kernel).

    Attributes:
        df: the DataFrame of the last successful fetch (kept when a later one
            fails), or ``None``.
        summary: its :class:`Summary`.
        last_error: the exception that ended the last fetch, or ``None``;
            expected errors (:class:`~nxframe.errors.NxframeError`) and
            unexpected ones alike.
        future: a ``concurrent.futures.Future`` of the running or last fetch;
            its result is the fetched DataFrame, or ``None`` if it failed.
    """

    def __init__(
        self,
        client: Client | None = None,
        lake: Any = None,
        *,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        tz: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        threaded: bool = True,
    ) -> None:
        super().__init__()
        self.client = client
        self.lake = lake
        self.tz = tz if tz is not None or lake is None else Lake(lake).tz()
        self.page_size = page_size
        self.threaded = threaded
        self.df: pd.DataFrame | None = None
        self.summary: Summary | None = None
        self.last_error: BaseException | None = None
        self.future: Future[pd.DataFrame | None] | None = None
        self._own_client: Client | None = None
        self._running = False
        self._status_plain = ""

        # The arguments are code, not form input: a bad one raises here, at once.
        yesterday = dt.date.today() - dt.timedelta(days=1)
        initial = CdrQuery.build(yesterday if start is None else start, end, page_size=page_size, tz=self.tz)
        first, last = initial.start, initial.end
        text_layout = widgets.Layout(width="15em")
        self.start_picker = widgets.DatePicker(value=first, description="From")
        self.end_picker = widgets.DatePicker(value=last, description="To")
        self.did_number_text = widgets.Text(
            description="DID number", placeholder="any", layout=text_layout, style={"description_width": "initial"}
        )
        self.call_number_text = widgets.Text(
            description="Other party", placeholder="any", layout=text_layout, style={"description_width": "initial"}
        )
        self.call_type_dropdown = widgets.Dropdown(
            options=[("any", "any"), ("incoming", "incoming"), ("outgoing", "outgoing")],
            value="any",
            description="Direction",
            layout=widgets.Layout(width="14em"),
        )
        self.fetch_button = widgets.Button(
            description="Fetch", button_style="primary", icon="download", tooltip="Fetch the call records"
        )
        self.lake_checkbox: widgets.Checkbox | None = None
        if lake is not None:
            self.lake_checkbox = widgets.Checkbox(
                value=False,
                description=f"save each date to the lake {lake}",
                indent=False,
                layout=widgets.Layout(width="auto"),  # the whole path, not an ellipsis
            )
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="24em"))
        self.progress_label = widgets.Label(value="")
        self.status = widgets.HTML(value="")
        self.output = widgets.Output(layout=widgets.Layout(border="0"))

        self.fetch_button.on_click(self._on_click)
        actions: list[widgets.Widget] = [self.fetch_button]
        if self.lake_checkbox is not None:
            actions.append(self.lake_checkbox)
        self.children = (
            widgets.HBox([self.start_picker, self.end_picker]),
            widgets.HBox([self.did_number_text, self.call_number_text, self.call_type_dropdown]),
            widgets.HBox(actions),
            widgets.HBox([self.progress_bar, self.progress_label]),
            self.status,
            self.output,
        )
        self._set_status("idle", "Pick the dates (and filters), then press Fetch.")

    # -- what tests and scripts read -------------------------------------------------

    @property
    def running(self) -> bool:
        """A fetch is in progress (the Fetch button is disabled)."""
        return self._running

    @property
    def status_text(self) -> str:
        """The status line as plain text, e.g. ``"✓ 812 calls on 2025-03-03 in 0.3 s"``."""
        return self._status_plain

    def wait(self, timeout: float | None = None) -> pd.DataFrame | None:
        """Block until the running fetch ends; its DataFrame, or ``None`` if it failed or none ran.

        Raises:
            TimeoutError: the fetch did not end within ``timeout`` seconds.
        """
        if self.future is None:
            return None
        return self.future.result(timeout)

    def close(self) -> None:
        """Close the widget and the client the explorer made itself (a client passed in stays open)."""
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Widget view, plus a plain-text fallback that says why no form appears."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = (
                "CdrExplorer: this front end cannot show Jupyter widgets (JupyterLab/Notebook 7 with ipywidgets, "
                "VS Code and Voila can). Use nxframe.fetch_cdr(...) and nxframe.widgets.show(df) instead."
            )
        return bundle

    # -- one fetch -------------------------------------------------------------------

    def _on_click(self, _button: Any) -> None:
        """The Fetch button: validate now (bad input sends nothing), then fetch in a thread."""
        if self._running:  # ``Button.click()`` from code ignores ``disabled``; one fetch at a time
            return
        try:
            query = self._query()
            client = self._client_for_fetch()
        except Exception as exc:  # ipywidgets would only log it: show one line instead
            self._fail(exc, fetching=False)  # the last result stays shown: nothing was fetched
            return
        lake = self.lake if self.lake_checkbox is not None and self.lake_checkbox.value else None
        self._running = True
        self.fetch_button.disabled = True
        self.last_error = None
        self.output.outputs = ()
        with self.progress_bar.hold_sync():
            self.progress_bar.bar_style = ""
            self.progress_bar.value = 0
            self.progress_bar.max = 1
        self.progress_label.value = ""
        span = str(query.start) if query.start == query.end else f"{query.start} … {query.end}"
        self._set_status("busy", f"Fetching {span}…")
        future: Future[pd.DataFrame | None] = Future()
        future.set_running_or_notify_cancel()
        self.future = future
        if self.threaded:
            # A copy of the click's context: ipykernel keeps the parent message in a context variable.
            context = contextvars.copy_context()
            work = (self._fetch, client, query, lake, future)
            worker = threading.Thread(target=context.run, args=work, name="nxframe-explorer", daemon=True)
            worker.start()
        else:
            self._fetch(client, query, lake, future)

    def _query(self) -> CdrQuery:
        start = self.start_picker.value
        if start is None:
            raise InvalidInputError("pick a start date (From)")
        call_type = self.call_type_dropdown.value
        return CdrQuery.build(
            start,
            self.end_picker.value,  # empty: just the start date
            did_number=self.did_number_text.value.strip() or None,
            call_number=self.call_number_text.value.strip() or None,
            call_type=None if call_type == "any" else call_type,
            page_size=self.page_size,
            tz=self.tz,
        )

    def _client_for_fetch(self) -> Client:
        if self.client is not None:
            return self.client
        if self._own_client is None:
            self._own_client = Client()  # InvalidInputError naming the env vars when they are missing
        return self._own_client

    def _fetch(self, client: Client, query: CdrQuery, lake: Any, future: Future[pd.DataFrame | None]) -> None:
        started = time.perf_counter()
        frame: pd.DataFrame | None = None
        try:
            frame = client.fetch_query(query, lake=lake, progress=self._on_progress)
            summary = summarize(frame)
            self.output.outputs = _outputs(_bundles(frame, summary))
            self.df, self.summary = frame, summary
            self._finish_progress()
            self._set_status("ok", self._done_text(query, summary, time.perf_counter() - started, lake))
        except Exception as exc:  # a thread has nobody to raise to: keep it, show it
            frame = None
            self._fail(exc)
        finally:
            self._running = False
            self.fetch_button.disabled = False
            future.set_result(frame)

    def _on_progress(self, state: FetchProgress) -> None:
        """Called by the fetch's worker threads (one at a time) after every page and every date."""
        done = state.pages_done + state.dates_done
        # The total grows as each date's first page tells its page count; it never shrinks.
        total = max(state.pages_total + state.dates_total, done, 1)
        with self.progress_bar.hold_sync():
            self.progress_bar.max = total  # max before value: a value above max would be clipped
            self.progress_bar.value = done
        self.progress_label.value = (
            f"{state.dates_done}/{state.dates_total} dates · {state.pages_done}/{state.pages_total} pages · "
            f"{state.rows:,} rows"
        )

    def _finish_progress(self) -> None:
        with self.progress_bar.hold_sync():
            self.progress_bar.value = self.progress_bar.max
            self.progress_bar.bar_style = "success"

    @staticmethod
    def _done_text(query: CdrQuery, summary: Summary, seconds: float, lake: Any) -> str:
        span = f"on {query.start}" if query.start == query.end else f"from {query.start} to {query.end}"
        what = "no calls" if summary.rows == 0 else f"{summary.rows:,} calls"
        text = f"{what} {span}, total cost {summary.total_cost}, in {seconds:.1f} s"
        return text + (f"; saved to the lake {lake}" if lake is not None else "")

    def _fail(self, error: BaseException, *, fetching: bool = True) -> None:
        """One readable line in the status, never a traceback or the secret; the exception in ``last_error``."""
        self.last_error = error
        message = " ".join(str(error).split()) or "(no message)"
        if isinstance(error, NxframeError):
            text = f"{type(error).__name__}: {message}"
        else:
            text = f"Unexpected {type(error).__name__}: {message} (a bug in nxframe? the exception is in .last_error)"
            log.debug("CdrExplorer fetch failed unexpectedly", exc_info=error)
        if fetching:
            self.progress_bar.bar_style = "danger"
        self._set_status("error", self._redact(text))

    def _redact(self, text: str) -> str:
        """Belt and braces: nxframe's messages never hold the secret, but a foreign exception might."""
        for client in (self.client, self._own_client):
            if client is not None:
                secret = client.settings.access_secret.reveal()
                if len(secret) >= 4:
                    text = text.replace(secret, MASK)
        return text

    def _set_status(self, kind: str, text: str) -> None:
        self._status_plain = _MARKS[kind] + text
        self.status.value = f'<span style="color: {_COLOURS[kind]}">{html.escape(self._status_plain)}</span>'
