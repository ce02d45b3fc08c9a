"""The README's two commands for a newcomer, ``make demo`` and ``make test``, run as recipes of the Makefile.

The ``demo`` fixture (conftest.py) runs ``make demo DATA=<a temporary folder>``
once per session; other tests read its output. Neither test reinstalls the venv
(see ``make_command``).
"""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import Demo, make_command, shell_env

from nxframe.demo import last_month


def test_make_demo_runs_the_whole_job_offline_and_says_where_it_wrote(demo: Demo) -> None:
    if demo.command[0] != "make":
        pytest.skip("no make or no .venv/bin/nxframe here: the demo ran as python -m nxframe demo instead")
    lines = demo.result.stdout.splitlines()
    assert lines[0] == f".venv/bin/nxframe demo --offline --data {demo.data}"  # make echoes the recipe it runs
    month = last_month()
    html = demo.data / "reports" / f"cdr-report-{month}.html"
    excel = html.with_suffix(".xlsx")
    signoff = demo.data / "signoff" / month
    assert f"   HTML:  {html}" in lines and f"   Excel: {excel}" in lines
    assert f"   Sign-off: {signoff.resolve()}" in lines
    assert html.is_file() and excel.is_file() and (signoff / "manifest.json").is_file()
    assert f"nxframe audit --lake {demo.data / 'lake'} --month {month}" in demo.result.stdout


def test_make_test_runs_pytest_with_the_arguments_given() -> None:
    command = make_command("test", "PYTEST_ARGS=tests/test_signing.py -v -p no:cacheprovider", "TEST_WORKERS=0")
    if command is None:
        pytest.skip("no make or no .venv/bin/nxframe here: the Makefile's recipes need the venv it makes")
    done = subprocess.run(command, capture_output=True, text=True, env=shell_env(), timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ".venv/bin/python -m pytest -n 0 --dist loadfile tests/test_signing.py -v -p no:cacheprovider"
    ran = [line.split()[0] for line in lines if line.endswith("%]") and " PASSED " in line]
    assert ran and all(test.startswith("tests/test_signing.py::") for test in ran)  # those tests, not the suite
    summary = re.search(r"=+ (\d+) passed in ", done.stdout)
    assert summary is not None and int(summary.group(1)) == len(ran)
