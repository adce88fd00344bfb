"""Executes the full-size solutions notebook and prints each cell's wall time against its target.
Prints numbers; asserts nothing.

    python benchmarks/bench_notebook.py                    # about four minutes on an idle 2-core CPU
    OMP_NUM_THREADS=1 python benchmarks/bench_notebook.py  # steadier on a machine shared with other jobs

On a shared machine torch's threads spin against the other processes: at a load of 3 on 2 cores,
evaluating 200 untrained mazes took 13 s with torch's default 2 threads and 0.5 s with 1.

Targets on a 2-core CPU: every cell under 5 s, except act 1's training cell (a random start: under 60 s), act 2's
(a 100-step fine-tune: under 15 s), the dream cells (under 15 s: gradient ascent through the network, 40 steps on
a few hundred mazes) and the search against dreams (under 30 s: both searches and the dreams, on two agents); the
whole notebook under 5 minutes. A cell gets a longer target when its first line starts with one of the prefixes
in LONG_CELL_TARGETS_S.
"""
import os
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tools.make_notebooks import REPO, execute, notebook_from_script  # noqa: E402

CELL_TARGET_S = 5
LONG_CELL_TARGETS_S = {"# Run: train your agent": 60, "# Run: fine-tune": 15, "# Run: dream": 15,
                       "# Run: random search": 30}
NOTEBOOK_TARGET_S = 300


def seconds(cell):
    """Kernel-side wall time of an executed cell, from the timestamps nbclient records."""
    timing = cell.metadata.execution
    start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                  for key in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def target(first_line):
    return next((limit for prefix, limit in LONG_CELL_TARGETS_S.items() if first_line.startswith(prefix)),
                CELL_TARGET_S)


def main():
    notebook = notebook_from_script(os.path.join(REPO, "solutions.py"))
    # Other processes on the same cores slow every cell down: say how busy the machine was.
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    started = time.perf_counter()
    execute(notebook, record_timing=True, WORKSHOP_SMALL=None, SKIP_TRAINING=None)
    total = time.perf_counter() - started
    print(f"{'seconds':>8}  {'target':>6}  cell (first line)")
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        first_line = cell.source.splitlines()[0]
        cell_seconds, limit = seconds(cell), target(first_line)
        flag = "  OVER" if cell_seconds > limit else ""
        print(f"{cell_seconds:8.2f}  {limit:>6}  {first_line[:90]}{flag}")
    flag = "  OVER" if total > NOTEBOOK_TARGET_S else ""
    print(f"{total:8.2f}  {NOTEBOOK_TARGET_S:>6}  whole notebook, kernel start included{flag}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
