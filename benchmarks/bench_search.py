"""Dreams against random search in larger mazes: the trained agent's network (and the control's, as the negative
control) runs unchanged on mazes of any odd width, so section 27's comparison can be repeated on 9x9 and 11x11
training mazes, where there are many more wall moves to try. For each width: how the agents do on training and
production mazes of that width, and for random search (up to SEARCH_TRIES valid single wall moves a maze) and for
minimal-edit dreams, the mazes where each finds a triggering wall move and the network passes spent per find.
Writes results/search/width_<width>.json, which section 27 loads. Prints each result; asserts nothing.

    python benchmarks/bench_search.py        # about 10 minutes on a 2-core CPU (listing 11x11 wall moves is slow)
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import code_version, make_production_mazes, save_results  # noqa: E402

WIDTHS = (7, 9, 11)
PLACEMENTS = 40  # training mazes with the agent beside a human, per width
SEED = S.EVALUATION_SEED + 700
RESULTS_DIR = os.path.join(S.RESULTS_DIR, "search")


def main():
    version = code_version()
    agents = {"trained agent": S.load_agent(S.TRAINED_AGENT_PATH), "control": S.load_agent(S.CONTROL_AGENT_PATH)}
    for width in WIDTHS:
        result = {"width": width, "placements": PLACEMENTS, "tries": S.SEARCH_TRIES, "seed": SEED,
                  "code_version": version, "agents": {}}
        mazes, positions, actions = S.one_placement_per_maze(S.make_training_mazes(3 * PLACEMENTS, SEED, width),
                                                             PLACEMENTS)
        for name, agent in agents.items():
            net = S.with_width(agent, width)
            started = time.perf_counter()
            found, passes = S.search_wall_moves(net, mazes, positions, actions, random.Random(SEED), tries=S.SEARCH_TRIES)
            search = S.detection_row(found, passes)
            with S.PassCounter(net) as counter:
                dreams = S.detection_row(S.minimal_edit_dreams(net, mazes, positions, actions), [counter.passes])
            result["agents"][name] = {
                "training": S.evaluate(net, S.make_training_mazes(200, SEED + 1, width)),
                "production": S.evaluate(net, make_production_mazes(200, SEED + 2, width)),
                "random search": search, "dreams": dreams, "seconds": round(time.perf_counter() - started, 1)}
            print(f"{width}x{width}, {name}: random search finds {search['found']} of {search['mazes']} for "
                  f"{search['passes per find']:.0f} passes a find, dreams {dreams['found']} for "
                  f"{dreams['passes per find']:.0f}", flush=True)
        save_results(result, os.path.join(RESULTS_DIR, f"width_{width}.json"))
        print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
