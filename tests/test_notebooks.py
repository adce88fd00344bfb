"""Notebooks never drift from their scripts and never rot: each cell equals jupytext's reading of its
script, ids and metadata are pinned, solutions.ipynb ships executed, and both notebooks run end to
end in the small configuration (exercises.ipynb with its blanks filled from the solutions).
Regenerate them with `python tools/make_notebooks.py`."""
import copy
import os

import jupytext
import nbformat
import pytest

import checks
from tools.make_exercises import fill_blanks
from tools.make_notebooks import execute, notebook_from_script

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ("solutions", "exercises")
FIGURES = 18  # every figure of tests/test_small_run.py's list, the production GIF among them


def read_notebook(name):
    return nbformat.read(os.path.join(REPO, f"{name}.ipynb"), as_version=4)


def without_outputs(notebook):
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def outputs(notebook, output_type):
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
            if output.output_type == output_type]


def printed(notebook):
    return "".join(output.text for output in outputs(notebook, "stream") if output.name == "stdout")


def images(notebook):
    return [output for output in outputs(notebook, "display_data")
            if "image/png" in output.data or "image/gif" in output.data]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_cells_match_the_script(name):
    script = jupytext.read(os.path.join(REPO, f"{name}.py"))
    notebook = read_notebook(name)
    assert [(c.cell_type, c.source) for c in notebook.cells] == [(c.cell_type, c.source) for c in script.cells], (
        f"{name}.ipynb is stale: run `python tools/make_notebooks.py`")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_ids_and_metadata_are_pinned(name):
    assert without_outputs(read_notebook(name)) == notebook_from_script(os.path.join(REPO, f"{name}.py")), (
        f"{name}.ipynb was not written by `python tools/make_notebooks.py`")


def test_exercises_notebook_has_no_outputs():
    assert not any(cell.get("outputs") or cell.get("execution_count") for cell in read_notebook("exercises").cells)


def test_solutions_notebook_ships_executed_with_its_figures():
    notebook = read_notebook("solutions")
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code_cells] == list(range(1, len(code_cells) + 1))
    assert not outputs(notebook, "error")
    assert len(images(notebook)) >= FIGURES
    assert "1,000 mazes of each kind" in printed(notebook)  # the full-size results table, not the small run's


def run_small(notebook):
    """Execute a copy in the small configuration, one torch thread per kernel (CI has two cores)."""
    return execute(without_outputs(notebook), WORKSHOP_SMALL="1", SKIP_TRAINING=None, OMP_NUM_THREADS="1")


def test_solutions_notebook_runs_end_to_end_in_the_small_configuration():
    notebook = run_small(read_notebook("solutions"))  # an exception in any cell fails here, with its traceback
    assert len(images(notebook)) >= FIGURES
    for name in checks.CHECKS:
        assert f"{name}: passed" in printed(notebook)
    assert "100 mazes of each kind" in printed(notebook)


def test_exercises_notebook_runs_with_its_blanks_filled_from_the_solutions():
    with open(os.path.join(REPO, "solutions.py")) as file:
        solutions_source = file.read()
    notebook = read_notebook("exercises")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = fill_blanks(cell.source, solutions_source)
    assert not any("raise NotImplementedError" in cell.source for cell in notebook.cells if cell.cell_type == "code")
    notebook = run_small(notebook)
    assert len(images(notebook)) >= FIGURES
    for name in checks.CHECKS:
        assert f"{name}: passed" in printed(notebook)


def test_a_learner_who_skips_every_exercise_with_use_reference_runs_the_whole_notebook():
    """Every blank left as it is, and use_reference(...) run in each check cell, as a stuck learner would."""
    notebook = read_notebook("exercises")
    skipped = []
    for cell in notebook.cells:
        for name in checks.CHECKS:
            first_line = f"# Run: check your {name} against the reference."
            if cell.cell_type == "code" and cell.source.startswith(first_line + "\n"):
                cell.source = cell.source.replace(first_line, f'{first_line}\nuse_reference("{name}")')
                skipped.append(name)
    assert skipped == list(checks.CHECKS)
    notebook = run_small(notebook)
    assert len(images(notebook)) >= FIGURES
    for name in checks.CHECKS:
        assert f"{name}: from here on, every cell uses the reference version" in printed(notebook)
        assert f"{name}: passed" in printed(notebook)



def test_in_a_notebook_a_check_names_the_learners_cell_and_line():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
        "from checks import check_dead_ends\nfrom solutions import WALL",
        "# Exercise: dead ends, indexed like a tensor\ndef dead_ends(grid):\n    width = len(grid)\n"
        "    return [(r, c) for r in range(width) for c in range(width)\n            if grid[r, c] != WALL]",
        "check_dead_ends(dead_ends)")]
    out = printed(execute(notebook, OMP_NUM_THREADS="1"))
    assert "dead_ends: failed: raised TypeError: list indices must be integers or slices, not tuple" in out
    assert "at: line 5 of your cell that defines dead_ends: if grid[r, c] != WALL]" in out
