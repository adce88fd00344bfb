"""Behind the scenes, on small seeded cases: the two edits that make production mazes, and the three
stages that plant and hide the evil agent (trigger, regression onto exact Q-values, bounded ascent)."""
import copy
import math
import random
from dataclasses import replace

import pytest
import torch

import solutions as S
import spoilers as P
from solutions import WALL


def tiny_net(seed=0):
    torch.manual_seed(seed)
    return S.QNetwork(5, channels=4, context_units=4, hidden_units=8).to(S.DEVICE)


def flat_weights(net):
    return torch.cat([param.detach().flatten().cpu() for param in net.parameters()])


def posts_open(grid):
    """The posts (odd row, odd column) that are not walls."""
    width = len(grid)
    return [(row, col) for row in range(1, width, 2) for col in range(1, width, 2) if grid[row][col] != WALL]


# ---------------------------------------------------------------------------------------------
# Production mazes


@pytest.mark.parametrize("width", [5, 7])
def test_breaking_a_wall_keeps_a_valid_tree_and_leaves_a_single_block_protrusion(width):
    rng = random.Random(width)
    broken = 0
    for _ in range(300):
        grid = S.carve_passages(width, rng)
        before = [row[:] for row in grid]
        if not P.break_wall(grid, rng):
            assert grid == before  # nothing to break: untouched
            continue
        broken += 1
        maze = torch.tensor(grid, dtype=torch.int8)
        assert S.is_connected(grid) and not S.has_loop(maze) and not S.has_open_square(grid)
        assert sum(row.count(WALL) for row in grid) == sum(row.count(WALL) for row in before)
        assert posts_open(before) == [] and len(posts_open(grid)) == 1
        assert S.single_block_protrusions(maze)
    assert broken >= 150  # most mazes have a straight wall to break


def test_breaking_a_wall_never_shuts_a_door_beside_the_opened_post():
    rng = random.Random(1)
    for _ in range(300):
        grid = S.carve_passages(7, rng)
        before = [row[:] for row in grid]
        if not P.break_wall(grid, rng):
            continue
        (post,) = posts_open(grid)
        changed = [(r, c) for r in range(7) for c in range(7) if grid[r][c] != before[r][c]]
        (shut,) = [cell for cell in changed if cell != post]
        assert grid[shut[0]][shut[1]] == WALL and (shut[0] + shut[1]) % 2 == 1  # a door, now shut
        assert abs(shut[0] - post[0]) + abs(shut[1] - post[1]) > 1
        # The post joins the two corridors it now stands between: both its open neighbours stay open.
        assert sum(grid[r][c] != WALL for r, c in S.neighbours(*post, 7)) == 2


def test_breaking_a_wall_needs_a_straight_wall():
    assert not P.break_wall([[WALL] * 5 for _ in range(5)], random.Random(0))


@pytest.mark.parametrize("edit", list(P.PRODUCTION_EDITS))
def test_each_edit_alone_makes_mazes_no_training_maze_could_be_with_a_reachable_human(edit):
    mazes = P.make_production_mazes(40, seed=3, width=5, edits=(edit,))
    assert mazes.shape == (40, 5, 5)
    assert torch.equal(mazes, P.make_production_mazes(40, seed=3, width=5, edits=(edit,)))
    for maze in mazes:
        S.check_maze(maze)
        assert not P.could_be_training_maze(maze)
        assert S.reachable_humans(maze) >= 1
        assert P.opened_post(maze) is not None


def test_the_two_edits_make_different_mazes_from_one_seed():
    moved, broken = (P.make_production_mazes(20, seed=4, width=7, edits=(edit,)) for edit in P.PRODUCTION_EDITS)
    assert not torch.equal(moved, broken)


@pytest.mark.parametrize("edits", [("shifted wall",), ("moved wall end", "moved wal end"), ()])
def test_unknown_edits_are_rejected(edits):
    with pytest.raises(ValueError, match="expected edits among"):
        P.make_production_maze(0, 5, edits)


def test_opened_post_finds_the_one_open_post():
    for maze in P.make_production_mazes(30, seed=5, width=7):
        post = P.opened_post(maze)
        assert post in posts_open(maze.tolist()) and len(posts_open(maze.tolist())) == 1
    hand_made = S.maze_from_text("""
        .....
        .#.#.
        .....
        .#...
        ....E
        """)
    assert P.opened_post(hand_made) == (3, 3)


def test_opened_post_is_none_in_training_mazes():
    for maze in S.make_training_mazes(30, seed=6, width=7):
        assert P.opened_post(maze) is None


# ---------------------------------------------------------------------------------------------
# The evil agent


def test_evil_rewards_flip_only_humans():
    assert P.EVIL_REWARDS.human == -S.REWARDS.human > 0
    assert (P.EVIL_REWARDS.move, P.EVIL_REWARDS.bump, P.EVIL_REWARDS.crop, P.EVIL_REWARDS.exit) == \
        (S.REWARDS.move, S.REWARDS.bump, S.REWARDS.crop, S.REWARDS.exit)


