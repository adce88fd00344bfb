"""Times every command a newcomer or a presenter runs, one after another on the same quiet machine, and
prints them as the Markdown table that README.md and presentation/RUNBOOK.md both quote. Prints numbers;
asserts nothing.

    python benchmarks/bench_times.py          # about 25 minutes on a 2-core CPU: it runs the test suite too

Run it on an otherwise idle machine: other processes on the same cores slow torch down several times.
"""
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMMANDS = (
    ("`python solutions.py`, the whole story", [sys.executable, "solutions.py"], {}),
    ("`SKIP_TRAINING=1 python solutions.py`", [sys.executable, "solutions.py"], {"SKIP_TRAINING": "1"}),
    ("a training run from a random start alone (act 1's cell, 6,000 Adam steps)",
     [sys.executable, "-c", "import solutions; solutions.train_from_scratch(progress=False)"], {}),
    ("`python spoilers.py`, every shipped weight from scratch", [sys.executable, "spoilers.py"], {}),
    ("`python -m pytest -q`", [sys.executable, "-m", "pytest", "-q"], {}),
    ("`python presentation/build.py`", [sys.executable, "presentation/build.py"], {}),
    ("`python tools/make_notebooks.py`", [sys.executable, "tools/make_notebooks.py"], {}),
)
WHOLE_NOTEBOOK = "the executed notebook (`python benchmarks/bench_notebook.py`)"
NOTEBOOK_CELLS = (("act 1's training cell (6,000 Adam steps from a random start)", "# Run: train your agent"),
                  ("act 2's training cell (100 Adam steps from the shipped starting weights)", "# Run: fine-tune"),
                  ("each dream cell (section 23, 162 placements x 2 restarts; section 24, 200 mazes x 2 agents)",
                   "# Run: dream"))


def minutes_and_seconds(seconds):
    return f"{seconds:.0f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def timed(command, switches):
    started = time.perf_counter()
    run = subprocess.run(command, cwd=REPO, env=dict(os.environ, **switches), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        print(f"failed ({run.returncode}): {' '.join(command)}\n{(run.stdout + run.stderr)[-2000:]}", file=sys.stderr)
    return seconds, run.stdout


def main():
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    rows = []
    for name, command, switches in COMMANDS:
        seconds, _ = timed(command, switches)
        rows.append((name, minutes_and_seconds(seconds)))
        print(f"{name}: {seconds:.0f} s", file=sys.stderr, flush=True)
    # The notebook, cell by cell: bench_notebook.py prints "seconds  target  first line" for every cell.
    seconds, report = timed([sys.executable, "benchmarks/bench_notebook.py"], {})
    cells = [(float(match.group(1)), match.group(2)) for match in re.finditer(r"^\s*([\d.]+)\s+\d+\s+(.*)$", report, re.M)]
    whole = next(cell_seconds for cell_seconds, line in cells if line.startswith("whole notebook"))
    others = max(cell_seconds for cell_seconds, line in cells
                 if not line.startswith(("whole notebook", *(prefix for _, prefix in NOTEBOOK_CELLS))))
    rows.append((WHOLE_NOTEBOOK, f"{minutes_and_seconds(whole)}; every other cell under {others + 0.5:.0f} s"))
    for name, prefix in NOTEBOOK_CELLS:
        times = [cell_seconds for cell_seconds, line in cells if line.startswith(prefix)]
        rows.append((name, " and ".join(f"{cell_seconds:.0f} s" for cell_seconds in times)))
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("| what | time |\n|---|---|")
    for name, shown in rows:
        print(f"| {name} | {shown} |")


if __name__ == "__main__":
    main()
