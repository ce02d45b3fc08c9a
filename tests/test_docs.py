"""The documentation is self-contained: every file it names is in the repository.

A user has the repository and nothing else, so the README, ``docs/``, the
notebooks and every docstring or comment in the package may point only at
files that are here (``docs/nxcloud-api.md``, not a design note elsewhere).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
#: A file name as prose writes one: ``docs/signing.md``, ``pages.py``, ``04_explorer.ipynb``.
FILE_NAME = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-]+\.(?:md|py|ipynb|toml))(?![\w/-])")
#: A Markdown link to a relative target.
LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)\s#]+)(?:#[^)]*)?\)")
#: Files that commands write (``make bench``, ``make demo``): named in the docs, not kept in the repository.
WRITTEN = ("benchmarks/results/", "data/lake", "data/reports", "data/signoff", "latest.md", "latest-quick.md")


def _sources() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found += sorted((ROOT / "notebooks").glob("*.ipynb"))
    found += sorted((ROOT / "nxframe").rglob("*.py"))
    found += sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "tests").glob("*.py"))
    return [path for path in found if path.name != Path(__file__).name]


@cache
def _repository_files() -> frozenset[str]:
    skip = {".venv", ".git", "data", ".mypy_cache", ".ruff_cache", ".pytest_cache", "results"}
    files = set()
    for path in ROOT.rglob("*"):
        if path.is_file() and not skip.intersection(path.relative_to(ROOT).parts):
            files.add(path.relative_to(ROOT).as_posix())
    return frozenset(files)


def _text(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(cell["source"]) for cell in cells)
    return path.read_text(encoding="utf-8")


def _exists(name: str, where: Path) -> bool:
    if name.startswith(WRITTEN) or name in WRITTEN:
        return True
    files = _repository_files()
    relative = (where.parent / name).resolve()
    if relative.is_relative_to(ROOT) and relative.relative_to(ROOT).as_posix() in files:
        return True
    if name in files:
        return True
    # a bare module or notebook name (``pages.py``) or a path inside the package (``report/model.py``)
    return any(file == name or file.endswith("/" + name) for file in files)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_file_named_is_in_the_repository(path: Path) -> None:
    text = _text(path)
    missing = sorted({name for name in FILE_NAME.findall(text) if not _exists(name, path)})
    if path.suffix in (".md", ".ipynb"):  # Markdown links (``f(args)`` in code is no link)
        missing += sorted({target for target in LINK.findall(text) if not _exists(target, path)})
    assert not missing, f"{path.relative_to(ROOT)} names files that are not in the repository: {missing}"


def test_the_docs_cover_the_api_and_its_signing() -> None:
    api = (ROOT / "docs" / "nxcloud-api.md").read_text(encoding="utf-8")
    signing = (ROOT / "docs" / "signing.md").read_text(encoding="utf-8")
    for field in ("didNumber", "callNumber", "pageSize", "totalRow", "feeDurationMinute", "callPrice", "1004"):
        assert field in api
    from nxframe.query import FILTERS
    from nxframe.schema import COLUMNS

    for rule in FILTERS:
        assert f"`{rule.api_field}`" in api, f"docs/nxcloud-api.md does not document the filter {rule.api_field}"
    for column in COLUMNS:
        if column.api_field is not None:
            assert f"`{column.api_field}`" in api, f"docs/nxcloud-api.md does not document {column.api_field}"
    # the known answers docs/signing.md shows are the ones tests/test_signing.py pins
    pinned = (ROOT / "tests" / "test_signing.py").read_text(encoding="utf-8")
    for digest in re.findall(r"`([0-9a-f]{32}|[0-9a-f]{64})`", signing):
        assert digest in pinned
    assert "[docs/nxcloud-api.md]" in (ROOT / "README.md").read_text(encoding="utf-8")
