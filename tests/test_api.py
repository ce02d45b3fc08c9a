"""The public surface: names, docs and the README's column table are part of the contract."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import nxframe
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
            "RateLimitError",
            "Report",
            "ResponseError",
            "SchemaError",
            "ServerError",
            "__version__",
            "check_lake",
            "fetch_cdr",
            "monthly_report",
            "read_lake",
            "sync_lake",
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
    ):
        assert issubclass(api, nxframe.ApiError)
    for direct in (nxframe.ApiError, nxframe.IncompleteDataError, nxframe.SchemaError, nxframe.LakeError):
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


def test_import_does_not_load_the_heavy_edges() -> None:
    edges = ("ipywidgets", "matplotlib", "openpyxl", "tqdm")
    code = f"import sys, nxframe; print(sorted(m for m in {edges!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_errors_keep_their_context_through_pickling() -> None:
    import pickle

    schema = pickle.loads(pickle.dumps(nxframe.SchemaError("too long", column="call_price", row_id=7, value="1e20")))
    assert (schema.column, schema.row_id, schema.value, str(schema)) == ("call_price", 7, "1e20", "too long")
    api = pickle.loads(pickle.dumps(nxframe.AuthError("refused", code=1003, message="invalid signature")))
    assert (type(api), api.code, api.message) == (nxframe.AuthError, 1003, "invalid signature")
