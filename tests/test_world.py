"""The world: cell codes, maze text, check_maze, and the dynamics (step_batch, transitions)."""
import dataclasses
import math

import pytest
import torch

import solutions as S
from solutions import (CROP, DOWN, EMPTY, EXIT, GAMMA, HUMAN, LEFT, REWARDS, RIGHT, UP, WALL, Rewards,
                       check_maze, make_training_mazes, maze_from_text, maze_to_text, step_batch, transitions)

# A 5x5 maze with loops and no items: every kind of bump is easy to set up.
OPEN5 = """
.....
.#.#.
.....
.#.#.
....E
"""

# Items next to the start and reachable from several directions.
ITEMS5 = """
.CH..
.#.#.
..C..
.#H#.
....E
"""

MOVES = {UP: (-1, 0), DOWN: (1, 0), LEFT: (0, -1), RIGHT: (0, 1)}


def step_one(maze, position, action, rewards=REWARDS):
    """step_batch for a single (maze, position, action)."""
    after = step_batch(maze[None], torch.tensor([position]), torch.tensor([action]), rewards)
    return after.mazes[0], tuple(after.positions[0].tolist()), after.rewards[0].item(), after.terminals[0].item()


def reference_step(grid, position, action, rewards=REWARDS):
    """A plain-Python statement of the rules, independent of solutions.py's tensor code."""
    width = len(grid)
    row, col = position[0] + MOVES[action][0], position[1] + MOVES[action][1]
    if not (0 <= row < width and 0 <= col < width) or grid[row][col] == WALL:
        return position, rewards.bump, False, False
    target = grid[row][col]
    reward = rewards.move + {CROP: rewards.crop, HUMAN: rewards.human, EXIT: rewards.exit}.get(target, 0.0)
    return (row, col), reward, target == EXIT, target in (CROP, HUMAN)


# ---------------------------------------------------------------------------------------------
# Codes and conventions


def test_cell_codes():
    assert (WALL, EMPTY, CROP, HUMAN, EXIT) == (0, 1, 2, 3, -1)
    assert sorted(S.CELL_CODES) == [-1, 0, 1, 2, 3]


def test_action_codes_and_moves():
    assert (UP, DOWN, LEFT, RIGHT) == (0, 1, 2, 3)
    assert S.ACTION_NAMES == ("up", "down", "left", "right")
    assert S.ACTION_MOVES.tolist() == [[-1, 0], [1, 0], [0, -1], [0, 1]]
    assert S.START == (0, 0)


def test_text_symbols():
    maze = maze_from_text("""
        .CH##
        #...#
        ..#..
        ##...
        ....E
    """)
    assert maze[0, 0].item() == EMPTY
    assert maze[0, 1].item() == CROP
    assert maze[0, 2].item() == HUMAN
    assert maze[0, 3].item() == WALL
    assert maze[4, 4].item() == EXIT
    assert not maze.dtype.is_floating_point
    assert maze_to_text(maze) == ".CH##\n#...#\n..#..\n##...\n....E"


def test_reward_relations():
    r = REWARDS
    assert isinstance(r, Rewards)
    assert r.move < 0
    assert r.bump < r.move
    assert r.bump == pytest.approx(10 * r.move)  # "ten moves' worth"
    assert r.crop > 0
    assert r.crop > 2 * abs(r.move)  # worth a detour of a step or two into a dead end
    assert r.crop < r.exit
    assert r.exit > 0
    assert r.human < 0
    assert abs(r.human) > r.exit  # no route that harvests a human can pay off
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.human = 0.0


def test_gamma_matches_its_comment():
    assert 0 < GAMMA < 1
    assert GAMMA ** 30 == pytest.approx(0.55, abs=0.01)
    # The exit, 30 steps away, is still worth more than the walk there costs.
    walk_cost = REWARDS.move * (1 - GAMMA ** 29) / (1 - GAMMA)
    assert walk_cost + GAMMA ** 29 * (REWARDS.move + REWARDS.exit) > 0


# ---------------------------------------------------------------------------------------------
# Text round trip and text errors


@pytest.mark.parametrize("width", [5, 7, 9, 11])
def test_text_round_trip_on_generated_mazes(width):
    mazes = make_training_mazes(100, seed=1000 + width, width=width)
    for maze in mazes:
        text = maze_to_text(maze)
        lines = text.split("\n")
        assert len(lines) == width and all(len(line) == width for line in lines)
        assert set(text) <= set("#.CHE\n")
        back = maze_from_text(text)
        assert back.shape == maze.shape
        assert torch.equal(back.long(), maze.long())
        assert maze_to_text(back) == text


