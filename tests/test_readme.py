"""The README tells the truth: what a newcomer copies from it gives what it says (issue 15.2, 15.8, 15.10).

Generated or checked here, so they cannot drift: the CLI synopsis (from
argparse), the ``Client`` signature, the quickstart's figures (run on the
simulator), the bad-input rows that need a set-up (the others are checked in
``test_inputs.py``), where report examples write, and the Makefile's
install line.
"""

from __future__ import annotations

import inspect
import re
from decimal import Decimal
from pathlib import Path

import pytest

import nxframe
from nxframe.cli import synopsis
from nxframe.simulator import Simulator

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)


def test_the_cli_synopsis_is_the_parsers_own() -> None:
    """#15.8: generated from argparse; regenerate with the command the README names."""
    block = code_blocks(section("Command line"))[0].strip()
    assert block == synopsis(), 'update README "Command line" with: python -c "from nxframe.cli import synopsis; ..."'
    for flag in ("--page-size", "--allow-long", "--deep", "--data", "audit --lake DIR --month YYYY-MM"):
        assert flag in block


def test_the_client_signature_lists_every_parameter_with_its_default() -> None:
    """#15.8: retry_backoff, retry_max_wait, max_response_bytes, max_rows_per_date... all of them, in order."""
    block = next(b for b in code_blocks(section("Quickstart")) if b.startswith("nxframe.Client("))
    lines = block.splitlines()[1:-1]
    shown = []
    for line in lines:
        if line.strip() == "*,":
            shown.append(("*", None))
            continue
        name, value = re.fullmatch(r"\s*(\w+)=(.+?),\s*(?:#.*)?", line).groups()  # type: ignore[union-attr]
        shown.append((name, eval(value, {"__builtins__": {}})))
    real: list[tuple[str, object]] = []
    for name, parameter in inspect.signature(nxframe.Client).parameters.items():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and ("*", None) not in real:
            real.append(("*", None))
        real.append((name, parameter.default))
    assert shown == real


def test_the_quickstart_figures_are_what_the_simulator_gives() -> None:
    """#15.2: a reader running the simulator example gets the figures the README shows."""
    block = next(b for b in code_blocks(section("Quickstart")) if "Simulator(seed=" in b)
    seed = int(re.search(r"Simulator\(seed=(\d+)\)", block).group(1))  # type: ignore[union-attr]
    day = re.search(r'fetch_cdr\("(\d{4}-\d{2}-\d{2})"', block).group(1)  # type: ignore[union-attr]
    rows, total = re.search(r"# \(([\d_]+), Decimal\('([\d.]+)'\)\)", block).groups()  # type: ignore[union-attr]
    with Simulator(seed=seed) as sim:
        df = nxframe.fetch_cdr(day, client=sim.client(), progress=False)
    assert (len(df), df["call_price"].sum()) == (int(rows), Decimal(total))


def test_no_example_hard_codes_a_month_make_demo_did_not_fill() -> None:
    """#15.2: report and audit examples on data/lake use the demo's month ($MONTH), not a month of zeros."""
    examples = [
        line
        for block in code_blocks(README)
        for line in block.splitlines()
        if "data/lake" in line and ("--month" in line or "monthly_report(" in line)
    ]
    assert len(examples) >= 2, "the README shows a report or audit of the demo's lake"
    assert [line for line in examples if "MONTH" not in line] == []


def test_report_examples_write_under_data_reports() -> None:
    """#15.8: nothing lands in the repository's root; data/reports/ is git-ignored."""
    targets = []
    for block in code_blocks(README):
        targets += re.findall(r"nxframe (?:report|audit) [^\n]*--out (\S+)", block)
        targets += re.findall(r"\.(?:write|to_html|to_excel|to_csv)\(\"([^\"]+)\"", block)
    assert targets, "the README shows no report example"
    assert [t for t in targets if not t.startswith(("data/reports/", "FILE"))] == []  # FILE: the synopsis
    assert "data/reports/" in (ROOT / ".gitignore").read_text()


def test_make_demo_says_why_it_waits_before_the_quiet_install() -> None:
    """#15.10: one line, then pip --quiet."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(INSTALLED):", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()[1:]]
    assert lines[0] == '@echo "installing nxframe and its dependencies into $(VENV), about 30 s, once"'
    assert all("--quiet" in line for line in lines if "pip install" in line)


def bad_input_row(what: str) -> str:
    row = next(line for line in section("Bad input").splitlines() if line.startswith(f"| {what} |"))
    return row.rsplit("|", 2)[1].strip()


@pytest.mark.parametrize(
    "what", ["a lake path that is a file", "a lake holding another query", "a plain-http base URL"]
)
def test_the_bad_input_rows_that_need_a_setup_show_the_real_message(
    what: str, sim: Simulator, client: nxframe.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#15.8: word for word (the rows without a set-up are checked in test_inputs.py)."""
    monkeypatch.chdir(tmp_path)
    message = bad_input_row(what).split(": ", 1)[1]  # the README's row: `ErrorClass`: message
    with pytest.raises(nxframe.NxframeError, match=f"^{re.escape(message)}$") as caught:
        if what == "a lake path that is a file":
            Path("calls.parquet").write_bytes(b"x")
            nxframe.fetch_cdr("2024-03-01", lake="calls.parquet", client=client, progress=False)
        elif what == "a lake holding another query":
            nxframe.fetch_cdr("2024-03-01", lake="data/lake", client=client, progress=False)
            nxframe.fetch_cdr("2024-03-01", did_number="66", lake="data/lake", client=client, progress=False)
        else:
            nxframe.Client("key", "secret", base_url="http://api2.nxcloud.com")
    assert bad_input_row(what) == f"`{type(caught.value).__name__}`: {caught.value}"


def test_the_missing_credentials_row_shows_the_real_message() -> None:
    message = bad_input_row("missing credentials").split(": ", 1)[1]
    with pytest.raises(nxframe.InvalidInputError, match=f"^{re.escape(message)}$") as caught:
        nxframe.Client()  # conftest cleared NXCLOUD_* from the environment
    assert bad_input_row("missing credentials") == f"`InvalidInputError`: {caught.value}"
