"""Progress reporting for people: turns the ``progress=`` option into a callback.

The core only calls a :data:`~nxframe.pages.ProgressCallback`; this edge
module decides how it looks. ``None`` means automatic: a ``tqdm.auto`` bar
(a widget in Jupyter, text on a terminal) when someone is watching, nothing
in a cron job or a pipe.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Union

from .pages import FetchProgress, ProgressCallback

__all__ = ["ProgressOption", "ProgressReporter", "progress_reporter"]

ProgressOption = Union[None, bool, Callable[[FetchProgress], Any]]


class ProgressReporter:
    """A callback plus ``close()``; use as a context manager around a fetch."""

    def __init__(self, callback: ProgressCallback | None, bar: Any = None) -> None:
        self.callback = callback
        self._bar = bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

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
    if option is False or (option is None and not _watched()):
        return ProgressReporter(None)
    if callable(option) and option is not True:
        return ProgressReporter(option)
    from tqdm.auto import tqdm

    bar = tqdm(total=0, desc=description, unit="page", file=sys.stderr, dynamic_ncols=True, leave=True)

    def update(state: FetchProgress) -> None:
        if bar.total != state.pages_total:
            bar.total = state.pages_total
            bar.refresh()
        bar.update(state.pages_done - bar.n)
        bar.set_postfix(dates=f"{state.dates_done}/{state.dates_total}", rows=state.rows, refresh=False)

    return ProgressReporter(update, bar)
