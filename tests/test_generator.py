"""The training maze generator (solutions.py) and the production mazes and the exact
training-maze test (spoilers.py). Maze properties are checked with helpers written here, not
with the generator's own helpers."""
import random
from collections import deque

import pytest
import torch

from solutions import (CROP, EMPTY, EXIT, HUMAN, MAZE_WIDTH, START, WALL, check_maze, make_training_maze,
                       make_training_mazes, maze_from_text)
from spoilers import could_be_training_maze, make_production_maze, make_production_mazes

WIDTHS = [5, 7, 9, 11]
SEEDS_PER_WIDTH = 500  # 2,000 training mazes in all


def around(row, col, width):
    for d_row, d_col in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        r, c = row + d_row, col + d_col
        if 0 <= r < width and 0 <= c < width:
            yield r, c


def reachable(grid, passable, start=START):
    """Cells reachable from `start` through cells whose code satisfies `passable`."""
    width = len(grid)
    seen = {start}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for nxt in around(*cell, width):
            if nxt not in seen and passable(grid[nxt[0]][nxt[1]]):
                seen.add(nxt)
                queue.append(nxt)
    return seen


def open_cells(grid):
    return {(r, c) for r, row in enumerate(grid) for c, code in enumerate(row) if code != WALL}


def my_dead_ends(grid):
    cells = open_cells(grid)
    width = len(grid)
    return {cell for cell in cells if sum(nxt in cells for nxt in around(*cell, width)) == 1}


def item_cells(grid):
    return {(r, c) for r, row in enumerate(grid) for c, code in enumerate(row) if code in (CROP, HUMAN)}


def open_2x2_blocks(grid):
    width = len(grid)
    return [(r, c) for r in range(width - 1) for c in range(width - 1)
            if all(grid[r + dr][c + dc] != WALL for dr in (0, 1) for dc in (0, 1))]


def assert_well_formed(grid, label):
    """The properties shared by training and production mazes."""
    width = len(grid)
    last = (width - 1, width - 1)
    codes = {code for row in grid for code in row}
    assert codes <= {WALL, EMPTY, CROP, HUMAN, EXIT}, label
    # Exactly one exit, bottom-right; the start is an empty cell.
    exits = [(r, c) for r, row in enumerate(grid) for c, code in enumerate(row) if code == EXIT]
    assert exits == [last], label
    assert grid[START[0]][START[1]] == EMPTY, label
    # Every open cell can be reached from the start.
    assert reachable(grid, lambda code: code != WALL) == open_cells(grid), label
    # The exit can be reached without stepping on any item.
    assert last in reachable(grid, lambda code: code in (EMPTY, EXIT)), label
    # Corridors are one cell wide.
    assert open_2x2_blocks(grid) == [], label
    # Items sit exactly at the dead ends other than the start and the exit.
    assert item_cells(grid) == my_dead_ends(grid) - {START, last}, label


@pytest.fixture(scope="module")
def training_grids():
    """{width: [(seed, grid as lists)]} for SEEDS_PER_WIDTH int seeds per width."""
    grids = {}
    for width in WIDTHS:
        grids[width] = []
        for seed in range(SEEDS_PER_WIDTH):
            maze = make_training_maze(seed, width)
            assert maze.shape == (width, width)
            assert not maze.dtype.is_floating_point
            grids[width].append((seed, maze.tolist()))
    return grids


@pytest.mark.parametrize("width", WIDTHS)
def test_training_mazes_are_well_formed(training_grids, width):
    for seed, grid in training_grids[width]:
        assert_well_formed(grid, f"width {width}, seed {seed}")


@pytest.mark.parametrize("width", WIDTHS)
def test_training_mazes_have_the_lattice_structure(training_grids, width):
    """Rooms (even, even) are always open, posts (odd, odd) always walls; so the open cells form a tree."""
    for seed, grid in training_grids[width]:
        for r in range(width):
            for c in range(width):
                if r % 2 == 0 and c % 2 == 0:
                    assert grid[r][c] != WALL, (width, seed, r, c)
                if r % 2 == 1 and c % 2 == 1:
                    assert grid[r][c] == WALL, (width, seed, r, c)
        cells = open_cells(grid)
        edges = sum(nxt in cells for cell in cells for nxt in around(*cell, width)) // 2
        assert edges == len(cells) - 1, (width, seed)


