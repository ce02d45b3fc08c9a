"""The notebooks are documentation that runs: each executes top to bottom, offline, on the simulator.

Each runs in a fresh ``python3`` kernel of this interpreter (a kernelspec
written to a temporary ``JUPYTER_PATH``, so a user's own ``python3``
kernelspec cannot swap in another Python), with no NXCloud credentials in
its environment, its working directory and ``TMPDIR`` in pytest's temporary
folder, so nothing lands in the repository. What the notebooks write goes
under ``../data/notebooks/`` from their folder (git-ignored); the test checks
that none of it lands in the system's temporary folder (issue 15.9).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nxframe.simulator import Simulator

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
#: Seconds one cell may take; the slowest (a month on the simulator) takes about 3.
CELL_TIMEOUT = 120


def test_the_four_notebooks_are_there() -> None:
    assert [path.name for path in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_data_lake.ipynb",
        "03_monthly_report.ipynb",
        "04_explorer.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_is_saved_without_outputs(path: Path) -> None:
    """Outputs stay out of git: they are noise in diffs, and could carry data or a secret."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs; clear them before committing"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
    assert "widgets" not in notebook.metadata, f"{path.name}: saved widget state; clear it before committing"


@pytest.fixture
def kernel_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder for the kernel, and a ``python3`` kernelspec that runs this very interpreter."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (nxframe tests)",
        "language": "python",
    }
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # a notebook's tempfile.mkdtemp() would land here
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return work


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_runs_top_to_bottom_offline(path: Path, kernel_folder: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    repository_files = set(path.parent.parent.glob("*")) | set(path.parent.glob("*"))
    runner = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(kernel_folder)}},
    )
    runner.execute()  # raises CellExecutionError, with the cell and its traceback, on any error

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert outputs, "the notebook ran but showed nothing"
    stderr = "".join(output.get("text", "") for output in outputs if output.get("name") == "stderr")
    assert "Warning" not in stderr and "Traceback" not in stderr, stderr
    shown = json.dumps(nbformat.from_dict(notebook))
    assert Simulator.DEFAULT_ACCESS_SECRET not in shown  # the secret is never displayed
    assert set(path.parent.parent.glob("*")) | set(path.parent.glob("*")) == repository_files, "it wrote files"
    left = sorted(p.name for p in (kernel_folder.parent / "tmp").glob("nxframe-*"))
    assert left == [], f"it left {left} in the temporary folder; write under data/notebooks/ instead"
