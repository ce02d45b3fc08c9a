"""Put the last benchmark table into the README's Performance section.

    python benchmarks/run.py              # writes benchmarks/results/latest.md
    python benchmarks/readme_table.py     # its rows replace the README rows of the same questions

A run of some questions only (``run.py --only decode``) replaces only
those questions' rows; the others stay as they were. Rows keep the
README's order of questions, and the columns are aligned again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import ROOT

README = ROOT / "README.md"
LATEST = ROOT / "benchmarks" / "results" / "latest.md"
SECTION = "## Performance"


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_bounds(lines: list[str], start: int = 0) -> tuple[int, int]:
    """The first and past-last line of the first Markdown table at or after ``start``."""
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    last = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))
    return first, last


def render(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return out


def merge(readme: str, latest: str) -> str:
    lines = readme.splitlines()
    section = lines.index(SECTION)
    first, last = table_bounds(lines, section)
    header, *old = [cells(line) for line in lines[first:last] if not set(line) <= set("|- ")]
    new_lines = latest.splitlines()
    new_first, new_last = table_bounds(new_lines)
    new = [cells(line) for line in new_lines[new_first:new_last] if not set(line) <= set("|- ")][1:]
    measured = {row[0] for row in new}
    order = list(dict.fromkeys([row[0] for row in old] + [row[0] for row in new]))
    rows = [row for question in order for row in (new if question in measured else old) if row[0] == question]
    return "\n".join([*lines[:first], *render([header, *rows]), *lines[last:]]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latest", type=Path, default=LATEST, help="a table written by run.py")
    args = parser.parse_args()
    if not args.latest.exists():
        sys.exit(f"{args.latest} does not exist: run benchmarks/run.py first")
    README.write_text(merge(README.read_text(), args.latest.read_text()))
    print(f"README.md: the Performance table now holds the rows of {args.latest}")


if __name__ == "__main__":
    main()
