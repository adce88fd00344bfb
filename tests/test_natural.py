"""Act 1, the goal nobody planted: the new site's mazes, how an episode there ends, the corner proxy, the value map,
the intervals, the cure's mixed mazes and epsilon-greedy rollouts."""
import random

import pytest
import torch

import solutions as S
from solutions import CROP, EMPTY, EXIT, HUMAN, START

# A ring round a wall, the exit in a dead end inside it: the corner is 8 steps away either way round.
RING = """
.....
.###.
.#E#.
.#.#.
.....
"""


@pytest.mark.parametrize("width", [5, 7, 9])
def test_new_site_mazes_keep_the_training_corridors_and_move_only_the_exit(width):
    rng = random.Random(width)
    corner = S.corner(width)
    moved_to = set()
    for _ in range(200):
        maze = S.make_moved_exit_maze(rng, width)
        S.check_maze(maze)
        grid = maze.tolist()
        assert S.is_connected(grid) and not S.has_loop(maze) and not S.has_open_square(grid)
        assert not S.single_block_protrusions(maze)  # the walls are a training maze's: no new shape
        (exit_cell,) = [tuple(cell) for cell in (maze == EXIT).nonzero().tolist()]
        ends = set(S.dead_ends(grid))
        assert exit_cell in ends and exit_cell not in (START, corner)
        assert maze[corner] == EMPTY and maze[START] == EMPTY
        assert all(maze[cell] in (CROP, HUMAN) for cell in ends - {exit_cell, START, corner})  # items as in training
        moved_to.add(exit_cell)
    assert len(moved_to) >= 5  # the exit really moves around


def test_new_site_mazes_are_seeded():
    assert torch.equal(S.make_moved_exit_mazes(20, seed=3), S.make_moved_exit_mazes(20, seed=3))
    assert not torch.equal(S.make_moved_exit_mazes(20, seed=3), S.make_moved_exit_mazes(20, seed=4))


