"""The tests themselves keep the house rules, read from their source (``ast``), so a new test cannot slip.

- every ``pytest.raises`` names the message it expects (``match=``): a refusal
  for the wrong reason must not pass;
- no assertion that cannot fail (``assert True``, a constant, ``x == x``);
- no wall-clock upper bound in ``make test`` (a loaded 2-core CI is slow at
  random): only tests marked ``slow`` may bound the time; the rest count events.

Each rule is also run on a snippet that breaks it, so the scan is shown to find what it looks for.
"""

from __future__ import annotations

import ast
import functools
import itertools
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SOURCES = sorted(TESTS.glob("*.py"))
CLOCKS = {"monotonic", "perf_counter", "time", "monotonic_ns", "perf_counter_ns"}


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _snippet(text: str) -> ast.Module:
    return ast.parse(textwrap.dedent(text))


def _constant(node: ast.expr) -> bool:
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_constant(item) for item in node.elts)
    return isinstance(node, ast.Constant)


def raises_without_match(tree: ast.Module) -> list[int]:
    """Lines of ``pytest.raises(...)`` calls without ``match=``."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) == "pytest.raises"
        and not any(keyword.arg == "match" for keyword in node.keywords)
    ]


def vacuous_asserts(tree: ast.Module) -> list[int]:
    """Lines of assertions true whatever the code does: a constant, constants compared, ``x == x``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        test = node.test
        pairs = list(itertools.pairwise([test.left, *test.comparators])) if isinstance(test, ast.Compare) else []
        if _constant(test) or any((_constant(a) and _constant(b)) or ast.dump(a) == ast.dump(b) for a, b in pairs):
            found.append(node.lineno)
    return found


def _reads_a_clock(node: ast.AST) -> bool:
    return any(
        isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in CLOCKS
        for call in ast.walk(node)
    )


def wall_clock_upper_bounds(tree: ast.Module) -> list[int]:
    """Lines asserting a measured time is below a bound, outside functions marked ``slow``.

    Measured: a clock read in the expression, or a name assigned from one
    (``started``, ``elapsed``...). ``elapsed >= latency`` is a lower bound: allowed.
    """
    found = []
    for function in (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)):
        if any("slow" in ast.unparse(decorator) for decorator in function.decorator_list):
            continue
        timed = {
            target.id
            for node in ast.walk(function)
            if isinstance(node, ast.Assign) and _reads_a_clock(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }

        def measured(node: ast.AST, timed: set[str] = timed) -> bool:
            return _reads_a_clock(node) or any(isinstance(n, ast.Name) and n.id in timed for n in ast.walk(node))

        for node in ast.walk(function):
            if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
                continue
            sides = [node.test.left, *node.test.comparators]
            for (left, right), op in zip(itertools.pairwise(sides), node.test.ops, strict=True):
                below = isinstance(op, (ast.Lt, ast.LtE)) and measured(left)
                above = isinstance(op, (ast.Gt, ast.GtE)) and measured(right)
                if below or above:
                    found.append(node.lineno)
    return sorted(set(found))


RULES = {
    "pytest.raises without match=": raises_without_match,
    "an assertion that cannot fail": vacuous_asserts,
    "a wall-clock upper bound (count events instead, or mark the test slow)": wall_clock_upper_bounds,
}


@pytest.mark.parametrize("rule", RULES, ids=["match", "vacuous", "clock"])
@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_each_test_file_keeps_the_rule(path: Path, rule: str) -> None:
    lines = RULES[rule](_tree(path))
    assert lines == [], f"{path.name}: {rule} at lines {lines}"


def test_the_scan_reads_every_test_file() -> None:
    names = {path.name for path in SOURCES}
    assert {"conftest.py", "test_cli.py", "test_honesty.py", "test_decode_fuzz.py"} <= names
    assert len([name for name in names if name.startswith("test_")]) >= 40


def test_each_rule_finds_what_breaks_it() -> None:
    bad = _snippet(
        """
        def test_x():
            with pytest.raises(ValueError):             # 3
                f()
            with pytest.raises(ValueError, match="a"):
                f()
            assert True                                 # 7
            assert (1, 2) == (1, 2)                     # 8
            assert x == x                               # 9
            assert 0 < y == y                           # 10
            assert f(x) == 3
            started = time.monotonic()
            f()
            elapsed = time.monotonic() - started
            assert elapsed < 0.3                        # 15
            assert 0.3 > time.monotonic() - started     # 16
            assert 0.1 <= elapsed <= 0.5                # 17
            assert elapsed >= 0.1

        @pytest.mark.slow
        def test_soak():
            started = time.monotonic()
            assert time.monotonic() - started < 120
        """
    )
    assert raises_without_match(bad) == [3]
    assert vacuous_asserts(bad) == [7, 8, 9, 10]
    assert wall_clock_upper_bounds(bad) == [15, 16, 17]
