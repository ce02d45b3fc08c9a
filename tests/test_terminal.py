"""The terminal is not a canvas: what a server sends is printed escaped and cut, never obeyed.

A hostile or broken server's error ``message`` holds an ANSI escape
(``\\x1b[31m``, which would recolour the user's terminal) and 200 KB of
text; the command line prints it on one line with the escape shown as
``\\x1b`` and the server's text cut to 300 characters, and keeps its own
advice after it. The rules themselves (``nxframe.outputs``) are checked
value by value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nxframe.outputs import (
    RULES,
    TERMINAL_CHARS,
    chart_label,
    csv_cell,
    error_text,
    excel_text,
    html_escape,
    html_text,
    terminal_lines,
    terminal_table,
    terminal_text,
)
from nxframe.simulator import Simulator

DAY = "2024-03-05"
HOSTILE = "\x1b[31mred alert\x1b[0m \x1b]0;pwned\x07 " + "A" * 200_000


def run(sim: Simulator, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    environment.update(sim.env(), **env)
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        timeout=120,
    )


def test_a_server_message_with_escapes_and_200_kb_is_one_short_escaped_line() -> None:
    with Simulator(seed=3) as sim:
        sim.faults.add("code_1005", times=None, message=HOSTILE)
        result = run(sim, "fetch", DAY)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert line.startswith("nxframe: error: AuthError: NXCloud denied permission")
    assert "\\x1b[31mred alert\\x1b[0m \\x1b]0;pwned\\x07 AAA" in line  # shown, not obeyed
    assert "A" * 300 not in line and "A…" in line  # the server's text is cut to 300 characters
    assert line.endswith("check NXCLOUD_ACCESS_KEY, or the access key lacks the DID business")  # our advice stays
    assert len(line) < 700


def test_a_retried_server_failure_prints_the_same_short_line() -> None:
    with Simulator(seed=3) as sim:
        sim.faults.add("code_-1", times=None, message=HOSTILE)
        result = run(sim, "fetch", DAY)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("nxframe: error: ServerError: NXCloud failed")
    assert "\x1b" not in line and "\\x1b[31m" in line
    assert len(line) <= len("nxframe: error: ServerError: ") + 1_000


def test_a_failed_date_in_the_sync_table_shows_the_server_text_escaped(tmp_path: Path) -> None:
    with Simulator(seed=3) as sim:
        # a refusal that is not retried: the table is under test here, the retries in the test above
        sim.faults.add("code_1002", times=None, date="2024-03-02", message=HOSTILE)
        result = run(sim, "sync", "--lake", str(tmp_path / "lake"), "--start", "2024-03-01", "--end", "2024-03-02")

    assert result.returncode == 1, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    failed = next(line for line in result.stdout.splitlines() if "failed" in line)
    assert "\\x1b[31mred alert" in failed
    assert "A" * 300 not in result.stdout and len(failed) < 1_200


def test_names_the_terminal_cannot_encode_are_escaped_not_a_crash(tmp_path: Path) -> None:
    """A cron job whose output encoding is ASCII still gets every line (``\\u6cf0`` for 泰)."""
    with Simulator(seed=3, language="zh") as sim:
        sim.faults.add("code_1005", message="拒绝访问 泰国")
        result = run(sim, "fetch", DAY, PYTHONIOENCODING="ascii")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "\\u62d2\\u7edd\\u8bbf\\u95ee \\u6cf0\\u56fd" in result.stderr


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear the screen: shown, not done
        ("tab\tnew\nline\rcr", "tab\\x09new\\x0aline\\x0dcr"),
        ("\x9b31m", "\\x9b31m"),  # the one-byte CSI of C1
        ("abc\u202eevil", "abc\\u202eevil"),  # a right-to-left override would reverse what follows
        ("\x7f\x00", "\\x7f\\x00"),
        ("泰国 ไทย Việt Nam", "泰国 ไทย Việt Nam"),  # text in any script passes as it is
    ],
)
def test_terminal_text_shows_control_characters_as_escapes(text: str, shown: str) -> None:
    assert terminal_text(text) == shown


def test_terminal_text_is_cut_to_300_characters_with_an_ellipsis() -> None:
    assert terminal_text("x" * 300) == "x" * 300
    cut = terminal_text("x" * 10_000)
    assert len(cut) == TERMINAL_CHARS == 300 and cut.endswith("…")
    assert len(terminal_text("\x1b" * 1_000)) == 300  # escapes count as what they print


def test_an_error_line_cuts_only_the_servers_part() -> None:
    from nxframe.errors import AuthError

    error = AuthError(f"NXCloud denied permission (code 1005: {HOSTILE}): check the key", code=1005, message=HOSTILE)
    line = error_text(error)
    assert line.startswith("NXCloud denied permission (code 1005: \\x1b[31mred alert")
    assert line.endswith("…): check the key")
    assert "\x1b" not in line


def test_tables_for_the_terminal_escape_text_cells_and_line_up_wide_characters() -> None:
    frame = pd.DataFrame(
        {"country_name": ["泰国", "Singapore", "\x1b[31mX"], "calls": [1, 22, 333]},
    ).astype({"country_name": "string[pyarrow]"})
    text = terminal_table(frame, index=False)
    assert "\x1b" not in text and "\\x1b[31mX" in text
    lines = text.splitlines()
    widths = {sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in line) for line in lines}
    assert len(widths) == 1  # every line as wide as the others on a terminal: CJK counted twice
    assert terminal_lines("ok\nbad \x1b[0m") == "ok\nbad \\x1b[0m"


def test_html_and_excel_turn_control_characters_into_the_replacement_character() -> None:
    assert html_text("a\x00b\x1bc\td\ne\rf\x85g") == "a\ufffdb\ufffdc\td\ne\ufffdf\ufffdg"
    assert html_escape('<b a="1">&\x00') == "&lt;b a=&quot;1&quot;&gt;&amp;\ufffd"
    cuts: list[str] = []
    assert excel_text("a\x00b\x1bc\td\ne\rf", "Sheet!A1", cuts) == "a\ufffdb\ufffdc\td\ne\rf"
    assert cuts == []
    long = excel_text("y" * 40_000, "Sheet!B2", cuts)
    assert len(long) == 32_767 and long.endswith("…")
    assert cuts == ["Sheet!B2: 40,000 characters cut to 32,767"]
    assert html_text("\ud800") == excel_text("\ud800", "x", []) == "\ufffd"  # a lone surrogate has no UTF-8


def test_a_chart_label_is_literal_short_and_never_empty() -> None:
    assert chart_label("$\\frac{1}{2}$") == "$\\frac{1}{2}$"
    assert chart_label(None) == chart_label(pd.NA) == chart_label(float("nan")) == "(unknown)"
    assert chart_label("") == "(empty)"
    assert chart_label("Line\nbreak\x1b") == "Line\ufffdbreak\ufffd"
    cut = chart_label("哈萨克斯坦" * 20)
    assert len(cut) == 40 and cut.endswith("…")


def test_csv_cells_follow_owasp_and_keep_text_exact() -> None:
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("+6621234567") == "+6621234567"
    assert csv_cell("泰国\x1b") == "泰国\x1b"  # the CSV is the exact copy: controls kept
    assert csv_cell("\udc80") == "\ufffd"
    assert set(RULES) == {"html", "excel", "csv", "chart", "terminal"}
