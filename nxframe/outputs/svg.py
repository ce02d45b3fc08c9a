"""Charts as SVG whose labels are text: the viewer's fonts draw them, in any script.

matplotlib draws with the fonts it finds (DejaVu Sans alone on many
machines), which have no Chinese, Japanese, Korean or Thai: a PNG shows
empty boxes, and every save warns "Glyph ... missing from font(s)". With
``svg.fonttype = "none"`` an SVG keeps each label as a ``<text>`` element
and the browser or notebook draws it with its own fonts, which do.

matplotlib still lays every text out with its own font first (and warns
there); so :func:`figure_svg` gives each text its font cannot draw a
stand-in of about the same width made of characters it can, saves, puts the
real text (XML-escaped) back into the SVG, and restores the figure. No
global warning filter, nothing process-wide: safe from a background thread.

:data:`CHART_RC` is the style every nxframe chart is made under: literal text
(no ``$...$`` math, no TeX), labels as text.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CHART_RC", "figure_svg", "text_width"]

#: matplotlib settings for nxframe's charts: text stays text, API text stays literal.
CHART_RC: dict[str, Any] = {"svg.fonttype": "none", "text.parse_math": False, "text.usetex": False}
#: A stand-in: "§<number>§" then fillers; made only of characters every matplotlib font has.
_STAND_IN = re.compile(r"(<text\b[^>]*>)§(\d+)§n*(</text>)")


def text_width(text: str) -> int:
    """Columns ``text`` takes: wide (CJK) characters 2, combining marks 0, others 1."""
    width = 0
    for character in text:
        if unicodedata.category(character) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


def figure_svg(figure: Figure, prefix: str) -> str:
    """``figure`` as an ``<svg>`` element; ids start with ``prefix`` so several can share a page.

    Labels are ``<text>`` (never paths), so the viewer's fonts draw them;
    saving prints no missing-glyph warning whatever the script. The figure
    is left as it was.
    """
    import matplotlib

    stand_ins = _StandIns()
    restore = stand_ins.swap(figure)
    try:
        buffer = io.StringIO()
        settings: Any = {**CHART_RC, "svg.hashsalt": prefix}
        with matplotlib.rc_context(settings):
            figure.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        restore()
    svg = buffer.getvalue()
    svg = _fit(svg[svg.index("<svg") :])
    svg = _STAND_IN.sub(lambda m: m.group(1) + escape(stand_ins.originals[int(m.group(2))]) + m.group(3), svg)
    svg = re.sub(r'\bid="', f'id="{prefix}-', svg)
    return svg.replace("url(#", f"url(#{prefix}-").replace('href="#', f'href="#{prefix}-')


def _fit(svg: str) -> str:
    """As wide as the page or the notebook's output, never wider than drawn; the height follows the viewBox.

    JupyterLab shows SVG output as an ``<img>``: a fixed width (11 in is 1,056
    px) would need a sideways scroll in a notebook's output area.
    """
    end = svg.index(">")
    head = svg[:end]
    width = re.search(r'\swidth="([^"]*)"', head)
    head = re.sub(r'\s(?:width|height)="[^"]*"', "", head)
    cap = f"max-width: {width.group(1)}; " if width else ""
    return f'{head} width="100%" style="{cap}height: auto"' + svg[end:]


class _StandIns:
    """The stand-ins of one save: original text <-> stand-in, numbered in the order met."""

    def __init__(self) -> None:
        self.originals: list[str] = []
        self._numbers: dict[str, int] = {}
        self._font: Any = None

    def stand_in(self, value: str, properties: Any = None) -> str:
        """``value`` itself if matplotlib's font draws it, else its stand-in (the same one every time)."""
        if not value or value.isascii() or ("§" not in value and self._drawable(value, properties)):
            return value
        number = self._numbers.get(value)
        if number is None:
            number = self._numbers[value] = len(self.originals)
            self.originals.append(value)
        head = f"§{number}§"
        return head + "n" * max(text_width(value) - len(head), 0)

    def swap(self, figure: Figure) -> Callable[[], None]:
        """Put stand-ins into ``figure``'s texts and tick formatters; returns what puts everything back."""
        from matplotlib.axis import Axis
        from matplotlib.text import Text

        texts = [(text, text.get_text()) for text in figure.findobj(Text)]
        for text, value in texts:
            text.set_text(self.stand_in(value, text.get_fontproperties()))
        formatters: list[tuple[Any, Any]] = []
        for axis in figure.findobj(Axis):
            for ticker in (axis.major, axis.minor):
                formatters.append((ticker, ticker.formatter))
                ticker.formatter = _stand_in_formatter()(ticker.formatter, self.stand_in)

        def restore() -> None:
            for ticker, formatter in formatters:
                ticker.formatter = formatter
            for text, value in texts:
                text.set_text(value)
            backwards = dict(zip(map(self.stand_in, self.originals), self.originals, strict=True))
            for text in figure.findobj(Text):  # tick labels the save itself wrote
                if text.get_text() in backwards:
                    text.set_text(backwards[text.get_text()])

        return restore

    def _drawable(self, value: str, properties: Any) -> bool:
        """Every character of ``value`` is in the font matplotlib lays it out with."""
        from matplotlib import font_manager

        if properties is None:
            if self._font is None:
                self._font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
            font = self._font
        else:
            font = font_manager.get_font(font_manager.findfont(properties))
        return all(font.get_char_index(ord(character)) for character in set(value) if character.isprintable())


@cache
def _stand_in_formatter() -> type:
    """A tick formatter that hands out the stand-ins of another one's labels (matplotlib imported only here)."""
    from matplotlib.ticker import Formatter

    class StandInFormatter(Formatter):  # type: ignore[misc]
        def __init__(self, inner: Any, stand_in: Callable[[str], str]) -> None:
            self.inner, self._stand_in = inner, stand_in
            self.axis = getattr(inner, "axis", None)

        def __call__(self, x: Any, pos: Any = None) -> str:
            return self._stand_in(self.inner(x, pos))

        def format_ticks(self, values: Any) -> list[str]:
            return [self._stand_in(label) for label in self.inner.format_ticks(values)]

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def get_offset(self) -> str:
            return self._stand_in(self.inner.get_offset())

        def format_data(self, value: Any) -> str:
            return self._stand_in(self.inner.format_data(value))

        def format_data_short(self, value: Any) -> str:
            return self._stand_in(self.inner.format_data_short(value))

    return StandInFormatter
