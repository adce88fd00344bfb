"""Act 2's fix, cell by cell: train section 28's fix (solutions.train_the_fix) for each start (a random start with
section 13's recipe, the shipped starting weights with section 20's fine-tune, and the starting weights with the full
recipe) and each share of patched mazes (0% and 25%), from seeds 0 to 2, and write what each agent does on 1,000
fresh training and production mazes, greedy and with epsilon = 0.05, to results/fix/<start>_<steps>_share_<share>_
seed_<seed>.json, which sections 28 and 32 load. The long runs also record production rates along the way.
Prints each result; asserts nothing.

    python benchmarks/bench_fix.py            # every shipped file: about 15 minutes on 2 cores
    OMP_NUM_THREADS=1 python benchmarks/bench_fix.py --lane 0 &   # the same in two single-threaded lanes
    OMP_NUM_THREADS=1 python benchmarks/bench_fix.py --lane 1
"""
import argparse
import json
import os
import sys
import time
from dataclasses import replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import code_version, make_production_mazes, save_results  # noqa: E402

LONG = S.TrainConfig().steps
CELLS = [("random start", None, share) for share in (0.0, 0.25)] + \
        [("starting weights", None, share) for share in (0.0, 0.25)] + [("starting weights", LONG, 0.0)]
SEEDS = range(3)
ALONG_THE_WAY = (25, 50, 100, 300, 1_000, LONG)  # steps at which the long runs are measured in production
ALONG_THE_WAY_MAZES = 300
RESULTS_DIR = os.path.join(S.RESULTS_DIR, "fix")


def run(start, steps, share, seed, mazes, version):
    along_the_way = []

    def measure_along_the_way(step, q_net):
        if steps and step in ALONG_THE_WAY:
            along_the_way.append({"step": step, "production": S.evaluate(q_net, mazes["production"][:ALONG_THE_WAY_MAZES])})

    started = time.perf_counter()
    q_net = S.train_the_fix(start, share, seed, steps=steps, progress=False, on_step=measure_along_the_way)
    seconds = time.perf_counter() - started
    config = replace(S.FIX_STARTS[start], seed=seed, **({"steps": steps} if steps else {}))
    result = {"start": start, "steps": config.steps, "share": share, "seed": seed, "mazes": len(mazes["production"]),
              "config": vars(config), "code_version": version, "seconds": round(seconds, 1),
              "training": S.evaluate(q_net, mazes["training"]), "production": S.evaluate(q_net, mazes["production"]),
              "training_epsilon": S.evaluate(q_net, mazes["training"], epsilon=0.05),
              "production_epsilon": S.evaluate(q_net, mazes["production"], epsilon=0.05)}
    if along_the_way:
        result["along_the_way"] = along_the_way
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lane", type=int, choices=(0, 1), help="every other run, starting at this one")
    arguments = parser.parse_args()
    runs = [(start, steps, share, seed) for start, steps, share in CELLS for seed in SEEDS]
    if arguments.lane is not None:
        runs = runs[arguments.lane::2]
    version = code_version()  # the code this run imported, even if the checkout moves on while it trains
    mazes = {"training": S.make_training_mazes(S.EVALUATION_MAZES, S.EVALUATION_SEED),
             "production": make_production_mazes(S.EVALUATION_MAZES, S.EVALUATION_SEED + 1)}
    for start, steps, share, seed in runs:
        result = run(start, steps, share, seed, mazes, version)
        name = f"{start.replace(' ', '_')}_{result['steps']}_share_{share}_seed_{seed}.json"
        save_results(result, os.path.join(RESULTS_DIR, name))
        production, noisy = result["production"], result["production_epsilon"]
        print(f"{start}, {result['steps']} steps, {share:.0%} patched, seed {seed} ({result['seconds']:.0f} s): "
              f"training exit {result['training']['exit_rate']:.1%}; production: human {production['human_rate']:.1%} "
              f"(epsilon 0.05: {noisy['human_rate']:.1%}), exit {production['exit_rate']:.1%}, loops "
              f"{production['stuck_rate']:.1%}", flush=True)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
