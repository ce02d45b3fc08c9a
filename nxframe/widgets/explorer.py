"""The call-record explorer: pick dates and filters, Fetch, see the summary, the checks, rows and a chart.

This is the only module of nxframe that imports ipywidgets.

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

import contextvars
import datetime as dt
import logging
import re
import threading
import time
from concurrent.futures import Future
from typing import Any

import pandas as pd

try:
    import ipywidgets as widgets
except ImportError as exc:  # pragma: no cover - ipywidgets is a dependency; a broken install lands here
    raise ImportError(
        f"nxframe.widgets needs ipywidgets 8.1 or later ({exc}); install it with: pip install 'ipywidgets>=8.1'. "
        "nxframe.fetch_cdr and the rest of nxframe work without it"
    ) from exc

from ..client import Client
from ..errors import InvalidInputError, NxframeError
from ..lake import Lake
from ..outputs import error_text, html_escape
from ..pages import FetchProgress
from ..query import FILTERS, MAX_PAGE_SIZE, CdrQuery
from ..redaction import MASK, Secret
from .display import bundles, outputs
from .summary import Summary, summarize

__all__ = ["CdrExplorer"]

log = logging.getLogger("nxframe")

#: Status line colours: JupyterLab's theme variables, with fallbacks for other front ends.
_COLOURS = {
    "idle": "var(--jp-ui-font-color2, #57606a)",
    "busy": "var(--jp-ui-font-color1, #24292f)",
    "ok": "var(--jp-success-color1, #1a7f37)",
    "error": "var(--jp-error-color1, #cf222e)",
}
_MARKS = {"idle": "", "busy": "⏳ ", "ok": "✓ ", "error": "✗ "}
#: Where a foreign exception's text is split into words to look for the secret.
_WORD_EDGES = re.compile(r"[\s'\"=:,;()\[\]{}<>]+")


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
            fails), or ``None``. Its display is cleared when a fetch fails and
            marked "previous result" when the form is refused, so what shows
            under a red line is never taken for the refused dates' result.
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
        self._shown: tuple[str, tuple[dict[str, Any], ...]] | None = None  # (its dates, its outputs)

        # The arguments are code, not form input: a bad one raises here, at once.
        yesterday = dt.date.today() - dt.timedelta(days=1)
        initial = CdrQuery.build(yesterday if start is None else start, end, page_size=page_size, tz=self.tz)
        first, last = initial.start, initial.end
        text_layout = widgets.Layout(width="15em")
        self.start_picker = widgets.DatePicker(value=first, description="From")
        self.end_picker = widgets.DatePicker(value=last, description="To")
        #: One control per filter of ``nxframe.query.FILTERS``: a dropdown for named values, else a text box;
        #: also reachable as ``<name>_dropdown`` / ``<name>_text`` (``explorer.call_type_dropdown``).
        self.filter_controls: dict[str, widgets.Text | widgets.Dropdown] = {}
        for rule in FILTERS:
            control: widgets.Text | widgets.Dropdown
            if rule.codes:
                options = [("any", "any"), *((name, name) for name in rule.codes)]
                control = widgets.Dropdown(
                    options=options, value="any", description=rule.label, layout=widgets.Layout(width="14em")
                )
            else:
                control = widgets.Text(
                    description=rule.label,
                    placeholder="any",
                    layout=text_layout,
                    style={"description_width": "initial"},
                )
            self.filter_controls[rule.name] = control
            setattr(self, f"{rule.name}_{'dropdown' if rule.codes else 'text'}", control)
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
            widgets.HBox(list(self.filter_controls.values())),
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
            TimeoutError: the fetch did not end within ``timeout`` seconds (it goes on running).
        """
        if self.future is None:
            return None
        try:
            return self.future.result(timeout)
        except TimeoutError:  # the future's own has no message: say what it means and what to do
            raise TimeoutError(
                f"the fetch is still running after {timeout} s; call wait() again, or wait() without a timeout"
            ) from None

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
            self._reset_progress()  # the bar spoke of the last fetch; this one never started
            self._fail(exc, fetching=False)
            self._mark_previous()  # nothing was fetched: the last result stays, labelled as such
            return
        lake = self.lake if self.lake_checkbox is not None and self.lake_checkbox.value else None
        self._running = True
        self.fetch_button.disabled = True
        self.last_error = None
        self.output.outputs = ()
        self._shown = None
        self._reset_progress()
        self._set_status("busy", f"Fetching {_span(query)}…")
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
        chosen = {name: str(control.value).strip() for name, control in self.filter_controls.items()}
        filters = {name: None if value in ("", "any") else value for name, value in chosen.items()}
        return CdrQuery.build(
            start,
            self.end_picker.value,  # empty: just the start date
            **filters,
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
            shown = outputs(bundles(frame, summary))
            self.output.outputs = shown
            self._shown = (_span(query), shown)
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

    def _reset_progress(self) -> None:
        """An empty bar and no counts: nothing fetched yet."""
        with self.progress_bar.hold_sync():
            self.progress_bar.bar_style = ""
            self.progress_bar.value = 0
            self.progress_bar.max = 1
        self.progress_label.value = ""

    def _finish_progress(self) -> None:
        with self.progress_bar.hold_sync():
            self.progress_bar.value = self.progress_bar.max
            self.progress_bar.bar_style = "success"

    @staticmethod
    def _done_text(query: CdrQuery, summary: Summary, seconds: float, lake: Any) -> str:
        span = f"on {query.start}" if query.start == query.end else f"from {query.start} to {query.end}"
        what = "no calls" if summary.rows == 0 else f"{summary.rows:,} calls"
        text = f"{what} {span}, total cost {summary.total_cost:,}, in {seconds:.1f} s"
        return text + (f"; saved to the lake {lake}" if lake is not None else "")

    def _fail(self, error: BaseException, *, fetching: bool = True) -> None:
        """One readable line in the status, never a traceback or the secret; the exception in ``last_error``."""
        self.last_error = error
        message = error_text(error) or "(no message)"  # the server's text cut, its control characters escaped
        if isinstance(error, NxframeError):
            text = f"{type(error).__name__}: {message}"
        else:
            text = f"Unexpected {type(error).__name__}: {message} (a bug in nxframe? the exception is in .last_error)"
            log.debug("CdrExplorer fetch failed unexpectedly", exc_info=error)
        if fetching:
            self.progress_bar.bar_style = "danger"
        self._set_status("error", self._redact(text))

    def _mark_previous(self) -> None:
        """Label the result still shown as the previous one: the pickers now show other, refused values."""
        if self._shown is None:
            return
        span, shown = self._shown
        note = f"Previous result ({span}); the form's new values were refused, nothing was fetched."
        marker = {"text/plain": note, "text/html": f"<i>{html_escape(note)}</i>"}
        self.output.outputs = (outputs([marker])[0], *shown)

    def _redact(self, text: str) -> str:
        """Belt and braces: nxframe's messages never hold the secret, but a foreign exception might.

        The secret is never read here (only the signer reveals it): each word of
        the text is compared with it through :class:`Secret`'s own equality.
        """
        secrets = [c.settings.access_secret for c in (self.client, self._own_client) if c is not None]
        if not secrets:
            return text
        words = {word for word in _WORD_EDGES.split(text) if len(word) >= 4}
        for word in words:
            if any(Secret(word) == secret for secret in secrets):
                text = text.replace(word, MASK)
        return text

    def _set_status(self, kind: str, text: str) -> None:
        self._status_plain = _MARKS[kind] + text
        self.status.value = f'<span style="color: {_COLOURS[kind]}">{html_escape(self._status_plain)}</span>'


def _span(query: CdrQuery) -> str:
    return str(query.start) if query.start == query.end else f"{query.start} … {query.end}"
