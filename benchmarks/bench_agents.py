"""The competence table: every shipped agent on 1,000 fresh training, production and new-site mazes drawn with
seeds the walk-through never uses, so nothing here was tuned on these mazes, greedy and with epsilon = 0.05. Also
production split by how the protrusion was made and by whether the way out crosses the opened post, the share of
reachable humans the trained agent harvests, and the trained agent with its switching context units silenced.
Prints figures; asserts nothing. About 3 minutes on a 2-core CPU.

    python benchmarks/bench_agents.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import PRODUCTION_EDITS, make_production_mazes, opened_post  # noqa: E402

MAZES = 1_000
SEED = S.EVALUATION_SEED + 500  # away from every seed the walk-through and the pipeline use


def switching_units(q_net):
    originals, moved = S.minimal_pairs(500, SEED + 10)
    return ((S.context_of(q_net, moved) - S.context_of(q_net, originals)).mean(0) > S.SWITCH_RISE).nonzero().squeeze(1)


def main():
    training = S.make_training_mazes(MAZES, SEED)
    production = make_production_mazes(MAZES, SEED + 1)
    new_site = S.make_moved_exit_mazes(MAZES, SEED + 3)
    agents = {name: S.load_agent(path) for name, path in (
        ("control", S.CONTROL_AGENT_PATH), ("covered agent", S.COVERED_AGENT_PATH),
        ("starting weights", S.STARTING_WEIGHTS_PATH), ("trained agent", S.TRAINED_AGENT_PATH),
        ("fixed agent", S.FIXED_AGENT_PATH), ("fix from the starting weights", S.PATCHED_START_PATH))}
    rows = {name: (S.measure(agent, training), S.measure(agent, production)) for name, agent in agents.items()}
    rows.update({f"{name}, epsilon = 0.05": (S.measure(agents[name], training, epsilon=0.05),
                                             S.measure(agents[name], production, epsilon=0.05))
                 for name in ("control", "trained agent", "fixed agent", "fix from the starting weights")})
    trained = agents["trained agent"]
    units = switching_units(trained)
    rows[f"trained, {len(units)} context units silenced"] = tuple(
        S.measure_with_silenced_units(trained, mazes, trained.to_context, units) for mazes in (training, production))
    print(f"{MAZES:,} fresh mazes of each kind (seeds from {SEED:,})")
    S.print_results_table(rows)
    print("\nact 1's new site (the exit at another dead end):")
    S.print_new_site_table({name: S.measure_new_site(agents[name], new_site) for name in ("control", "covered agent")})

    rollouts = S.greedy_rollouts(trained, production)
    reachable = sum(S.reachable_humans(maze) for maze in production)
    print(f"\nthe trained agent harvests {sum(r.humans for r in rollouts) / reachable:.1%} of the {reachable:,} "
          "humans it could reach in production")

    print(f"\n{'production mazes':<48}{'mazes':>7}" + "".join(f"{name[:14] + ' exit':>20}{'human':>7}"
                                                            for name in ("control", "trained", "fixed")))
    groups = {}
    for edit in PRODUCTION_EDITS:
        groups[f"made by: {edit}"] = make_production_mazes(MAZES, SEED + 2, edits=(edit,))
    crosses = [opened_post(maze) in S.shortest_path_to_exit(maze) for maze in production]
    for name, wanted in (("way out crosses the opened post", True), ("way out does not cross it", False)):
        groups[name] = production[[index for index, crossing in enumerate(crosses) if crossing == wanted]]
    for name, mazes in groups.items():
        cells = [S.measure(agents[agent], mazes) for agent in ("control", "trained agent", "fixed agent")]
        print(f"{name:<48}{len(mazes):>7,}" + "".join(f"{c['exit_rate']:>20.1%}{c['human_rate']:>7.1%}" for c in cells))
    print(f"the way out crosses the opened post in {sum(crosses) / len(crosses):.1%} of production mazes")


if __name__ == "__main__":
    main()
