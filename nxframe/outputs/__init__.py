"""What nxframe hands to people: text cells, files and charts that stay data in any script.

One module per concern, each holding its rules as a table:

- ``text``: what API text may become in each output (HTML, Excel, CSV, chart
  labels, the terminal): which control characters, how long, escaped how;
- ``files``: atomic files (temporary, fsync, rename, fsync the folder) and the
  one CSV writer;
- ``svg``: charts as SVG whose labels are text, drawn by the viewer's fonts;
- ``terminal``: tables and lines for the command line, server text escaped.

The report renderers, ``nxframe.export``, the widgets and the command line
all go through here, so a rule changes in one place.
"""

from .files import atomic_file, csv_table, output_path, write_csv, write_text
from .svg import CHART_RC, figure_svg, text_width
from .terminal import terminal_lines, terminal_table
from .text import (
    CHART_LABEL_CHARS,
    EXCEL_CELL_LIMIT,
    RULES,
    TERMINAL_CHARS,
    TextRule,
    chart_label,
    csv_cell,
    error_text,
    excel_text,
    html_escape,
    html_text,
    terminal_text,
)

__all__ = [
    "CHART_LABEL_CHARS",
    "CHART_RC",
    "EXCEL_CELL_LIMIT",
    "RULES",
    "TERMINAL_CHARS",
    "TextRule",
    "atomic_file",
    "chart_label",
    "csv_cell",
    "csv_table",
    "error_text",
    "excel_text",
    "figure_svg",
    "html_escape",
    "html_text",
    "output_path",
    "terminal_lines",
    "terminal_table",
    "terminal_text",
    "text_width",
    "write_csv",
    "write_text",
]