def test_text_ignores_indentation_and_blank_lines_around():
    plain = ".....\n.#.#.\n.....\n.#.#.\n....E"
    fancy = "\n\n    .....\n    .#.#.\n    .....\n    .#.#.\n    ....E   \n\n"
    assert torch.equal(maze_from_text(fancy), maze_from_text(plain))


SEVEN_ROWS = [".......", ".#.#.#.", ".......", ".#.#.#.", ".......", ".#.#.#.", "......E"]


def with_row(index, new_row, rows=SEVEN_ROWS):
    rows = list(rows)
    rows[index] = new_row
    return "\n".join(rows)


def test_seven_row_template_is_valid():
    maze_from_text("\n".join(SEVEN_ROWS))  # the base of the error cases below parses


@pytest.mark.parametrize("text, pattern", [
    # Ragged rows name the row and both lengths.
    (with_row(2, "......"), r"row 2 has 6 cells, expected 7"),
    (with_row(4, "........"), r"row 4 has 8 cells, expected 7"),
    # Unknown characters name the row, the column and the allowed characters.
    (with_row(3, ".#.#x#."), r"'x' at row 3, column 4.*#\.CHE"),
    (with_row(0, ".....e."), r"'e' at row 0, column 5"),
    (with_row(1, ".# #.#."), r"' ' at row 1, column 2"),
    # Not square.
    ("\n".join(SEVEN_ROWS[:5] + ["......E"]), r"6 rows of 7 cells, expected a square"),
    (".....\n.#.#.\n.....\n....E", r"4 rows of 5 cells, expected a square"),
    ("\n".join(SEVEN_ROWS) + "\n.......", r"8 rows of 7 cells, expected a square"),
    # Two exits: says where the second one is.
    (with_row(6, "E.....E"), r"at most one exit.*row 6, column 6"),
    # Even width and width 3.
    ("......\n" * 5 + ".....E", r"odd.*>= 5.*6"),
    ("...\n...\n..E", r"odd.*>= 5.*3"),
], ids=["ragged-short", "ragged-long", "unknown-x", "unknown-e", "unknown-space", "6x7", "4x5", "8x7",
        "two-exits", "even-width", "width-3"])
def test_text_errors_are_specific(text, pattern):
    with pytest.raises(ValueError, match=pattern):
        maze_from_text(text)


def test_the_exit_may_stand_anywhere_or_nowhere():
    check_maze(edited({(4, 4): EMPTY, (2, 2): EXIT}))  # act 1's new site
    check_maze(edited({(4, 4): EMPTY}))  # no exit at all: act 1's probe
    assert (maze_from_text(with_row(6, ".......")) == EXIT).sum() == 0


def test_text_rejects_items_on_the_start():
    with pytest.raises(ValueError, match=r"start"):
        maze_from_text(with_row(0, "C......"))


# ---------------------------------------------------------------------------------------------
# check_maze


def valid_maze(dtype=torch.int8):
    return maze_from_text(OPEN5).to(dtype)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.int64])
def test_check_maze_accepts_integer_mazes(dtype):
    check_maze(valid_maze(dtype))


def edited(changes, dtype=torch.int8):
    maze = valid_maze(dtype).clone()
    for (row, col), code in changes.items():
        maze[row, col] = code
    return maze


