"""The package's shape: no import cycle, no module over 400 lines, the secret read in one place.

Reads ``nxframe/**/*.py`` with :mod:`ast`, never imports it. Every import
counts, at module level or inside a function (a lazy import is still a
dependency). ``from . import x`` where ``x`` is a module depends on ``x``
only, not on the package's ``__init__``; a package's ``__init__`` depends on
the submodules it re-exports, so a submodule importing its own package's
``__init__`` back is a cycle (the half-initialised-module trap). Modules
over 400 lines fail too (``docs/design.md``, "The shape").
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "nxframe"
README = PACKAGE.parent / "README.md"
LIMIT = 400
#: The only module that may read the access secret: it signs the request.
SIGNER = "nxframe.signing"
#: Proxy credentials, the other secret a request needs, are read once where the proxy URL is parsed and once
#: where its Proxy-Authorization header is built: module -> how many reveal() calls it may hold.
PROXY_READERS = {"nxframe.network": 1, "nxframe.transport.connections": 1}
#: The floor: pure, no I/O; it may import only itself (docs/design.md, "The shape").
FLOOR = {"errors", "config", "network", "redaction", "schema", "signing", "query", "_version"}
#: The edges (and their helper modules, ``cli_*``): whatever sits below them never imports them.
EDGES = {"cli", "demo", "widgets", "__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"), filename=str(modules()[name]))


def known(target: str) -> str | None:
    """The longest nxframe module that ``target`` names (``nxframe.decode.Page`` -> ``nxframe.decode``)."""
    while target and target not in modules():
        target = target.rpartition(".")[0]
    return target or None


def imports_of(name: str) -> set[str]:
    """The nxframe modules ``name`` imports, anywhere in its code."""
    is_package = modules()[name].name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree(name)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.append(submodule if submodule in modules() else source)
        for target in targets:
            module = known(target)
            if module is not None and module != name:
                found.add(module)
    return found


def graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in modules()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), plus self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def reveal_calls(name: str) -> list[int]:
    """Lines where ``name`` calls ``.reveal()`` or reaches for it with ``getattr(..., "reveal")``."""
    lines = []
    for node in ast.walk(tree(name)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        by_attribute = isinstance(func, ast.Attribute) and func.attr == "reveal"
        by_name = (
            isinstance(func, ast.Name)
            and func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "reveal"
        )
        if by_attribute or by_name:
            lines.append(node.lineno)
    return lines


def short(name: str) -> str:
    return name.removeprefix("nxframe.")


def test_the_reader_finds_the_package_and_its_imports() -> None:
    """Guards the guard: a reader that found nothing would pass every check below."""
    assert {"nxframe", "nxframe.client", "nxframe.pages", "nxframe.signing"} <= set(modules())
    assert "nxframe.stream" in imports_of("nxframe.client")
    assert "nxframe.errors" in imports_of("nxframe.query")
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_there_is_no_import_cycle() -> None:
    found = cycles(graph())
    assert found == [], "import cycles (lazy imports count): " + "; ".join(" <-> ".join(c) for c in found)


def test_no_module_is_over_400_lines() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    over = {name: lines for name, lines in sorted(sizes.items()) if lines > LIMIT}
    assert over == {}, f"modules over {LIMIT} lines: {over}"


def test_only_the_signer_reads_the_secret() -> None:
    readers = {
        name: lines
        for name in modules()
        if name != SIGNER and (lines := reveal_calls(name)) and len(lines) != PROXY_READERS.get(name)
    }
    assert readers == {}, f"Secret.reveal() called outside {SIGNER} (and the proxy's credentials): {readers}"
    assert reveal_calls(SIGNER), f"{SIGNER} signs, so it is where reveal() is called"


def test_the_floor_imports_only_the_floor() -> None:
    floor = {f"nxframe.{name}" for name in FLOOR}
    upward = {
        short(name): sorted(short(m) for m in imports_of(name) - floor) for name in sorted(floor & set(modules()))
    }
    assert {name: found for name, found in upward.items() if found} == {}


def test_nothing_below_the_edges_imports_them() -> None:
    def is_edge(name: str) -> bool:
        top = short(name).split(".")[0]
        return any(top == edge or top.startswith(edge + "_") for edge in EDGES)

    wrong = {
        short(name): sorted(short(m) for m in imports_of(name) if is_edge(m)) for name in modules() if not is_edge(name)
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def layout() -> list[str]:
    """The README's "Layout" list: each module or package, top-level name, in order."""
    section = README.read_text(encoding="utf-8").split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    return re.findall(r"^  ([a-z_]+)(?:\.py|/) ", block, flags=re.MULTILINE)


def test_imports_point_up_the_readme_layout() -> None:
    """The README's Layout is the import order: a module imports only what is listed above it."""
    order = layout()
    assert len(order) >= 20 and order[0] == "errors"
    rank = {name: i for i, name in enumerate(order)}

    def place(name: str) -> int | None:
        top = short(name).split(".")[0]
        if top in ("nxframe", "_version", "__main__"):  # the package's face, a constant, the entry point
            return None
        prefix = top.partition("_")[0] if top not in rank else top  # cli_commands lives with cli
        assert prefix in rank, f"nxframe/{top} is not in the README's Layout: give it a line"
        return rank[prefix]

    upward = []
    for name, imported in sorted(graph().items()):
        here = place(name)
        for other in sorted(imported):
            there = place(other)
            if here is not None and there is not None and there > here:
                upward.append(f"{short(name)} -> {short(other)}")
    assert upward == [], "imports that point down the README's Layout (move the module, or the line): " + "; ".join(
        upward
    )
