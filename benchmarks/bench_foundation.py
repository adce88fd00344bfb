"""Speed figures for the foundation: the cost of `import solutions`, making a pool of mazes, training
throughput, act 2's training cell, and a full from-scratch training run (act 1's training cell, the control's
recipe). Prints numbers; asserts nothing.

    python benchmarks/bench_foundation.py            # everything (about 2 minutes on 2 cores)
    python benchmarks/bench_foundation.py --quick    # skip the full training run
"""
import os
import subprocess
import sys
import time
from dataclasses import replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import solutions as S  # noqa: E402
from spoilers import make_production_mazes  # noqa: E402


def seconds(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main():
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    import_times = []
    for _ in range(3):
        import_times.append(float(subprocess.check_output(
            [sys.executable, "-c", "import time; t = time.perf_counter(); import solutions; "
                                   "print(time.perf_counter() - t)"], cwd=repo, text=True)))
    print(f"import solutions: {min(import_times):.2f} s (best of 3, torch's own import included)")

    config = S.TrainConfig()
    pool_time, _ = seconds(lambda: S.harvest_some_items(S.make_training_mazes(config.pool_size, seed=1),
                                                        torch.Generator().manual_seed(0)))
    print(f"a pool of {config.pool_size:,} mazes: {pool_time:.2f} s")

    q_net = S.QNetwork().to(S.DEVICE)
    short = replace(config, steps=200)
    train_time, _ = seconds(lambda: S.train(q_net, short, progress=False))
    print(f"training throughput: {short.steps / train_time:.0f} steps/s at {short.mazes_per_step} mazes a step "
          f"(one pool included), {S.DEVICE}, {torch.get_num_threads()} threads")

    q_net = S.load_agent(S.STARTING_WEIGHTS_PATH)
    fine_tune_time, _ = seconds(lambda: S.train(q_net, S.FINE_TUNE_CONFIG, progress=False))
    print(f"act 2's training cell (section 20): {fine_tune_time:.1f} s for {S.FINE_TUNE_CONFIG.steps} steps "
          "(target < 15 s)")

    if "--quick" not in sys.argv:
        torch.manual_seed(0)
        q_net = S.QNetwork().to(S.DEVICE)
        train_time, _ = seconds(lambda: S.train(q_net, config, progress=False))  # target: 60 s or less
        # Seeds other than the walk-through's, so the figures are on mazes nothing was tuned on.
        training = S.measure(q_net, S.make_training_mazes(1_000, S.EVALUATION_SEED + 100))
        production = S.measure(q_net, make_production_mazes(1_000, S.EVALUATION_SEED + 101))
        print(f"full training run from random init: {train_time:.0f} s for {config.steps:,} steps; on 1,000 fresh mazes "
              f"each: training exit {training['exit_rate']:.1%}, any human {training['human_rate']:.1%}; production "
              f"exit {production['exit_rate']:.1%}, any human {production['human_rate']:.1%}")


if __name__ == "__main__":
    main()