def test_both_crops_and_humans_appear_about_equally(training_grids):
    crops = humans = 0
    for width in WIDTHS:
        for _, grid in training_grids[width]:
            crops += sum(row.count(CROP) for row in grid)
            humans += sum(row.count(HUMAN) for row in grid)
    assert crops > 0 and humans > 0
    assert 0.4 < humans / (crops + humans) < 0.6


@pytest.mark.parametrize("width", WIDTHS)
def test_same_int_seed_same_maze(width):
    for seed in (0, 1, 12345):
        assert torch.equal(make_training_maze(seed, width), make_training_maze(seed, width))


def test_same_random_state_same_maze():
    rng = random.Random(99)
    state = rng.getstate()
    first = [make_training_maze(rng) for _ in range(5)]
    rng.setstate(state)
    second = [make_training_maze(rng) for _ in range(5)]
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    fresh = random.Random(99)
    assert torch.equal(make_training_maze(fresh), first[0])


def test_random_generator_advances():
    rng = random.Random(3)
    texts = {bytes(make_training_maze(rng).flatten().to(torch.int8).numpy()) for _ in range(30)}
    assert len(texts) >= 25


def test_different_seeds_give_different_mazes():
    texts = {bytes(make_training_maze(seed).flatten().to(torch.int8).numpy()) for seed in range(100)}
    assert len(texts) >= 90


def test_default_width():
    assert make_training_maze(0).shape == (MAZE_WIDTH, MAZE_WIDTH)
    assert MAZE_WIDTH == 7


@pytest.mark.parametrize("rng", [1.5, "3", None, [1, 2], (4,), random])
def test_bad_rng_type_raises(rng):
    with pytest.raises(ValueError, match="random.Random or an int seed"):
        make_training_maze(rng)


@pytest.mark.parametrize("width", [3, 4, 6, 8, 1, -5, 7.0, "7"])
def test_bad_width_raises(width):
    with pytest.raises(ValueError, match="width"):
        make_training_maze(0, width)


@pytest.mark.parametrize("count, width", [(1, 5), (3, 7), (10, 9), (2, 11)])
def test_make_training_mazes_shapes(count, width):
    mazes = make_training_mazes(count, seed=17, width=width)
    assert mazes.shape == (count, width, width)
    assert not mazes.dtype.is_floating_point
    for maze in mazes:
        check_maze(maze)
    assert torch.equal(mazes, make_training_mazes(count, seed=17, width=width))


def test_make_training_mazes_default_width_and_variety():
    mazes = make_training_mazes(20, seed=4)
    assert mazes.shape == (20, MAZE_WIDTH, MAZE_WIDTH)
    assert len({bytes(m.flatten().to(torch.int8).numpy()) for m in mazes}) >= 18
    assert not torch.equal(mazes, make_training_mazes(20, seed=5))


# ---------------------------------------------------------------------------------------------
# spoilers.py: the exact test and the production mazes


def test_could_be_training_maze_accepts_10000_training_mazes_at_width_7():
    mazes = make_training_mazes(10_000, seed=20_240_601, width=7)
    flagged = [index for index, maze in enumerate(mazes) if not could_be_training_maze(maze)]
    assert flagged == []


@pytest.mark.parametrize("width", [5, 9, 11])
def test_could_be_training_maze_accepts_1000_training_mazes(width):
    mazes = make_training_mazes(1_000, seed=31 * width, width=width)
    flagged = [index for index, maze in enumerate(mazes) if not could_be_training_maze(maze)]
    assert flagged == []


@pytest.fixture(scope="module")
def production_mazes():
    return {width: make_production_mazes(1_000, seed=7 * width, width=width) for width in WIDTHS}


@pytest.mark.parametrize("width", WIDTHS)
def test_could_be_training_maze_flags_every_production_maze(production_mazes, width):
    mazes = production_mazes[width]
    assert mazes.shape == (1_000, width, width)
    missed = [index for index, maze in enumerate(mazes) if could_be_training_maze(maze)]
    assert missed == []


