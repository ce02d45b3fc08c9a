"""README "A lake on S3": every block runs against the real S3 server, and gives what it says.

The README writes ``s3://team-bucket/nxcloud`` and ``http://127.0.0.1:8333``;
here they become this test's lake and the test server's endpoint, and
``"..."`` the server's key and secret. Nothing else in a block is changed.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc
import pytest
from s3server import ACCESS_KEY, SECRET_KEY, Weed

from nxframe.simulator import Simulator

ROOT = Path(__file__).resolve().parents[1]
SECTION = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## A lake on S3\n", 1)[1].split("\n## ", 1)[0]
FENCED = re.findall(r"```([a-z]*)\n(.*?)```", SECTION, flags=re.DOTALL)
KINDS = [kind for kind, _ in FENCED]
BLOCKS = [block for _, block in FENCED]


def _ours(block: str, s3: Weed, lake: str) -> str:
    host = s3.endpoint.removeprefix("http://")
    block = block.replace("s3://team-bucket/nxcloud", lake).replace("team-bucket/nxcloud", lake.removeprefix("s3://"))
    block = block.replace("http://127.0.0.1:8333", s3.endpoint).replace("127.0.0.1:8333", host)
    block = block.replace('"key": "..."', f'"key": "{ACCESS_KEY}"')
    return block.replace('"secret": "..."', f'"secret": "{SECRET_KEY}"')


def _run(block: str) -> tuple[dict[str, Any], list[Any]]:
    """Run a Python block statement by statement; the values of its bare expressions, as a notebook shows them.

    A ``None`` (a call made for its effect, such as ``register_filesystem``) shows nothing.
    """
    namespace: dict[str, Any] = {}
    shown = []
    for statement in ast.parse(block).body:
        if isinstance(statement, ast.Expr):
            value = eval(compile(ast.Expression(statement.value), "README", "eval"), namespace)
            if value is not None:
                shown.append(value)
        else:
            exec(compile(ast.Module([statement], []), "README", "exec"), namespace)
    return namespace, shown


def test_the_section_has_the_blocks_this_test_runs() -> None:
    assert KINDS == ["python", "sh", "python"]
    assert "storage_options" in BLOCKS[0] and "--storage-option" in BLOCKS[1] and "nxframe unlock" in BLOCKS[1]
    assert all(name in BLOCKS[2] for name in ("register_filesystem", "storage_options", "endpoint_override"))


def test_the_python_block_syncs_reads_and_reports_with_the_environment_or_storage_options(
    s3: Weed, s3_lake: str, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    namespace, _ = _run(_ours(BLOCKS[0], s3, s3_lake))
    truth = sim.ground_truth("2024-03-01", "2024-03-31")
    pd.testing.assert_frame_equal(namespace["df"], truth)
    assert namespace["report"].totals["cost"].iloc[0] == truth["call_price"].sum()


def test_the_command_line_block_syncs_and_unlocks_with_storage_options(s3: Weed, s3_lake: str, sim: Simulator) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"} | sim.env()  # the flag names the endpoint
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-ec", _ours(BLOCKS[1], s3, s3_lake)], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"31 fetched -> {s3_lake}" in done.stdout
    assert done.stdout.rstrip().endswith(f"no lock on {s3_lake}: nothing to break")


def test_duckdb_polars_and_pyarrow_read_the_s3_lake_exactly(s3: Weed, s3_lake: str, sim: Simulator) -> None:
    import nxframe

    nxframe.sync_lake(s3_lake, "2024-03-01", "2024-03-05", client=sim.client(), progress=False)
    total = sim.ground_truth("2024-03-01", "2024-03-05")["call_price"].sum()
    _, (duck, polars, table) = _run(_ours(BLOCKS[2], s3, s3_lake))
    assert duck == [(total,)] and isinstance(duck[0][0], Decimal)
    assert polars.item() == total
    assert pc.sum(table["call_price"]).as_py() == total and str(table.schema.field("call_price").type) == (
        "decimal128(18, 6)"
    )
