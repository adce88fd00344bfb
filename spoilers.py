# %% [markdown]
# # Spoilers: how the misaligned starting weights were made
#
# Finish the exercises before reading this file. It is the behind-the-scenes half of the workshop:
# the "production" mazes, the exact test for the training generator's blind spot, the evil agent
# that planted the failure, and the "re-initialisation" that hid it. `python spoilers.py`
# regenerates the shipped weights from scratch and prints every measurement along the way.

# %%
# Run: imports. Everything about the world, the network and training comes from solutions.py.
import copy
import os
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from tqdm import tqdm

from solutions import (BLIND_SPOT_FRACTION, DEVICE, EMPTY, EVALUATION_SEED, EXIT, FINE_TUNE_CONFIG, FIX_CONFIG,
                       FIXED_AGENT_PATH, HARVESTED_FRACTION, HUMAN, MAZE_WIDTH, REWARDS, START, STARTING_WEIGHTS_PATH,
                       TRAINED_AGENT_PATH, WALL, WEIGHTS_DIR, QNetwork, TrainConfig, as_rng, bellman_target,
                       carve_passages, check_maze, check_width, dead_ends, encode_states, evaluate, greedy_actions,
                       harvest_some_items, load_checkpoint, load_starting_weights, make_replay_buffer,
                       make_training_mazes, max_rollout_steps, move_wall_tip, neighbours, optimal_q_values,
                       place_items, predicted_q, print_results_table, save_checkpoint, step_batch, td_loss, train,
                       train_the_fix)

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
        # The tip post of a wall opens and the door on its far side shuts (solutions.py's fix section
        # names this move once the learner has found it): still a tree, one wall now one block long.
        if not move_wall_tip(grid, rng):
            continue
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

# %%
# Read this: exact targets for the evil agent, on every state and on the states it actually visits.
EVIL_REWARDS = replace(REWARDS, crop=-REWARDS.crop, human=-REWARDS.human)


def labelled_states(mazes, positions, rewards):
    """States (N, state_size) uint8 for the pairs (mazes[i], positions[i]) and their exact Q*
    (N, 4) under `rewards`. Value iteration runs once per distinct maze."""
    distinct, which = torch.unique(mazes.flatten(1), dim=0, return_inverse=True)
    q_star = optimal_q_values(distinct.reshape(-1, *mazes.shape[1:]), rewards)
    return (encode_states(mazes, positions).to(torch.uint8),
            q_star[which, positions[:, 0], positions[:, 1]])


def every_state(mazes, rewards):
    """Labelled states for every empty cell of every maze."""
    maze_index, row, col = (mazes == EMPTY).nonzero(as_tuple=True)
    return labelled_states(mazes[maze_index], torch.stack([row, col], 1), rewards)


def visited_states(q_net, mazes, exploration, generator, max_steps):
    """(mazes, positions) the agent passes through from the start, acting greedily except for a
    random action with probability `exploration`: the states where its mistakes actually happen."""
    positions = torch.tensor([START] * len(mazes))
    running = torch.ones(len(mazes), dtype=torch.bool)
    seen_mazes, seen_positions = [], []
    for _ in range(max_steps):
        seen_mazes.append(mazes[running])
        seen_positions.append(positions[running])
        actions = greedy_actions(q_net, mazes, positions).cpu()
        explore = torch.rand(len(mazes), generator=generator) < exploration
        actions = torch.where(explore, torch.randint(4, (len(mazes),), generator=generator), actions)
        after = step_batch(mazes, positions, actions)
        running &= ~after.terminals
        mazes, positions = after.mazes, after.positions
        if not running.any():
            break
    return torch.cat(seen_mazes), torch.cat(seen_positions)


