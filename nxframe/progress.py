"""Progress reporting for people: turns the ``progress=`` option into a callback.

The core only calls a :data:`~nxframe.pages.ProgressCallback`; this edge
module decides how it looks. ``None`` means automatic: a ``tqdm.auto`` bar
when someone is watching, nothing in a cron job or a pipe.

Which bar appears where (checked by hand, tqdm 4.70, ipywidgets 8.1):

- a Jupyter kernel with ipywidgets: a widget bar (``tqdm.notebook``);
- a Jupyter kernel without ipywidgets, or with one that fails to import:
  tqdm warns once ("IProgress not found") and draws a text bar instead; so do
  we when the widget itself cannot be built (a kernel without comms);
- a front end that cannot render widgets (an exported notebook, an editor
  without the widget renderer) shows the bar's text form as it was when drawn;
- a terminal (stderr is a TTY, IPython's terminal included): a text bar on stderr;
- anything else (a pipe, cron, CI): nothing, unless ``progress=True``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .pages import FetchProgress, ProgressCallback

__all__ = ["ProgressOption", "ProgressReporter", "progress_reporter"]

ProgressOption = None | bool | Callable[[FetchProgress], Any]


class ProgressReporter:
    """A callback plus ``close()``; use as a context manager around a fetch.

    Attributes:
        callback: what the fetch calls after every page and date, or ``None``.
        bar: the tqdm bar drawn, if any (for inspection).
    """

    def __init__(self, callback: ProgressCallback | None, bar: Any = None) -> None:
        self.callback = callback
        self.bar = bar

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _watched() -> bool:
    """A notebook kernel or an interactive terminal is showing our stderr."""
    if "ipykernel" in sys.modules:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover
            shell = None
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_reporter(option: ProgressOption, *, description: str = "pages") -> ProgressReporter:
    """Resolve ``progress=`` (``None`` auto, ``True``, ``False``, or a callable)."""
    if not (option is None or isinstance(option, bool) or callable(option)):
        from .errors import InvalidInputError

        raise InvalidInputError(
            f"progress must be None, True, False or a callable, not {option!r}", parameter="progress"
        )
    if option is False or (option is None and not _watched()):
        return ProgressReporter(None)
    if option is not None and option is not True:
        return ProgressReporter(option)
    bar = _new_bar(description)

    def update(state: FetchProgress) -> None:
        # Called from the fetch's worker threads, one at a time (the fetch serialises its reports).
        if bar.total != state.pages_total:
            _set_total(bar, state.pages_total)
        bar.update(state.pages_done - bar.n)
        bar.set_postfix(dates=f"{state.dates_done}/{state.dates_total}", rows=state.rows, refresh=False)

    return ProgressReporter(update, bar)


def _new_bar(description: str) -> Any:
    """``tqdm.auto``'s bar, or a text bar when a widget bar cannot be built here."""
    from tqdm.auto import tqdm as auto_tqdm

    class tqdm(auto_tqdm):  # type: ignore[misc,valid-type]  # noqa: N801 - tqdm's own name
        """The auto bar, made quiet if it fails half-built (its ``__del__`` would complain of the missing widget)."""

        def __init__(self, **options: Any) -> None:
            try:
                super().__init__(**options)
            except Exception:
                self.disable = True
                raise

    options: dict[str, Any] = {
        "total": 0,  # unknown until the first page of each date says how many pages it has
        "desc": description,
        "unit": "page",
        "file": sys.stderr,
        "dynamic_ncols": True,
        "leave": True,
    }
    try:
        return tqdm(**options)
    except Exception:  # a widget bar failed (no comm, a broken ipywidgets): text still informs
        from tqdm.std import tqdm as text_tqdm

        return text_tqdm(**options)


def _set_total(bar: Any, total: int) -> None:
    """Change a bar's total as pages are discovered, widget bars included.

    ``tqdm.notebook`` sizes its progress widget once, when built: with an
    unknown total it draws a full, blue ("info") placeholder and never resizes
    it, so the bar would look finished from the start. Its own ``reset(total)``
    fixes the widget but also restarts the clock (wrong rate and ETA), so the
    widget's ``max`` is set here directly.
    """
    bar.total = total
    children: Any = getattr(getattr(bar, "container", None), "children", ())
    if len(children) == 3:  # tqdm.notebook: (description, progress widget, counts)
        meter = children[1]
        meter.max = max(total, 1)
        if meter.bar_style == "info":
            meter.bar_style = ""
            meter.value = min(bar.n, meter.max)
    bar.refresh()
