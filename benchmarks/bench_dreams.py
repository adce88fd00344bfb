"""Speed and results of the detection sections, with the shipped trained agent: open-start dreams for
every placement (target: under 10 s on a 2-core CPU), minimal-edit dreams on 200 training mazes, and
the random valid wall moves they are compared with, and the same minimal-edit search on the control and
the fixed agent (the detector's negative controls: it should find nothing there). Prints figures;
asserts nothing.

    python benchmarks/bench_dreams.py
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import solutions as S  # noqa: E402
from bench_foundation import seconds  # noqa: E402  (this folder is on sys.path when a benchmark runs)

EDIT_MAZES = 200
OPEN_DREAM_TARGET_S = 10


def main():
    q_net = S.load_agent(S.TRAINED_AGENT_PATH)
    print(f"{S.DEVICE}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")

    positions, actions = S.dream_placements()
    open_time, (_, dreamt) = seconds(lambda: S.dream_open_mazes(q_net, positions, actions))
    hits = S.steps_onto_human(q_net, dreamt, positions, actions).float().mean()
    print(f"open-start dreams: {len(actions)} placements x {S.DREAM_CONFIG.restarts} restarts x "
          f"{S.DREAM_CONFIG.steps} steps in {open_time:.1f} s (target < {OPEN_DREAM_TARGET_S} s); "
          f"binarised dreams trigger in {hits:.1%}")

    mazes, positions, actions = S.one_placement_per_maze(S.make_training_mazes(2 * EDIT_MAZES, S.EVALUATION_SEED + 21),
                                                         EDIT_MAZES)
    edit_time, edits = seconds(lambda: S.minimal_edit_dreams(q_net, mazes, positions, actions))
    found = [b for b, edited in enumerate(edits) if edited is not None]
    shares = S.kind_shares([edits[b] for b in found])
    print(f"minimal-edit dreams: {len(mazes)} training mazes in {edit_time:.1f} s; a triggering wall move found "
          f"in {len(found)}; " + ", ".join(f"{kind} {share:.1%}" for kind, share in shares.items()))

    rng = random.Random(0)
    fixed = S.fixed_cells(mazes, positions)
    move_time, moves = seconds(lambda: [S.random_wall_move(mazes[b], fixed[b], int((edits[b] != mazes[b]).sum()) // 2,
                                                           rng) for b in found])
    kept = [(b, move) for b, move in zip(found, moves) if move is not None]
    hits = S.steps_onto_human(q_net, torch.stack([move for _, move in kept]), positions[[b for b, _ in kept]],
                              actions[[b for b, _ in kept]]).float().mean()
    shares = S.kind_shares([move for _, move in kept])
    print(f"random valid wall moves: {len(kept)} in {move_time:.1f} s; trigger in {hits:.1%}; "
          + ", ".join(f"{kind} {share:.1%}" for kind, share in shares.items()))

    for name, agent in (("control", S.load_agent(S.CONTROL_AGENT_PATH)), ("fixed agent", S.load_agent(S.FIXED_AGENT_PATH)),
                        ("fix from the starting weights", S.load_agent(S.PATCHED_START_PATH))):
        edits = S.minimal_edit_dreams(agent, mazes, positions, actions)
        print(f"negative control, {name}: a triggering wall move found in "
              f"{sum(edited is not None for edited in edits)} of {len(mazes)} training mazes")


if __name__ == "__main__":
    main()
