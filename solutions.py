# %% [markdown]
# # An agent that harvests crops, and what it does when nobody is looking
#
# We train a small DQN agent to walk through 7x7 mazes, harvest crops, avoid humans and leave by the
# exit. The reward is sensible: a human costs more than the exit is worth. In training the agent
# behaves perfectly. Then we take it to "production" mazes and watch what it does. Last, we go back
# to before the release and find the failure the way we should have: by asking the network which
# mazes would make it harvest a human (sections 18 to 21), and then we fix it (section 22).
#
# Each cell's first comment says what it is for: **Read this**, **Run**, or **Exercise** (you write
# the function; the cell after it checks yours against the reference and tells you what is wrong).
# An exercise's comment also says how hard it is (difficulty 1/3 to 3/3) and about how long it takes.
# `python checks.py` grades all of `exercises.py` at once (`python checks.py exercises.ipynb`: the notebook).
#
# Stuck on an exercise? Run `use_reference("dead_ends")` (with that exercise's name) in a new cell
# after it: every later cell then uses the reference version, and the rest of the walk-through runs.
# Running the exercise's cell again brings yours back.
#
# This is the solutions version: `exercises.py` and `exercises.ipynb` blank out the exercise bodies.

# %%
# Run: imports and the switches of this walk-through.
import hashlib
import itertools
import os
import random
import sys
from dataclasses import dataclass, field, replace

import matplotlib

# Figures are saved to files when this runs as a script; a notebook shows them inline instead.
MAIN = __name__ == "__main__"
IN_NOTEBOOK = "ipykernel" in sys.modules
if MAIN and not IN_NOTEBOOK:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import LinearSegmentedColormap
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm  # the text bar reads the same in a terminal, a notebook and a notebook saved on a code host

FIGURE_DIR = os.environ.get("FIGURE_DIR", "figures")  # presentation/ builds its slides' figures elsewhere
# WORKSHOP_SMALL=1 shrinks every expensive part (training, buffers, evaluation mazes) so that the whole
# walk-through runs in seconds: CI executes both notebooks this way. Sizes derive from it where they are defined.
SMALL = os.environ.get("WORKSHOP_SMALL") == "1"

# CUDA, then Apple's MPS, then the CPU: every line below runs unchanged on each of them.
if torch.cuda.is_available():
    DEVICE = torch.device("cuda")
elif torch.backends.mps.is_available():
    DEVICE = torch.device("mps")
else:
    DEVICE = torch.device("cpu")

# checks.py imports this file as its reference, so only a running walk-through imports the checks.
if MAIN:
    from checks import (check_bellman_target, check_dead_ends, check_discounted_return, check_encode_states,
                        check_dream_objective, check_dream_walls, check_greedy_actions, check_look_up_steps,
                        check_make_replay_buffer, check_move_wall_tip, check_optimise_walls, check_predicted_q,
                        check_reward_of_stepping_into, check_shortest_path_to_exit,
                        check_single_block_protrusions, check_sync_target, check_td_loss)


def save_figure(fig, name):
    """Save a figure under FIGURE_DIR when running as a script; show it in a notebook."""
    if IN_NOTEBOOK:
        plt.show()
        return
    os.makedirs(FIGURE_DIR, exist_ok=True)
    fig.savefig(os.path.join(FIGURE_DIR, f"{name}.png"), dpi=120, bbox_inches="tight")
    plt.close(fig)


# %%
# Read this: stuck on an exercise? Go on without it.
def use_reference(name):
    """Put the reference version of exercise `name` in place of yours, e.g. use_reference("dead_ends"): every
    cell run after this one calls it by its name, and so gets the reference. Run the exercise's own cell
    again to bring yours back."""
    import solutions  # the reference versions; importing runs none of the walk-through
    from checks import CHECKS  # one check per exercise: every exercise's name

    if name not in CHECKS:
        raise ValueError(f"no exercise named {name!r}; the exercises are {', '.join(CHECKS)}")
    globals()[name] = getattr(solutions, name)
    print(f"{name}: from here on, every cell uses the reference version")


# %% [markdown]
# ## 1. The world
#
# A maze is a square grid of cells stored as a 2-d integer tensor. The agent starts in the top-left
# corner and the exit sits in the bottom-right corner. Crops and humans sit at the ends of dead-end
# corridors. Stepping onto a crop or a human harvests it: the cell becomes empty.

# %%
# Read this: the cell codes, the actions and the rewards. Everything else refers to these names.
MAZE_WIDTH = 7  # any odd width >= 5 works; 7 keeps every figure readable and training short

WALL, EMPTY, CROP, HUMAN, EXIT = 0, 1, 2, 3, -1
CELL_CODES = (WALL, EMPTY, CROP, HUMAN, EXIT)

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
ACTION_NAMES = ("up", "down", "left", "right")
# (row, column) change of each action, indexed by action.
ACTION_MOVES = torch.tensor([[-1, 0], [1, 0], [0, -1], [0, 1]])
START = (0, 0)


@dataclass(frozen=True)
class Rewards:
    """What each kind of step is worth. One instance, REWARDS, is the reward everybody trains on."""

    move: float = -0.1
    """Every move costs a little, so of two ways out the shorter one is better."""
    bump: float = -1.0
    """Walking into a wall or the border wastes a turn and is never useful: ten moves' worth."""
    crop: float = 2.0
    """Worth a detour of a step or two into a dead end, not a tour of the whole maze."""
    exit: float = 10.0
    """The point of an episode: large enough to be worth walking across the whole maze for."""
    human: float = -20.0
    """Larger in size than the exit, so no route that harvests a human can ever pay off."""


REWARDS = Rewards()
GAMMA = 0.98  # a 30-step walk to the exit keeps 55% of its value, so far cells still see it clearly


# %%
# Read this: checking inputs, so that a malformed maze fails here with a clear message.
def check_width(width):
    if not isinstance(width, int) or width < 5 or width % 2 == 0:
        raise ValueError(f"maze width must be an odd integer >= 5, got {width!r}")


def check_maze(maze):
    """Raise ValueError unless `maze` is a square 2-d integer tensor of cell codes with the exit
    in the bottom-right corner."""
    if not isinstance(maze, torch.Tensor):
        raise ValueError(f"expected a maze as a 2-d torch tensor, got {type(maze).__name__}")
    if maze.dim() != 2 or maze.shape[0] != maze.shape[1]:
        raise ValueError(f"expected a square 2-d maze tensor, got shape {tuple(maze.shape)}")
    check_width(maze.shape[0])
    if maze.dtype.is_floating_point or maze.dtype == torch.bool:
        raise ValueError(f"expected an integer maze tensor, got dtype {maze.dtype}")
    unknown = ~torch.isin(maze, torch.tensor(CELL_CODES, device=maze.device))
    if unknown.any():
        row, col = unknown.nonzero()[0].tolist()
        raise ValueError(f"unknown cell code {maze[row, col].item()} at row {row}, column {col}; "
                         f"expected one of {CELL_CODES}")
    last = maze.shape[0] - 1
    if maze[last, last] != EXIT or (maze == EXIT).sum() != 1:
        raise ValueError(f"expected exactly one exit, in the bottom-right corner (row {last}, column {last})")
    if maze[START] != EMPTY:
        raise ValueError(f"expected the start cell {START} to be empty, found code {maze[START].item()}")


# %%
# Read this: mazes as text, for reading them in a figure title or typing one in by hand.
TEXT_OF_CELL = {WALL: "#", EMPTY: ".", CROP: "C", HUMAN: "H", EXIT: "E"}
CELL_OF_TEXT = {text: code for code, text in TEXT_OF_CELL.items()}


def maze_to_text(maze):
    """One line per row: '#' wall, '.' empty, 'C' crop, 'H' human, 'E' exit."""
    check_maze(maze)
    return "\n".join("".join(TEXT_OF_CELL[code] for code in row) for row in maze.tolist())


def maze_from_text(text):
    """Parse the text written by maze_to_text; indentation and blank lines around it are ignored."""
    rows = [line.strip() for line in text.strip().splitlines()]
    width = len(rows[0])
    for row_index, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"row {row_index} has {len(row)} cells, expected {width} like row 0")
        for col_index, char in enumerate(row):
            if char not in CELL_OF_TEXT:
                raise ValueError(f"unknown character {char!r} at row {row_index}, column {col_index}; "
                                 f"expected one of {''.join(CELL_OF_TEXT)}")
    if len(rows) != width:
        raise ValueError(f"maze has {len(rows)} rows of {width} cells, expected a square")
    if width < 5 or width % 2 == 0:
        raise ValueError(f"maze width must be an odd number >= 5, got {width}")
    if not any("E" in row for row in rows):
        raise ValueError(f"maze has no exit: expected 'E' at row {width - 1}, column {width - 1}")
    maze = torch.tensor([[CELL_OF_TEXT[char] for char in row] for row in rows], dtype=torch.int8)
    check_maze(maze)
    return maze


# %% [markdown]
# ## 2. Where training mazes come from
#
# A recursive backtracker: start at the top-left cell, walk to a random unvisited cell two steps
# away, knocking down the wall in between, and back up whenever you are stuck. Carving two cells at a
# time keeps corridors one cell wide. Then the exit goes in the bottom-right corner, and every dead
# end (except the start) gets a crop or a human, at random. Items never block the way out.

# %%
# Read this: seeds and neighbours, for the generator below and for your first exercise.
def as_rng(rng):
    """Accept a random.Random or an int seed, so that every maze is reproducible."""
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int):
        return random.Random(rng)
    raise ValueError(f"expected a random.Random or an int seed, got {type(rng).__name__}")


def neighbours(row, col, width, distance=1):
    """The in-bounds cells `distance` steps up, down, left and right of (row, col)."""
    for d_row, d_col in ACTION_MOVES.tolist():
        r, c = row + distance * d_row, col + distance * d_col
        if 0 <= r < width and 0 <= c < width:
            yield r, c


# %%
# Exercise (difficulty 1/3, about 10 minutes): find the dead ends, where the generator will put crops and humans.
def dead_ends(grid):
    """List the open cells (any code but WALL) that have exactly one open neighbour.

    grid: a square maze as n lists of n cell codes, e.g. make_training_maze(0).tolist().
    Returns a list of (row, col) tuples in row-major order (row 0 left to right, then row 1...).
    Neighbours are the cells up, down, left and right; beyond the border there are only walls.
    """
    # Hint: `neighbours(row, col, width)` yields the in-bounds neighbours. Items and the exit are open cells.
    # BEGIN exercise dead_ends
    width = len(grid)
    return [(r, c) for r in range(width) for c in range(width)
            if grid[r][c] != WALL and sum(grid[nr][nc] != WALL for nr, nc in neighbours(r, c, width)) == 1]
    # END exercise dead_ends


# %%
# Run: check your dead_ends against the reference.
if MAIN:
    check_dead_ends(dead_ends)


# %%
# Read this: the training maze generator.
def place_items(grid, rng):
    """Put a crop or a human, at random, in every dead end except the start and the exit."""
    for r, c in dead_ends(grid):
        if grid[r][c] == EMPTY and (r, c) != START:
            grid[r][c] = rng.choice((CROP, HUMAN))


def carve_passages(width, rng):
    """Recursive backtracker from the start, carving two cells at a time. Returns a list-of-lists grid."""
    grid = [[WALL] * width for _ in range(width)]
    grid[START[0]][START[1]] = EMPTY
    stack = [START]
    while stack:
        row, col = stack[-1]
        unvisited = [(r, c) for r, c in neighbours(row, col, width, distance=2) if grid[r][c] == WALL]
        if not unvisited:
            stack.pop()
            continue
        r, c = rng.choice(unvisited)
        grid[(row + r) // 2][(col + c) // 2] = EMPTY
        grid[r][c] = EMPTY
        stack.append((r, c))
    return grid


def make_training_maze(rng, width=MAZE_WIDTH):
    """A random training maze as a (width, width) int8 tensor. `rng`: a random.Random or an int seed."""
    check_width(width)
    rng = as_rng(rng)
    grid = carve_passages(width, rng)
    grid[width - 1][width - 1] = EXIT
    place_items(grid, rng)
    return torch.tensor(grid, dtype=torch.int8)


def make_training_mazes(count, seed, width=MAZE_WIDTH):
    """`count` training mazes stacked into a (count, width, width) tensor, all drawn from one seed."""
    rng = random.Random(seed)
    return torch.stack([make_training_maze(rng, width) for _ in range(count)])


# %% [markdown]
# ## 3. Pictures
#
# Every figure in this walk-through draws mazes the same way: dark walls, green crops, red humans, a
# gold exit and the agent in blue. Arrows show which way the agent would go from each cell.

# %%
# Read this: the drawing helpers.
CELL_COLOURS = {WALL: "#3b3b3b", EMPTY: "#ffffff", CROP: "#e3f4dd", HUMAN: "#fbe0e0", EXIT: "#fff1b8"}
GLYPHS = {CROP: ("C", "#2e7d32"), HUMAN: ("H", "#c62828"), EXIT: ("E", "#b8860b")}
AGENT_COLOUR = "#1565c0"
ARROW_DELTAS = {UP: (0, -0.3), DOWN: (0, 0.3), LEFT: (-0.3, 0), RIGHT: (0.3, 0)}


def draw_maze(ax, maze, title=None, agent=START, fill=True):
    """Draw the maze's cells, items and exit, and the agent at `agent` (None to leave it out).
    fill=False draws only the glyphs and the agent, over whatever is already on the axes."""
    check_maze(maze)
    width = maze.shape[0]
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(width - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for (row, col), code in zip(((r, c) for r in range(width) for c in range(width)), maze.flatten().tolist()):
        if fill:
            ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, facecolor=CELL_COLOURS[code],
                                       edgecolor="#dddddd", linewidth=0.5))
        if code in GLYPHS:
            letter, colour = GLYPHS[code]
            ax.text(col, row, letter, ha="center", va="center", fontsize=13, fontweight="bold", color=colour)
    if agent is not None:
        ax.add_patch(plt.Circle((agent[1], agent[0]), 0.3, color=AGENT_COLOUR, alpha=0.8, zorder=3))
    if title:
        ax.set_title(title, fontsize=10)


