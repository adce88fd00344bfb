"""Act 1 from many random starts: train section 13's recipe (solutions.train_from_scratch) from each given seed,
with a given share of training mazes whose exit stands elsewhere (section 19's cure; 0 is the plain recipe), and
write what the agent then does to results/natural/share_<share>_seed_<seed>.json, which sections 17 and 19 load.
Each file holds greedy and epsilon-greedy counts at the new site and with no exit at all, the new site by distance
between the exit and the corner, and rates on training and production mazes (1,000 mazes of each kind), with the
seed, the share, the config and the code version. Prints each result; asserts nothing.

    python benchmarks/bench_natural.py                     # every shipped file: about 25 minutes on 2 cores
    python benchmarks/bench_natural.py --share 0.05 --seeds 0 1 2

A run takes about a minute at two threads. Two lanes of one thread each use both cores:
    OMP_NUM_THREADS=1 python benchmarks/bench_natural.py --lane 0 &
    OMP_NUM_THREADS=1 python benchmarks/bench_natural.py --lane 1
"""
import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import code_version, make_production_mazes, save_results  # noqa: E402

RUNS = [(0.0, seed) for seed in range(10)] + [(share, seed) for share in (0.01, 0.05, 0.25) for seed in range(3)]
RESULTS_DIR = os.path.join(S.RESULTS_DIR, "natural")


def run(share, seed, mazes, version):
    started = time.perf_counter()
    config = replace(S.TrainConfig(), seed=seed)
    q_net, _ = S.train_from_scratch(config, S.make_mixed_mazes(share, S.make_moved_exit_maze), progress=False)
    seconds = time.perf_counter() - started
    site, training = mazes["new site"], mazes["training"]
    no_exit = S.without_exit(training)
    rollouts = S.greedy_rollouts(q_net, site)
    distances = [S.exit_to_corner_distance(maze) for maze in site]
    by_distance = {}
    for low, high in S.DISTANCE_BANDS:
        chosen = [i for i, distance in enumerate(distances) if low <= distance <= high]
        by_distance[f"{low}-{high}"] = S.new_site_counts(site[chosen], [rollouts[i] for i in chosen])
    return {"share": share, "seed": seed, "mazes": len(site), "config": asdict(config), "code_version": version,
            "seconds": round(seconds, 1),
            "training": S.evaluate(q_net, training), "production": S.evaluate(q_net, mazes["production"]),
            "new_site": S.new_site_counts(site, rollouts),
            "new_site_epsilon": S.measure_new_site(q_net, site, epsilon=0.05),
            "no_exit": S.measure_new_site(q_net, no_exit), "no_exit_epsilon": S.measure_new_site(q_net, no_exit, epsilon=0.05),
            "by_distance": by_distance}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, help="only this share (with --seeds)")
    parser.add_argument("--seeds", type=int, nargs="*", help="only these seeds (with --share)")
    parser.add_argument("--lane", type=int, choices=(0, 1), help="every other shipped run, starting at this one")
    arguments = parser.parse_args()
    runs = RUNS if arguments.share is None else [(arguments.share, seed) for seed in arguments.seeds or [0]]
    if arguments.lane is not None:
        runs = runs[arguments.lane::2]
    version = code_version()  # the code this run imported, even if the checkout moves on while it trains
    mazes = {"training": S.make_training_mazes(S.EVALUATION_MAZES, S.EVALUATION_SEED),
             "production": make_production_mazes(S.EVALUATION_MAZES, S.EVALUATION_SEED + 1),
             "new site": S.make_moved_exit_mazes(S.EVALUATION_MAZES, S.EVALUATION_SEED + 40)}
    for share, seed in runs:
        result = run(share, seed, mazes, version)
        save_results(result, os.path.join(RESULTS_DIR, f"share_{share}_seed_{seed}.json"))
        site = result["new_site"]
        print(f"share {share:.0%} seed {seed} ({result['seconds']:.0f} s): training exit "
              f"{result['training']['exit_rate']:.1%}; new site: exit {site['exit'] / site['mazes']:.1%}, old corner "
              f"{site['old corner'] / site['mazes']:.1%}, elsewhere {site['elsewhere'] / site['mazes']:.1%}; "
              f"production: human {result['production']['human_rate']:.1%}", flush=True)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
