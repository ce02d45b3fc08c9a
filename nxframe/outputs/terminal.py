"""What the command line prints: tables and lines whose server text cannot steer the terminal.

A country name, a DID number or an error message from a server is printed
with its control and escape characters shown as ``\\x1b`` and cut to 300
characters (:data:`~.text.RULES` ``"terminal"``), so a hostile server can
neither recolour nor rewrite the screen nor flood it. Tables line up in any
script: Chinese and Japanese characters count as two columns.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .text import ERROR_LINE_CHARS, terminal_text

__all__ = ["terminal_lines", "terminal_table"]


def terminal_table(frame: pd.DataFrame, **options: Any) -> str:
    """``frame.to_string(**options)``, its text cells escaped and cut, wide characters counted as two columns."""
    shown = frame.copy()
    for name in shown.columns:
        dtype = shown[name].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            shown[name] = shown[name].astype(object).map(lambda v: terminal_text(v) if isinstance(v, str) else v)
    with pd.option_context("display.unicode.east_asian_width", True):
        text: str = shown.to_string(**options)
    return text


def terminal_lines(text: str) -> str:
    """Lines of ours that quote server text (a report's summary): each escaped and cut to 1,000 characters."""
    return "\n".join(terminal_text(line, ERROR_LINE_CHARS) for line in text.split("\n"))