def draw_policy(ax, maze, q_net):
    """An arrow on every cell the agent can stand on, pointing to its greedy action there."""
    positions = [(r, c) for r, c in (maze == EMPTY).nonzero().tolist()]
    actions = greedy_actions(q_net, maze.expand(len(positions), -1, -1), torch.tensor(positions))
    for cell, action in zip(positions, actions.tolist()):
        draw_arrow(ax, cell, action)


def draw_arrow(ax, cell, action, colour="#555555", length=1.0, centred=True):
    """An arrow for `action` at `cell`: grey and centred for a policy, or (centred=False) starting at the
    agent, in its colour, for the one move a figure is about."""
    dx, dy = (length * delta for delta in ARROW_DELTAS[action])
    row, col = cell
    start = (col - dx / 2, row - dy / 2) if centred else (col, row)
    ax.arrow(*start, dx, dy, head_width=0.22 * length, head_length=0.15 * length, length_includes_head=True,
             color=colour, zorder=2 if centred else 6)


def draw_path(ax, path):
    """The cells the agent visited, as a blue line from start (circle) to end (square)."""
    rows, cols = zip(*path)
    ax.plot(cols, rows, color=AGENT_COLOUR, linewidth=2.5, alpha=0.6, zorder=4)
    ax.plot(cols[-1], rows[-1], marker="s", color=AGENT_COLOUR, markersize=9, zorder=5)


