"""The public surface: names, docs and the README's column table are part of the contract."""

from __future__ import annotations

import datetime as dt
import inspect
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nxframe
import nxframe.errors
from nxframe.schema import COLUMNS, markdown_table

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_the_public_names_are_pinned() -> None:
    assert sorted(nxframe.__all__) == sorted(
        [
            "COLUMNS",
            "ApiError",
            "AuthError",
            "Client",
            "IncompleteDataError",
            "InvalidInputError",
            "LakeError",
            "NxframeError",
            "ParameterError",
            "ProxyError",
            "RateLimitError",
            "Report",
            "ResponseError",
            "SchemaError",
            "ServerError",
            "SignoffError",
            "TLSError",
            "__version__",
            "audit_billing",
            "check_lake",
            "fetch_arrow",
            "fetch_cdr",
            "monthly_report",
            "read_lake",
            "restatements",
            "sync_lake",
            "unlock_lake",
            "verify_signoff",
        ]
    )
    for name in nxframe.__all__:
        assert hasattr(nxframe, name)


def test_the_error_tree_is_the_designed_one() -> None:
    assert issubclass(nxframe.InvalidInputError, nxframe.NxframeError)
    assert issubclass(nxframe.InvalidInputError, ValueError)
    for api in (
        nxframe.AuthError,
        nxframe.ParameterError,
        nxframe.ServerError,
        nxframe.RateLimitError,
        nxframe.ResponseError,
        nxframe.TLSError,
        nxframe.ProxyError,
    ):
        assert api.__bases__ == (nxframe.ApiError,)
    for direct in (
        nxframe.ApiError,
        nxframe.IncompleteDataError,
        nxframe.SchemaError,
        nxframe.LakeError,
        nxframe.SignoffError,
    ):
        assert direct.__bases__ == (nxframe.NxframeError,)


def test_the_readme_column_table_is_generated_from_columns() -> None:
    assert markdown_table() in README
    assert [c.name for c in COLUMNS][:3] == ["date", "id", "did_number"]


def test_fetch_cdr_documents_every_parameter() -> None:
    doc = nxframe.fetch_cdr.__doc__ or ""
    for name in inspect.signature(nxframe.fetch_cdr).parameters:
        assert f"{name}:" in doc, f"fetch_cdr's docstring does not document {name}"
    for error in ("InvalidInputError", "AuthError", "IncompleteDataError", "SchemaError", "LakeError"):
        assert error in doc


def test_the_client_signature_matches_the_design() -> None:
    parameters = inspect.signature(nxframe.Client).parameters
    assert list(parameters)[:2] == ["access_key", "access_secret"]
    defaults = {name: p.default for name, p in parameters.items()}
    assert defaults["algorithm"] == "md5" and defaults["timeout"] == 30.0 and defaults["max_retries"] == 5
    assert defaults["concurrency"] == 4 and defaults["max_rps"] is None and defaults["base_url"] is None
    assert defaults["max_response_bytes"] == 32 * 2**20 and defaults["max_rows_per_date"] == 10_000_000
    assert all(p.kind is p.KEYWORD_ONLY for p in list(parameters.values())[2:])


def test_the_error_tree_in_the_docstring_is_the_real_one() -> None:
    """``nxframe.errors``' docstring draws the tree; each drawn name sits under its real parent."""
    drawing = [line for line in (nxframe.errors.__doc__ or "").splitlines() if re.search(r"[├└]── |Error\(", line)]
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in drawing:
        name = re.search(r"([A-Z][A-Za-z]+Error)", line)
        assert name is not None, line
        depth = name.start()
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name.group(1)] = stack[-1][1]
        stack.append((depth, name.group(1)))
    drawn = set(parents) | {stack[0][1]}
    assert drawn == set(nxframe.errors.__all__)
    for child, parent in parents.items():
        assert getattr(nxframe, parent) in getattr(nxframe, child).__bases__, f"{child} is drawn under {parent}"


@pytest.mark.parametrize("name", sorted(nxframe.errors.__all__))
def test_every_error_keeps_its_context_through_pickling(name: str) -> None:
    cls = getattr(nxframe, name)
    contexts: dict[str, dict[str, Any]] = {
        "InvalidInputError": {"parameter": "page_size"},
        "IncompleteDataError": {"date": dt.date(2024, 3, 5), "expected": 10, "received": 9},
        "SchemaError": {"column": "call_price", "row_id": 7, "value": "1e20"},
        "LakeError": {"path": "/lake/date=2024-03-05/part-0.parquet"},
    }
    context = contexts.get(name, {})
    if issubclass(cls, nxframe.ApiError):
        context = {"code": 1003, "message": "invalid signature", "http_status": 200, "date": dt.date(2024, 3, 5)}
        context |= {"page": 2, "request": {"url": "http://127.0.0.1:9/api/did/cdr", "body": {"page": 2}}}
    error = cls("what to do next", **context)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and str(copy) == "what to do next"
    assert {key: getattr(copy, key) for key in context} == context


def test_an_error_is_complete_when_built() -> None:
    """Every attribute an error documents exists from its constructor on: nothing is set afterwards."""
    assert nxframe.InvalidInputError("x").parameter is None
    assert nxframe.LakeError("x").path is None
    api = nxframe.ResponseError("x")
    assert (api.code, api.message, api.http_status, api.date, api.page, api.request) == (None,) * 5 + ({},)


def test_import_does_not_load_the_heavy_edges() -> None:
    edges = ("ipywidgets", "matplotlib", "openpyxl", "tqdm")
    code = f"import sys, nxframe; print(sorted(m for m in {edges!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_errors_keep_their_context_through_pickling() -> None:
    schema = pickle.loads(pickle.dumps(nxframe.SchemaError("too long", column="call_price", row_id=7, value="1e20")))
    assert (schema.column, schema.row_id, schema.value, str(schema)) == ("call_price", 7, "1e20", "too long")
    api = pickle.loads(pickle.dumps(nxframe.AuthError("refused", code=1003, message="invalid signature")))
    assert (type(api), api.code, api.message) == (nxframe.AuthError, 1003, "invalid signature")
