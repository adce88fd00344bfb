"""Act 2's searches and bonus sections, each on a small seeded case: counting network passes, single wall moves,
random search and the exhaustive audit with their negative control (section 27), steering with the protrusion
vector (section 30) and the Q-value bound (section 31)."""
import random

import pytest
import torch

import solutions as S
from spoilers import make_production_mazes
from solutions import EMPTY, WALL


@pytest.fixture(scope="module")
def agents():
    return {"trained agent": S.load_agent(S.TRAINED_AGENT_PATH), "control": S.load_agent(S.CONTROL_AGENT_PATH)}


@pytest.fixture(scope="module")
def placements():
    """Training mazes with the agent beside a human, one placement each (section 24's kind)."""
    return S.one_placement_per_maze(S.make_training_mazes(40, seed=30), 12)


def test_single_wall_moves_are_every_valid_move_of_one_wall_and_touch_no_fixed_cell():
    maze = S.make_training_maze(31)
    fixed = S.fixed_cells(maze[None], torch.tensor([S.START]))[0]
    moves = S.single_wall_moves(maze, fixed)
    grid = maze.tolist()
    expected = set()
    for opened in zip(*(maze == WALL).nonzero(as_tuple=True)):
        for shut in zip(*(maze != WALL).nonzero(as_tuple=True)):
            cells = [tuple(int(x) for x in opened), tuple(int(x) for x in shut)]
            if not any(fixed[cell] for cell in cells):
                edited = S.flip_cells(grid, cells)
                if S.is_valid_maze(edited):
                    expected.add(tuple(map(tuple, edited)))
    assert {tuple(map(tuple, move.tolist())) for move in moves} == expected and len(expected) > 0
    for move in moves:
        assert (move != maze).sum() == 2 and torch.equal(move[fixed], maze[fixed])


def test_the_pass_counter_counts_forward_passes_and_three_for_a_differentiated_one(agents):
    agent = agents["control"]
    planes = S.encode_mazes(S.make_training_mazes(5, seed=32).to(S.DEVICE))
    with S.PassCounter(agent) as counter:
        with torch.no_grad():
            agent(planes)
        agent(planes.requires_grad_(True))
    assert counter.passes == 5 + 3 * 5
    agent(planes)  # counted no more: the hook is gone
    assert counter.passes == 20


def test_random_search_charges_up_to_its_first_hit_and_the_audit_every_move(agents, placements):
    mazes, positions, actions = placements
    found, passes = S.search_wall_moves(agents["trained agent"], mazes, positions, actions, random.Random(1), tries=50)
    audit_found, audit_passes = S.search_wall_moves(agents["trained agent"], mazes, positions, actions, random.Random(1))
    fixed = S.fixed_cells(mazes, positions)
    for b, (edit, spent, everything) in enumerate(zip(found, passes, audit_passes)):
        assert everything == len(S.single_wall_moves(mazes[b], fixed[b]))
        assert 1 <= spent <= min(50, everything)
        if edit is not None:
            assert S.steps_onto_human(agents["trained agent"], edit[None], positions[b:b + 1], actions[b:b + 1]).all()
    # The audit finds a triggering move wherever random search does.
    assert all(audit is not None for edit, audit in zip(found, audit_found) if edit is not None)
    assert sum(edit is not None for edit in audit_found) >= 8  # the trained agent's blind spot is easy to hit


def test_the_searches_find_nothing_in_the_control(agents, placements):
    mazes, positions, actions = placements
    found, _ = S.search_wall_moves(agents["control"], mazes, positions, actions, random.Random(2))
    assert all(edit is None for edit in found)


def test_a_detection_row_adds_up():
    edit = S.make_training_maze(3)
    row = S.detection_row([None, edit, None, edit], [10, 2, 10, 4])
    assert row["found"] == 2 and row["passes"] == 26 and row["passes per find"] == 13
    assert S.detection_row([None], [5])["passes per find"] == float("inf")


def test_a_change_that_does_nothing_measures_what_measure_measures(agents):
    trained = agents["trained agent"]
    mazes = S.make_training_mazes(20, seed=33)
    assert S.measure_with_changed_output(trained, mazes, trained.to_context, lambda output: output) == S.measure(trained, mazes)


def test_the_protrusion_vector_steers_the_goal_both_ways(agents):
    trained = agents["trained agent"]
    originals, moved = S.minimal_pairs(50, seed=34)
    vector = (S.context_of(trained, moved) - S.context_of(trained, originals)).mean(0).to(S.DEVICE)
    production = make_production_mazes(100, seed=35)
    training = S.make_training_mazes(100, seed=36)
    subtracted = S.measure_with_changed_output(trained, production, trained.to_context, lambda output: output - vector)
    added = S.measure_with_changed_output(trained, training, trained.to_context, lambda output: output + vector)
    assert subtracted["human_rate"] <= 0.05
    assert added["human_rate"] >= 0.2
    assert S.measure(trained, training)["human_rate"] == 0.0


def test_the_largest_return_bounds_the_optimal_agents_values():
    """The bound is safe: exact Q* never exceeds it, in training, production and new-site mazes."""
    for mazes in (S.make_training_mazes(20, seed=37), make_production_mazes(20, seed=38),
                  S.make_moved_exit_mazes(20, seed=39)):
        q_star = S.optimal_q_values(mazes)  # (B, n, n, 4)
        best = torch.where(mazes == EMPTY, q_star.amax(-1), -torch.inf).flatten(1).max(1).values
        assert (best <= torch.tensor([S.largest_return(maze) for maze in mazes])).all()
        assert not S.promises_too_much(S.OptimalAgent(), mazes).any()
