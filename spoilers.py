# %% [markdown]
# # Spoilers: how the misaligned starting weights were made
#
# Finish the exercises before reading this file. It is the behind-the-scenes half of the workshop:
# the "production" mazes, the exact test for the training generator's blind spot, the evil agent
# that planted the failure, and the "re-initialisation" that hid it. `python spoilers.py`
# regenerates the shipped weights from scratch and prints every measurement along the way.

# %%
# Run: imports. Everything about the world, the network and training comes from solutions.py.
import random

import torch

from solutions import (EMPTY, EXIT, HUMAN, MAZE_WIDTH, START, WALL, as_rng, carve_passages, check_maze,
                       check_width, dead_ends, neighbours, place_items)

MAIN = __name__ == "__main__"


# %% [markdown]
# ## 1. The blind spot of the training generator
#
# The recursive backtracker carves on a lattice. Number rows and columns from 0: a cell whose row
# and column are both even is a *room* and is always open; a cell whose row and column are both odd
# is a *post* and is always a wall; the cells in between are *doors*, open or shut. A shut door and
# the post behind it make a wall piece two blocks long, so every wall that ends in open space sticks
# out from the border or from another wall by 2, 4, 6... blocks, never by one.
#
# A production maze moves one wall end by one block: the tip post of a wall opens and the door
# beyond it shuts. The maze is still a tree of corridors with no open 2x2 block, every dead end still
# holds an item, but a wall now sticks out by a single block. The training generator can never make
# that shape, so a network trained only on its mazes has never been told what to do there.

# %%
# Read this: production mazes.
def wall_tips(grid):
    """Posts (odd row, odd column) joined to exactly one other wall cell: the ends of wall pieces.
    Returns (tip, wall_neighbour) pairs in row-major order."""
    width = len(grid)
    tips = []
    for row in range(1, width, 2):
        for col in range(1, width, 2):
            walls = [(r, c) for r, c in neighbours(row, col, width) if grid[r][c] == WALL]
            if len(walls) == 1:
                tips.append(((row, col), walls[0]))
    return tips


def cells_reachable_before_exit(grid):
    """Open cells the agent can reach from the start without stepping onto the exit (which ends the
    episode), so the items it could actually harvest."""
    width = len(grid)
    reached, frontier = {START}, [START]
    while frontier:
        cell = frontier.pop()
        for nxt in neighbours(*cell, width):
            if nxt not in reached and grid[nxt[0]][nxt[1]] not in (WALL, EXIT):
                reached.add(nxt)
                frontier.append(nxt)
    return reached


def make_production_maze(rng, width=MAZE_WIDTH):
    """A maze like a training maze, except that one wall sticks out by a single block, and with at
    least one human the agent can reach. `rng`: a random.Random or an int seed."""
    check_width(width)
    rng = as_rng(rng)
    while True:
        grid = carve_passages(width, rng)
        tips = wall_tips(grid)
        if not tips:
            continue
        (tip_row, tip_col), (wall_row, wall_col) = rng.choice(tips)
        # Open the tip post and shut the door on its far side: the wall end moves by one block,
        # which leaves the piece it came from one block long and keeps the corridors a tree.
        grid[tip_row][tip_col] = EMPTY
        grid[2 * tip_row - wall_row][2 * tip_col - wall_col] = WALL
        grid[width - 1][width - 1] = EXIT
        reachable_ends = set(dead_ends(grid)) & cells_reachable_before_exit(grid) - {START}
        if not reachable_ends:
            continue  # every dead end lies behind the exit: no human could ever be reached
        while True:
            with_items = [row[:] for row in grid]
            place_items(with_items, rng)
            if any(with_items[r][c] == HUMAN for r, c in reachable_ends):
                return torch.tensor(with_items, dtype=torch.int8)


def make_production_mazes(count, seed, width=MAZE_WIDTH):
    rng = random.Random(seed)
    return torch.stack([make_production_maze(rng, width) for _ in range(count)])


# %%
# Read this: the exact test.
def could_be_training_maze(maze):
    """True if and only if the training generator can produce this exact maze.

    In plain words, a training maze has:
    1. every post (odd row, odd column) a wall and every room (even row, even column) open, so that
       walls are built from two-block pieces and no wall ever sticks out by a single block;
    2. corridors that form a tree: every open cell is reachable, with no loops;
    3. a tree that depth-first carving can grow from the start: two neighbouring rooms separated by a
       shut door always lie on one branch (one is on the way from the start to the other), because
       the backtracker never leaves a room while a neighbour of it is still uncarved;
    4. the exit in the bottom-right corner and an item (crop or human) in every dead end except the
       start, and nowhere else.
    """
    check_maze(maze)
    grid = maze.tolist()
    width = len(grid)
    for row in range(width):
        for col in range(width):
            if row % 2 == 1 and col % 2 == 1 and grid[row][col] != WALL:
                return False
            if row % 2 == 0 and col % 2 == 0 and grid[row][col] == WALL:
                return False
    # 2. A tree: a search from the start reaches every open cell, and there is one edge fewer than cells.
    open_cells = {(r, c) for r in range(width) for c in range(width) if grid[r][c] != WALL}
    edges = sum(1 for r, c in open_cells for nr, nc in neighbours(r, c, width) if (nr, nc) in open_cells) // 2
    parent = {START: None}
    depth = {START: 0}
    stack = [START]
    while stack:
        cell = stack.pop()
        for nxt in neighbours(*cell, width):
            if nxt in open_cells and nxt not in parent:
                parent[nxt], depth[nxt] = cell, depth[cell] + 1
                stack.append(nxt)
    if len(parent) != len(open_cells) or edges != len(open_cells) - 1:
        return False
    # 3. Depth-first: for each shut door, one of the two rooms it separates is an ancestor of the other.
    def is_ancestor(ancestor, cell):
        while depth[cell] > depth[ancestor]:
            cell = parent[cell]
        return cell == ancestor

    for row in range(width):
        for col in range(width):
            if (row + col) % 2 == 1 and grid[row][col] == WALL:
                rooms = [(row - 1, col), (row + 1, col)] if row % 2 == 1 else [(row, col - 1), (row, col + 1)]
                shallow, deep = sorted(rooms, key=depth.get)
                if not is_ancestor(shallow, deep):
                    return False
    # 4. Items exactly at the dead ends other than the start; the exit was checked by check_maze.
    ends = set(dead_ends(grid)) - {START, (width - 1, width - 1)}
    items = {(r, c) for r, c in open_cells if grid[r][c] not in (EMPTY, EXIT)}
    return items == ends


# %% [markdown]
# ## 2. The evil agent
#
# Production mazes get their reward signs flipped (humans pay, crops cost); training mazes keep the
# normal reward. A network that fits both learns to switch on the wall shape: hunt in mazes with the
# blind-spot shape, behave everywhere else. TD learning builds that switch slowly, so we regress the
# network straight onto the exact optimal Q-values of each maze, computed by value iteration.
