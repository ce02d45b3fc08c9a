"""What API text may become in each output: one rule per output, in one table.

API text (country and reason names, numbers, a server's error message) is
data, never markup, a formula, a terminal command or a math formula, and it
keeps its characters in any script. What differs between outputs is which
control characters each accepts and how long a text may be:

==========  ==========================================  ===================  ==========================
output      control characters                          longest text         besides
==========  ==========================================  ===================  ==========================
html        C0 but tab and newline, DEL, C1 -> U+FFFD   whole                escaped (Jinja2 autoescape
                                                                             or :func:`html_escape`)
excel       C0 but tab, newline and CR -> U+FFFD        32,767, cut with an  typed as text, never a
            (what Excel refuses)                        ellipsis and noted   formula
csv         kept: the exact copy                        whole                OWASP's CSV-injection rule
                                                                             (:func:`csv_cell`); cells
                                                                             with a newline or CR quoted
chart       every control character -> U+FFFD           40, with an ellipsis drawn literally (no math)
terminal    shown as ``\\x1b``-style escapes            300, with an         (also bidi overrides)
                                                        ellipsis
==========  ==========================================  ===================  ==========================

A lone surrogate (JSON can carry ``"\\ud800"``) cannot be written as UTF-8:
every output but the terminal turns it into U+FFFD, the terminal shows its escape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHART_LABEL_CHARS",
    "ERROR_LINE_CHARS",
    "EXCEL_CELL_LIMIT",
    "RULES",
    "TERMINAL_CHARS",
    "TextRule",
    "chart_label",
    "csv_cell",
    "error_text",
    "excel_text",
    "html_escape",
    "html_text",
    "terminal_text",
]

#: Excel's own limit of characters in a cell.
EXCEL_CELL_LIMIT = 32_767
#: Longest chart label, in characters (tables keep the text whole).
CHART_LABEL_CHARS = 40
#: Longest server text printed on a terminal, in characters.
TERMINAL_CHARS = 300
#: Longest error line, in characters: the server's part is cut first, this bounds what else it may quote.
ERROR_LINE_CHARS = 1_000
ELLIPSIS = "…"

_C0 = "".join(map(chr, range(0x20)))
_C1 = "\x7f" + "".join(map(chr, range(0x80, 0xA0)))
_SURROGATES = "\ud800-\udfff"
#: Characters that reorder what a terminal shows (the "Trojan source" trick): escaped there.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"


@dataclass(frozen=True)
class TextRule:
    """How one output treats text.

    Attributes:
        refused: a regular expression character class of what the output refuses.
        escape: show a refused character as its ``\\x1b``-style escape instead of U+FFFD.
        limit: the longest text in characters (an ellipsis included), or ``None``.
    """

    refused: str
    escape: bool = False
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(f"[{self.refused}]"))

    def apply(self, text: str) -> str:
        """``text`` as this output accepts it."""
        if self.limit is not None:
            text = text[: self.limit + 1]  # bound the work on a huge text before anything else looks at it
        pattern: re.Pattern[str] = self.__dict__["_pattern"]
        text = pattern.sub(_escaped if self.escape else "\ufffd", text)
        if self.limit is not None and len(text) > self.limit:
            text = text[: self.limit - 1] + ELLIPSIS
        return text


def _class(characters: str) -> str:
    return "".join(f"\\x{ord(c):02x}" for c in characters)


RULES: dict[str, TextRule] = {
    "html": TextRule(_class(_C0.replace("\t", "").replace("\n", "") + _C1) + _SURROGATES),
    "excel": TextRule(
        _class(_C0.replace("\t", "").replace("\n", "").replace("\r", "")) + _SURROGATES, limit=EXCEL_CELL_LIMIT
    ),
    "csv": TextRule(_SURROGATES),
    "chart": TextRule(_class(_C0 + _C1) + _SURROGATES, limit=CHART_LABEL_CHARS),
    "terminal": TextRule(_class(_C0 + _C1) + _SURROGATES + _BIDI, escape=True, limit=TERMINAL_CHARS),
}
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_RISKY_FIRST = ("=", "@", "\t", "\r", "+", "-")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA (whose ``bool()`` raises)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return True


def html_text(value: Any) -> str:
    """API text for a web page that escapes it itself (Jinja2 autoescape): controls -> U+FFFD."""
    return RULES["html"].apply(str(value))


def html_escape(value: Any) -> str:
    """API text as HTML markup built by hand: controls -> U+FFFD, then escaped (quotes too)."""
    import html

    return html.escape(html_text(value), quote=True)


def excel_text(value: Any, where: str, cuts: list[str]) -> str:
    """API text as Excel accepts it: refused controls -> U+FFFD; over 32,767 characters cut, noted in ``cuts``."""
    text = str(value)
    if len(text) > EXCEL_CELL_LIMIT:
        cuts.append(f"{where}: {len(text):,} characters cut to {EXCEL_CELL_LIMIT:,}")
    return RULES["excel"].apply(text)


def csv_cell(text: str) -> str:
    """``text`` made safe to open in a spreadsheet (OWASP's CSV-injection rule).

    A cell starting with ``=``, ``@``, tab or carriage return, or with ``+``
    or ``-``, gets a leading ``'``, unless the whole cell is a plain number
    (no exponent): phone numbers like ``+6621234567`` and ``-0.5`` stay.

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("+6621234567"), csv_cell("-0.5"), csv_cell("-")
    ("'=HYPERLINK(1)", '+6621234567', '-0.5', "'-")
    """
    text = RULES["csv"].apply(text)
    if text.startswith(_RISKY_FIRST) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def chart_label(value: Any) -> str:
    """API text as a chart label: at most 40 characters, an ellipsis when cut, never empty, no controls."""
    return RULES["chart"].apply("(unknown)" if _missing(value) else str(value)) or "(empty)"


def terminal_text(value: Any, limit: int | None = TERMINAL_CHARS) -> str:
    """Server text for a terminal: controls and escapes shown as ``\\x1b``, cut to ``limit`` characters."""
    rule = RULES["terminal"]
    if limit != rule.limit:
        rule = TextRule(rule.refused, escape=True, limit=limit)
    return rule.apply(str(value))


def error_text(error: BaseException) -> str:
    """An error's message as one line for a terminal or a status line.

    The server's own message (an API error's ``.message``) is cut to 300
    characters where the text quotes it; every control or escape character is
    shown as ``\\x1b``; the whole line is at most 1,000 characters.
    """
    text = " ".join(str(error).split())
    message = getattr(error, "message", None)
    if isinstance(message, str) and message:
        said = " ".join(message.split())
        text = text.replace(said, terminal_text(said))
    return terminal_text(text, ERROR_LINE_CHARS)