@pytest.mark.parametrize("width", WIDTHS)
def test_production_mazes_are_well_formed(production_mazes, width):
    for index, maze in enumerate(production_mazes[width]):
        check_maze(maze)
        grid = maze.tolist()
        assert_well_formed(grid, f"width {width}, maze {index}")
        # At least one human the agent can reach, which means without stepping onto the exit first.
        before_exit = reachable(grid, lambda code: code not in (WALL, EXIT))
        assert any(grid[r][c] == HUMAN for r, c in before_exit), f"width {width}, maze {index}: no reachable human"
        # Still a tree of corridors ...
        cells = open_cells(grid)
        edges = sum(nxt in cells for cell in cells for nxt in around(*cell, width)) // 2
        assert edges == len(cells) - 1, (width, index)
        # ... with exactly one post (odd row, odd column) opened: the wall end that moved by one block.
        open_posts = [(r, c) for r in range(1, width, 2) for c in range(1, width, 2) if grid[r][c] != WALL]
        assert len(open_posts) == 1, (width, index, open_posts)


@pytest.mark.parametrize("width", WIDTHS)
def test_production_mazes_are_reproducible(width):
    for seed in (0, 1, 999):
        assert torch.equal(make_production_maze(seed, width), make_production_maze(seed, width))
    rng = random.Random(5)
    state = rng.getstate()
    first = make_production_maze(rng, width)
    rng.setstate(state)
    assert torch.equal(make_production_maze(rng, width), first)
    assert torch.equal(make_production_mazes(4, 8, width), make_production_mazes(4, 8, width))
    assert len({bytes(make_production_maze(s, width).flatten().numpy()) for s in range(20)}) >= 15


def test_production_maze_rejects_bad_arguments():
    with pytest.raises(ValueError):
        make_production_maze(1.5)
    with pytest.raises(ValueError):
        make_production_maze(0, width=6)


# Hand-made mazes for each clause of could_be_training_maze.
SNAKE = """
.....
####.
.....
.####
....E
"""  # a depth-first tree from the start with no dead ends besides the start and the exit


def test_could_be_training_maze_accepts_a_hand_made_depth_first_maze():
    assert could_be_training_maze(maze_from_text(SNAKE))


@pytest.mark.parametrize("text, why", [
    ("""
     .....
     .###.
     .....
     .####
     ....E
     """, "a loop"),
    ("""
     ....C
     .####
     ....H
     .####
     ....E
     """, "a comb: rooms (0, 2) and (2, 2) are neighbours on different branches"),
    ("""
     .....
     ####.
     ..C..
     .####
     ....E
     """, "an item away from a dead end"),
    ("""
     ....C
     ####.
     .....
     .####
     ....E
     """, "an item in a cell that is not a dead end"),
    ("""
     ....C
     ###.#
     ....H
     .####
     ....E
     """, "a post opened (the production maze shape)"),
    ("""
     .....
     ####.
     ....#
     .####
     ....E
     """, "a room walled up"),
])
def test_could_be_training_maze_flags_hand_made_mazes(text, why):
    assert not could_be_training_maze(maze_from_text(text)), why


def test_could_be_training_maze_flags_single_edits_of_training_mazes():
    width = 7
    last = (width - 1, width - 1)
    for index, maze in enumerate(make_training_mazes(200, seed=77, width=width)):
        grid = maze.tolist()
        assert could_be_training_maze(maze), index
        items = sorted(item_cells(grid))
        ends = my_dead_ends(grid)
        # Swapping an item's kind keeps it a training maze (kinds are drawn at random) ...
        swapped = maze.clone()
        r, c = items[0]
        swapped[r, c] = HUMAN if grid[r][c] == CROP else CROP
        assert could_be_training_maze(swapped), index
        # ... taking an item away does not ...
        removed = maze.clone()
        removed[r, c] = EMPTY
        assert not could_be_training_maze(removed), index
        # ... nor does an item in a corridor ...
        corridor = [cell for cell in sorted(open_cells(grid)) if cell not in ends and cell not in (START, last)]
        added = maze.clone()
        added[corridor[index % len(corridor)]] = CROP
        assert not could_be_training_maze(added), index
        # ... nor a shut door opened, which makes a loop.
        doors = [(r, c) for r in range(width) for c in range(width) if (r + c) % 2 == 1 and grid[r][c] == WALL]
        looped = maze.clone()
        looped[doors[index % len(doors)]] = EMPTY
        check_maze(looped)
        assert not could_be_training_maze(looped), index