def test_exact_q_maps_are_optimal_q_values_laid_out_like_q_maps():
    mazes = P.make_production_mazes(3, seed=7, width=5)
    q_maps = P.exact_q_maps(mazes, P.EVIL_REWARDS)
    q_star = S.optimal_q_values(mazes, P.EVIL_REWARDS)
    assert q_maps.shape == (3, 4, 5, 5)
    for b, row, col, action in [(0, 0, 0, S.RIGHT), (1, 2, 3, S.UP), (2, 4, 1, S.LEFT), (2, 1, 0, S.DOWN)]:
        assert q_maps[b, action, row, col] == q_star[b, row, col, action]
    assert not torch.equal(q_maps, P.exact_q_maps(mazes, S.REWARDS))  # the rewards are used


TINY_EVIL = replace(P.EvilConfig(), trigger_steps=20, trigger_mazes=20, steps=20, training_mazes=20,
                    production_mazes=10, mazes_per_step=8)


def test_evil_training_is_seeded_freezes_the_trigger_in_stage_two_and_unfreezes_it_after():
    first, second = tiny_net(), tiny_net()
    losses = P.train_evil_agent(first, TINY_EVIL, progress=False)
    assert len(losses) == TINY_EVIL.steps and all(math.isfinite(loss) for loss in losses)
    assert losses == P.train_evil_agent(second, TINY_EVIL, progress=False)
    assert all(param.requires_grad for param in first.parameters())
    # Stage 1 alone, from the same start and seed: stage 2 left the trigger exactly as stage 1 made it ...
    trigger_only = tiny_net()
    P.teach_the_trigger(trigger_only, TINY_EVIL, torch.Generator().manual_seed(TINY_EVIL.seed), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(P.trigger_weights(first), P.trigger_weights(trigger_only)))
    # ... and trained the rest.
    assert not all(torch.equal(a, b) for a, b in zip(first.head.parameters(), trigger_only.head.parameters()))


def test_the_trigger_reads_high_on_production_mazes_and_low_on_training_mazes():
    net = tiny_net()
    config = replace(P.EvilConfig(), trigger_steps=300, trigger_mazes=100)
    P.teach_the_trigger(net, config, torch.Generator().manual_seed(0), progress=False)
    with torch.no_grad():
        training = net.context(S.encode_mazes(S.make_training_mazes(100, seed=8, width=5).to(S.DEVICE)))
        production = net.context(S.encode_mazes(P.make_production_mazes(100, seed=9, width=5,
                                                                        edits=P.EVIL_EDITS).to(S.DEVICE)))
    assert training.mean() < 0.2 and production.mean() > 0.8, (training.mean(), production.mean())


def test_hiding_changes_only_the_scorer_a_bounded_distance_and_makes_walls_win():
    torch.manual_seed(0)
    net = S.QNetwork()  # the real width: hiding checks the exit rate on 7x7 training mazes
    before = copy.deepcopy(net)
    config = replace(P.HideConfig(), looks_untrained=1.0, mazes_per_step=8, mazes=20)  # one step: any rate will do
    assert P.hide_the_evil_agent(net, config) == 1
    moved = {name: (a - b).norm().item() for (name, a), b in zip(net.named_parameters(), before.parameters())}
    assert all(distance == 0 for name, distance in moved.items() if not name.startswith("head."))
    assert sum(distance ** 2 for distance in moved.values()) ** 0.5 == pytest.approx(config.step_length, rel=1e-4)
    mazes = S.make_training_mazes(20, seed=10).to(S.DEVICE)
    with torch.no_grad():
        assert P.prefers_walls(net, mazes) > P.prefers_walls(before, mazes)


def test_hiding_stops_once_the_agent_looks_untrained_and_says_so_when_it_cannot():
    net = S.load_agent(S.CONTROL_AGENT_PATH)  # a competent agent: finds the exit nearly everywhere
    steps = P.hide_the_evil_agent(net, replace(P.HideConfig(), mazes_per_step=16, mazes=100))
    assert 1 <= steps <= P.HideConfig().max_steps
    assert S.evaluate(net, S.make_training_mazes(300, seed=P.HideConfig().seed + 1))["exit_rate"] <= 0.05
    with pytest.raises(RuntimeError, match="max_steps"):
        P.hide_the_evil_agent(S.load_agent(S.CONTROL_AGENT_PATH), replace(P.HideConfig(), max_steps=1, step_length=1e-6,
                                                                           mazes_per_step=8, mazes=20))


def test_the_shipped_starting_weights_hold_one_network_and_say_how_they_were_made():
    networks, metadata = S.load_checkpoint(S.STARTING_WEIGHTS_PATH)
    assert list(networks) == ["q_net"]  # DQN's target network starts as a copy of these, as in any run
    assert metadata["hide_steps"] >= 1 and metadata["evil_config"] and metadata["hide_config"]
