"""The fix's dose-response, from the shipped starting weights: train section 22's recipe with a given share of
patched mazes and a given seed, and write what the agent then does on 1,000 fresh training and 1,000 production
mazes to results/fix_dose_<share>_seed_<seed>.json, which the walk-through's section 26 loads. Prints the result;
asserts nothing.

    python benchmarks/bench_fix_dose.py 0.05 --seed 1   # one run: about 8 minutes on a 2-core CPU, 12 at 1 thread
    python benchmarks/bench_fix_dose.py 0.25 --shipped  # the run the shipped fix made (seed 0): measures its checkpoint

The seed seeds the patched mazes and the order the network meets them in; the starting weights are the same in
every run. The shipped files are shares 0, 1%, 5% and 25%, seeds 0, 1 and 2.
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

DOSE_MAZES = 1_000


def main(share, seed, shipped):
    version = code_version()  # the code this run imported, even if the checkout moves on while it trains
    started = time.perf_counter()
    config = replace(S.FIX_CONFIG, seed=seed)
    if shipped:
        if (share, seed) != (S.BLIND_SPOT_FRACTION, S.FIX_CONFIG.seed):
            raise SystemExit(f"the shipped fix used a share of {S.BLIND_SPOT_FRACTION} and seed {S.FIX_CONFIG.seed}, "
                             f"not {share} and {seed}")
        q_net = S.load_fixed_agent(from_starting_weights=True)
    else:
        S.BLIND_SPOT_FRACTION = share  # make_patched_training_mazes reads it at every call
        q_net = S.train_the_fix(config, from_starting_weights=True, progress=False)
    training = S.make_training_mazes(DOSE_MAZES, S.EVALUATION_SEED)
    production = make_production_mazes(DOSE_MAZES, S.EVALUATION_SEED + 1)
    result = {"share": share, "seed": seed, "from": "starting weights", "shipped_checkpoint": shipped,
              "mazes": DOSE_MAZES, "config": asdict(config), "code_version": version,
              "training": S.measure(q_net, training), "production": S.measure(q_net, production),
              "seconds": round(time.perf_counter() - started)}
    save_results(result, os.path.join(S.REPO_DIR, "results", f"fix_dose_{share}_seed_{seed}.json"))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("share", type=float, help="share of patched training mazes, e.g. 0.05")
    parser.add_argument("--seed", type=int, default=S.FIX_CONFIG.seed, help="seeds the mazes and their order")
    parser.add_argument("--shipped", action="store_true", help="measure the shipped checkpoint instead of training")
    arguments = parser.parse_args()
    main(arguments.share, arguments.seed, arguments.shipped)