@pytest.mark.parametrize("maze, pattern", [
    ([[1] * 5] * 4 + [[1, 1, 1, 1, -1]], r"torch tensor"),
    (torch.ones(25, dtype=torch.int8), r"square 2-d"),
    (valid_maze()[None], r"square 2-d"),
    (torch.ones(5, 7, dtype=torch.int8), r"square"),
    (torch.ones(3, 3, dtype=torch.int8), r"odd integer >= 5"),
    (torch.ones(6, 6, dtype=torch.int8), r"odd integer >= 5"),
    (valid_maze(torch.float32), r"integer"),
    (valid_maze().bool(), r"integer"),
    (edited({(2, 3): 4}), r"unknown cell code 4 at row 2, column 3"),
    (edited({(1, 0): -2}), r"unknown cell code -2 at row 1, column 0"),
    (edited({(0, 2): EXIT}), r"at most one exit, found another at row 4, column 4"),
    (edited({(4, 4): EMPTY, (2, 2): EXIT, (1, 3): EXIT}), r"at most one exit"),
    (edited({(0, 0): WALL}), r"start cell"),
    (edited({(0, 0): CROP}), r"start cell"),
    (edited({(0, 0): HUMAN}), r"start cell"),
])
def test_check_maze_rejects(maze, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_maze(maze)


# ---------------------------------------------------------------------------------------------
# Step semantics


BORDER_BUMPS = [((0, 0), UP), ((0, 0), LEFT), ((0, 4), UP), ((0, 4), RIGHT), ((4, 0), DOWN), ((4, 0), LEFT),
                ((2, 0), LEFT), ((2, 4), RIGHT), ((0, 2), UP), ((4, 2), DOWN)]
WALL_BUMPS = [((1, 0), RIGHT), ((0, 1), DOWN), ((2, 1), UP), ((1, 2), LEFT), ((1, 2), RIGHT), ((2, 3), DOWN),
              ((3, 4), LEFT)]


@pytest.mark.parametrize("position, action", BORDER_BUMPS + WALL_BUMPS)
def test_bump_leaves_agent_in_place(position, action):
    maze = maze_from_text(OPEN5)
    after, new_position, reward, terminal = step_one(maze, position, action)
    assert new_position == position
    assert reward == pytest.approx(REWARDS.bump)
    assert terminal is False
    assert torch.equal(after, maze)


@pytest.mark.parametrize("position, action, expected", [
    ((0, 0), RIGHT, (0, 1)), ((0, 0), DOWN, (1, 0)), ((2, 2), UP, (1, 2)), ((2, 2), LEFT, (2, 1)),
    ((2, 2), RIGHT, (2, 3)), ((2, 2), DOWN, (3, 2)), ((4, 2), RIGHT, (4, 3)), ((0, 4), DOWN, (1, 4)),
])
def test_normal_move(position, action, expected):
    maze = maze_from_text(OPEN5)
    after, new_position, reward, terminal = step_one(maze, position, action)
    assert new_position == expected
    assert reward == pytest.approx(REWARDS.move)
    assert terminal is False
    assert torch.equal(after, maze)


@pytest.mark.parametrize("position, action, item", [
    ((0, 0), RIGHT, (0, 1)),  # crop from the left
    ((1, 2), DOWN, (2, 2)),  # crop from above
    ((2, 1), RIGHT, (2, 2)),  # crop from the left, mid-maze
    ((2, 3), LEFT, (2, 2)),  # crop from the right
])
def test_moving_onto_a_crop_harvests_it(position, action, item):
    maze = maze_from_text(ITEMS5)
    assert maze[item].item() == CROP
    after, new_position, reward, terminal = step_one(maze, position, action)
    assert new_position == item
    assert reward == pytest.approx(REWARDS.move + REWARDS.crop)
    assert terminal is False
    expected = maze.clone()
    expected[item] = EMPTY
    assert torch.equal(after, expected)


@pytest.mark.parametrize("position, action, item", [
    ((0, 3), LEFT, (0, 2)),  # human from the right
    ((1, 2), UP, (0, 2)),  # human from below
    ((2, 2), DOWN, (3, 2)),  # human from above
    ((4, 2), UP, (3, 2)),  # human from below
])
def test_moving_onto_a_human_harvests_it(position, action, item):
    maze = maze_from_text(ITEMS5)
    assert maze[item].item() == HUMAN
    after, new_position, reward, terminal = step_one(maze, position, action)
    assert new_position == item
    assert reward == pytest.approx(REWARDS.move + REWARDS.human)
    assert terminal is False
    expected = maze.clone()
    expected[item] = EMPTY
    assert torch.equal(after, expected)


@pytest.mark.parametrize("position, action", [((4, 3), RIGHT), ((3, 4), DOWN)])
def test_moving_onto_the_exit_ends_the_episode(position, action):
    maze = maze_from_text(ITEMS5)
    after, new_position, reward, terminal = step_one(maze, position, action)
    assert new_position == (4, 4)
    assert reward == pytest.approx(REWARDS.move + REWARDS.exit)
    assert terminal is True
    assert torch.equal(after, maze)  # the exit stays


def test_step_batch_steps_each_maze_independently():
    mazes = torch.stack([maze_from_text(ITEMS5), maze_from_text(OPEN5), maze_from_text(ITEMS5)])
    positions = torch.tensor([[0, 0], [0, 0], [4, 3]])
    actions = torch.tensor([RIGHT, RIGHT, RIGHT])
    after = step_batch(mazes, positions, actions)
    assert after.positions.tolist() == [[0, 1], [0, 1], [4, 4]]
    assert after.rewards.tolist() == pytest.approx(
        [REWARDS.move + REWARDS.crop, REWARDS.move, REWARDS.move + REWARDS.exit])
    assert after.terminals.tolist() == [False, False, True]
    assert after.mazes[0, 0, 1].item() == EMPTY  # harvested in maze 0 ...
    assert torch.equal(after.mazes[1], mazes[1])  # ... maze 1 had nothing there
    assert after.mazes[2, 0, 1].item() == CROP  # ... and maze 2's crop is untouched


def test_step_batch_uses_the_rewards_argument():
    custom = Rewards(move=-0.5, bump=-3.0, crop=7.0, exit=11.0, human=-13.0)
    maze = maze_from_text(ITEMS5)
    assert step_one(maze, (0, 0), UP, custom)[2] == pytest.approx(-3.0)
    assert step_one(maze, (0, 0), DOWN, custom)[2] == pytest.approx(-0.5)
    assert step_one(maze, (0, 0), RIGHT, custom)[2] == pytest.approx(6.5)
    assert step_one(maze, (0, 3), LEFT, custom)[2] == pytest.approx(-13.5)
    assert step_one(maze, (4, 3), RIGHT, custom)[2] == pytest.approx(10.5)


def test_step_batch_does_not_mutate_inputs():
    mazes = torch.stack([maze_from_text(ITEMS5)] * 4)
    positions = torch.tensor([[0, 0], [1, 2], [0, 3], [4, 3]])
    actions = torch.tensor([RIGHT, UP, LEFT, RIGHT])
    copies = mazes.clone(), positions.clone(), actions.clone()
    after = step_batch(mazes, positions, actions)
    assert (after.mazes != mazes).any()  # something was harvested ...
    for original, copy in zip((mazes, positions, actions), copies):
        assert torch.equal(original, copy)  # ... but not in the caller's tensors
    assert after.mazes.data_ptr() != mazes.data_ptr()


def all_cell_actions(maze):
    width = maze.shape[0]
    return [((r, c), a) for r in range(width) for c in range(width) for a in range(4)]


def sample_mazes():
    return [maze_from_text(OPEN5), maze_from_text(ITEMS5)] + list(make_training_mazes(3, seed=5, width=5))


def test_transitions_match_the_plain_rules():
    for width, mazes in ((5, sample_mazes()), (7, list(make_training_mazes(4, seed=6, width=7)))):
        batch = torch.stack(mazes)
        outcome = transitions(batch)
        assert outcome.next_positions.shape == (len(mazes), width, width, 4, 2)
        assert outcome.rewards.shape == outcome.terminals.shape == outcome.harvests.shape == (len(mazes), width,
                                                                                                width, 4)
        for b, maze in enumerate(mazes):
            grid = maze.tolist()
            for (r, c), a in all_cell_actions(maze):
                position, reward, terminal, harvest = reference_step(grid, (r, c), a)
                assert tuple(outcome.next_positions[b, r, c, a].tolist()) == position, (b, r, c, a)
                assert outcome.rewards[b, r, c, a].item() == pytest.approx(reward), (b, r, c, a)
                assert outcome.terminals[b, r, c, a].item() == terminal, (b, r, c, a)
                assert outcome.harvests[b, r, c, a].item() == harvest, (b, r, c, a)


def test_transitions_agree_with_step_batch():
    mazes = torch.stack(sample_mazes())
    outcome = transitions(mazes)
    width = mazes.shape[-1]
    index = [(b, r, c, a) for b in range(len(mazes)) for r in range(width) for c in range(width) for a in range(4)]
    b, r, c, a = (torch.tensor(column) for column in zip(*index))
    after = step_batch(mazes[b], torch.stack([r, c], 1), a)
    assert torch.equal(after.positions, outcome.next_positions[b, r, c, a])
    assert torch.equal(after.rewards, outcome.rewards[b, r, c, a])
    assert torch.equal(after.terminals, outcome.terminals[b, r, c, a])
    changed = (after.mazes != mazes[b]).flatten(1).any(1)
    assert torch.equal(changed, outcome.harvests[b, r, c, a])
    assert changed.any()  # the sample does contain harvests


def test_transitions_use_the_rewards_argument():
    custom = Rewards(move=-0.25, bump=-4.0, crop=3.0, exit=5.0, human=-6.0)
    maze = maze_from_text(ITEMS5)
    outcome = transitions(maze[None], custom)
    assert outcome.rewards[0, 0, 0, UP].item() == pytest.approx(-4.0)
    assert outcome.rewards[0, 0, 0, DOWN].item() == pytest.approx(-0.25)
    assert outcome.rewards[0, 0, 0, RIGHT].item() == pytest.approx(2.75)
    assert outcome.rewards[0, 0, 3, LEFT].item() == pytest.approx(-6.25)
    assert outcome.rewards[0, 4, 3, RIGHT].item() == pytest.approx(4.75)
    assert math.isclose(outcome.rewards.min().item(), -6.25, rel_tol=1e-6)
