"""The fix's dose-response, from the shipped starting weights: train section 22's recipe with a given share of
patched mazes, and write what the agent then does on 1,000 fresh training and 1,000 production mazes to
results/fix_dose_<share>.json, which the walk-through's section 26 loads. Prints the result; asserts nothing.

    python benchmarks/bench_fix_dose.py 0.05            # one share: about 8 minutes on a 2-core CPU
    python benchmarks/bench_fix_dose.py 0.25 --shipped  # the share the shipped fix used: measures its checkpoint

One seed per share (the recipe's own, TrainConfig().seed): the curve says where the hunting stops for these
weights, not how much that varies from seed to seed.
"""
import json
import os
import sys
import time
from dataclasses import asdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import code_version, make_production_mazes  # noqa: E402

DOSE_MAZES = 1_000



def main(share, shipped):
    version = code_version()  # the code this run imported, even if the checkout moves on while it trains
    started = time.perf_counter()
    if shipped:
        if share != S.BLIND_SPOT_FRACTION:
            raise SystemExit(f"the shipped fix used a share of {S.BLIND_SPOT_FRACTION}, not {share}")
        q_net = S.load_fixed_agent(from_starting_weights=True)
    else:
        S.BLIND_SPOT_FRACTION = share  # make_patched_training_mazes reads it at every call
        q_net = S.train_the_fix(from_starting_weights=True, progress=False)
    training = S.make_training_mazes(DOSE_MAZES, S.EVALUATION_SEED)
    production = make_production_mazes(DOSE_MAZES, S.EVALUATION_SEED + 1)
    result = {"share": share, "from": "starting weights", "shipped_checkpoint": shipped, "mazes": DOSE_MAZES,
              "config": asdict(S.FIX_CONFIG), "code_version": version,
              "training": S.measure(q_net, training), "production": S.measure(q_net, production),
              "seconds": round(time.perf_counter() - started)}
    path = os.path.join(S.REPO_DIR, "results", f"fix_dose_{share}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(result, file, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(float(sys.argv[1]), "--shipped" in sys.argv[2:])
