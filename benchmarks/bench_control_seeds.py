"""How rare is a bad roll of the dice? Train the control recipe (spoilers.train_control: a normal random
initialisation and TrainConfig(), both seeded) from each given seed, and write what the agent then does on 1,000
fresh training and 1,000 production mazes to results/control_seeds/seed_<seed>.json, which the walk-through's
section 27 loads. Prints each result; asserts nothing.

    python benchmarks/bench_control_seeds.py 1 2 3        # about 8 minutes a seed on a 2-core CPU, 13 at 1 thread
    python benchmarks/bench_control_seeds.py 0 --shipped  # seed 0 made the shipped control: measures its checkpoint

The 20 shipped files are seed 0 (the shipped control) and seeds 1 to 19, run as two single-threaded lanes:
    OMP_NUM_THREADS=1 python benchmarks/bench_control_seeds.py 1 3 5 ... 19
    OMP_NUM_THREADS=1 python benchmarks/bench_control_seeds.py 2 4 6 ... 18
"""
import json
import os
import sys
import time
from dataclasses import asdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import CONTROL_SEED, code_version, make_production_mazes, save_results, train_control  # noqa: E402

SEED_MAZES = 1_000
RESULTS_DIR = os.path.join(S.REPO_DIR, "results", "control_seeds")


def main(seeds, shipped):
    version = code_version()  # the code this run imported, even if the checkout moves on while it trains
    training = S.make_training_mazes(SEED_MAZES, S.EVALUATION_SEED)
    production = make_production_mazes(SEED_MAZES, S.EVALUATION_SEED + 1)
    for seed in seeds:
        started = time.perf_counter()
        if shipped:
            if seed != CONTROL_SEED:
                raise SystemExit(f"the shipped control was made from seed {CONTROL_SEED}, not {seed}")
            q_net = S.load_control_agent()
        else:
            q_net = train_control(seed, progress=False)
        result = {"seed": seed, "shipped_checkpoint": shipped, "mazes": SEED_MAZES,
                  "config": asdict(S.TrainConfig(seed=seed)), "code_version": version,
                  "training": S.measure(q_net, training), "production": S.measure(q_net, production),
                  "seconds": round(time.perf_counter() - started)}
        save_results(result, os.path.join(RESULTS_DIR, f"seed_{seed}.json"))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main([int(argument) for argument in arguments if argument != "--shipped"], "--shipped" in arguments)