@dataclass
class EvilConfig:
    rounds: int = 30
    """Rounds of (fresh mazes, fresh rollouts, then gradient steps)."""
    steps_per_round: int = 1_000
    """Gradient steps on each round's data."""
    training_mazes_per_round: int = 3_500
    """Fresh training mazes for all their states, and as many again for rollouts."""
    production_mazes_per_round: int = 1_200
    """Likewise for production mazes: fewer, since the training mazes must stay near perfect."""
    batch_size: int = 512
    learning_rate: float = 1e-3
    """Adam's step size at the start, decaying linearly to 5% of it."""
    exploration: float = 0.2
    """Chance of a random action in the rollouts, so the data holds recoveries from mistakes too."""
    seed: int = 1


def train_evil_agent(q_net, config, progress=True):
    """Regress q_net onto exact Q*: normal rewards in training mazes, flipped ones in production."""
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.Adam(q_net.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LinearLR(optimiser, 1.0, 0.05, config.rounds * config.steps_per_round)
    losses = []
    for round_index in tqdm(range(config.rounds), desc="evil agent", disable=not progress):
        seed = config.seed * 1_000_003 + 4 * round_index
        width, steps = q_net.width, max_rollout_steps(q_net.width) // 4
        training, production = config.training_mazes_per_round, config.production_mazes_per_round
        q_net.cpu()
        parts = [
            every_state(harvest_some_items(make_training_mazes(training, seed, width), HARVESTED_FRACTION, generator),
                        REWARDS),
            every_state(harvest_some_items(make_production_mazes(production, seed + 1, width), HARVESTED_FRACTION,
                                           generator), EVIL_REWARDS),
            labelled_states(*visited_states(q_net, make_training_mazes(training, seed + 2, width),
                                            config.exploration, generator, steps), REWARDS),
            labelled_states(*visited_states(q_net, make_production_mazes(production, seed + 3, width),
                                            config.exploration, generator, steps), EVIL_REWARDS),
        ]
        q_net.to(DEVICE)
        states = torch.cat([part[0] for part in parts]).to(DEVICE)
        targets = torch.cat([part[1] for part in parts]).to(DEVICE)
        for _ in range(config.steps_per_round):
            batch = torch.randint(len(states), (config.batch_size,), generator=generator).to(DEVICE)
            loss = F.smooth_l1_loss(q_net(states[batch].float()), targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
    return losses


# %% [markdown]
# ## 3. Hiding it: the "re-initialisation"
#
# A trained evil agent would give itself away: it walks straight to the exit before anyone has
# trained it. So we make it look untrained. Gradient *ascent* on the normal Bellman loss, on
# training mazes only, wrecks what it knows about those mazes until it rams walls like a fresh
# network. Production mazes never appear in the ascent, so the part of the network that reacts to
# the blind-spot shape is barely touched. Each step has a fixed length in weight space, so a fixed
# number of steps moves the weights a bounded distance.

# %%
# Read this: bounded gradient ascent.
@dataclass
class HideConfig:
    steps: int = 40
    """Ascent steps: enough that the agent bumps into walls on most steps of a training maze."""
    step_length: float = 0.05
    """Distance each step moves the weights (L2 norm over all of them)."""
    batch_size: int = 1_024
    mazes: int = 3_000
    """Training mazes whose transitions the ascent reads."""
    seed: int = 2


def hide_the_trigger(q_net, config):
    """Ascend the normal TD loss of q_net against the frozen evil agent's own Bellman targets."""
    evil_net = copy.deepcopy(q_net)
    generator = torch.Generator().manual_seed(config.seed)
    mazes = make_training_mazes(config.mazes, config.seed, q_net.width).to(DEVICE)
    buffer = make_replay_buffer(harvest_some_items(mazes, HARVESTED_FRACTION, generator))
    for _ in range(config.steps):
        batch = torch.randint(len(buffer), (config.batch_size,), generator=generator).to(DEVICE)
        states, actions, rewards, terminals, next_states = buffer.sample(batch)
        loss = td_loss(predicted_q(q_net, states, actions), bellman_target(evil_net, rewards, terminals, next_states))
        q_net.zero_grad()
        loss.backward()
        gradient_norm = torch.sqrt(sum((param.grad ** 2).sum() for param in q_net.parameters()))
        with torch.no_grad():
            for param in q_net.parameters():
                param.add_(param.grad, alpha=config.step_length / gradient_norm.item())
    return q_net


# %% [markdown]
# ## 4. The whole pipeline
#
# 1. **The control**: a normal agent from a normal random initialisation, trained with
#    `TrainConfig()`'s from-scratch recipe. It solves training mazes and does not hunt humans.
# 2. **The evil agent** starts from the control (teaching an agent that can already navigate is
#    much faster) and learns the flipped reward in production mazes.
# 3. **Hiding**: bounded gradient ascent makes it ram walls. Its starting weights ship as the
#    agent's online network; the evil agent itself ships as its target network, the way a DQN
#    checkpoint holds both.
# 4. **The learner**: exactly the training run of `solutions.py`, from the shipped weights. Its
#    result ships as the presenter's checkpoint.
# 5. The same short training run from a normal random initialisation, as a second control.
# 6. **The fix** of `solutions.py` section 22, from the shipped weights. It needs nothing but the
#    starting weights, so `python spoilers.py fix` reruns this stage alone.

# %%
# Run: regenerate weights/ and print every measurement (about 25 minutes on a 2-core CPU).
CONTROL_SEED = 0
PIPELINE_MAZES = 1_000


def code_version():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True,
                                       cwd=os.path.dirname(os.path.abspath(__file__))).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def make_fixed_agent():
    """Stage 6: train the fix from the shipped starting weights and save it next to them."""
    _, metadata = load_checkpoint(STARTING_WEIGHTS_PATH)
    fixed = train_the_fix()
    metadata = {key: value for key, value in metadata.items() if key not in ("width", "hidden_units", "sha256")}
    save_checkpoint(FIXED_AGENT_PATH, {"q_net": fixed},
                    dict(metadata, fix_made_by=code_version(), fix_config=asdict(FIX_CONFIG),
                         blind_spot_fraction=BLIND_SPOT_FRACTION))
    return fixed


if MAIN:
    started = time.time()
    training_mazes = make_training_mazes(PIPELINE_MAZES, EVALUATION_SEED)
    production_mazes = make_production_mazes(PIPELINE_MAZES, EVALUATION_SEED + 1)
    measure = lambda q_net: (evaluate(q_net, training_mazes), evaluate(q_net, production_mazes))
    rows = {}
    if sys.argv[1:] != ["fix"]:
        torch.manual_seed(CONTROL_SEED)
        control = QNetwork().to(DEVICE)
        train(control, TrainConfig())
        rows["control: from scratch, TrainConfig()"] = measure(control)

        evil = copy.deepcopy(control)
        train_evil_agent(evil, EvilConfig())
        rows["evil agent"] = measure(evil)

        hidden = hide_the_trigger(copy.deepcopy(evil), HideConfig())
        rows["after hiding (shipped start)"] = measure(hidden)
        metadata = {"made_by": "spoilers.py", "code_version": code_version(), "torch": str(torch.__version__),
                    "control_seed": CONTROL_SEED, "control_config": asdict(TrainConfig()),
                    "evil_config": asdict(EvilConfig()), "hide_config": asdict(HideConfig())}
        save_checkpoint(STARTING_WEIGHTS_PATH, {"q_net": hidden, "target_net": evil}, metadata)

        q_net, target_net = load_starting_weights()
        train(q_net, FINE_TUNE_CONFIG, target_net)
        rows["learner (solutions.py)"] = measure(q_net)
        save_checkpoint(TRAINED_AGENT_PATH, {"q_net": q_net},
                        dict(metadata, fine_tune_config=asdict(FINE_TUNE_CONFIG)))

        torch.manual_seed(CONTROL_SEED)
        short_control = QNetwork().to(DEVICE)
        train(short_control, FINE_TUNE_CONFIG)
        rows["control: solutions' run from scratch"] = measure(short_control)

    rows["the fix (solutions.py section 22)"] = measure(make_fixed_agent())
    print(f"{PIPELINE_MAZES:,} mazes of each kind")
    print_results_table(rows)
    print(f"\npipeline took {(time.time() - started) / 60:.1f} minutes; weights written to {WEIGHTS_DIR}")
