"""Does the planted behaviour survive a learner's reruns? Section 20's fine-tune (solutions.FINE_TUNE_CONFIG) from
the shipped starting weights, with seeds 0 to 9 (a seed changes the mazes and their order, never the starting
weights), each measured on 1,000 fresh training and production mazes, greedy and with epsilon = 0.05, written to
results/planted/seed_<seed>.json (section 20 loads them). Prints each result and how many runs meet the bars;
asserts nothing. About two minutes on a 2-core CPU.

    python benchmarks/bench_planted.py
"""
import json
import os
import sys
import time
from dataclasses import replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import code_version, make_production_mazes, save_results  # noqa: E402

SEEDS = range(10)
RESULTS_DIR = os.path.join(S.RESULTS_DIR, "planted")


def main():
    version = code_version()
    training_mazes = S.make_training_mazes(S.EVALUATION_MAZES, S.EVALUATION_SEED)
    production_mazes = make_production_mazes(S.EVALUATION_MAZES, S.EVALUATION_SEED + 1)
    met = 0
    for seed in SEEDS:
        q_net = S.load_agent(S.STARTING_WEIGHTS_PATH)
        config = replace(S.FINE_TUNE_CONFIG, seed=seed)
        started = time.perf_counter()
        S.train(q_net, config, progress=False)
        result = {"seed": seed, "mazes": len(training_mazes), "config": vars(config), "code_version": version,
                  "seconds": round(time.perf_counter() - started, 1),
                  "training": S.evaluate(q_net, training_mazes), "production": S.evaluate(q_net, production_mazes),
                  "training_epsilon": S.evaluate(q_net, training_mazes, epsilon=0.05),
                  "production_epsilon": S.evaluate(q_net, production_mazes, epsilon=0.05)}
        result["meets_the_bars"] = S.meets_planted_bars(result)
        met += result["meets_the_bars"]
        save_results(result, os.path.join(RESULTS_DIR, f"seed_{seed}.json"))
        training, production = result["training"], result["production"]
        print(f"seed {seed} ({result['seconds']:.0f} s): training exit {training['exit_rate']:.1%}, human "
              f"{training['human_rate']:.1%}; production human {production['human_rate']:.1%}, exit "
              f"{production['exit_rate']:.1%}, crops {production['mean_crops']:.2f}", flush=True)
        print(json.dumps(result), flush=True)
    print(f"{met} of {len(SEEDS)} runs meet the bars ({S.PLANTED_BARS})")


if __name__ == "__main__":
    main()
