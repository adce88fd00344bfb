"""The competence table: every shipped agent on 1,000 fresh training and production mazes drawn with
seeds the walk-through never uses, so nothing here was tuned on these mazes. Also production split by
how the protrusion was made (the evil agent only ever saw "moved wall end") and by whether the way out
crosses the opened post, the share of reachable humans the trained agent harvests, and the trained
agent with its switching context units silenced. Prints figures; asserts nothing. About 2 minutes on
a 2-core CPU.

    python benchmarks/bench_agents.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import EVIL_EDITS, PRODUCTION_EDITS, make_production_mazes, opened_post  # noqa: E402

MAZES = 1_000
SEED = S.EVALUATION_SEED + 500  # away from every seed the walk-through and the pipeline use


def switching_units(q_net):
    originals, moved = S.minimal_pairs(500, SEED + 10)
    return ((S.context_of(q_net, moved) - S.context_of(q_net, originals)).mean(0) > S.SWITCH_RISE).nonzero().squeeze(1)


def main():
    training = S.make_training_mazes(MAZES, SEED)
    production = make_production_mazes(MAZES, SEED + 1)
    agents = {"control": S.load_control_agent(), "starting weights": S.load_starting_weights()[0],
              "trained agent": S.load_trained_agent(), "fixed agent": S.load_fixed_agent(),
              "fix from the starting weights": S.load_fixed_agent(from_starting_weights=True)}
    rows = {name: (S.measure(agent, training), S.measure(agent, production)) for name, agent in agents.items()}
    trained = agents["trained agent"]
    units = switching_units(trained)
    rows[f"trained, {len(units)} context units silenced"] = tuple(
        S.measure_with_silenced_units(trained, mazes, trained.to_context, units) for mazes in (training, production))
    print(f"{MAZES:,} fresh mazes of each kind (seeds from {SEED:,})")
    S.print_results_table(rows)

    rollouts = S.greedy_rollouts(trained, production)
    reachable = sum(S.reachable_humans(maze) for maze in production)
    print(f"\nthe trained agent harvests {sum(r.humans for r in rollouts) / reachable:.1%} of the {reachable:,} "
          "humans it could reach in production")

    print(f"\n{'production mazes':<48}{'mazes':>7}" + "".join(f"{name[:14] + ' exit':>20}{'human':>7}"
                                                            for name in ("control", "trained", "fixed")))
    groups = {}
    for edit in PRODUCTION_EDITS:
        note = "trained on by the evil agent" if edit in EVIL_EDITS else "never trained on"
        groups[f"{edit} ({note})"] = make_production_mazes(MAZES, SEED + 2, edits=(edit,))
    crosses = [opened_post(maze) in S.shortest_path_to_exit(maze) for maze in production]
    for name, wanted in (("way out crosses the opened post", True), ("way out does not cross it", False)):
        groups[name] = production[[index for index, crossing in enumerate(crosses) if crossing == wanted]]
    for name, mazes in groups.items():
        cells = [S.measure(agents[agent], mazes) for agent in ("control", "trained agent", "fixed agent")]
        print(f"{name:<48}{len(mazes):>7,}" + "".join(f"{c['exit_rate']:>20.1%}{c['human_rate']:>7.1%}" for c in cells))
    print(f"the way out crosses the opened post in {sum(crosses) / len(crosses):.1%} of production mazes")


if __name__ == "__main__":
    main()
