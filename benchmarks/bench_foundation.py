"""Speed figures for the foundation: buffer building, training throughput, a full training run,
and the cost of `import solutions`. Prints numbers; asserts nothing.

    python benchmarks/bench_foundation.py            # everything (about 6 minutes on 2 cores)
    python benchmarks/bench_foundation.py --quick    # skip the full training run
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import solutions  # noqa: E402

TARGET_TRANSITIONS = 500_000


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

    # ~100 transitions per 7x7 maze: generate enough mazes for 500k, then build the buffer.
    maze_count = TARGET_TRANSITIONS // 100
    generate_time, mazes = seconds(lambda: solutions.make_training_mazes(maze_count, seed=1))
    build_time, buffer = seconds(lambda: solutions.make_replay_buffer(mazes))
    per_500k = (generate_time + build_time) * TARGET_TRANSITIONS / len(buffer)
    print(f"replay buffer: {len(buffer):,} transitions from {maze_count:,} mazes: generate {generate_time:.2f} s "
          f"+ build {build_time:.2f} s = {per_500k:.2f} s per 500k transitions (target < 2 s)")

    config = solutions.TrainConfig(steps=300, new_buffer_every=10_000)
    q_net = solutions.QNetwork().to(solutions.DEVICE)
    train_time, _ = seconds(lambda: solutions.train(q_net, config, progress=False))
    print(f"training throughput: {config.steps / train_time:.0f} steps/s at batch {config.batch_size} "
          f"(one buffer build included), {solutions.DEVICE}, {torch.get_num_threads()} threads")

    if "--quick" not in sys.argv:
        torch.manual_seed(0)
        q_net = solutions.QNetwork().to(solutions.DEVICE)
        config = solutions.TrainConfig()  # the from-scratch recipe
        train_time, _ = seconds(lambda: solutions.train(q_net, config, progress=False))
        results = solutions.evaluate(q_net, solutions.make_training_mazes(1_000, solutions.EVALUATION_SEED))
        print(f"full training run from random init: {train_time:.0f} s for {config.steps:,} steps; "
              f"exit {results['exit_rate']:.1%}, any human {results['human_rate']:.1%} on 1,000 fresh mazes")


if __name__ == "__main__":
    main()
