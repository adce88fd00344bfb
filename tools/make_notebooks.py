"""Regenerate exercises.py, exercises.ipynb and solutions.ipynb from solutions.py, and the README's
picture (docs/production_rollout.gif, the production episode the notebook animates).

    python tools/make_notebooks.py     # a few minutes on a 2-core CPU: it runs the walk-through once

exercises.ipynb has no outputs (the learner runs it). solutions.ipynb is executed at full size, so
that it reads on a code host with its figures and printouts and without running anything.
Cell ids and notebook metadata are fixed, so regenerating an unchanged script changes nothing
but the outputs that measure time (the training progress bar).
"""
import contextlib
import os
import shutil
import sys
import tempfile

import jupytext
import nbformat
from nbclient import NotebookClient

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.make_exercises import REPO  # noqa: E402
from tools.make_exercises import main as make_exercises  # noqa: E402
from solutions import PRODUCTION_GIF  # noqa: E402

# jupytext's own reading of the scripts, plus a kernel that every Jupyter installation has.
NOTEBOOK_METADATA = {
    "jupytext": {"cell_metadata_filter": "-all", "main_language": "python", "notebook_metadata_filter": "-all"},
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
CELL_TIMEOUT_S = 600
README_PICTURE = os.path.join(REPO, "docs", "production_rollout.gif")


def notebook_from_script(path):
    """The notebook of a percent-format script, without outputs, with ids and metadata that do not churn."""
    notebook = jupytext.read(path)
    notebook.metadata = nbformat.from_dict(NOTEBOOK_METADATA)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:03d}"  # jupytext draws random ids; these stay put while cells are appended
        cell.metadata = nbformat.NotebookNode()
    return notebook


@contextlib.contextmanager
def environment(**changes):
    """Set (a string) or unset (None) environment variables for the kernels started inside, then restore them."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def execute(notebook, record_timing=False, **environment_changes):
    """Run every cell in a fresh kernel started in the repository root, in place; returns the notebook.
    Figures the walk-through writes to files go to a temporary FIGURE_DIR unless one is given."""
    with tempfile.TemporaryDirectory() as figure_dir:
        environment_changes.setdefault("FIGURE_DIR", figure_dir)
        with environment(**environment_changes):
            client = NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                                    record_timing=record_timing, resources={"metadata": {"path": REPO}})
            client.execute()
    return notebook


def tidy_outputs(notebook):
    """Merge consecutive stream outputs and keep only what a terminal would show after each carriage
    return, so a progress bar is one line instead of hundreds; pin the metadata the kernel filled in."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if output.output_type == "stream" and outputs and outputs[-1].output_type == "stream" \
                    and outputs[-1].name == output.name:
                outputs[-1].text += output.text
            else:
                outputs.append(output)
        for output in outputs:
            if output.output_type == "stream":
                output.text = "\n".join(([part for part in line.split("\r") if part] or [""])[-1]
                                        for line in output.text.split("\n"))
        cell.outputs = outputs
    notebook.metadata = nbformat.from_dict(NOTEBOOK_METADATA)
    return notebook


def write(notebook, path):
    nbformat.validate(notebook)
    with open(path, "w") as file:
        file.write(nbformat.writes(notebook) + "\n")
    print(f"wrote {os.path.relpath(path)}")


def main():
    make_exercises()
    write(notebook_from_script(os.path.join(REPO, "exercises.py")), os.path.join(REPO, "exercises.ipynb"))
    print("executing solutions.ipynb at full size (training included, a few minutes)...")
    with tempfile.TemporaryDirectory() as figure_dir:
        notebook = execute(notebook_from_script(os.path.join(REPO, "solutions.py")), WORKSHOP_SMALL=None,
                           SKIP_TRAINING=None, TRAIN_COVERED=None, FIGURE_DIR=figure_dir)
        os.makedirs(os.path.join(REPO, "docs"), exist_ok=True)
        shutil.copy(os.path.join(figure_dir, PRODUCTION_GIF), README_PICTURE)
        print(f"wrote {os.path.relpath(README_PICTURE)}")
    write(tidy_outputs(notebook), os.path.join(REPO, "solutions.ipynb"))


if __name__ == "__main__":
    main()
