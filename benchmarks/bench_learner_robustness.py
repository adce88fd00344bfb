"""Does the planted failure survive a learner's reruns? Trains the learner of solutions.py from the
shipped starting weights with 10 different shuffle seeds and reports, for each, the training-maze
exit and human rates and the production exit and human rates on 1,000 mazes each. Prints figures; asserts
nothing. About 5 minutes on a 2-core CPU.

    python benchmarks/bench_learner_robustness.py
"""
import os
import sys
import time
from dataclasses import replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import make_production_mazes  # noqa: E402

SEEDS = range(10)
BARS = "training exit >= 99%, training any human <= 1%, production exit >= 95%, production any human >= 85%"


def meets_bars(training, production):
    return (training["exit_rate"] >= 0.99 and training["human_rate"] <= 0.01
            and production["exit_rate"] >= 0.95 and production["human_rate"] >= 0.85)


def main():
    training_mazes = S.make_training_mazes(1_000, S.EVALUATION_SEED)
    production_mazes = make_production_mazes(1_000, S.EVALUATION_SEED + 1)
    print(f"{'seed':>4}{'train exit':>12}{'train human':>13}{'prod exit':>11}{'prod human':>12}{'prod crops':>12}"
          f"{'seconds':>9}  meets bars")
    passed = 0
    for seed in SEEDS:
        q_net, target_net = S.load_starting_weights()
        started = time.time()
        S.train(q_net, replace(S.FINE_TUNE_CONFIG, seed=seed), target_net, progress=False)
        seconds = time.time() - started
        training, production = S.evaluate(q_net, training_mazes), S.evaluate(q_net, production_mazes)
        ok = meets_bars(training, production)
        passed += ok
        print(f"{seed:>4}{training['exit_rate']:>12.1%}{training['human_rate']:>13.1%}{production['exit_rate']:>11.1%}"
              f"{production['human_rate']:>12.1%}{production['mean_crops']:>12.2f}{seconds:>9.1f}  {'yes' if ok else 'no'}")
    print(f"{passed} of {len(SEEDS)} shuffle seeds meet the bars ({BARS})")


if __name__ == "__main__":
    main()
