"""Notebooks never drift from their scripts: each cell of the .ipynb equals jupytext's reading of the .py.
Regenerate with `jupytext --to ipynb solutions.py` (exercises.py arrives with the learner's-path issue)."""
import os

import jupytext
import nbformat
import pytest

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PAIRS = [name for name in ("solutions", "exercises") if os.path.exists(os.path.join(REPO, f"{name}.py"))]


@pytest.mark.parametrize("name", PAIRS)
def test_notebook_cells_match_the_script(name):
    script = jupytext.read(os.path.join(REPO, f"{name}.py"))
    notebook = nbformat.read(os.path.join(REPO, f"{name}.ipynb"), as_version=4)
    assert [(c.cell_type, c.source) for c in notebook.cells] == [(c.cell_type, c.source) for c in script.cells], (
        f"{name}.ipynb is stale: run `jupytext --to ipynb {name}.py`")
