"""How much faster is training now? The implementation before the speed work (commit 1d5d48c) and this checkout,
measured side by side in one run, each in a fresh Python process on the same machine: the from-scratch recipe, the
learner's training cell, `python solutions.py` and `python spoilers.py`, and what the from-scratch recipe's agent
then does on 1,000 fresh training and production mazes. Prints a Markdown table; asserts nothing.

    python benchmarks/bench_speed.py                 # about 20 minutes on a 2-core CPU
    python benchmarks/bench_speed.py --old-spoilers  # also the old `python spoilers.py`: 37 minutes more

Run it on an otherwise idle machine: other processes on the same cores slow torch down several times.
"""
import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEFORE = "1d5d48c"  # the last commit before the speed work

# Each snippet runs in the checkout it is given, times one thing and prints a JSON line.
FROM_SCRATCH = """
import json, time, torch, solutions as S, spoilers as P
started = time.perf_counter()
torch.manual_seed(0)
q_net = S.QNetwork().to(S.DEVICE)
S.train(q_net, S.TrainConfig(), progress=False)
seconds = time.perf_counter() - started
rates = {side: S.evaluate(q_net, mazes) for side, mazes in (
    ("training", S.make_training_mazes(1000, 10_000_000)), ("production", P.make_production_mazes(1000, 10_000_001)))}
print(json.dumps({"seconds": seconds, "rates": rates}))
"""
LEARNERS_CELL = {
    BEFORE: """
import json, time, solutions as S
q_net, target_net = S.load_starting_weights()
started = time.perf_counter()
S.train(q_net, S.FINE_TUNE_CONFIG, target_net, progress=False)
print(json.dumps({"seconds": time.perf_counter() - started}))
""",
    "now": """
import json, time, solutions as S
q_net = S.load_agent(S.STARTING_WEIGHTS_PATH)
started = time.perf_counter()
S.train(q_net, S.FINE_TUNE_CONFIG, progress=False)
print(json.dumps({"seconds": time.perf_counter() - started}))
""",
}


def checkout_of(commit, directory):
    """The files of `commit` (git archive), unpacked into `directory`."""
    archive = os.path.join(directory, "checkout.tar")
    subprocess.run(["git", "archive", "--format=tar", "-o", archive, commit], cwd=REPO, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    os.remove(archive)
    return directory


def timed_command(command, cwd, env=None):
    started = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, env=dict(os.environ, **(env or {})), capture_output=True, text=True)
    if run.returncode != 0:
        print(f"failed in {cwd}: {' '.join(command)}\n{(run.stdout + run.stderr)[-2000:]}", file=sys.stderr)
    return time.perf_counter() - started, run.stdout


def snippet(code, cwd):
    _, output = timed_command([sys.executable, "-c", code], cwd)
    return json.loads(output.strip().splitlines()[-1])


def minutes_and_seconds(seconds):
    return f"{seconds:.0f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-spoilers", action="store_true", help="also time the old spoilers.py (37 minutes)")
    arguments = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        before = checkout_of(BEFORE, directory)
        for name, where, cell in ((f"before ({BEFORE})", before, LEARNERS_CELL[BEFORE]), ("now", REPO, LEARNERS_CELL["now"])):
            scratch = snippet(FROM_SCRATCH, where)
            learner = snippet(cell, where)
            script, _ = timed_command([sys.executable, "solutions.py"], where,
                                      {"FIGURE_DIR": os.path.join(directory, "figures", name)})
            spoilers = timed_command([sys.executable, "spoilers.py"], where)[0] \
                if where == REPO or arguments.old_spoilers else None
            rows.append((name, scratch, learner["seconds"], script, spoilers))
            print(f"{name}: from scratch {scratch['seconds']:.0f} s, learner's cell {learner['seconds']:.0f} s, "
                  f"solutions.py {script:.0f} s, spoilers.py {spoilers or float('nan'):.0f} s", file=sys.stderr, flush=True)
    print("| | the from-scratch recipe | its agent: training exit / production exit | the learner's training cell "
          "| `python solutions.py` | `python spoilers.py` |\n|---|---|---|---|---|---|")
    for name, scratch, learner, script, spoilers in rows:
        rates = scratch["rates"]
        print(f"| {name} | {minutes_and_seconds(scratch['seconds'])} | {rates['training']['exit_rate']:.1%} / "
              f"{rates['production']['exit_rate']:.1%} | {minutes_and_seconds(learner)} | {minutes_and_seconds(script)} | "
              f"{minutes_and_seconds(spoilers) if spoilers else 'not rerun (36 min 48 s when it last ran)'} |")
    (_, old, old_learner, old_script, _), (_, new, new_learner, new_script, _) = rows
    print(f"\nspeed-up: from-scratch recipe {old['seconds'] / new['seconds']:.1f}x, learner's cell "
          f"{old_learner / new_learner:.1f}x; solutions.py now trains an agent from a random start as well")
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