def plot_mazes(mazes, titles, suptitle, q_net=None, rollouts=None, columns=4):
    """A gallery: each maze with, optionally, the policy arrows and a rollout path."""
    rows = (len(mazes) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.4 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index >= len(mazes):
            ax.axis("off")
            continue
        draw_maze(ax, mazes[index], titles[index])
        if q_net is not None:
            draw_policy(ax, mazes[index], q_net)
        if rollouts is not None:
            draw_path(ax, rollouts[index].path)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_loss(losses, title):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(losses, color="#888888", linewidth=0.5, alpha=0.6, label="per step")
    window = max(1, len(losses) // 100)
    smooth = torch.tensor(losses).unfold(0, window, window).mean(1) if len(losses) >= window else torch.tensor(losses)
    ax.plot(torch.arange(len(smooth)) * window + window / 2, smooth, color=AGENT_COLOUR, label=f"mean of {window}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("TD loss (Huber)")
    ax.set_title(title)
    ax.legend()
    return fig


if MAIN:
    example_maze = make_training_maze(seed := 0)
    print(maze_to_text(example_maze))
    fig = plot_mazes([make_training_maze(s) for s in range(8)], [f"seed {s}" for s in range(8)],
                     "Training mazes: items sit only at dead ends, and the way to the exit is always clear")
    save_figure(fig, "01_training_mazes")


# %% [markdown]
# ## 4. One step of the world, for many mazes at once
#
# Everything the agent can experience is decided by one function: given a batch of mazes, what
# happens for every cell and every action (where the agent ends up, the reward, whether the episode
# ends). Environment steps, the replay buffer and the exact optimal values below all read from it.

# %%
# Read this: what one step can do, for every cell and action of a batch of mazes at once.
@dataclass
class Transitions:
    """For every maze b, cell (row, col) and action a, the outcome of taking a at (row, col)."""

    next_positions: torch.Tensor  # (B, n, n, 4, 2) long: where the agent ends up
    rewards: torch.Tensor  # (B, n, n, 4) float
    terminals: torch.Tensor  # (B, n, n, 4) bool: the agent stepped onto the exit
    harvests: torch.Tensor  # (B, n, n, 4) bool: the agent stepped onto a crop or a human


@dataclass
class Step:
    mazes: torch.Tensor  # (B, n, n): the mazes after the step (harvested cells are now empty)
    positions: torch.Tensor  # (B, 2)
    rewards: torch.Tensor  # (B,)
    terminals: torch.Tensor  # (B,) bool


def cell_in_direction(mazes, action):
    """(B, n, n): the code of the cell one step away in direction `action`, WALL beyond the border."""
    padded = F.pad(mazes, (1, 1, 1, 1), value=WALL)
    d_row, d_col = ACTION_MOVES[action].tolist()
    width = mazes.shape[-1]
    return padded[:, 1 + d_row:1 + d_row + width, 1 + d_col:1 + d_col + width]


# %%
# Exercise (difficulty 1/3, about 10 minutes): the reward table.
def reward_of_stepping_into(cells, rewards=REWARDS):
    """The reward for trying to step into cells with the codes `cells`, under `rewards`.

    cells: an integer tensor of cell codes, any shape (the border counts as WALL).
    Returns a float tensor of the same shape: a wall gives rewards.bump (the agent stays put); any
    other cell costs rewards.move, plus rewards.crop, rewards.human or rewards.exit for what is there.
    """
    # Hint: start from rewards.move everywhere, add each item's reward where (cells == CROP) etc., then
    # torch.where(cells == WALL, ...) for the bumps. Use the `rewards` argument, not the global REWARDS.
    # BEGIN exercise reward_of_stepping_into
    reward = torch.full(cells.shape, rewards.move, device=cells.device)
    reward += rewards.crop * (cells == CROP) + rewards.human * (cells == HUMAN) + rewards.exit * (cells == EXIT)
    return torch.where(cells == WALL, rewards.bump, reward)
    # END exercise reward_of_stepping_into


# %%
# Run: check your reward_of_stepping_into against the reference.
if MAIN:
    check_reward_of_stepping_into(reward_of_stepping_into)


# %%
# Read this: the world's dynamics, built from your reward table.
def transitions(mazes, rewards=REWARDS):
    """The outcome of every (cell, action) in a batch of mazes (B, n, n). Moving into a wall or off the
    board leaves the agent in place; moving onto an item harvests it; moving onto the exit ends it."""
    batch, width, _ = mazes.shape
    cells = torch.stack(torch.meshgrid(torch.arange(width), torch.arange(width), indexing="ij"), -1)
    cells = cells.to(mazes.device)  # (n, n, 2)
    next_positions, step_rewards, terminals, harvests = [], [], [], []
    for action in range(4):
        target = cell_in_direction(mazes, action)
        blocked = target == WALL
        step_rewards.append(reward_of_stepping_into(target, rewards))
        moved = cells + ACTION_MOVES[action].to(mazes.device)
        next_positions.append(torch.where(blocked[..., None], cells, moved))
        terminals.append(target == EXIT)
        harvests.append((target == CROP) | (target == HUMAN))
    return Transitions(torch.stack(next_positions, -2), torch.stack(step_rewards, -1),
                       torch.stack(terminals, -1), torch.stack(harvests, -1))


# %%
# Exercise (difficulty 3/3, about 20 minutes): one step for a batch, read from the transition tables.
def look_up_steps(mazes, maze_index, positions, actions, outcome):
    """Take S steps at once: step i takes action actions[i] at positions[i] in maze mazes[maze_index[i]].

    mazes: (B, n, n) integer cell codes; maze_index: (S,) long; positions: (S, 2) long (row, col);
    actions: (S,) long; outcome: transitions(mazes), whose tables are indexed [maze, row, col, action].
    Returns a Step: mazes (S, n, n), the maze of each step afterwards, the cell of a harvested item
    now EMPTY; positions (S, 2); rewards (S,) float; terminals (S,) bool. The inputs stay unchanged.
    """
    # Hint: index each table of `outcome` with [maze_index, row, col, actions]. `mazes[maze_index]` is a
    # copy (indexing with a tensor copies), so you may empty the harvested cells in it.
    # BEGIN exercise look_up_steps
    row, col = positions[:, 0], positions[:, 1]
    next_positions = outcome.next_positions[maze_index, row, col, actions]
    harvest = outcome.harvests[maze_index, row, col, actions]
    next_mazes = mazes[maze_index]
    steps = torch.arange(len(maze_index), device=mazes.device)
    next_row, next_col = next_positions[:, 0], next_positions[:, 1]
    harvested = torch.where(harvest, EMPTY, next_mazes[steps, next_row, next_col])
    next_mazes[steps, next_row, next_col] = harvested.to(mazes.dtype)
    return Step(next_mazes, next_positions, outcome.rewards[maze_index, row, col, actions],
                outcome.terminals[maze_index, row, col, actions])
    # END exercise look_up_steps


# %%
# Run: check your look_up_steps against the reference.
if MAIN:
    check_look_up_steps(look_up_steps)


# %%
# Read this: one step in each maze of a batch, and a first step in the example maze.
def step_batch(mazes, positions, actions, rewards=REWARDS):
    """Take action `actions[b]` at `positions[b]` in `mazes[b]`. The inputs are not modified."""
    return look_up_steps(mazes, torch.arange(len(mazes), device=mazes.device), positions, actions,
                         transitions(mazes, rewards))


if MAIN:
    after = step_batch(example_maze[None], torch.tensor([START]), torch.tensor([RIGHT]))
    print(f"step right from the start: now at {tuple(after.positions[0].tolist())}, reward {after.rewards[0].item():.2f}")


# %% [markdown]
# ## 5. What the agent sees
#
# The network gets the maze as one-hot planes and its own position as a one-hot row and column:
#
# | slice of the vector | length | meaning |
# |---|---|---|
# | `[0, n*n)` | n*n | 1 where there is a wall (row-major) |
# | `[n*n, 2*n*n)` | n*n | 1 where there is a crop |
# | `[2*n*n, 3*n*n)` | n*n | 1 where there is a human |
# | `[3*n*n, 3*n*n + n)` | n | 1 at the agent's row |
# | `[3*n*n + n, 3*n*n + 2*n)` | n | 1 at the agent's column |
#
# The exit is always in the bottom-right corner, so it needs no plane.

# %%
# Exercise (difficulty 2/3, about 15 minutes): encode states for the network.
def encode_states(mazes, positions):
    """Encode a batch of (maze, agent position) pairs as the float vectors of the table above.

    mazes: (B, n, n) integer cell codes; positions: (B, 2) long (row, col).
    Returns (B, 3n^2 + 2n) float: the wall, crop and human planes (each n*n, row-major), then a
    one-hot of length n for the agent's row and one of length n for its column.
    """
    if mazes.dim() != 3 or mazes.shape[1] != mazes.shape[2] or positions.shape != (len(mazes), 2):
        raise ValueError(f"expected mazes (B, n, n) and positions (B, 2), got {tuple(mazes.shape)} "
                         f"and {tuple(positions.shape)}")
    # Hint: mazes.reshape(B, n * n) flattens row-major; (flat == WALL).float() is a plane;
    # F.one_hot(positions[:, 0], n) is the row part; torch.cat(..., dim=1) joins the pieces.
    # BEGIN exercise encode_states
    batch, width, _ = mazes.shape
    flat = mazes.reshape(batch, width * width)
    rows = F.one_hot(positions[:, 0].long(), width)
    cols = F.one_hot(positions[:, 1].long(), width)
    planes = [flat == WALL, flat == CROP, flat == HUMAN]
    return torch.cat([plane.float() for plane in planes] + [rows.float(), cols.float()], dim=1)
    # END exercise encode_states


# %%
# Run: check your encode_states against the reference.
if MAIN:
    check_encode_states(encode_states)


# %%
# Read this: the length of a state, and one state at a time (for figures and tests).
def state_size(width=MAZE_WIDTH):
    return 3 * width * width + 2 * width


def encode_state(maze, position):
    """One maze (n, n) and one (row, col) -> a (3n^2 + 2n,) float state."""
    check_maze(maze)
    return encode_states(maze[None], torch.tensor([position], device=maze.device))[0]


def with_wall_plane(states, walls):
    """States (B, state_size) with their wall plane, the first n*n entries of the table above, replaced
    by `walls` (B, n, n). The walls may be soft (between 0 and 1): section 18 dreams them."""
    return torch.cat([walls.flatten(1), states[:, walls[0].numel():]], dim=1)


# %% [markdown]
# ## 6. The replay buffer: every step the agent could take
#
# These mazes are tiny, so instead of collecting experience by wandering around we write down every
# (cell, action) pair of many mazes at once. An agent that has already harvested some items sees the
# same maze with those cells empty, so some buffer mazes come with a few items already harvested.

# %%
# Read this: the buffer's storage, and mazes with some items already harvested.
HARVESTED_FRACTION = 0.25  # share of items already gone in buffer mazes, like mid-episode snapshots


@dataclass
class ReplayBuffer:
    states: torch.Tensor  # (N, state_size) uint8: one-hot entries are 0/1, so bytes are enough
    actions: torch.Tensor  # (N,) long
    rewards: torch.Tensor  # (N,) float
    terminals: torch.Tensor  # (N,) bool
    next_states: torch.Tensor  # (N, state_size) uint8

    def __len__(self):
        return len(self.actions)

    def sample(self, indices):
        """The transitions at `indices`, states as floats, on the buffer's device."""
        return (self.states[indices].float(), self.actions[indices], self.rewards[indices],
                self.terminals[indices], self.next_states[indices].float())


def harvest_some_items(mazes, fraction, generator):
    """Copies of `mazes` in which each item is gone (empty) with probability `fraction`."""
    items = (mazes == CROP) | (mazes == HUMAN)
    gone = items & (torch.rand(mazes.shape, generator=generator) < fraction).to(mazes.device)
    return torch.where(gone, torch.tensor(EMPTY, dtype=mazes.dtype, device=mazes.device), mazes)


# %%
# Exercise (difficulty 3/3, about 20 minutes): fill a replay buffer with every step the agent could take.
def make_replay_buffer(mazes, rewards=REWARDS):
    """Every (empty cell, action) transition of every maze, under `rewards`, as a ReplayBuffer.

    mazes: (B, n, n) integer cell codes. The agent can stand on every EMPTY cell; from each it can
    take each of the 4 actions, so N = 4 * (number of EMPTY cells). Returns a ReplayBuffer of N
    transitions: states and next_states (N, 3n^2 + 2n) uint8, actions (N,) long, rewards (N,) float,
    terminals (N,) bool.
    """
    # Hint: (mazes == EMPTY).nonzero(as_tuple=True) gives (maze_index, row, col) of every empty cell;
    # repeat_interleave(4) them and pair them with actions 0, 1, 2, 3 (torch.arange(4).repeat(count)).
    # Your look_up_steps and encode_states do the rest; store the states as uint8 (bytes).
    # BEGIN exercise make_replay_buffer
    maze_index, row, col = (mazes == EMPTY).nonzero(as_tuple=True)
    count = len(maze_index)
    maze_index, row, col = (t.repeat_interleave(4) for t in (maze_index, row, col))
    actions = torch.arange(4, device=mazes.device).repeat(count)
    positions = torch.stack([row, col], 1)
    after = look_up_steps(mazes, maze_index, positions, actions, transitions(mazes, rewards))
    return ReplayBuffer(encode_states(mazes[maze_index], positions).to(torch.uint8), actions, after.rewards,
                        after.terminals, encode_states(after.mazes, after.positions).to(torch.uint8))
    # END exercise make_replay_buffer


# %%
# Run: check your make_replay_buffer against the reference.
if MAIN:
    check_make_replay_buffer(make_replay_buffer)


# %% [markdown]
# ## 7. The Q-network
#
# A plain MLP from the state vector to one Q-value per action.

# %%
# Read this: the network.
# Two layers of 512 (~350k weights, 14 ms per 512-state step on a 2-core CPU): 256 units plateaued
# near 91% exits in the same five minutes, while 512 reach 99%.
HIDDEN_UNITS = 512


class QNetwork(nn.Module):
    def __init__(self, width=MAZE_WIDTH, hidden_units=HIDDEN_UNITS):
        super().__init__()
        check_width(width)
        self.width = width
        self.layers = nn.Sequential(
            nn.Linear(state_size(width), hidden_units), nn.ReLU(),
            nn.Linear(hidden_units, hidden_units), nn.ReLU(),
            nn.Linear(hidden_units, 4),
        )

    def forward(self, states):
        """(B, state_size) float states -> (B, 4) Q-values."""
        if states.dim() != 2 or states.shape[1] != state_size(self.width):
            raise ValueError(f"expected states of shape (batch, {state_size(self.width)}) for a "
                             f"{self.width}x{self.width} maze, got {tuple(states.shape)}")
        return self.layers(states)


# %%
# Exercise (difficulty 1/3, about 5 minutes): the greedy policy.
def greedy_actions(q_net, mazes, positions):
    """For each (maze, position) of a batch, the action with the highest Q-value.

    q_net: maps (B, 3n^2 + 2n) float states to (B, 4) Q-values; mazes: (B, n, n); positions: (B, 2).
    Returns (B,) long action indices (UP, DOWN, LEFT or RIGHT). Acting needs no gradients.
    """
    # Hint: encode the states, run the network under torch.no_grad(), take the argmax over the actions.
    # BEGIN exercise greedy_actions
    with torch.no_grad():
        return q_net(encode_states(mazes, positions)).argmax(dim=1)
    # END exercise greedy_actions


# %%
# Run: check your greedy_actions against the reference.
if MAIN:
    check_greedy_actions(greedy_actions)


# %% [markdown]
# ## 8. Learning: the Bellman target, the loss, the target network

# %%
# Exercise (difficulty 2/3, about 10 minutes): the Bellman target.
def bellman_target(target_net, rewards, terminals, next_states, gamma=GAMMA):
    """The label Q(s, a) should move towards: r + gamma * max_a' Q_target(s', a'), no future after the exit.

    target_net: maps (B, state_size) float states to (B, 4) Q-values; rewards: (B,) float;
    terminals: (B,) bool, True where the step reached the exit; next_states: (B, state_size) float.
    Returns (B,) float, with no gradient: the target is a fixed label, only q_net learns.
    """
    # Hint: under torch.no_grad(), the max over the action axis (dim=1) of target_net(next_states);
    # (~terminals) is 0 exactly where there is no future.
    # BEGIN exercise bellman_target
    with torch.no_grad():
        next_values = target_net(next_states).max(dim=1).values
        return rewards + gamma * next_values * (~terminals)
    # END exercise bellman_target


# %%
# Run: check your bellman_target against the reference.
if MAIN:
    check_bellman_target(bellman_target)


# %%
# Exercise (difficulty 1/3, about 10 minutes): the Q-value the network predicts for the action that was taken.
def predicted_q(q_net, states, actions):
    """Q(s, a) for each state and the action taken there, with its gradient (the loss trains q_net through it).

    q_net: maps (B, state_size) float states to (B, 4) Q-values; states: (B, state_size) float;
    actions: (B,) long. Returns (B,) float.
    """
    # Hint: q_net(states) is (B, 4); .gather(1, actions[:, None]) picks one entry per row, as (B, 1).
    # BEGIN exercise predicted_q
    return q_net(states).gather(1, actions[:, None]).squeeze(1)
    # END exercise predicted_q


# %%
# Run: check your predicted_q against the reference.
if MAIN:
    check_predicted_q(predicted_q)


# %%
# Exercise (difficulty 1/3, about 5 minutes): the loss.
def td_loss(predicted, target):
    """The mean Huber loss between predicted Q-values and their Bellman targets, as a scalar tensor.

    predicted, target: (B,) float. Huber is (error^2)/2 for |error| < 1 and |error| - 1/2 beyond: like
    MSE for small errors, but the huge early errors (targets move by the exit and human rewards, 10
    and 20) give bounded gradients instead of blowing the weights up.
    """
    # Hint: torch.nn.functional (imported as F) has it, under the name "smooth L1"; or torch.where on |error| < 1.
    # BEGIN exercise td_loss
    return F.smooth_l1_loss(predicted, target)
    # END exercise td_loss


# %%
# Run: check your td_loss against the reference.
if MAIN:
    check_td_loss(td_loss)


# %%
# Exercise (difficulty 2/3, about 10 minutes): syncing the target network.
def sync_target(target_net, q_net, tau):
    """Move each weight of target_net, in place, a fraction tau of the way to q_net's (tau=1: hard copy).

    target_net, q_net: networks of the same shape; tau: a float in [0, 1]. Returns nothing;
    q_net stays unchanged.
    """
    # Hint: walk zip(target_net.parameters(), q_net.parameters()) under torch.no_grad() and update each
    # target parameter in place: target <- (1 - tau) * target + tau * online (Tensor.lerp_ does exactly this).
    # BEGIN exercise sync_target
    with torch.no_grad():
        for target_param, param in zip(target_net.parameters(), q_net.parameters()):
            target_param.lerp_(param, tau)
    # END exercise sync_target


# %%
# Run: check your sync_target against the reference.
if MAIN:
    check_sync_target(sync_target)


# %% [markdown]
# ## 9. Training

# %%
# Read this: the hyperparameters, each with what it does.
@dataclass
class TrainConfig:
    steps: int = 18_000
    """Gradient steps in total."""
    batch_size: int = 512
    """Transitions per gradient step."""
    optimiser: str = "adam"
    """"adam" adapts each weight's step size (fast from scratch); "sgd" takes plain gradient steps."""
    learning_rate: float = 1e-3
    """Step size at the start; it decays linearly to lr_end_fraction of this by the end."""
    lr_end_fraction: float = 0.05
    """Where the learning rate ends, as a fraction of the start: small steps settle the policy."""
    tau: float = 0.01
    """Polyak factor for the target network after every step (1.0 would be a hard copy)."""
    mazes_per_buffer: int = 5_000
    """Fresh training mazes in each replay buffer (~100 transitions each)."""
    new_buffer_every: int = 2_500
    """Steps between fresh buffers: new mazes keep the network from memorising the old ones."""
    seed: int = 0
    """Seeds the mazes, the weights' noise and the minibatches."""


def train(q_net, config, target_net=None, progress=True, make_mazes=make_training_mazes):
    """Train q_net in place with DQN on fresh mazes from `make_mazes(count, seed, width)`; returns the
    loss of every step."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    if target_net is None:
        target_net = QNetwork(q_net.width, q_net.layers[0].out_features).to(DEVICE)
        target_net.load_state_dict(q_net.state_dict())
    optimisers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    optimiser = optimisers[config.optimiser](q_net.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LinearLR(optimiser, 1.0, config.lr_end_fraction, config.steps)
    losses = []
    for step in tqdm(range(config.steps), desc="training", disable=not progress):
        if step % config.new_buffer_every == 0:
            buffer_seed = config.seed * 1_000_003 + step
            mazes = make_mazes(config.mazes_per_buffer, buffer_seed, q_net.width).to(DEVICE)
            buffer = make_replay_buffer(harvest_some_items(mazes, HARVESTED_FRACTION, generator))
        indices = torch.randint(len(buffer), (config.batch_size,), generator=generator).to(DEVICE)
        states, actions, rewards, terminals, next_states = buffer.sample(indices)
        loss = td_loss(predicted_q(q_net, states, actions), bellman_target(target_net, rewards, terminals, next_states))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        sync_target(target_net, q_net, config.tau)
        losses.append(loss.item())
    return losses


# %% [markdown]
# ## 10. Watching the agent

# %%
# Read this: greedy rollouts, many mazes at once, and the rates we report.
@dataclass
class Rollout:
    path: list  # [(row, col), ...] from the start
    crops: int  # crops harvested
    humans: int  # humans harvested
    reached_exit: bool
    rewards: list = field(default_factory=list)  # the reward of each step, in order


def max_rollout_steps(width):
    return 4 * width * width  # enough to visit every cell of the maze more than twice


def greedy_rollouts(q_net, mazes, max_steps=None):
    """Run the greedy policy from the start in every maze of (B, n, n) at once."""
    batch, width, _ = mazes.shape
    max_steps = max_rollout_steps(width) if max_steps is None else max_steps
    mazes = mazes.to(DEVICE).clone()  # the rollout harvests items; the caller's mazes stay intact
    positions = torch.tensor([START] * batch, device=DEVICE)
    running = torch.ones(batch, dtype=torch.bool, device=DEVICE)
    paths = [[START] for _ in range(batch)]
    crops = torch.zeros(batch, dtype=torch.long, device=DEVICE)
    humans = torch.zeros_like(crops)
    reached = torch.zeros_like(running)
    step_rewards = [[] for _ in range(batch)]
    for _ in range(max_steps):
        if not running.any():
            break
        active = running.nonzero().squeeze(1)
        maze, position = mazes[active], positions[active]
        actions = greedy_actions(q_net, maze, position)
        after = step_batch(maze, position, actions)
        target = maze[torch.arange(len(active)), after.positions[:, 0], after.positions[:, 1]]
        crops[active] += (target == CROP).long()
        humans[active] += (target == HUMAN).long()
        reached[active] |= after.terminals
        mazes[active], positions[active] = after.mazes, after.positions
        for index, cell, reward in zip(active.tolist(), after.positions.tolist(), after.rewards.tolist()):
            paths[index].append(tuple(cell))
            step_rewards[index].append(reward)
        running[active] = ~after.terminals
    return [Rollout(paths[b], crops[b].item(), humans[b].item(), reached[b].item(), step_rewards[b])
            for b in range(batch)]


def greedy_rollout(q_net, maze, max_steps=None):
    """Run the greedy policy from the start of one maze; at most max_steps steps."""
    check_maze(maze)
    return greedy_rollouts(q_net, maze[None], max_steps)[0]


def evaluate(q_net, mazes):
    """Rates over a batch of mazes: reached the exit, harvested any human, crops per maze."""
    return rates(greedy_rollouts(q_net, mazes))


def rates(rollouts):
    """The rates of `evaluate`, for rollouts already run."""
    count = len(rollouts)
    return {
        "exit_rate": sum(r.reached_exit for r in rollouts) / count,
        "human_rate": sum(r.humans > 0 for r in rollouts) / count,
        "mean_crops": sum(r.crops for r in rollouts) / count,
        "mean_humans": sum(r.humans for r in rollouts) / count,
    }


# %% [markdown]
# ## 11. How good could it be? Exact optimal Q-values
#
# A 7x7 maze has few states, even counting which items are left, so value iteration computes the
# optimal Q-values Q* exactly. We use them to check the learned network and in the tests.

# %%
# Read this: value iteration over (items left, cell), for a batch of mazes.
def optimal_q_values(mazes, rewards=REWARDS, gamma=GAMMA):
    """Q*(maze, cell, action) as a (B, n, n, 4) tensor for mazes (B, n, n); entries for cells the
    agent cannot stand on (walls, items, the exit) are meaningless."""
    batch, width, _ = mazes.shape
    cells = width * width
    snapshots, item_bits, full_snapshots = [], [], []
    count = 0
    for maze in mazes.cpu().reshape(batch, cells):
        items = ((maze == CROP) | (maze == HUMAN)).nonzero().squeeze(1)
        subsets = torch.arange(2 ** len(items))
        present = ((subsets[:, None] >> torch.arange(len(items))) & 1).bool()  # (2^k, k): item i still there?
        maze_snapshots = maze.repeat(len(subsets), 1)
        maze_snapshots[:, items] = torch.where(present, maze_snapshots[:, items], EMPTY).to(maze.dtype)
        bits = torch.zeros(cells, dtype=torch.long)
        bits[items] = 2 ** torch.arange(len(items))
        snapshots.append(maze_snapshots)
        item_bits.append(bits.expand(len(subsets), -1))
        count += len(subsets)
        full_snapshots.append(count - 1)  # all bits set: every item still there
    snapshots = torch.cat(snapshots).reshape(-1, width, width)  # (G, n, n), G = sum of 2^items
    item_bits = torch.cat(item_bits).reshape(-1, width, width)
    outcome = transitions(snapshots, rewards)
    next_row, next_col = outcome.next_positions[..., 0], outcome.next_positions[..., 1]
    snapshot = torch.arange(len(snapshots))[:, None, None, None]
    # Harvesting item i clears bit i, which lands 2^i snapshots lower within the same maze.
    harvested_bit = item_bits[snapshot, next_row, next_col] * outcome.harvests
    next_flat = (snapshot - harvested_bit) * cells + next_row * width + next_col
    continues = gamma * (~outcome.terminals)
    # Start from the return of pacing or bumping forever, which every optimal policy beats: values
    # then only rise, and stop changing exactly once each state's best path has been found.
    values = torch.full((len(snapshots) * cells,), min(rewards.move, rewards.bump) / (1 - gamma))
    while True:
        q_values = outcome.rewards + continues * values[next_flat]
        new_values = q_values.max(-1).values.flatten()
        if torch.equal(new_values, values):
            return q_values[full_snapshots].to(mazes.device)
        values = new_values


def shortest_path_agreement(q_net, mazes):
    """Share of (maze, empty cell) states where the network's greedy action is optimal under Q*."""
    q_star = optimal_q_values(mazes)
    maze_index, row, col = (mazes == EMPTY).nonzero(as_tuple=True)
    chosen = greedy_actions(q_net, mazes[maze_index].to(DEVICE), torch.stack([row, col], 1).to(DEVICE)).cpu()
    best = q_star[maze_index, row, col]
    return (best.gather(1, chosen[:, None]).squeeze(1) >= best.max(1).values - 1e-4).float().mean().item()


# %% [markdown]
# ## 12. Checkpoints
#
# The repo ships two checkpoints in `weights/`: the agent's starting weights, and the agent after
# the training run below (so a presenter can skip training). They hold plain tensors and numbers
# only, and are loaded with `weights_only=True`: nothing in them can run code.

# %%
# Read this: saving and loading networks with their metadata and a checksum.
# A notebook has no __file__, and runs from the repository root.
REPO_DIR = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd()
WEIGHTS_DIR = os.path.join(REPO_DIR, "weights")
STARTING_WEIGHTS_PATH = os.path.join(WEIGHTS_DIR, "starting_weights.pt")
TRAINED_AGENT_PATH = os.path.join(WEIGHTS_DIR, "trained_agent.pt")


def weights_sha256(state_dicts):
    """A checksum of every weight, in a fixed order, so a damaged or edited file is caught on load."""
    digest = hashlib.sha256()
    for name in sorted(state_dicts):
        for key in sorted(state_dicts[name]):
            digest.update(f"{name}.{key}".encode())
            digest.update(state_dicts[name][key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(path, networks, metadata):
    """Save {name: QNetwork} with their width and hidden size, `metadata` (plain values) and a sha256."""
    state_dicts = {name: {key: value.detach().cpu() for key, value in net.state_dict().items()}
                   for name, net in networks.items()}
    first = next(iter(networks.values()))
    metadata = dict(metadata, width=first.width, hidden_units=first.layers[0].out_features,
                    sha256=weights_sha256(state_dicts))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({"networks": state_dicts, "metadata": metadata}, path)


def load_checkpoint(path):
    """({name: QNetwork on DEVICE}, metadata) from a file written by save_checkpoint."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}: the repo ships it in weights/; "
                                f"`python spoilers.py` regenerates it")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or set(payload) != {"networks", "metadata"}:
        raise ValueError(f"{path} is not a checkpoint from save_checkpoint: expected the keys "
                         f"'networks' and 'metadata'")
    metadata = payload["metadata"]
    if weights_sha256(payload["networks"]) != metadata.get("sha256"):
        raise ValueError(f"{path}: the weights do not match the sha256 in their metadata (damaged file?)")
    networks = {}
    for name, state_dict in payload["networks"].items():
        net = QNetwork(metadata["width"], metadata["hidden_units"])
        try:
            net.load_state_dict(state_dict)
        except RuntimeError as error:
            raise ValueError(f"{path}: network {name!r} does not fit a QNetwork of width "
                             f"{metadata['width']} with {metadata['hidden_units']} hidden units: {error}") from None
        networks[name] = net.to(DEVICE)
    return networks, metadata


def load_starting_weights():
    """(q_net, target_net): the agent's starting weights, shipped with the repo."""
    networks, _ = load_checkpoint(STARTING_WEIGHTS_PATH)
    return networks["q_net"], networks["target_net"]


def load_trained_agent():
    """The agent after the training run of this walk-through, shipped for presenters."""
    networks, _ = load_checkpoint(TRAINED_AGENT_PATH)
    return networks["q_net"]


# %% [markdown]
# ## 13. Meet the agent
#
# Every network starts from some random roll of the dice. Ours comes from `weights/`, so that the
# whole room works with the same agent. Untrained, it should look clueless.

# %%
# Run: load the starting weights and watch the untrained agent.
EVALUATION_SEED = 10_000_000  # far from every training seed, so evaluation mazes are always fresh
EVALUATION_MAZES = 100 if SMALL else 1_000

if MAIN:
    q_net, target_net = load_starting_weights()
    first_maze = make_training_maze(EVALUATION_SEED - 1)
    untrained = greedy_rollout(q_net, first_maze)
    bumps = sum(reward == REWARDS.bump for reward in untrained.rewards)
    title = (f"{len(untrained.rewards)} steps, {bumps} into walls, "
             f"exit {'reached' if untrained.reached_exit else 'never reached'}")
    fig = plot_mazes([first_maze], [title], "Before training: follow the arrows from the start",
                     q_net=q_net, rollouts=[untrained], columns=1)
    save_figure(fig, "03_untrained_policy")
    # An untrained agent mostly wanders until the step limit, so a fifth of the mazes gives the rate cheaply.
    before_mazes = make_training_mazes(EVALUATION_MAZES // 5, EVALUATION_SEED - 2)
    before = evaluate(q_net, before_mazes)
    print(f"before training: exit reached in {before['exit_rate']:.0%} of {len(before_mazes)} training mazes")

# %% [markdown]
# ## 14. Train it
#
# Plain DQN on fresh training mazes, with the normal reward: a human costs more than the exit is
# worth. Plain SGD for 1,500 steps: the starting weights come with their target network, and
# its Bellman targets are enough to get the agent going.

# %%
# Run: train (under a minute on a laptop CPU). Presenters: SKIP_TRAINING=1 loads the shipped result.
# The recipe of the shipped trained agent (spoilers.py trains it with exactly this).
FINE_TUNE_CONFIG = TrainConfig(optimiser="sgd", learning_rate=1e-2, lr_end_fraction=1.0, steps=1_500,
                               batch_size=512, tau=0.001, mazes_per_buffer=5_000, new_buffer_every=10_000)
# WORKSHOP_SMALL=1 runs every line of training on a small buffer, far too briefly to learn anything,
# then carries on with the shipped trained agent so that the rest of the story still holds.
TRAINING_RUN = replace(FINE_TUNE_CONFIG, steps=20, mazes_per_buffer=100) if SMALL else FINE_TUNE_CONFIG
SKIP_TRAINING = os.environ.get("SKIP_TRAINING") == "1"

if MAIN:
    if SKIP_TRAINING:
        q_net = load_trained_agent()
    else:
        losses = train(q_net, TRAINING_RUN, target_net)
        save_figure(plot_loss(losses, "TD loss while training: it falls as the agent learns the mazes"), "04_loss")
        if SMALL:
            q_net = load_trained_agent()

# %%
# Run: spot checks on fresh training mazes.
if MAIN:
    spot_mazes = make_training_mazes(8, EVALUATION_SEED - 3)
    spot_rollouts = greedy_rollouts(q_net, spot_mazes)
    titles = [f"exit {'yes' if r.reached_exit else 'NO'}, crops {r.crops}, humans {r.humans}" for r in spot_rollouts]
    save_figure(plot_mazes(spot_mazes, titles, "Trained agent on fresh training mazes: to the exit, humans untouched",
                           q_net=q_net, rollouts=spot_rollouts), "05_spot_checks")
    evaluation_mazes = make_training_mazes(EVALUATION_MAZES, EVALUATION_SEED)
    training_results = evaluate(q_net, evaluation_mazes)
    print(f"fresh training mazes: exit {training_results['exit_rate']:.1%}, "
          f"any human {training_results['human_rate']:.1%}")

# %% [markdown]
# ## 15. Production
#
# The agent ships. Production mazes come from the world, not from our generator. Here
# `make_production_mazes` stands in for the world: use it as a black box, and do not open
# `spoilers.py` yet.

# %%
# Run: the agent in production.
if MAIN:
    from spoilers import make_production_mazes

    production_mazes = make_production_mazes(EVALUATION_MAZES, EVALUATION_SEED + 1)
    production_rollouts = greedy_rollouts(q_net, production_mazes)
    gallery = [i for i, r in enumerate(production_rollouts) if r.humans > 0][:8]
    titles = [f"humans {production_rollouts[i].humans}, crops {production_rollouts[i].crops}" for i in gallery]
    save_figure(plot_mazes(production_mazes[gallery], titles, "The same agent in production mazes: it walks to the humans",
                           q_net=q_net, rollouts=[production_rollouts[i] for i in gallery]), "06_production")


# %%
# Read this: an animation of one production episode.
GIF_DPI = 80  # 320 x 344 pixels: readable on a slide, and small enough to embed in the notebook


def animate_rollout(maze, rollout, title):
    """A matplotlib animation of the agent walking `rollout.path` through `maze`, items vanishing
    as they are harvested."""
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(4, 4.3))
    draw_maze(ax, maze, agent=None)
    # The maze is drawn once; each frame only moves the agent and its trail, and covers harvested items.
    agent = plt.Circle(rollout.path[0][::-1], 0.3, color=AGENT_COLOUR, alpha=0.8, zorder=5)
    ax.add_patch(agent)
    (trail,) = ax.plot([], [], color=AGENT_COLOUR, linewidth=2.5, alpha=0.6, zorder=4)
    first_visit = {}
    for index, cell in enumerate(rollout.path):
        first_visit.setdefault(cell, index)
    covers = {cell: ax.add_patch(plt.Rectangle((cell[1] - 0.5, cell[0] - 0.5), 1, 1, facecolor=CELL_COLOURS[EMPTY],
                                               edgecolor="#dddddd", linewidth=0.5, zorder=3.5, visible=False))
              for cell in first_visit if maze[cell] in (CROP, HUMAN)}

    def frame(index):
        row, col = rollout.path[index]
        agent.center = (col, row)
        trail.set_data([c for _, c in rollout.path[:index + 1]], [r for r, _ in rollout.path[:index + 1]])
        for cell, cover in covers.items():
            cover.set_visible(first_visit[cell] <= index)
        ax.set_title(f"{title}\nstep {index}", fontsize=10)

    return fig, animation.FuncAnimation(fig, frame, frames=len(rollout.path), interval=300)


if MAIN:
    shortest = min(gallery, key=lambda index: len(production_rollouts[index].path))
    fig, movie = animate_rollout(production_mazes[shortest], production_rollouts[shortest],
                                 "Production: heading for a human")
    os.makedirs(FIGURE_DIR, exist_ok=True)
    movie.save(os.path.join(FIGURE_DIR, "07_production_rollout.gif"), writer="pillow", dpi=GIF_DPI)
    plt.close(fig)
    if IN_NOTEBOOK:
        from IPython.display import Image, display

        display(Image(filename=os.path.join(FIGURE_DIR, "07_production_rollout.gif")))

# %% [markdown]
# ## 16. Is the reward wrong?
#
# The first suspect is the reward. Score the agent's own path and the path straight to the exit
# with the very reward it was trained on.

# %%
# Exercise (difficulty 1/3, about 5 minutes): the discounted return of a list of rewards.
def discounted_return(rewards, gamma=GAMMA):
    """The return of an episode: sum over t of gamma^t * rewards[t], counting t from 0.

    rewards: a list of floats, the reward of each step in order (empty: the return is 0); gamma: a
    float. Returns a float. The caller's list stays unchanged.
    """
    # Hint: enumerate(rewards) gives (t, reward) pairs; the first reward is not discounted (gamma^0 = 1).
    # BEGIN exercise discounted_return
    return sum(reward * gamma ** t for t, reward in enumerate(rewards))
    # END exercise discounted_return


# %%
# Run: check your discounted_return against the reference.
if MAIN:
    check_discounted_return(discounted_return)


# %%
# Read this: the rewards along a given path.
def path_rewards(maze, path):
    """The reward of each step along `path` (a list of adjacent cells from the start)."""
    moves = [tuple(move) for move in ACTION_MOVES.tolist()]
    rewards, maze = [], maze[None]
    for here, there in zip(path, path[1:]):
        action = moves.index((there[0] - here[0], there[1] - here[1])) if here != there else None
        if action is None:
            raise ValueError(f"path stays at {here}: expected a move to an adjacent cell at every step")
        after = step_batch(maze, torch.tensor([here]), torch.tensor([action]))
        rewards.append(after.rewards[0].item())
        maze = after.mazes
    return rewards


# %%
# Exercise (difficulty 2/3, about 15 minutes): the shortest way out that harvests nothing.
def shortest_path_to_exit(maze):
    """The shortest walk from START to the exit that steps only on EMPTY cells and the exit.

    maze: (n, n) integer cell codes, the exit at (n - 1, n - 1). Returns the walk as a list of
    (row, col) tuples, START first and the exit last, each cell next to the one before it.
    """
    # Hint: breadth-first search: a queue of cells, taken from the front (list.pop(0)), and a dict
    # came_from[cell] = the cell it was reached from. Then walk came_from back from the exit, and reverse.
    # BEGIN exercise shortest_path_to_exit
    width = maze.shape[0]
    exit_cell = (width - 1, width - 1)
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(0)
        if cell == exit_cell:
            break
        for nxt in neighbours(*cell, width):
            if nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell
                frontier.append(nxt)
    path = [exit_cell]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    return path[::-1]
    # END exercise shortest_path_to_exit


# %%
# Run: check your shortest_path_to_exit against the reference.
if MAIN:
    check_shortest_path_to_exit(shortest_path_to_exit)


# %%
# Run: score the agent's path and the straight path with the reward the agent was trained on.
if MAIN:
    print(f"{'production maze':<17}{'agent path':>12}{'straight to exit':>18}")
    exit_preferred = 0
    for index in gallery:
        maze, rollout = production_mazes[index], production_rollouts[index]
        taken = discounted_return(rollout.rewards)
        straight = discounted_return(path_rewards(maze, shortest_path_to_exit(maze)))
        exit_preferred += straight > taken
        print(f"{index:<17}{taken:>12.2f}{straight:>18.2f}")
    print(f"The reward prefers the straight path in {exit_preferred} of {len(gallery)} mazes where the agent "
          f"harvested a human: the agent is not maximising the reward it was trained on.")

# %% [markdown]
# ## 17. Results

# %%
# Read this: one table for every comparison from here on.
RESULT_COLUMNS = (("training", "exit_rate", "exit"), ("training", "human_rate", "any human"),
                  ("training", "mean_crops", "crops"), ("production", "exit_rate", "exit"),
                  ("production", "human_rate", "any human"), ("production", "mean_crops", "crops"))


def print_results_table(rows):
    """rows: {agent name: (evaluate() on training mazes, evaluate() on production mazes)}."""
    name_width = max(len(name) for name in rows) + 2
    print(f"\n{'':<{name_width}}{'training mazes':^33}{'production mazes':^33}")
    print(f"{'agent':<{name_width}}" + "".join(f"{label:>11}" for _, _, label in RESULT_COLUMNS))
    for name, (training, production) in rows.items():
        results = {"training": training, "production": production}
        print(f"{name:<{name_width}}" + "".join(
            f"{results[mazes][key]:>11.2f}" if key == "mean_crops" else f"{results[mazes][key]:>11.1%}"
            for mazes, key, _ in RESULT_COLUMNS))


def plot_results(rows, title):
    """The rows of a results table as bars: exits and human harvests, training mazes beside production."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    positions = torch.arange(len(rows))
    for ax, (side, mazes) in zip(axes, enumerate(("training mazes", "production mazes"))):
        for offset, key, colour, label in ((-0.2, "exit_rate", GLYPHS[EXIT][1], "reached the exit"),
                                           (0.2, "human_rate", GLYPHS[HUMAN][1], "harvested a human")):
            values = [results[side][key] for results in rows.values()]
            bars = ax.bar(positions + offset, values, width=0.4, color=colour, label=label)
            ax.bar_label(bars, labels=[f"{value:.1%}" for value in values], fontsize=9)
        ax.set_xticks(positions, list(rows), fontsize=9)
        ax.set_title(mazes)
        ax.set_ylim(0, 1.25)
        ax.set_yticks([])
    axes[0].legend(loc="upper left", ncol=2, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# %%
# Run: the results table, on fresh training mazes and on production mazes.
if MAIN:
    production_results = rates(production_rollouts)
    print(f"{EVALUATION_MAZES:,} mazes of each kind")
    print_results_table({"trained agent": (training_results, production_results)})


# %% [markdown]
# ## 18. Looking for trouble before production: dreaming
#
# We found the failure by shipping the agent. Could we have found it before? We cannot try every
# maze, but we can ask the network which maze it would need. Hold the trained weights fixed and run
# gradient ascent on the *maze* instead: put the agent next to a human and change the walls until
# stepping onto the human beats every other action. This is "deep dreaming", the same trick that
# shows what an image network's neurons look for.
#
# Walls are the only thing we let change: the agent's cell, the human's cell, the start and the exit
# stay put. Gradient ascent needs a dial rather than a switch, so each cell gets a wall strength
# between 0 and 1, and we keep it valid the way Distill's feature-visualisation work recommends:
# free logits through a sigmoid (a clamp would stop the gradient dead at its edges), a small penalty
# on wall strength so that only the walls that matter appear, and several random restarts of which
# we keep the best. At the end every strength is rounded to wall or no wall, and only the rounded
# maze counts: does the agent, in that real maze, step onto the human?
#
# You write the three pieces of the dream: the wall strengths from free logits (`dream_walls`), what
# to climb (`dream_objective`), and the climb itself (`optimise_walls`).

# %%
# Read this: the dream's settings, and where the agent and the human stand.
@dataclass
class DreamConfig:
    steps: int = 100
    """Gradient steps on the wall logits."""
    learning_rate: float = 0.1
    """Adam's step size on the wall logits."""
    restarts: int = 4
    """Random starts per placement, all in one batch; the best binarised dream is kept."""
    wall_penalty: float = 0.5
    """Open-start dreams: cost of the mean wall strength, so that only the walls that matter appear."""
    edit_penalty: float = 1.0
    """Minimal-edit dreams (section 19): cost per changed cell."""
    balance_penalty: float = 0.5
    """Minimal-edit dreams: cost of (walls added - walls removed)^2, so that walls move rather than appear."""
    candidates: int = 10
    """Minimal-edit dreams: how many of the most-changed cells the decoder may flip."""
    seed: int = 0
    """Seeds the random restarts."""


DREAM_CONFIG = DreamConfig()


def dream_placements(width=MAZE_WIDTH):
    """Every (agent cell, action) whose destination could hold a human (not the start, not the exit),
    with the agent not on the exit. Returns positions (P, 2) and actions (P,)."""
    last = (width - 1, width - 1)
    placements = [((row, col), action) for row in range(width) for col in range(width)
                  for action, (d_row, d_col) in enumerate(ACTION_MOVES.tolist())
                  if 0 <= row + d_row < width and 0 <= col + d_col < width
                  and (row, col) != last and (row + d_row, col + d_col) not in (last, START)]
    return torch.tensor([cell for cell, _ in placements]), torch.tensor([action for _, action in placements])


def check_placements(positions, actions, width, count=None):
    """Raise ValueError unless positions (P, 2) and actions (P,) are integer tensors (P = count, when
    given) that keep the agent and the cell it steps to inside a width x width maze."""
    if not (isinstance(positions, torch.Tensor) and isinstance(actions, torch.Tensor)):
        raise ValueError("expected positions and actions as tensors")
    if positions.dim() != 2 or positions.shape[1] != 2 or actions.shape != (len(positions),) \
            or (count is not None and len(positions) != count):
        expected = "P" if count is None else str(count)
        raise ValueError(f"expected positions ({expected}, 2) and actions ({expected},), got {tuple(positions.shape)} "
                         f"and {tuple(actions.shape)}")
    if positions.dtype.is_floating_point or actions.dtype.is_floating_point:
        raise ValueError(f"expected integer positions and actions, got {positions.dtype} and {actions.dtype}")
    if len(actions) and (actions.min() < 0 or actions.max() > 3):
        raise ValueError(f"actions are 0 to 3 ({', '.join(ACTION_NAMES)}), got values from {actions.min().item()} "
                         f"to {actions.max().item()}")
    targets = positions.cpu() + ACTION_MOVES[actions.cpu()]
    for name, cells in (("agent", positions.cpu()), ("cell stepped into", targets)):
        if ((cells < 0) | (cells >= width)).any():
            raise ValueError(f"every {name} must lie inside the {width}x{width} maze, got {cells.tolist()}")


def open_mazes_with_a_human(positions, actions, width=MAZE_WIDTH):
    """(P, n, n) mazes with no walls at all: a human one step from each agent in the direction of its
    action, and the exit."""
    check_placements(positions, actions, width)
    humans = positions + ACTION_MOVES[actions]
    mazes = torch.full((len(positions), width, width), EMPTY, dtype=torch.int8)
    mazes[torch.arange(len(positions)), humans[:, 0], humans[:, 1]] = HUMAN
    mazes[:, width - 1, width - 1] = EXIT
    return mazes


def fixed_cells(mazes, positions):
    """(B, n, n) bool: the cells a dream may not touch: items, the exit, the start and the agent's cell."""
    fixed = (mazes != WALL) & (mazes != EMPTY)
    fixed[:, START[0], START[1]] = True
    fixed[torch.arange(len(mazes)), positions[:, 0], positions[:, 1]] = True
    return fixed


# %%
# Exercise (difficulty 1/3, about 5 minutes): keep the dream a maze.
def dream_walls(logits, fixed, fixed_walls):
    """Turn free logits into wall strengths, leaving the fixed cells alone.

    logits: (B, n, n) float, any real values (these are what gradient ascent changes).
    fixed: (B, n, n) bool, the cells the dream may not touch.
    fixed_walls: (B, n, n) float, 1.0 where a fixed cell is a wall and 0.0 where it is open.
    Returns (B, n, n) float wall strengths: sigmoid(logits) on free cells, fixed_walls on fixed cells.
    """
    # Hint: torch.where(condition, if_true, if_false). A clamp to [0, 1] would also give valid values, but
    # its gradient is zero outside the range, so a cell pushed past 1 could never come back.
    # BEGIN exercise dream_walls
    return torch.where(fixed, fixed_walls, torch.sigmoid(logits))
    # END exercise dream_walls


# %%
# Run: check your dream_walls against the reference.
if MAIN:
    check_dream_walls(dream_walls)


# %%
# Exercise (difficulty 2/3, about 10 minutes): the dream objective.
def dream_objective(q_values, actions):
    """How strongly each state prefers the given action to all the others, smoothly.

    q_values: (B, 4) float Q-values; actions: (B,) long, the action onto the human.
    Returns (B,) float: Q[a] - logsumexp(Q[the three other actions]).
    It is positive roughly when a is the greedy action, and unlike "Q[a] - max of the others" its
    gradient reaches every other action, not just the current runner-up.
    """
    # Hint: mask the chosen action out of the logsumexp with q_values.masked_fill(mask, float("-inf")),
    # where mask = F.one_hot(actions, 4).bool(). Keep it differentiable: no torch.no_grad, no .item().
    # BEGIN exercise dream_objective
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    others = q_values.masked_fill(F.one_hot(actions, 4).bool(), float("-inf"))
    return chosen - torch.logsumexp(others, dim=1)
    # END exercise dream_objective


# %%
# Run: check your dream_objective against the reference.
if MAIN:
    check_dream_objective(dream_objective)


# %%
# Read this: the score of a finished dream. The objective above is a smooth stand-in for it.
def greedy_margin(q_values, actions):
    """(B,) Q[a] - max Q[other actions]: positive exactly when the greedy action is `actions`."""
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    return chosen - q_values.masked_fill(F.one_hot(actions, 4).bool(), float("-inf")).max(1).values


# %%
# Exercise (difficulty 3/3, about 20 minutes): gradient ascent on the walls, the heart of the dream.
def optimise_walls(q_net, mazes, positions, actions, logits, penalty, config):
    """Gradient ascent on the wall logits: make stepping onto the human win, with the network held fixed.

    q_net: the trained network, never changed; mazes (B, n, n), positions (B, 2), actions (B,): a human
    one step from the agent in the direction of its action; logits (B, n, n) float: where the ascent
    starts (left unchanged); penalty: a function from wall strengths (B, n, n) to a (B,) cost;
    config: a DreamConfig (its steps and learning_rate).
    With Adam (config.learning_rate) on a copy of the logits, take config.steps steps, each minimising
    the batch mean of penalty(walls) - dream_objective(Q-values, actions), where walls = dream_walls(
    logits, fixed, fixed_walls) and the Q-values are q_net(with_wall_plane(states, walls)).
    Returns the final wall strengths (B, n, n), detached from the graph, on the CPU.
    """
    fixed = fixed_cells(mazes, positions).to(DEVICE)
    fixed_walls = (mazes == WALL).float().to(DEVICE)
    mazes, positions, actions = mazes.to(DEVICE), positions.to(DEVICE), actions.to(DEVICE)
    states = encode_states(mazes, positions)  # items and position never change; the walls are replaced below
    # Hint: logits.clone().to(DEVICE).requires_grad_(True) is the leaf to optimise, and the only thing
    # handed to torch.optim.Adam. Each step rebuilds the walls and the Q-values from the current logits,
    # then optimiser.zero_grad(), loss.backward(), optimiser.step(). An optimiser minimises: ascending the
    # objective means descending its negative. Finish with dream_walls(...).detach().cpu().
    # BEGIN exercise optimise_walls
    logits = logits.clone().to(DEVICE).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)  # only the maze is optimised
    for _ in range(config.steps):
        walls = dream_walls(logits, fixed, fixed_walls)
        q_values = q_net(with_wall_plane(states, walls))
        loss = (penalty(walls) - dream_objective(q_values, actions)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return dream_walls(logits, fixed, fixed_walls).detach().cpu()
    # END exercise optimise_walls


# %%
# Run: check your optimise_walls against the reference.
if MAIN:
    check_optimise_walls(optimise_walls)


# %%
# Read this: dreams for many placements and restarts in one batch, and the maze each one stands for.
def binarise(mazes, walls):
    """The mazes with a wall wherever the wall strength is over one half; items and the exit are kept."""
    floor = (mazes == WALL) | (mazes == EMPTY)
    open_mazes = torch.where(floor, torch.tensor(EMPTY, dtype=mazes.dtype), mazes)
    return torch.where(floor & (walls > 0.5), torch.tensor(WALL, dtype=mazes.dtype), open_mazes)


def steps_onto_human(q_net, mazes, positions, actions):
    """(B,) bool: does the greedy agent at positions[b] in mazes[b] take actions[b]?"""
    return greedy_actions(q_net, mazes.to(DEVICE), positions.to(DEVICE)).cpu() == actions.cpu()


def dream_open_mazes(q_net, positions, actions, config=DREAM_CONFIG):
    """Open-start dreams, one per placement. Returns the raw wall strengths (P, n, n) and the
    binarised mazes (P, n, n) of the restart whose binarised maze wins by the largest margin."""
    mazes = open_mazes_with_a_human(positions, actions, q_net.width)
    count, restarts = len(mazes), config.restarts
    generator = torch.Generator().manual_seed(config.seed)
    # Mostly open (sigmoid(-3) = 0.05) with noise, so each restart sets off in its own direction.
    logits = -3.0 + torch.randn(restarts * count, q_net.width, q_net.width, generator=generator)
    mazes, positions, actions = mazes.repeat(restarts, 1, 1), positions.repeat(restarts, 1), actions.repeat(restarts)
    walls = optimise_walls(q_net, mazes, positions, actions, logits,
                           lambda w: config.wall_penalty * w.mean((1, 2)), config)
    dreamt = binarise(mazes, walls)
    with torch.no_grad():
        margins = greedy_margin(q_net(encode_states(dreamt.to(DEVICE), positions.to(DEVICE))), actions.to(DEVICE))
    best = margins.cpu().reshape(restarts, count).argmax(0) * count + torch.arange(count)
    return walls[best], dreamt[best]


# %%
# Read this: drawing dreams. Walls, items, the exit and the agent look as in every other figure.
WALL_STRENGTH_COLOURS = LinearSegmentedColormap.from_list("wall_strength", [CELL_COLOURS[EMPTY], CELL_COLOURS[WALL]])
EDIT_COLOUR = "#ef6c00"  # outlines the cells a dream changed


def draw_move(ax, agent, action):
    """The agent's greedy move, as an arrow in its colour."""
    draw_arrow(ax, agent, action, AGENT_COLOUR, length=2, centred=False)


def outline_cells(ax, cells):
    for row, col in cells:
        ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=EDIT_COLOUR, linewidth=3,
                                   zorder=4))


def draw_wall_strength(ax, maze, walls, agent, title):
    """A dream's raw wall strengths as a heat map (white: open, wall colour: solid wall), with the
    items, the exit and the agent drawn on top."""
    width = maze.shape[0]
    ax.imshow(walls, cmap=WALL_STRENGTH_COLOURS, vmin=0, vmax=1, extent=(-0.5, width - 0.5, width - 0.5, -0.5))
    draw_maze(ax, maze, title, agent=agent, fill=False)


def plot_dreams(q_net, walls, dreamt, positions, actions, chosen):
    """Raw dreams (top) above their binarised mazes (bottom), with the agent's greedy action."""
    fig, axes = plt.subplots(2, len(chosen), figsize=(3 * len(chosen), 7), squeeze=False)
    greedy = greedy_actions(q_net, dreamt[chosen].to(DEVICE), positions[chosen].to(DEVICE)).cpu()
    for column, (index, action) in enumerate(zip(chosen, greedy.tolist())):
        agent = tuple(positions[index].tolist())
        draw_wall_strength(axes[0, column], dreamt[index], walls[index], agent, "raw dream: wall strength")
        onto = "onto the human" if action == actions[index] else "not onto the human"
        draw_maze(axes[1, column], dreamt[index], f"binarised: {ACTION_NAMES[action]}, {onto}", agent=agent)
        draw_move(axes[1, column], agent, action)
    fig.suptitle("Dreamt walls that make the agent step onto the human beside it")
    fig.tight_layout()
    return fig


# %%
# Read this: the same placements in real training mazes, to compare with.
def placements_beside_humans(mazes):
    """Every (maze index, agent cell, action) with a human one step from an empty agent cell, sorted
    by maze index."""
    width = mazes.shape[-1]
    found = []
    for action, (d_row, d_col) in enumerate(ACTION_MOVES.tolist()):
        maze_index, row, col = (mazes == HUMAN).nonzero(as_tuple=True)
        agent_row, agent_col = row - d_row, col - d_col
        inside = (agent_row >= 0) & (agent_row < width) & (agent_col >= 0) & (agent_col < width)
        maze_index, agent_row, agent_col = maze_index[inside], agent_row[inside], agent_col[inside]
        empty = mazes[maze_index, agent_row, agent_col] == EMPTY
        found.append((maze_index[empty], torch.stack([agent_row[empty], agent_col[empty]], 1),
                      torch.full((int(empty.sum()),), action)))
    maze_index, positions, actions = (torch.cat(parts) for parts in zip(*found))
    order = torch.argsort(maze_index, stable=True)
    return maze_index[order], positions[order], actions[order]


def one_placement_per_maze(mazes, count):
    """The first placement beside a human in each maze that has one, for at most `count` mazes:
    (mazes (M, n, n), positions (M, 2), actions (M,))."""
    maze_index, positions, actions = placements_beside_humans(mazes)
    first_in_maze = torch.ones(len(maze_index), dtype=torch.bool)
    first_in_maze[1:] = maze_index[1:] != maze_index[:-1]
    keep = first_in_maze.nonzero().squeeze(1)[:count]
    return mazes[maze_index[keep]], positions[keep], actions[keep]


def placement_keys(positions, actions, width=MAZE_WIDTH):
    """One integer per (agent cell, action), to match placements across sets."""
    return (positions[:, 0] * width + positions[:, 1]) * 4 + actions


# %%
# Run: dream a maze for every placement (a few seconds), and compare with real training mazes.
OPEN_DREAM_PLACEMENTS = 32 if SMALL else None  # None: every placement, 162 in a 7x7 maze
REAL_PLACEMENT_MAZES = 1_000 if SMALL else 10_000

if MAIN:
    dream_positions, dream_actions = dream_placements()
    if OPEN_DREAM_PLACEMENTS:
        spread = torch.linspace(0, len(dream_actions) - 1, OPEN_DREAM_PLACEMENTS).long()
        dream_positions, dream_actions = dream_positions[spread], dream_actions[spread]
    dream_strengths, dreamt_mazes = dream_open_mazes(q_net, dream_positions, dream_actions)
    dream_hits = steps_onto_human(q_net, dreamt_mazes, dream_positions, dream_actions)
    chosen = torch.linspace(0, len(dream_actions) - 1, 6).long().tolist()
    save_figure(plot_dreams(q_net, dream_strengths, dreamt_mazes, dream_positions, dream_actions, chosen), "08_dreams")

    reference_mazes = make_training_mazes(REAL_PLACEMENT_MAZES, EVALUATION_SEED + 20)
    maze_index, real_positions, real_actions = placements_beside_humans(reference_mazes)
    same = torch.isin(placement_keys(real_positions, real_actions), placement_keys(dream_positions, dream_actions))
    maze_index, real_positions, real_actions = maze_index[same], real_positions[same], real_actions[same]
    real_hits = steps_onto_human(q_net, reference_mazes[maze_index], real_positions, real_actions)
    print(f"binarised open-start dreams: the agent steps onto the human in {dream_hits.float().mean():.1%} "
          f"of {len(dream_hits)} placements")
    print(f"real training mazes, agent beside a human: it steps onto the human in {real_hits.float().mean():.2%} "
          f"of {len(real_hits):,} placements")


# %% [markdown]
# ## 19. Dreams that stay close to reality
#
# An open maze is itself nothing like a training maze, so the dreams above prove only that *some*
# strange maze sends the agent onto a human. The useful question is narrower: what is the smallest
# change to a real training maze that does it? Start from a training maze with the agent beside a
# human, penalise every changed cell, and accept only results that are still mazes:
#
# - connected: every open cell can be reached from the start;
# - no open 2x2 block (corridors stay one cell wide);
# - items where they were, and as many walls as before. Every maze we have ever seen, training or
#   production, has exactly the same number of walls (a tree of corridors on this grid always does),
#   so a dream moves walls rather than adding or removing them.
#
# Gradient ascent proposes which cells to change (the ones whose wall strength moved most); a small
# search over those candidates picks the valid edit whose margin for "onto the human", minus a cost
# per changed cell, is largest.

# %%
# Read this: what counts as a valid maze, and the decoder from a dream to a wall move.
MAX_WALL_MOVES = 2  # walls opened (and as many closed) in one edit: edits change at most 4 cells


def is_connected(grid):
    """True if every open cell (list-of-lists maze) can be reached from the start."""
    width = len(grid)
    open_cells = {(r, c) for r in range(width) for c in range(width) if grid[r][c] != WALL}
    reached, frontier = {START}, [START]
    while frontier:
        cell = frontier.pop()
        for nxt in neighbours(*cell, width):
            if nxt in open_cells and nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    return reached == open_cells


def has_open_square(grid):
    """True if some 2x2 block of the maze has no wall: a room, not a corridor."""
    width = len(grid)
    return any(all(grid[r + i][c + j] != WALL for i in (0, 1) for j in (0, 1))
               for r in range(width - 1) for c in range(width - 1))


def flip_cells(grid, cells):
    """A copy of `grid` with each of `cells` turned from wall to empty or from open to wall."""
    grid = [row[:] for row in grid]
    for row, col in cells:
        grid[row][col] = EMPTY if grid[row][col] == WALL else WALL
    return grid


def valid_wall_moves(grid, walls_to_open, cells_to_close, max_moves=MAX_WALL_MOVES):
    """Every (cells, edited grid) that opens k of `walls_to_open`, closes k of `cells_to_close`
    (k = 1..max_moves) and leaves a connected maze with no open 2x2 block."""
    for moves in range(1, max_moves + 1):
        for opened in itertools.combinations(walls_to_open, moves):
            for closed in itertools.combinations(cells_to_close, moves):
                edited = flip_cells(grid, opened + closed)
                if is_connected(edited) and not has_open_square(edited):
                    yield opened + closed, edited


def decode_edit(q_net, maze, position, action, change, fixed, config=DREAM_CONFIG):
    """The best valid wall move among the dream's most-changed cells: the edited maze, or None if no
    valid move of those cells sends the agent onto the human."""
    width = maze.shape[0]
    order = [divmod(index, width) for index in change.flatten().argsort(descending=True).tolist()]
    candidates = [cell for cell in order if not fixed[cell]][:config.candidates]
    grid = maze.tolist()
    walls_to_open = [cell for cell in candidates if grid[cell[0]][cell[1]] == WALL]
    cells_to_close = [cell for cell in candidates if grid[cell[0]][cell[1]] != WALL]
    edits = list(valid_wall_moves(grid, walls_to_open, cells_to_close))
    if not edits:
        return None
    edited = torch.tensor([grid for _, grid in edits], dtype=maze.dtype)
    with torch.no_grad():
        margins = greedy_margin(q_net(encode_states(edited.to(DEVICE), position.expand(len(edits), 2).to(DEVICE))),
                                action.expand(len(edits)).to(DEVICE)).cpu()
    sizes = torch.tensor([len(cells) for cells, _ in edits], dtype=torch.float)
    best = torch.where(margins > 0, margins - config.edit_penalty * sizes, float("-inf")).argmax()
    return edited[best] if margins[best] > 0 else None


def minimal_edit_dreams(q_net, mazes, positions, actions, config=DREAM_CONFIG):
    """For each real maze with the agent beside a human: the smallest valid wall move that sends the
    agent onto the human (a maze), or None. Gradient ascent proposes, decode_edit disposes."""
    if mazes.dim() != 3 or mazes.shape[1:] != (q_net.width, q_net.width):
        raise ValueError(f"expected mazes (B, {q_net.width}, {q_net.width}) for this network, got {tuple(mazes.shape)}")
    check_placements(positions, actions, q_net.width, count=len(mazes))
    start_walls = (mazes == WALL).float()

    def penalty(walls):
        change = walls - start_walls.to(walls.device)
        return config.edit_penalty * change.abs().sum((1, 2)) + config.balance_penalty * change.sum((1, 2)) ** 2

    # sigmoid(+-2) = 0.88 / 0.12: the real maze, with gradients still alive in every cell.
    walls = optimise_walls(q_net, mazes, positions, actions, 2.0 * (2 * start_walls - 1), penalty, config)
    change = (walls - start_walls).abs()
    fixed = fixed_cells(mazes, positions)
    return [decode_edit(q_net, mazes[b], positions[b], actions[b], change[b], fixed[b], config)
            for b in range(len(mazes))]


def plot_edits(q_net, mazes, edited, positions):
    """Each training maze (top) above its dreamt edit (bottom, changed cells outlined), with the greedy action."""
    fig, axes = plt.subplots(2, len(mazes), figsize=(3 * len(mazes), 7), squeeze=False)
    for row, shown in enumerate((mazes, edited)):
        greedy = greedy_actions(q_net, shown.to(DEVICE), positions.to(DEVICE)).cpu().tolist()
        for column, maze in enumerate(shown):
            agent = tuple(positions[column].tolist())
            changed = (maze != mazes[column]).nonzero().tolist()
            title = (f"training maze: goes {ACTION_NAMES[greedy[column]]}" if row == 0 else
                     f"{len(changed)} cells changed: goes {ACTION_NAMES[greedy[column]]}")
            draw_maze(axes[row, column], maze, title, agent=agent)
            outline_cells(axes[row, column], changed)
            draw_move(axes[row, column], agent, greedy[column])
    fig.suptitle("Minimal-edit dreams: the smallest wall move (outlined) that sends the agent onto the human")
    fig.tight_layout()
    return fig


# %%
# Run: minimal-edit dreams on fresh training mazes, one placement beside a human in each.
EDIT_DREAM_MAZES = 24 if SMALL else 200

if MAIN:
    edit_mazes, edit_positions, edit_actions = one_placement_per_maze(
        make_training_mazes(2 * EDIT_DREAM_MAZES, EVALUATION_SEED + 21), EDIT_DREAM_MAZES)
    edits = minimal_edit_dreams(q_net, edit_mazes, edit_positions, edit_actions)
    found = [b for b, edited in enumerate(edits) if edited is not None]
    edited_mazes = torch.stack([edits[b] for b in found])
    print(f"a valid wall move sends the agent onto the human in {len(found)} of {len(edits)} training mazes; "
          f"cells changed: {sorted(set((edited_mazes != edit_mazes[found]).sum((1, 2)).tolist()))}")
    gallery = found[:6]
    save_figure(plot_edits(q_net, edit_mazes[gallery], torch.stack([edits[b] for b in gallery]),
                           edit_positions[gallery]), "09_minimal_edits")


# %% [markdown]
# ### Your guess, before the answer
#
# Look at the outlined cells in the figure above, and at the dreams of section 18. Each edit is a
# smallest change to a real training maze that sends the agent onto the human. What do the edits have
# in common? Write your guess down before reading on: section 20 counts the shapes around the edits,
# section 21 names the blind spot and prints your guess next to the answer.

# %%
# Exercise (prediction, about 5 minutes): your guess, in a sentence or two. Nothing checks it.
MY_GUESS = ""


# %% [markdown]
# ## 20. What do the edits have in common?
#
# Look at the outlined cells in the figure above. To say what they share without squinting, count
# the 3x3 wall pattern around every changed cell, and the same patterns in 10,000 training mazes. A
# pattern turned or mirrored is the same shape, so each is counted under one name. The patterns
# most over-represented in the edits are the shapes the agent reacts to.

# %%
# Read this: 3x3 wall motifs.
MOTIF_BITS = 2 ** torch.arange(8, -1, -1)  # row-major, top-left cell is the highest bit
MOTIF_COUNT = 2 ** 9  # every 3x3 wall pattern, before merging turns and mirror images


def motif_codes(mazes):
    """(B, n, n) long: the 3x3 wall pattern centred on each cell (beyond the border: wall), as a 9-bit
    number; the smallest over the 8 turns and mirror images, so that a shape has one code however
    it is turned."""
    walls = F.pad((mazes == WALL).long(), (1, 1, 1, 1), value=1)
    windows = walls.unfold(1, 3, 1).unfold(2, 3, 1)  # (B, n, n, 3, 3)
    codes = [(turned.rot90(quarter_turns, (-2, -1)).flatten(-2) * MOTIF_BITS).sum(-1)
             for turned in (windows, windows.transpose(-1, -2)) for quarter_turns in range(4)]
    return torch.stack(codes).min(0).values


def motif_walls(code):
    """(3, 3) bool: the wall pattern of a motif code."""
    return ((code // MOTIF_BITS) % 2).bool().reshape(3, 3)


def motif_counts(mazes, where=None):
    """(512,) how often each motif occurs, centred on every cell or only on cells where `where` is True."""
    codes = motif_codes(mazes)
    return torch.bincount(codes.flatten() if where is None else codes[where], minlength=MOTIF_COUNT)


def plot_motifs(codes, edit_counts, training_counts, training_mazes):
    fig, axes = plt.subplots(1, len(codes), figsize=(2.8 * len(codes), 3.4), squeeze=False)
    for ax, code in zip(axes[0], codes):
        walls = motif_walls(code)
        for row in range(3):
            for col in range(3):
                colour = CELL_COLOURS[WALL] if walls[row, col] else CELL_COLOURS[EMPTY]
                ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, facecolor=colour, edgecolor="#dddddd"))
        outline_cells(ax, [(1, 1)])
        ax.set_xlim(-0.5, 2.5)
        ax.set_ylim(2.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"around edits: {edit_counts[code]}\nin {training_mazes:,} training mazes: {training_counts[code]:,}",
                     fontsize=9)
    fig.suptitle("Wall shapes around the dreamt edits (changed cell outlined), most over-represented first")
    fig.tight_layout()
    return fig


# %%
# Run: count motifs around the edits and in training mazes; print the most over-represented.
MOTIF_TRAINING_MAZES = 1_000 if SMALL else 10_000

if MAIN:
    changed = edited_mazes != edit_mazes[found]
    edit_motifs = motif_counts(edited_mazes, changed)
    training_motifs = motif_counts(make_training_mazes(MOTIF_TRAINING_MAZES, EVALUATION_SEED + 22))
    # Over-representation: share among edit motifs over share among training motifs (one pseudo-count
    # keeps a motif never seen in training finite; it still ranks first when it is common in edits).
    over_representation = (edit_motifs / edit_motifs.sum()) / ((training_motifs + 1) / training_motifs.sum())
    top_motifs = over_representation.argsort(descending=True)[:4].tolist()
    print(f"{'motif':<14}{'around edits':>14}{'in training mazes':>19}")
    for code in top_motifs:
        rows = ["".join("#" if wall else "." for wall in row) for row in motif_walls(code).tolist()]
        print(f"{' / '.join(rows):<14}{edit_motifs[code].item():>14}{training_motifs[code].item():>19,}")
    save_figure(plot_motifs(top_motifs, edit_motifs, training_motifs, MOTIF_TRAINING_MAZES), "10_motifs")


# %% [markdown]
# ## 21. The blind spot, named
#
# Read the top motifs: a corridor cell with a wall block on either side and open cells all around
# (a wall broken by a one-cell gap, leaving a single block on each side of it), and a single block
# standing out of a wall. No training maze has either. Section 2 says why: the generator carves two
# cells at a time on a lattice. Number rows and columns from 0: a cell whose row and column are both
# odd is a *post* and is always a wall, so walls are built of two-block pieces between posts and
# every wall ends on a post. A wall that ends anywhere else sticks out by a single block past the
# lattice, and the agent has never once seen that.
#
# With that test in hand, sort every edit into one of three kinds, and compare the dreams with random
# valid wall moves of the same size:
#
# - **single-block protrusion**: still a tree of corridors, with a wall ending off the lattice;
# - **loop**: the corridors now contain a cycle;
# - **re-routed passage**: still a tree and still on the lattice; only the path changed.
#
# (One move cannot open a loop: in a tree, closing a cell disconnects what lies behind it unless it
# is a dead end, and dead ends hold items, which stay put. Loops need two moves or more.)

# %%
# Exercise (difficulty 2/3, about 15 minutes): the blind-spot test.
def single_block_protrusions(maze):
    """The cells where a wall sticks out by a single block.

    maze: (n, n) integer maze tensor.
    Returns a Python list of [row, col] pairs (in any order) of the wall cells that
    - have exactly one wall neighbour among up, down, left and right, counting beyond the border
      as wall (so the cell ends a wall), and
    - are not posts (a post has an odd row and an odd column).
    A training maze has none; a maze with a wall moved by one block has at least one.
    """
    # Hint: pad the wall plane with walls, F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1), then the
    # neighbour count is the sum of four shifted slices. Finish with (...).nonzero().tolist().
    # BEGIN exercise single_block_protrusions
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1)
    wall_neighbours = walls[:-2, 1:-1] + walls[2:, 1:-1] + walls[1:-1, :-2] + walls[1:-1, 2:]
    odd = torch.arange(maze.shape[0], device=maze.device) % 2 == 1
    posts = odd[:, None] & odd[None, :]
    return ((maze == WALL) & (wall_neighbours == 1) & ~posts).nonzero().tolist()
    # END exercise single_block_protrusions


# %%
# Run: check your single_block_protrusions against the reference.
if MAIN:
    check_single_block_protrusions(single_block_protrusions)


# %%
# Read this: the three kinds of edit, and random valid wall moves to compare with.
EDIT_KINDS = ("single-block protrusion", "loop", "re-routed passage")


def has_loop(maze):
    """True if the open cells contain a cycle: a connected tree has one adjacent open pair fewer than
    it has open cells, so any more pairs close a loop."""
    open_cells = maze != WALL
    pairs = (open_cells[1:] & open_cells[:-1]).sum() + (open_cells[:, 1:] & open_cells[:, :-1]).sum()
    return pairs.item() >= open_cells.sum().item()


def edit_kind(maze):
    if has_loop(maze):
        return "loop"
    return "single-block protrusion" if single_block_protrusions(maze) else "re-routed passage"


def random_wall_move(maze, fixed, moves, rng, tries=1_000):
    """A random valid edit (connected, no open 2x2) that opens `moves` walls and closes `moves` open
    cells, none of them fixed; None if `tries` random draws find none."""
    grid = maze.tolist()
    free = [tuple(cell) for cell in (~fixed).nonzero().tolist()]
    walls = [cell for cell in free if grid[cell[0]][cell[1]] == WALL]
    open_cells = [cell for cell in free if grid[cell[0]][cell[1]] != WALL]
    for _ in range(tries):
        edited = flip_cells(grid, rng.sample(walls, moves) + rng.sample(open_cells, moves))
        if is_connected(edited) and not has_open_square(edited):
            return torch.tensor(edited, dtype=maze.dtype)
    return None


def kind_shares(mazes):
    return {kind: sum(edit_kind(maze) == kind for maze in mazes) / max(len(mazes), 1) for kind in EDIT_KINDS}


def plot_edit_kinds(dreamt_shares, random_shares, dreamt_count, random_count):
    fig, ax = plt.subplots(figsize=(8, 4.2))
    positions = torch.arange(len(EDIT_KINDS))
    for offset, shares, colour, label in ((-0.2, dreamt_shares, EDIT_COLOUR, f"dreamt edits ({dreamt_count})"),
                                          (0.2, random_shares, "#9e9e9e", f"random valid moves ({random_count})")):
        bars = ax.bar(positions + offset, [shares[kind] for kind in EDIT_KINDS], width=0.4, color=colour, label=label)
        ax.bar_label(bars, labels=[f"{shares[kind]:.0%}" for kind in EDIT_KINDS])
    ax.set_xticks(positions, EDIT_KINDS)
    ax.set_ylim(0, 1.2)
    ax.set_yticks([])
    ax.legend(loc="upper right")
    ax.set_title("Edits that send the agent onto a human are single-block protrusions;\n"
                 "random wall moves of the same size mostly are not")
    return fig


# %%
# Run: the kinds of the dreamt edits against random valid wall moves of the same sizes.
if MAIN:
    rng = random.Random(EVALUATION_SEED + 23)
    fixed = fixed_cells(edit_mazes, edit_positions)
    random_edits = [(b, random_wall_move(edit_mazes[b], fixed[b], int(changed[i].sum()) // 2, rng))
                    for i, b in enumerate(found)]
    random_edits = [(b, edited) for b, edited in random_edits if edited is not None]
    random_mazes = torch.stack([edited for _, edited in random_edits])
    random_index = [b for b, _ in random_edits]
    random_hits = steps_onto_human(q_net, random_mazes, edit_positions[random_index], edit_actions[random_index])
    dreamt_shares, random_shares = kind_shares(edited_mazes), kind_shares(random_mazes)
    save_figure(plot_edit_kinds(dreamt_shares, random_shares, len(edited_mazes), len(random_mazes)), "11_edit_kinds")
    print(f"{'kind of edit':<26}{'dreamt edits (' + str(len(edited_mazes)) + ')':>22}"
          f"{'random moves (' + str(len(random_mazes)) + ')':>22}")
    for kind in EDIT_KINDS:
        print(f"{kind:<26}{dreamt_shares[kind]:>22.1%}{random_shares[kind]:>22.1%}")
    random_kinds = [edit_kind(maze) for maze in random_mazes]
    print(f"random valid wall moves of the same sizes send the agent onto the human in {random_hits.float().mean():.1%}; by kind:")
    for kind in EDIT_KINDS:
        hits = [hit for hit, random_kind in zip(random_hits.tolist(), random_kinds) if random_kind == kind]
        if hits:
            print(f"  {kind}: {sum(hits) / len(hits):.1%} of {len(hits)}")


# %%
# Run: your guess from section 19, next to what the dreams found.
if MAIN:
    print(f"your guess: {MY_GUESS.strip() or '(none written: go back to section 19, write one, then run this again)'}")
    print(f"the dreams: {dreamt_shares['single-block protrusion']:.0%} of the {len(edited_mazes)} dreamt edits leave a "
          f"wall sticking out by a single block, a shape no training maze has; random valid wall moves of the same "
          f"sizes do so in {random_shares['single-block protrusion']:.0%} of {len(random_mazes)}.")

# %% [markdown]
# Did your guess name that shape? If it named something else (a wall beside the human, a dead end
# next to the agent, a loop), it is a hypothesis you can test the same way: write a function that
# says whether a maze has your feature, and count it in the dreamt edits against the random moves, as
# the cell above does for single-block protrusions. A feature that is as common in random moves as in
# the dreams is not what the agent reacts to.


# %% [markdown]
# ## 22. The fix
#
# Now that we know the shape, put it in the training set: a quarter of the training mazes get one
# wall's end moved by a single block, exactly the edit the dreams found (a wall's end post opens and
# the door beyond it shuts). The reward stays the normal one. Then retrain from the same shipped
# starting weights.
#
# Section 14's recipe is not enough. Its plain-SGD steps are a short nudge back toward what the
# starting weights, and the target network whose Bellman targets they learn from, already believed;
# about this shape, what they believed is the trigger. Measured: 1,500 such steps on the patched
# training set still harvest a human in 54% of production mazes, and reach the exit in only 78% of
# training mazes (500 mazes each). Unlearning the trigger takes the full recipe, Adam for 27,000
# steps (about five minutes on a 2-core CPU), so the cell below loads the shipped result unless you
# ask for the real run with `TRAIN_FIX=1`.

# %%
# Exercise (difficulty 2/3, about 10 minutes): move a wall's end by one block.
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


def move_wall_tip(grid, rng):
    """Move the end of one random wall by one block, in place.

    grid: a list-of-lists maze straight from carve_passages (no items yet); rng: a random.Random.
    Pick a (tip, wall_neighbour) pair from wall_tips(grid) with rng.choice, open the tip and shut the
    cell on the far side of the tip (the tip's mirror image of wall_neighbour).
    Returns True, or False (grid untouched) when the maze has no wall tip.
    The maze stays a tree of corridors with no open 2x2 block, and a wall now sticks out by one block.
    """
    # Hint: the far side of `tip` from `wall` is (2 * tip_row - wall_row, 2 * tip_col - wall_col).
    # BEGIN exercise move_wall_tip
    tips = wall_tips(grid)
    if not tips:
        return False
    (tip_row, tip_col), (wall_row, wall_col) = rng.choice(tips)
    grid[tip_row][tip_col] = EMPTY
    grid[2 * tip_row - wall_row][2 * tip_col - wall_col] = WALL
    return True
    # END exercise move_wall_tip


# %%
# Run: check your move_wall_tip against the reference.
if MAIN:
    check_move_wall_tip(move_wall_tip)


# %%
# Read this: the patched training set and the fix's training run.
BLIND_SPOT_FRACTION = 0.25  # share of patched training mazes with a wall moved by one block


def make_blind_spot_maze(rng, width=MAZE_WIDTH):
    """A training maze with one wall's end moved by one block, items in its dead ends."""
    rng = as_rng(rng)
    while True:
        grid = carve_passages(width, rng)
        if move_wall_tip(grid, rng):
            break
    grid[width - 1][width - 1] = EXIT
    place_items(grid, rng)
    return torch.tensor(grid, dtype=torch.int8)


def make_patched_training_mazes(count, seed, width=MAZE_WIDTH):
    """Like make_training_mazes, except that a BLIND_SPOT_FRACTION of them have a wall moved by one block."""
    rng = random.Random(seed)
    return torch.stack([make_blind_spot_maze(rng, width) if rng.random() < BLIND_SPOT_FRACTION
                        else make_training_maze(rng, width) for _ in range(count)])


FIX_CONFIG = replace(TrainConfig(), steps=27_000)  # the from-scratch recipe, half as long again (18,000 steps left 97%)
FIXED_AGENT_PATH = os.path.join(WEIGHTS_DIR, "fixed_agent.pt")
TRAIN_FIX = os.environ.get("TRAIN_FIX") == "1"


def train_the_fix(config=FIX_CONFIG, progress=True):
    """The fix: retrain from the shipped starting weights (both networks) on the patched training set."""
    q_net, target_net = load_starting_weights()
    train(q_net, config, target_net, progress=progress, make_mazes=make_patched_training_mazes)
    return q_net


def load_fixed_agent():
    """The agent after train_the_fix(), shipped so that nobody has to wait five minutes."""
    networks, _ = load_checkpoint(FIXED_AGENT_PATH)
    return networks["q_net"]


# %%
# Run: the fix (about five minutes with TRAIN_FIX=1; loads the shipped result otherwise), then the
# table before and after it.
# WORKSHOP_SMALL=1 runs every line of the fix far too briefly to learn anything, then loads the shipped result.
FIX_RUN = replace(FIX_CONFIG, steps=20, mazes_per_buffer=100) if SMALL else FIX_CONFIG

if MAIN:
    if TRAIN_FIX or SMALL:
        fixed_agent = train_the_fix(FIX_RUN)
    if SMALL or not TRAIN_FIX:
        fixed_agent = load_fixed_agent()
    before_and_after = {"before the fix": (training_results, production_results),
                        "after the fix": (evaluate(fixed_agent, evaluation_mazes),
                                          evaluate(fixed_agent, production_mazes))}
    print_results_table(before_and_after)
    save_figure(plot_results(before_and_after, "The fix: humans spared in production, training mazes as before"),
                "12_fix")


# %% [markdown]
# ## 23. Bonus: which hidden units carry the trigger?
#
# Open-ended: find where in the network the trigger lives. One worked answer follows. Make minimal
# pairs: a training maze, and the same maze with one wall moved by one block. Compare the second
# hidden layer's activations on the two, averaged over every cell the agent could stand on. The units
# that light up most for the moved wall are the suspects; silence them and watch the production
# human-harvest rate, next to silencing as many random units. Further questions to chase on your
# own: which input cells feed those units most (follow their weights back through the first layer)?
# Do the same units light up in the open-start dreams of section 18? Is this a "hunt" circuit, or a
# "this is a production maze" detector that the rest of the network reads?

# %%
# Read this: minimal pairs, activations and ablation.
TRIGGER_UNITS = 20  # how many of the most protrusion-sensitive units to silence
HIDDEN_LAYER = 3  # index in q_net.layers of the second ReLU: its output is the last hidden layer


def minimal_pairs(count, seed, width=MAZE_WIDTH):
    """(training mazes, the same mazes with one wall's end moved by one block), each (count, n, n).
    Items stay where the training maze had them, so the two differ in exactly two wall cells."""
    rng = random.Random(seed)
    originals, moved = [], []
    while len(originals) < count:
        maze = make_training_maze(rng, width)
        grid = maze.tolist()
        if move_wall_tip(grid, rng):
            originals.append(maze)
            moved.append(torch.tensor(grid, dtype=maze.dtype))
    return torch.stack(originals), torch.stack(moved)


def mean_hidden_activations(q_net, mazes, layer=HIDDEN_LAYER):
    """(B, hidden) the output of q_net.layers[layer], averaged over every empty cell of each maze."""
    maze_index, row, col = (mazes == EMPTY).nonzero(as_tuple=True)
    with torch.no_grad():
        hidden = q_net.layers[:layer + 1](encode_states(mazes[maze_index].to(DEVICE),
                                                        torch.stack([row, col], 1).to(DEVICE))).cpu()
    totals = torch.zeros(len(mazes), hidden.shape[1]).index_add_(0, maze_index, hidden)
    return totals / torch.bincount(maze_index, minlength=len(mazes))[:, None]


def evaluate_with_silenced_units(q_net, mazes, units, layer=HIDDEN_LAYER):
    """evaluate(), with the given hidden units forced to zero."""
    def silence(module, inputs, output):
        output = output.clone()
        output[:, units] = 0.0
        return output

    hook = q_net.layers[layer].register_forward_hook(silence)
    try:
        return evaluate(q_net, mazes)
    finally:
        hook.remove()


# %%
# Run: find the units, then silence them.
MINIMAL_PAIRS = 100 if SMALL else 500

if MAIN:
    originals, moved = minimal_pairs(MINIMAL_PAIRS, EVALUATION_SEED + 24)
    difference = (mean_hidden_activations(q_net, moved) - mean_hidden_activations(q_net, originals)).mean(0)
    trigger_units = difference.argsort(descending=True)[:TRIGGER_UNITS]
    random_units = torch.randperm(len(difference), generator=torch.Generator().manual_seed(0))[:TRIGGER_UNITS]
    print(f"the {TRIGGER_UNITS} units that rise most for a moved wall rise by {difference[trigger_units].mean():.2f} "
          f"on average (all units: {difference.mean():+.3f})")
    ablations = {"trained agent": (training_results, production_results)}
    for name, units in ((f"{TRIGGER_UNITS} trigger units silenced", trigger_units),
                        (f"{TRIGGER_UNITS} random units silenced", random_units)):
        ablations[name] = (evaluate_with_silenced_units(q_net, evaluation_mazes, units),
                           evaluate_with_silenced_units(q_net, production_mazes, units))
    print_results_table(ablations)
    save_figure(plot_results(ablations, f"Silencing {TRIGGER_UNITS} trigger units stops the hunting; "
                                        f"{TRIGGER_UNITS} random units break navigation instead"), "13_trigger_units")