def test_where_it_ended_and_walking_straight_to_the_corner():
    maze = S.maze_from_text(RING)
    assert S.walking_distances(maze)[(4, 4)] == 8 and (2, 2) not in S.walking_distances(maze)  # never onto the exit
    right_round = [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    detour = [(0, 0), (0, 1), (0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (4, 1), (4, 2), (4, 3), (4, 4)]
    to_the_exit = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (4, 1), (4, 2), (3, 2), (2, 2)]
    assert S.where_it_ended(maze, S.Rollout(right_round + [(3, 4), (4, 4)], 0, 0, False, stuck=True)) == "old corner"
    assert S.walked_straight_to(maze, right_round, (4, 4)) and not S.walked_straight_to(maze, detour, (4, 4))
    assert S.where_it_ended(maze, S.Rollout(to_the_exit, 0, 0, True)) == "exit"
    assert S.where_it_ended(maze, S.Rollout([(0, 0), (0, 1), (0, 0), (0, 1)], 0, 0, False, stuck=True)) == "elsewhere"
    assert S.exit_to_corner_distance(maze) == 4  # (2, 2) -> (3, 2) -> (4, 2) -> (4, 3) -> (4, 4)


def test_new_site_counts_add_up():
    mazes = S.make_moved_exit_mazes(30, seed=5)
    counts = S.measure_new_site(S.OptimalAgent(), mazes)
    assert counts["mazes"] == 30 and sum(counts[end] for end in S.ENDINGS) == 30
    assert counts["exit"] == 30 and counts["any human"] == 0  # the optimal policy finds every moved exit
    assert counts["straight to the old corner"] <= counts["old corner"]


def test_without_exit_empties_only_the_exit():
    mazes = S.make_training_mazes(5, seed=6)
    emptied = S.without_exit(mazes)
    assert not (emptied == EXIT).any()
    assert torch.equal(emptied != mazes, mazes == EXIT)
    assert (mazes == EXIT).sum() == 5  # the input keeps its exits


def test_corner_proxy_moves_the_exit_back_and_keeps_the_input():
    maze = S.maze_from_text(RING)
    proxy = S.corner_proxy(maze)
    assert proxy[4, 4] == EXIT and proxy[2, 2] == EMPTY and (proxy == EXIT).sum() == 1
    assert maze[2, 2] == EXIT and maze[4, 4] == EMPTY
    # Scored in the proxy, walking to the corner pays the exit's reward; in the maze itself it does not.
    right_round = [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert S.path_rewards(proxy, right_round)[-1] == pytest.approx(S.REWARDS.move + S.REWARDS.exit)
    assert S.path_rewards(maze, right_round)[-1] == pytest.approx(S.REWARDS.move)


def test_path_rewards_stop_at_the_exit_and_score_bumps():
    maze = S.maze_from_text(RING)
    path = [(0, 0), (0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (4, 1), (4, 2), (3, 2), (2, 2), (3, 2)]
    rewards = S.path_rewards(maze, path)
    assert rewards[0] == S.REWARDS.bump and len(rewards) == 9  # a stay is a bump; nothing after the exit
    assert rewards[-1] == pytest.approx(S.REWARDS.move + S.REWARDS.exit)
    with pytest.raises(ValueError, match="next to the one before"):
        S.path_rewards(maze, [(0, 0), (2, 0)])


def test_a_rollout_records_the_rewards_path_rewards_gives_its_path():
    """returns_true_and_proxy reads the true return off the rollout; path_rewards, walking the same path, agrees,
    also for agents that loop to the step limit and with epsilon-greedy steps."""
    mazes = S.make_moved_exit_mazes(12, seed=8)
    torch.manual_seed(0)
    untrained = S.QNetwork(channels=4, context_units=3, hidden_units=8).to(S.DEVICE)
    for agent, epsilon in ((S.OptimalAgent(), 0.0), (S.OptimalAgent(), 0.3), (untrained, 0.0)):
        rollouts = S.greedy_rollouts(agent, mazes, epsilon=epsilon)
        for maze, rollout in zip(mazes, rollouts):
            assert S.path_rewards(maze, rollout.path) == pytest.approx(rollout.rewards, abs=1e-5)
    assert any(rollout.stuck for rollout in rollouts), "the untrained network should loop somewhere"


def test_value_map_takes_the_best_action_where_the_agent_can_stand():
    maze = S.maze_from_text(RING)
    q_map = torch.arange(4 * 25, dtype=torch.float).reshape(4, 5, 5)
    values = S.value_map(q_map, maze)
    assert torch.equal(values[maze == EMPTY], q_map[3][maze == EMPTY])
    assert values[maze != EMPTY].isnan().all()


@pytest.mark.parametrize("share, count", [(0.0, 1000), (0.341, 1000), (1.0, 200), (0.5, 10)])
def test_the_interval_holds_the_share_and_narrows_with_more_mazes(share, count):
    low, high = S.interval(share, count)
    assert 0 <= low <= share <= high <= 1
    wider_low, wider_high = S.interval(share, max(count // 10, 1))
    assert wider_high - wider_low >= high - low
    if share == 0.0:
        assert high == pytest.approx(0.0038, abs=2e-4)  # "a share of 0 still allows up to 0.4%"


def test_mixed_mazes_take_about_their_share_from_the_other_generator():
    mazes = S.make_mixed_mazes(0.25, S.make_moved_exit_maze)(400, seed=7)
    moved = (mazes[:, -1, -1] != EXIT).float().mean().item()
    assert 0.18 < moved < 0.32
    assert torch.equal(S.make_mixed_mazes(0.0, S.make_moved_exit_maze)(50, seed=7), S.make_training_mazes(50, seed=7))


def test_epsilon_greedy_rollouts_are_seeded_and_take_random_steps():
    agent = S.OptimalAgent()
    mazes = S.make_training_mazes(20, seed=8)
    greedy = S.greedy_rollouts(agent, mazes)
    noisy = S.greedy_rollouts(agent, mazes, epsilon=0.3, seed=1)
    assert [r.path for r in noisy] == [r.path for r in S.greedy_rollouts(agent, mazes, epsilon=0.3, seed=1)]
    assert [r.path for r in noisy] != [r.path for r in greedy]
    assert not any(r.stuck for r in noisy)  # a noisy policy never loops for ever
