"""The checks are proven: each passes the reference, and catches plausible wrong versions (mutants)
of its exercise, naming the problem. A check that cannot fail checks nothing."""
import os
import re
import signal
import weakref

import pytest
import torch
import torch.nn.functional as F

import checks
import solutions as S
from solutions import ACTION_MOVES, CROP, EMPTY, EXIT, GAMMA, HUMAN, REWARDS, START, WALL, Step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------
# The mutants: each is a mistake a learner could make, with a word the diagnosis must contain.


def dead_ends_with_walls(grid):
    width = len(grid)
    return [(r, c) for r in range(width) for c in range(width)
            if sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) == 1]


def dead_ends_without_the_start(grid):
    width = len(grid)
    return [(r, c) for r in range(width) for c in range(width) if (r, c) != S.START and grid[r][c] != WALL
            and sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) == 1]


def dead_ends_items_closed(grid):
    width = len(grid)
    return [(r, c) for r in range(width) for c in range(width)
            if grid[r][c] != WALL and sum(grid[nr][nc] == EMPTY for nr, nc in S.neighbours(r, c, width)) == 1]


def dead_ends_outside_open(grid):
    width = len(grid)
    return [(r, c) for r in range(width) for c in range(width)
            if grid[r][c] != WALL and sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width))
            + 4 - len(list(S.neighbours(r, c, width))) == 1]


def dead_ends_diagonals(grid):
    width = len(grid)
    around = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    return [(r, c) for r in range(width) for c in range(width)
            if grid[r][c] != WALL and sum(0 <= r + dr < width and 0 <= c + dc < width and grid[r + dr][c + dc] != WALL
                                          for dr, dc in around) == 1]


def dead_ends_column_major(grid):
    return sorted(S.dead_ends(grid), key=lambda cell: (cell[1], cell[0]))


def dead_ends_col_row(grid):
    return [(c, r) for r, c in S.dead_ends(grid)]


def reward_bump_pays_move_too(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move)
    reward += rewards.crop * (cells == CROP) + rewards.human * (cells == HUMAN) + rewards.exit * (cells == EXIT)
    return torch.where(cells == WALL, rewards.bump + rewards.move, reward)


def reward_items_without_move(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move)
    reward = torch.where(cells == CROP, rewards.crop, reward)
    reward = torch.where(cells == HUMAN, rewards.human, reward)
    reward = torch.where(cells == EXIT, rewards.exit, reward)
    return torch.where(cells == WALL, rewards.bump, reward)


def reward_human_subtracted(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move)
    reward += rewards.crop * (cells == CROP) - rewards.human * (cells == HUMAN) + rewards.exit * (cells == EXIT)
    return torch.where(cells == WALL, rewards.bump, reward)


def reward_global_rewards(cells, rewards=REWARDS):
    return S.reward_of_stepping_into(cells, REWARDS)


def reward_no_exit(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move)
    reward += rewards.crop * (cells == CROP) + rewards.human * (cells == HUMAN)
    return torch.where(cells == WALL, rewards.bump, reward)


def steps_without_harvest(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return Step(mazes[maze_index], step.positions, step.rewards, step.terminals)


def steps_harvest_by_maze_index(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    harvest = outcome.harvests[maze_index, positions[:, 0], positions[:, 1], actions]
    next_mazes = mazes[maze_index]
    row, col = step.positions[:, 0], step.positions[:, 1]
    next_mazes[maze_index, row, col] = torch.where(harvest, EMPTY, next_mazes[maze_index, row, col]).to(mazes.dtype)
    return Step(next_mazes, step.positions, step.rewards, step.terminals)


def steps_writing_into_the_callers_mazes(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    harvest = outcome.harvests[maze_index, positions[:, 0], positions[:, 1], actions]
    row, col = step.positions[:, 0], step.positions[:, 1]
    mazes[maze_index, row, col] = torch.where(harvest, EMPTY, mazes[maze_index, row, col]).to(mazes.dtype)
    return Step(mazes[maze_index], step.positions, step.rewards, step.terminals)


def steps_one_maze_each(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return Step(mazes.clone(), step.positions, step.rewards, step.terminals)


def steps_reward_at_swapped_cell(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    rewards = outcome.rewards[maze_index, positions[:, 1], positions[:, 0], actions]
    return Step(step.mazes, step.positions, rewards, step.terminals)


def encode_planes_in_the_wrong_order(mazes):
    return torch.stack([mazes == WALL, mazes == HUMAN, mazes == CROP, mazes == EXIT], dim=1).float()


def encode_exit_as_wall(mazes):
    return torch.stack([mazes <= WALL, mazes == CROP, mazes == HUMAN, mazes == EXIT], dim=1).float()


def encode_stacked_on_the_batch_axis(mazes):
    return torch.stack([mazes == WALL, mazes == CROP, mazes == HUMAN, mazes == EXIT]).float()


def encode_stacked_then_reshaped(mazes):
    return S.encode_mazes(mazes).transpose(0, 1).reshape(len(mazes), 4, *mazes.shape[1:])


def encode_concatenated(mazes):
    return torch.cat([mazes == WALL, mazes == CROP, mazes == HUMAN, mazes == EXIT]).float()


def encode_in_float64(mazes):
    return torch.stack([mazes == WALL, mazes == CROP, mazes == HUMAN, mazes == EXIT], dim=1).double()


def encode_transposed(mazes):
    return S.encode_mazes(mazes.transpose(1, 2))


def encode_without_the_exit(mazes):
    return torch.stack([mazes == WALL, mazes == CROP, mazes == HUMAN], dim=1).float()


def encode_as_bool(mazes):
    return torch.stack([mazes == WALL, mazes == CROP, mazes == HUMAN, mazes == EXIT], dim=1)


def encode_planes_last(mazes):
    return torch.stack([mazes == WALL, mazes == CROP, mazes == HUMAN, mazes == EXIT], dim=-1).float()


def encode_exit_plane_empty(mazes):
    return torch.stack([mazes == WALL, mazes == CROP, mazes == HUMAN, torch.zeros_like(mazes)], dim=1).float()


def best_neighbour(signal):
    return torch.stack([S.one_step_away(signal, action, 0.0) for action in range(4)]).amax(0)


def propagate_with_a_max_pool(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        signal = torch.maximum(sources, relay * F.max_pool2d(signal, 3, stride=1, padding=1))
    return signal


def propagate_with_roll(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        around = [torch.roll(signal, shift, dims) for shift in (1, -1) for dims in (2, 3)]
        signal = torch.maximum(sources, relay * torch.stack(around).amax(0))
    return signal


def propagate_summing_the_neighbours(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        signal = torch.maximum(sources, relay * sum(S.one_step_away(signal, action, 0.0) for action in range(4)))
    return signal


def propagate_forgetting_the_sources(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        signal = relay * best_neighbour(signal)
    return signal


def propagate_adding_the_source(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        signal = sources + relay * best_neighbour(signal)
    return signal


def propagate_with_the_senders_relay(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        signal = torch.maximum(sources, best_neighbour(relay * signal))
    return signal


def propagate_one_round_too_many(sources, relay, rounds):
    signal = sources
    for _ in range(rounds + 1):
        signal = torch.maximum(sources, relay * best_neighbour(signal))
    return signal


def propagate_from_zeros(sources, relay, rounds):
    signal = torch.zeros_like(sources)
    for _ in range(rounds):
        signal = torch.maximum(sources, relay * best_neighbour(signal))
    return signal


def propagate_reading_the_sources(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        signal = torch.maximum(sources, relay * best_neighbour(sources))
    return signal


def propagate_direction_by_direction(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        for action in range(4):  # each direction reads what the one before it wrote
            signal = torch.maximum(signal, relay * S.one_step_away(signal, action, 0.0))
    return signal


def propagate_sweeping_row_by_row(sources, relay, rounds):
    signal = sources.clone()
    for _ in range(rounds):
        for row in range(signal.shape[-2]):  # in place: each row reads the rows above it already updated
            padded = F.pad(signal, (1, 1, 1, 1))
            around = torch.stack([padded[..., row, 1:-1], padded[..., row + 2, 1:-1], padded[..., row + 1, :-2],
                                  padded[..., row + 1, 2:]]).amax(0)
            signal[..., row, :] = torch.maximum(sources[..., row, :], relay[..., row, :] * around)
    return signal


def propagate_into_the_sources(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        torch.maximum(sources.clone(), relay * best_neighbour(signal), out=signal)
    return signal


def propagate_detached(sources, relay, rounds):
    return S.propagate(sources.detach(), relay, rounds)


def q_values_col_row(q_maps, positions):
    return S.q_values_at(q_maps, positions[:, [1, 0]])


def q_values_over_the_batch(q_maps, positions):
    return q_maps[:, :, positions[:, 0], positions[:, 1]]


def q_values_detached(q_maps, positions):
    return S.q_values_at(q_maps, positions).detach()


def q_values_with_the_actions_last(q_maps, positions):
    return q_maps[torch.arange(len(q_maps)), positions[:, 0], positions[:, 1]]


def q_values_from_the_first_position(q_maps, positions):
    return q_maps[torch.arange(len(q_maps)), :, positions[0], positions[1]]


def q_values_one_column_per_maze(q_maps, positions):
    return S.q_values_at(q_maps, positions).T


def greedy_switching_gradients_off_for_good(q_net, mazes, positions):
    torch.set_grad_enabled(False)
    return S.q_values_at(q_net(S.encode_mazes(mazes)), positions).argmax(dim=1)


def greedy_argmin(q_net, mazes, positions):
    with torch.no_grad():
        return S.q_values_at(q_net(S.encode_mazes(mazes)), positions).argmin(dim=1)


def greedy_over_the_batch(q_net, mazes, positions):
    with torch.no_grad():
        return S.q_values_at(q_net(S.encode_mazes(mazes)), positions).argmax(dim=0)


def greedy_values(q_net, mazes, positions):
    with torch.no_grad():
        return S.q_values_at(q_net(S.encode_mazes(mazes)), positions).max(dim=1).values


def greedy_as_floats(q_net, mazes, positions):
    return S.greedy_actions(q_net, mazes, positions).float()


def greedy_col_row(q_net, mazes, positions):
    return S.greedy_actions(q_net, mazes, positions[:, [1, 0]])


def greedy_epsilon(q_net, mazes, positions):
    actions = S.greedy_actions(q_net, mazes, positions)
    explore = torch.rand(len(actions)) < 0.05
    return torch.where(explore, torch.randint(4, actions.shape), actions)


def greedy_epsilon_with_its_own_generator(q_net, mazes, positions):
    actions = S.greedy_actions(q_net, mazes, positions)
    generator = torch.Generator().manual_seed(0)  # the same draws every run: only the actions give it away
    explore = torch.rand(len(actions), generator=generator) < 0.05
    return torch.where(explore, torch.randint(4, actions.shape, generator=generator), actions)


def greedy_softmax_sampling(q_net, mazes, positions):
    with torch.no_grad():
        q_values = S.q_values_at(q_net(S.encode_mazes(mazes)), positions)
    return torch.multinomial(torch.softmax(q_values, dim=1), 1).squeeze(1)


def greedy_without_no_grad(q_net, mazes, positions):
    return S.q_values_at(q_net(S.encode_mazes(mazes)), positions).argmax(dim=1)


def greedy_at_every_cell(q_net, mazes, positions):
    with torch.no_grad():
        return q_net(S.encode_mazes(mazes)).argmax(dim=1)


def target_without_terminal_mask(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.max(dim=-1).values


def target_masks_the_reward_too(next_q, rewards, terminals, gamma=GAMMA):
    return (rewards + gamma * next_q.max(dim=-1).values) * ~terminals


def target_min(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.min(dim=-1).values * ~terminals


def target_mean(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.mean(dim=-1) * ~terminals


def target_global_gamma(next_q, rewards, terminals, gamma=GAMMA):
    return S.bellman_target(next_q, rewards, terminals)


def target_undiscounted(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + next_q.max(dim=-1).values * ~terminals


def target_max_over_dim_0(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.max(dim=0).values * ~terminals


def target_max_over_dim_1(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.max(dim=1).values * ~terminals


def target_keepdim(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.max(dim=-1, keepdim=True).values * ~terminals


def target_one_minus_bool_terminals(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.max(dim=-1).values * (1 - terminals)


def loss_mse(predicted, target):
    return F.mse_loss(predicted, target)


def loss_l1(predicted, target):
    return F.l1_loss(predicted, target)


def loss_sum(predicted, target):
    return F.smooth_l1_loss(predicted, target, reduction="sum")


def loss_per_transition(predicted, target):
    return F.smooth_l1_loss(predicted, target, reduction="none")


def loss_item(predicted, target):
    return F.smooth_l1_loss(predicted, target).item()


def loss_detached(predicted, target):
    return F.smooth_l1_loss(predicted.detach(), target)


def sync_online_towards_target(target_net, q_net, tau):
    S.sync_target(q_net, target_net, tau)


def sync_tau_swapped(target_net, q_net, tau):
    S.sync_target(target_net, q_net, 1 - tau)


def sync_hard_copy(target_net, q_net, tau):
    target_net.load_state_dict(q_net.state_dict())


def sync_rebinding(target_net, q_net, tau):
    with torch.no_grad():
        for target_param, param in zip(target_net.parameters(), q_net.parameters()):
            target_param = (1 - tau) * target_param + tau * param  # noqa: F841 (the mistake: a new name, no update)


def sync_without_no_grad(target_net, q_net, tau):
    for target_param, param in zip(target_net.parameters(), q_net.parameters()):
        target_param.lerp_(param, tau)


def return_off_by_one(rewards, gamma=GAMMA):
    return sum(reward * gamma ** (t + 1) for t, reward in enumerate(rewards))


def return_back_to_front(rewards, gamma=GAMMA):
    return sum(reward * gamma ** t for t, reward in enumerate(reversed(rewards)))


def return_undiscounted(rewards, gamma=GAMMA):
    return sum(rewards)


def return_consuming_the_list(rewards, gamma=GAMMA):
    total = 0.0
    while rewards:
        total = rewards.pop() + gamma * total
    return total


def return_global_gamma(rewards, gamma=GAMMA):
    return S.discounted_return(rewards)


def exit_of(maze):
    return tuple((maze == EXIT).nonzero()[0].tolist())


def breadth_first(maze, take=0, allowed=(EMPTY, EXIT), reverse=True, keep_start=True, exit_cell=None):
    width = maze.shape[0]
    exit_cell = exit_cell or exit_of(maze)
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(take)
        if cell == exit_cell:
            break
        for nxt in S.neighbours(*cell, width):
            if nxt not in came_from and maze[nxt].item() in allowed:
                came_from[nxt] = cell
                frontier.append(nxt)
    path = [exit_cell]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    path = path[::-1] if reverse else path
    return path if keep_start else path[1:]


def path_depth_first(maze):
    return breadth_first(maze, take=-1)


def path_through_items(maze):
    return breadth_first(maze, allowed=(EMPTY, EXIT, CROP, HUMAN))


def path_backwards(maze):
    return breadth_first(maze, reverse=False)


def path_without_start(maze):
    return breadth_first(maze, keep_start=False)


def walls_clamped(logits, fixed, fixed_walls):
    return torch.where(fixed, fixed_walls, logits.clamp(0, 1))


def walls_ignoring_fixed(logits, fixed, fixed_walls):
    return torch.sigmoid(logits)


def walls_fixed_cells_open(logits, fixed, fixed_walls):
    return torch.sigmoid(logits) * ~fixed


def walls_swapped(logits, fixed, fixed_walls):
    return torch.where(fixed, torch.sigmoid(logits), fixed_walls)


def walls_detached(logits, fixed, fixed_walls):
    return torch.where(fixed, fixed_walls, torch.sigmoid(logits)).detach()


def walls_written_into_logits(logits, fixed, fixed_walls):
    with torch.no_grad():
        logits.sigmoid_()
    return torch.where(fixed, fixed_walls, logits)


def objective_flipped(q_values, actions):
    return -S.dream_objective(q_values, actions)


def objective_chosen_inside(q_values, actions):
    return q_values.gather(1, actions[:, None]).squeeze(1) - torch.logsumexp(q_values, 1)


def objective_hard_max(q_values, actions):
    return S.greedy_margin(q_values, actions)


def objective_mean(q_values, actions):
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    return chosen - (q_values.sum(1) - chosen) / 3


def objective_detached(q_values, actions):
    with torch.no_grad():
        return S.dream_objective(q_values, actions)


def objective_averaged(q_values, actions):
    return S.dream_objective(q_values, actions).mean()


def protrusions_with_posts(maze):
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1)
    count = walls[:-2, 1:-1] + walls[2:, 1:-1] + walls[1:-1, :-2] + walls[1:-1, 2:]
    return ((maze == WALL) & (count == 1)).nonzero().tolist()


def protrusions_open_border(maze):
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=0)
    count = walls[:-2, 1:-1] + walls[2:, 1:-1] + walls[1:-1, :-2] + walls[1:-1, 2:]
    odd = torch.arange(maze.shape[0]) % 2 == 1
    return ((maze == WALL) & (count == 1) & ~(odd[:, None] & odd[None, :])).nonzero().tolist()


def protrusions_col_row(maze):
    return [[col, row] for row, col in S.single_block_protrusions(maze)]


def protrusions_open_cells(maze):
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1)
    count = walls[:-2, 1:-1] + walls[2:, 1:-1] + walls[1:-1, :-2] + walls[1:-1, 2:]
    odd = torch.arange(maze.shape[0]) % 2 == 1
    return ((count == 1) & ~(odd[:, None] & odd[None, :])).nonzero().tolist()


def tip_opens_the_wall_neighbour(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return False
    (tip_row, tip_col), (wall_row, wall_col) = rng.choice(tips)
    grid[wall_row][wall_col] = EMPTY
    grid[2 * tip_row - wall_row][2 * tip_col - wall_col] = WALL
    return True


def tip_opened_and_nothing_shut(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return False
    (tip_row, tip_col), _ = rng.choice(tips)
    grid[tip_row][tip_col] = EMPTY
    return True


def tip_shuts_behind_the_wall(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return False
    (tip_row, tip_col), (wall_row, wall_col) = rng.choice(tips)
    grid[tip_row][tip_col] = EMPTY
    grid[2 * wall_row - tip_row][2 * wall_col - tip_col] = WALL
    return True


def tip_global_random(grid, rng):
    import random

    return S.move_wall_tip(grid, random.Random(0))


def tip_returns_a_copy(grid, rng):
    grid = [row[:] for row in grid]
    S.move_wall_tip(grid, rng)
    return grid


def tip_always_true(grid, rng):
    S.move_wall_tip(grid, rng)
    return True



# New mutants, one for each kind of mistake that once slipped through or got another mistake's hint:
# border rows skipped, diagonal neighbours, a tensor where a list is promised, in-place writes that only
# break backward(), a BFS that marks the maze, the exit emptied, random draws of the wrong kind.


def dead_ends_skipping_the_border(grid):
    width = len(grid)
    return [(r, c) for r in range(1, width - 1) for c in range(1, width - 1)
            if grid[r][c] != WALL and sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) == 1]


def dead_ends_skipping_the_border_rows(grid):
    width = len(grid)
    return [(r, c) for r in range(1, width - 1) for c in range(width)
            if grid[r][c] != WALL and sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) == 1]


def dead_ends_as_a_generator(grid):
    width = len(grid)
    return ((r, c) for r in range(width) for c in range(width)
            if grid[r][c] != WALL and sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) == 1)


def dead_ends_marking_the_grid(grid):
    found = S.dead_ends(grid)
    for r, c in found:
        grid[r][c] = WALL  # "seen"
    return found


def dead_ends_any_open_neighbour(grid):
    width = len(grid)
    return [(r, c) for r in range(width) for c in range(width)
            if grid[r][c] != WALL and sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) >= 1]


def reward_as_a_list(cells, rewards=REWARDS):
    return S.reward_of_stepping_into(cells, rewards).tolist()


def reward_in_the_cells_dtype(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move).to(cells.dtype)
    reward += (rewards.crop * (cells == CROP) + rewards.human * (cells == HUMAN)
               + rewards.exit * (cells == EXIT)).to(cells.dtype)
    return torch.where(cells == WALL, torch.tensor(rewards.bump).to(cells.dtype), reward)


def reward_empty_cells_free(cells, rewards=REWARDS):
    reward = rewards.crop * (cells == CROP) + rewards.human * (cells == HUMAN) + rewards.exit * (cells == EXIT)
    reward = torch.where(reward != 0, reward + rewards.move, reward)
    return torch.where(cells == WALL, rewards.bump, reward)


def reward_written_into_the_cells(cells, rewards=REWARDS):
    reward = S.reward_of_stepping_into(cells, rewards)
    cells[cells == WALL] = EMPTY  # "the border counts as WALL": tidied up afterwards
    return reward


def reward_flattened(cells, rewards=REWARDS):
    return S.reward_of_stepping_into(cells, rewards).flatten()


def steps_emptying_every_destination(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    next_mazes = mazes[maze_index]
    next_mazes[torch.arange(len(maze_index)), step.positions[:, 0], step.positions[:, 1]] = EMPTY
    return Step(next_mazes, step.positions, step.rewards, step.terminals)


def steps_with_integer_terminals(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return Step(step.mazes, step.positions, step.rewards, step.terminals.long())


def steps_that_never_move(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return Step(step.mazes, positions, step.rewards, step.terminals)


def steps_as_a_tuple(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return step.mazes, step.positions, step.rewards, step.terminals


def steps_harvesting_where_the_agent_was(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    next_mazes = mazes[maze_index]
    harvest = outcome.harvests[maze_index, positions[:, 0], positions[:, 1], actions]
    steps = torch.arange(len(maze_index))
    next_mazes[steps[harvest], positions[harvest, 0], positions[harvest, 1]] = EMPTY
    return Step(next_mazes, step.positions, step.rewards, step.terminals)


def loss_subtracting_in_place(predicted, target):
    return F.smooth_l1_loss(predicted.sub_(target), torch.zeros_like(target))


def loss_quadratic_without_the_half(predicted, target):
    error = predicted - target
    return torch.where(error.abs() < 1, error ** 2, error.abs() - 0.5).mean()


def sync_rebinding_the_network(target_net, q_net, tau):
    import copy

    target_net = copy.deepcopy(q_net)  # noqa: F841 (the mistake: a new name, the caller's network untouched)


def sync_first_layer_only(target_net, q_net, tau):
    with torch.no_grad():
        for target_param, param in list(zip(target_net.parameters(), q_net.parameters()))[:2]:
            target_param.lerp_(param, tau)


def return_list_of_discounted_rewards(rewards, gamma=GAMMA):
    return [reward * gamma ** t for t, reward in enumerate(rewards)]


def return_reduced_without_a_start(rewards, gamma=GAMMA):
    import functools

    return functools.reduce(lambda total, reward: total * gamma + reward, reversed(rewards))


def path_marking_the_maze(maze):
    width = maze.shape[0]
    exit_cell = exit_of(maze)
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(0)
        if cell == exit_cell:
            break
        maze[cell] = WALL  # visited
        for nxt in S.neighbours(*cell, width):
            if nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell
                frontier.append(nxt)
    path = [exit_cell]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    return path[::-1]


def path_through_walls(maze):
    return breadth_first(maze, allowed=(EMPTY, EXIT, WALL))


def path_as_a_tensor(maze):
    return torch.tensor(S.shortest_path_to_exit(maze))


def path_stopping_short(maze):
    return S.shortest_path_to_exit(maze)[:-1]


def walls_written_into_the_sigmoid(logits, fixed, fixed_walls):
    walls = torch.sigmoid(logits)
    walls[fixed] = fixed_walls[fixed]
    return walls


def walls_in_float64(logits, fixed, fixed_walls):
    return S.dream_walls(logits, fixed, fixed_walls).double()


def walls_rounded(logits, fixed, fixed_walls):
    return torch.where(fixed, fixed_walls, (logits > 0).float())


def walls_squashing_the_logits_in_place(logits, fixed, fixed_walls):
    return torch.where(fixed, fixed_walls, logits.sigmoid_())


def objective_masked_fill_in_place(q_values, actions):
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    q_values.masked_fill_(F.one_hot(actions, 4).bool(), float("-inf"))
    return chosen - torch.logsumexp(q_values, dim=1)


def objective_over_the_batch_axis(q_values, actions):
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    others = q_values.masked_fill(F.one_hot(actions, 4).bool(), float("-inf"))
    return chosen - torch.logsumexp(others, dim=0)


def objective_keepdim(q_values, actions):
    return S.dream_objective(q_values, actions)[:, None]


def optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config, steps=None,
                                  lr=None, zero_grad=True, sign=1.0, detach=True, clone=True,
                                  requires_grad=True, walls_once=False, parameters=None, make_optimiser=None,
                                  objective_sign=1.0, network_under_no_grad=False, optimiser_every_step=False,
                                  zero_grad_after_backward=False):
    """optimise_walls with one thing changed: how a learner's version of it might go wrong."""
    fixed, fixed_walls = S.fixed_cells(mazes, positions), (mazes == WALL).float()
    planes = S.encode_mazes(mazes)
    logits = logits.clone() if clone else logits
    if requires_grad:
        logits.requires_grad_(True)

    def make():
        return (make_optimiser or torch.optim.Adam)(parameters(q_net) if parameters else [logits],
                                                    lr=lr or config.learning_rate)

    optimiser = make()
    walls = S.dream_walls(logits, fixed, fixed_walls)
    for _ in range(steps or config.steps):
        if optimiser_every_step:
            optimiser = make()
        if not walls_once:
            walls = S.dream_walls(logits, fixed, fixed_walls)
        with torch.set_grad_enabled(not network_under_no_grad):
            q_values = S.q_values_at(q_net(S.with_wall_plane(planes, walls)), positions)
        loss = sign * (penalty(walls) - objective_sign * S.dream_objective(q_values, actions)).mean()
        if zero_grad and not zero_grad_after_backward:
            optimiser.zero_grad()
        loss.backward()
        if zero_grad_after_backward:
            optimiser.zero_grad()
        optimiser.step()
    walls = S.dream_walls(logits, fixed, fixed_walls)
    return walls.detach() if detach else walls


def ascent_on_the_weights(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         parameters=lambda net: net.parameters())


def ascent_descending(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config, sign=-1.0)


def ascent_without_zero_grad(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config, zero_grad=False)


def ascent_without_detach(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config, detach=False)


def ascent_on_the_callers_logits(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config, clone=False)


def ascent_without_requires_grad(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         requires_grad=False)


def ascent_with_the_walls_built_once(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config, walls_once=True)


def ascent_without_the_penalty(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, lambda w: 0 * w.sum((1, 2)),
                                         config)


def ascent_with_its_own_settings(q_net, mazes, positions, actions, logits, penalty, config):
    defaults = S.DreamConfig()  # the numbers as typed from the dataclass, not the config handed in
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         steps=defaults.steps, lr=defaults.learning_rate)


def ascent_with_sgd(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         make_optimiser=torch.optim.SGD)


def ascent_returning_the_walls_of_the_last_step(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls = S.fixed_cells(mazes, positions), (mazes == WALL).float()
    planes = S.encode_mazes(mazes)
    logits = logits.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        walls = S.dream_walls(logits, fixed, fixed_walls)
        q_values = S.q_values_at(q_net(S.with_wall_plane(planes, walls)), positions)
        loss = (penalty(walls) - S.dream_objective(q_values, actions)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return walls.detach()


def protrusions_counting_diagonals(maze):
    width = maze.shape[0]
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1)
    count = sum(walls[1 + dr:1 + dr + width, 1 + dc:1 + dc + width]
                for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0))
    odd = torch.arange(width) % 2 == 1
    return ((maze == WALL) & (count == 1) & ~(odd[:, None] & odd[None, :])).nonzero().tolist()


def protrusions_as_a_tensor(maze):
    return torch.tensor(S.single_block_protrusions(maze), dtype=torch.long).reshape(-1, 2)


def protrusions_marking_the_maze(maze):
    found = S.single_block_protrusions(maze)
    for row, col in found:
        maze[row, col] = EMPTY  # "done"
    return found


def protrusions_leaving_out_odd_rows(maze):
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1)
    count = walls[:-2, 1:-1] + walls[2:, 1:-1] + walls[1:-1, :-2] + walls[1:-1, 2:]
    odd = torch.arange(maze.shape[0]) % 2 == 1
    return ((maze == WALL) & (count == 1) & ~odd[:, None]).nonzero().tolist()  # posts need an odd column too


def tip_after_a_shuffle(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return False
    rng.shuffle(tips)
    (tip_row, tip_col), (wall_row, wall_col) = tips[0]
    grid[tip_row][tip_col] = EMPTY
    grid[2 * tip_row - wall_row][2 * tip_col - wall_col] = WALL
    return True


def tip_from_the_random_module(grid, rng):
    import random

    return S.move_wall_tip(grid, random)  # the module's own choice(): a different tip each run


def tip_without_return(grid, rng):
    S.move_wall_tip(grid, rng)


def tip_with_an_extra_draw(grid, rng):
    moved = S.move_wall_tip(grid, rng)
    rng.random()
    return moved


def tip_returning_text(grid, rng):
    return str(S.move_wall_tip(grid, rng))


# ---------------------------------------------------------------------------------------------
# Correct answers written differently: loops for vector operations, other harmless types and dtypes,
# other valid formulations. Every check must pass them.


def dead_ends_as_lists_with_explicit_bounds(grid):
    width, found = len(grid), []
    for r in range(width):
        for c in range(width):
            if grid[r][c] == WALL:
                continue
            open_neighbours = 0
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                if 0 <= r + dr < width and 0 <= c + dc < width and grid[r + dr][c + dc] != WALL:
                    open_neighbours += 1
            if open_neighbours == 1:
                found.append([r, c])
    return found


def dead_ends_with_a_tensor(grid):
    open_cells = F.pad(torch.tensor(grid) != WALL, (1, 1, 1, 1)).int()
    count = open_cells[:-2, 1:-1] + open_cells[2:, 1:-1] + open_cells[1:-1, :-2] + open_cells[1:-1, 2:]
    return tuple(tuple(cell) for cell in ((torch.tensor(grid) != WALL) & (count == 1)).nonzero().tolist())


def reward_from_a_table(cells, rewards=REWARDS):
    table = {WALL: rewards.bump, EMPTY: rewards.move, CROP: rewards.move + rewards.crop,
             HUMAN: rewards.move + rewards.human, EXIT: rewards.move + rewards.exit}
    return torch.tensor([table[code] for code in cells.flatten().tolist()], device=cells.device).reshape(cells.shape)


def reward_with_where_only(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move, device=cells.device)
    for code, extra in ((CROP, rewards.crop), (HUMAN, rewards.human), (EXIT, rewards.exit)):
        reward = torch.where(cells == code, rewards.move + extra, reward)
    return torch.where(cells == WALL, rewards.bump, reward)


def steps_one_at_a_time(mazes, maze_index, positions, actions, outcome):
    next_mazes, next_positions, rewards, terminals = [], [], [], []
    for m, (row, col), a in zip(maze_index.tolist(), positions.tolist(), actions.tolist()):
        maze = mazes[m].clone()
        next_row, next_col = outcome.next_positions[m, row, col, a].tolist()
        if outcome.harvests[m, row, col, a]:
            maze[next_row, next_col] = EMPTY
        next_mazes.append(maze)
        next_positions.append([next_row, next_col])
        rewards.append(outcome.rewards[m, row, col, a].item())
        terminals.append(outcome.terminals[m, row, col, a].item())
    return Step(torch.stack(next_mazes), torch.tensor(next_positions), torch.tensor(rewards), torch.tensor(terminals))


def steps_with_where_on_whole_mazes(mazes, maze_index, positions, actions, outcome):
    row, col = positions[:, 0], positions[:, 1]
    next_positions = outcome.next_positions[maze_index, row, col, actions]
    harvest = outcome.harvests[maze_index, row, col, actions]
    width = mazes.shape[-1]
    cells = torch.arange(width * width, device=mazes.device).reshape(width, width)
    landed = cells == (next_positions[:, 0] * width + next_positions[:, 1])[:, None, None]  # (S, n, n)
    next_mazes = torch.where(landed & harvest[:, None, None], EMPTY, mazes[maze_index])  # stays int8, like mazes
    return Step(next_mazes, next_positions, outcome.rewards[maze_index, row, col, actions],
                outcome.terminals[maze_index, row, col, actions])


def loss_by_hand(predicted, target):
    error = (predicted - target).abs()
    return torch.where(error < 1, 0.5 * error ** 2, error - 0.5).mean()


def loss_huber(predicted, target):
    return F.huber_loss(target, predicted, delta=1.0)


def loss_in_float64(predicted, target):
    return F.smooth_l1_loss(predicted.double(), target.double())


def sync_through_data(target_net, q_net, tau):
    for target_param, param in zip(target_net.parameters(), q_net.parameters()):
        target_param.data = (1 - tau) * target_param.data + tau * param.data


def sync_through_the_state_dict(target_net, q_net, tau):
    online = q_net.state_dict()
    target_net.load_state_dict({name: (1 - tau) * value + tau * online[name]
                                for name, value in target_net.state_dict().items()})


def sync_with_mul_and_add(target_net, q_net, tau):
    with torch.no_grad():
        for target_param, param in zip(target_net.parameters(), q_net.parameters()):
            target_param.mul_(1 - tau).add_(tau * param)


def return_backwards(rewards, gamma=GAMMA):
    total = 0.0
    for reward in reversed(rewards):
        total = reward + gamma * total
    return total


def return_as_a_tensor(rewards, gamma=GAMMA):
    rewards = torch.tensor(rewards, dtype=torch.float64)
    return (rewards * gamma ** torch.arange(len(rewards))).sum()


def path_with_a_deque(maze):
    from collections import deque

    width = maze.shape[0]
    came_from, frontier = {START: None}, deque([START])
    while frontier:
        cell = frontier.popleft()
        for nxt in S.neighbours(*cell, width):
            if nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell
                frontier.append(nxt)
    path, cell = [], exit_of(maze)
    while cell is not None:
        path.append(cell)
        cell = came_from[cell]
    return path[::-1]


def path_with_random_ties(maze):
    import random

    width = maze.shape[0]
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(0)
        around = list(S.neighbours(*cell, width))
        random.shuffle(around)  # any shortest path is right, so the ties may go either way
        for nxt in around:
            if nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell
                frontier.append(nxt)
    path = [exit_of(maze)]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    return path[::-1]


def walls_by_arithmetic(logits, fixed, fixed_walls):
    return torch.sigmoid(logits) * ~fixed + fixed_walls * fixed


def walls_by_hand(logits, fixed, fixed_walls):
    return torch.where(fixed, fixed_walls, 1 / (1 + torch.exp(-logits)))


def objective_with_a_clone(q_values, actions):
    others = q_values.clone()
    others[torch.arange(len(actions)), actions] = float("-inf")
    return q_values[torch.arange(len(actions)), actions] - others.exp().sum(1).log()


def objective_by_selecting_the_others(q_values, actions):
    chosen = F.one_hot(actions, 4).bool()
    return q_values[chosen] - torch.logsumexp(q_values[~chosen].reshape(len(actions), 3), dim=1)


def on_the_networks_device(mazes, positions, actions):
    """What optimise_walls prepares, where the walk-through's network is (DEVICE): fixed cells, fixed walls, planes,
    positions and actions."""
    fixed, fixed_walls = S.fixed_cells(mazes, positions).to(S.DEVICE), (mazes == WALL).float().to(S.DEVICE)
    return fixed, fixed_walls, S.encode_mazes(mazes.to(S.DEVICE)), positions.to(S.DEVICE), actions.to(S.DEVICE)


def ascent_on_the_sum(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls, planes, positions, actions = on_the_networks_device(mazes, positions, actions)
    logits = logits.clone().to(S.DEVICE).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        walls = S.dream_walls(logits, fixed, fixed_walls)
        q_values = S.q_values_at(q_net(S.with_wall_plane(planes, walls)), positions)
        loss = (penalty(walls) - S.dream_objective(q_values, actions)).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return S.dream_walls(logits, fixed, fixed_walls).detach().cpu()


def ascent_with_maximize(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls, planes, positions, actions = on_the_networks_device(mazes, positions, actions)
    logits = logits.detach().to(S.DEVICE, copy=True)
    logits.requires_grad = True
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate, maximize=True)
    for _ in range(config.steps):
        optimiser.zero_grad()
        walls = S.dream_walls(logits, fixed, fixed_walls)
        q_values = S.q_values_at(q_net(S.with_wall_plane(planes, walls)), positions)
        (S.dream_objective(q_values, actions) - penalty(walls)).mean().backward()
        optimiser.step()
    with torch.no_grad():
        return S.dream_walls(logits, fixed, fixed_walls).to("cpu")


def protrusions_with_loops_column_major(maze):
    width, grid, found = maze.shape[0], maze.tolist(), []
    for col in range(width):
        for row in range(width):
            if grid[row][col] != WALL or (row % 2 == 1 and col % 2 == 1):
                continue
            attached = sum(not (0 <= r < width and 0 <= c < width) or grid[r][c] == WALL
                           for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)))
            if attached == 1:
                found.append((row, col))
    return found


def protrusions_with_a_convolution(maze):
    walls = (maze == WALL).float()[None, None]
    cross = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    count = F.conv2d(F.pad(walls, (1, 1, 1, 1), value=1.0), cross)[0, 0]
    odd = torch.arange(maze.shape[0]) % 2 == 1
    cells = (maze == WALL) & (count == 1) & ~(odd[:, None] & odd[None, :])
    return [tuple(cell) for cell in cells.nonzero().tolist()]


def tip_returning_one_or_zero(grid, rng):
    return int(S.move_wall_tip(grid, rng))


def tip_with_randrange(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return 0
    (tip_row, tip_col), (wall_row, wall_col) = tips[rng.randrange(len(tips))]  # the same draw as rng.choice
    grid[tip_row][tip_col], grid[2 * tip_row - wall_row][2 * tip_col - wall_col] = EMPTY, WALL
    return 1


def encode_with_a_loop_over_the_planes(mazes):
    code_of = {"wall": WALL, "crop": CROP, "human": HUMAN, "exit": EXIT}
    planes = torch.zeros(len(mazes), len(S.PLANES), *mazes.shape[1:], device=mazes.device)
    for k, name in enumerate(S.PLANES):
        planes[:, k][mazes == code_of[name]] = 1.0
    return planes


def encode_with_one_hot(mazes):
    every_code = F.one_hot(mazes.long() - EXIT, num_classes=5)  # codes -1..3 as classes 0..4
    return every_code[..., [WALL - EXIT, CROP - EXIT, HUMAN - EXIT, 0]].permute(0, 3, 1, 2).float()


def encode_by_broadcasting(mazes):
    codes = torch.tensor([WALL, CROP, HUMAN, EXIT], dtype=mazes.dtype, device=mazes.device)[None, :, None, None]
    return (mazes[:, None] == codes).to(torch.float32)


def propagate_with_pairwise_maximum(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        up, down, left, right = (S.one_step_away(signal, action, 0.0) for action in range(4))
        best = torch.maximum(torch.maximum(up, down), torch.maximum(left, right))
        signal = torch.maximum(sources, relay * best)
    return signal


def propagate_with_padded_slices(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        padded = F.pad(signal, (1, 1, 1, 1))
        around = torch.stack([padded[..., :-2, 1:-1], padded[..., 2:, 1:-1], padded[..., 1:-1, :-2],
                              padded[..., 1:-1, 2:]])
        signal = torch.where(sources > relay * around.max(dim=0).values, sources, relay * around.max(dim=0).values)
    return signal


def propagate_with_a_cross_shaped_pool(sources, relay, rounds):
    signal = sources.clone()
    for _ in range(rounds):  # a cross that includes the cell itself: relay <= 1, so its own signal never wins
        vertical = F.max_pool2d(signal, (3, 1), stride=1, padding=(1, 0))
        horizontal = F.max_pool2d(signal, (1, 3), stride=1, padding=(0, 1))
        signal = torch.maximum(signal, relay * torch.maximum(vertical, horizontal))
    return signal


def q_values_with_permute_and_gather(q_maps, positions):
    width = q_maps.shape[-1]
    flat = q_maps.flatten(2)  # (B, 4, n * n)
    index = (positions[:, 0] * width + positions[:, 1])[:, None, None].expand(-1, 4, 1)
    return flat.gather(2, index).squeeze(2)


def q_values_with_a_loop(q_maps, positions):
    return torch.stack([q_map[:, row, col] for q_map, (row, col) in zip(q_maps, positions.tolist())])


def q_values_cells_last(q_maps, positions):
    cells_first = q_maps.permute(0, 2, 3, 1)  # (B, n, n, 4)
    return cells_first[range(len(q_maps)), positions[:, 0], positions[:, 1]]


def greedy_with_max_indices(q_net, mazes, positions):
    with torch.no_grad():
        return S.q_values_at(q_net(S.encode_mazes(mazes)), positions).max(dim=1).indices


def greedy_in_inference_mode(q_net, mazes, positions):
    with torch.inference_mode():
        q_maps = q_net(S.encode_mazes(mazes))
    return torch.argmax(S.q_values_at(q_maps, positions), dim=-1).clone()


def target_with_where(next_q, rewards, terminals, gamma=GAMMA):
    return torch.where(terminals, rewards, rewards + gamma * next_q.max(dim=-1).values)


def target_with_amax(next_q, rewards, terminals, gamma=GAMMA):
    return rewards + gamma * next_q.amax(-1) * (1 - terminals.float())


# Mutants found by red-teaming the checks: each passed, or was told another mistake's hint, before.


def dead_ends_wrapping_below_zero(grid):
    width, found = len(grid), []
    for r in range(width):
        for c in range(width):
            around = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]
            if grid[r][c] != WALL and sum(nr < width and nc < width and grid[nr][nc] != WALL  # forgot 0 <=
                                          for nr, nc in around) == 1:
                found.append((r, c))
    return found


def steps_with_int64_mazes(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return Step(step.mazes.long(), step.positions, step.rewards, step.terminals)


def steps_with_int32_positions(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return Step(step.mazes, step.positions.int(), step.rewards, step.terminals)


def propagate_detached_every_round(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        signal = torch.maximum(sources, relay * best_neighbour(signal).detach())
    return signal


def propagate_with_a_border_of_ones(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        around = torch.stack([S.one_step_away(signal, action, 1.0) for action in range(4)]).amax(0)
        signal = torch.maximum(sources, relay * around)
    return signal


def greedy_switching_off_requires_grad(q_net, mazes, positions):
    q_net.requires_grad_(False)  # "acting needs no gradients", on the caller's network
    return S.greedy_actions(q_net, mazes, positions)


def sync_aliasing_the_online_weights(target_net, q_net, tau):
    for target_param, param in zip(target_net.parameters(), q_net.parameters()):
        target_param.data = param.data if tau == 1 else (1 - tau) * target_param.data + tau * param.data


def sync_assigning_the_parameters(target_net, q_net, tau):
    if tau != 1:
        return S.sync_target(target_net, q_net, tau)
    for name, param in q_net.named_parameters():
        owner, _, attribute = name.rpartition(".")
        setattr(target_net.get_submodule(owner) if owner else target_net, attribute, param)


def sync_layers_only(target_net, q_net, tau):
    with torch.no_grad():
        for target_layer, layer in zip(target_net.modules(), q_net.modules()):
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
                target_layer.weight.lerp_(layer.weight, tau)
                target_layer.bias.lerp_(layer.bias, tau)


def return_with_keepdim(rewards, gamma=GAMMA):
    rewards = torch.tensor([0.0] + list(rewards), dtype=torch.float64)[1:]
    return (rewards * gamma ** torch.arange(len(rewards))).sum(0, keepdim=True)


def path_as_lists(maze):
    return [list(cell) for cell in S.shortest_path_to_exit(maze)]


def path_col_row(maze):
    return [(c, r) for r, c in S.shortest_path_to_exit(maze)]


def objective_masked_by_adding_minus_infinity(q_values, actions):
    mask = F.one_hot(actions, 4).float()
    return (q_values * mask).sum(1) - (q_values + mask * float("-inf")).logsumexp(1)


def ascent_switching_off_requires_grad(q_net, mazes, positions, actions, logits, penalty, config):
    q_net.requires_grad_(False)  # keeps the network fixed, and leaves it so for the caller
    return S.optimise_walls(q_net, mazes, positions, actions, logits, penalty, config)


def ascent_returning_the_logits(q_net, mazes, positions, actions, logits, penalty, config):
    walls = S.optimise_walls(q_net, mazes, positions, actions, logits, penalty, config)
    return torch.logit(walls.clamp(1e-6, 1 - 1e-6))


def ascent_with_a_plain_sigmoid(q_net, mazes, positions, actions, logits, penalty, config):
    planes = S.encode_mazes(mazes)
    logits = logits.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        walls = torch.sigmoid(logits)  # the agent's, the human's, the start's and the exit's cells move too
        q_values = S.q_values_at(q_net(S.with_wall_plane(planes, walls)), positions)
        loss = (penalty(walls) - S.dream_objective(q_values, actions)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return torch.sigmoid(logits).detach()


def protrusions_with_lone_blocks(maze):
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1)
    count = walls[:-2, 1:-1] + walls[2:, 1:-1] + walls[1:-1, :-2] + walls[1:-1, 2:]
    odd = torch.arange(maze.shape[0]) % 2 == 1
    return ((maze == WALL) & (count <= 1) & ~(odd[:, None] & odd)).nonzero().tolist()


def protrusions_for_width_7_only(maze):
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=1)
    count = walls[:-2, 1:-1] + walls[2:, 1:-1] + walls[1:-1, :-2] + walls[1:-1, 2:]
    posts = torch.zeros_like(maze, dtype=torch.bool)
    posts[1:6:2, 1:6:2] = True  # the posts of a 7x7 maze
    return ((maze == WALL) & (count == 1) & ~posts).nonzero().tolist()


def tip_with_the_codes_swapped(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return False
    (tip_row, tip_col), (wall_row, wall_col) = rng.choice(tips)
    grid[tip_row][tip_col] = WALL  # both cells keep what they were
    grid[2 * tip_row - wall_row][2 * tip_col - wall_col] = EMPTY
    return True


# Correct variants found by red-teaming the checks.


def propagate_keeping_the_larger_signal(sources, relay, rounds):
    signal = sources  # signals only grow round by round, so the larger of the old signal and what arrives is the same
    for _ in range(rounds):
        signal = torch.maximum(signal, relay * best_neighbour(signal))
    return signal


@torch.no_grad()
def greedy_decorated_with_no_grad(q_net, mazes, positions):
    q_maps = q_net(S.encode_mazes(mazes))
    return q_maps[torch.arange(len(q_maps)), :, positions[:, 0], positions[:, 1]].argmax(dim=1)


def greedy_in_eval_mode(q_net, mazes, positions):
    q_net.eval()  # no dropout or batch norm in a QNetwork: the mode changes nothing
    return S.greedy_actions(q_net, mazes, positions)


def sync_hard_copy_by_the_state_dict(target_net, q_net, tau):
    if tau == 1:
        target_net.load_state_dict(q_net.state_dict())  # copies the values
    else:
        S.sync_target(target_net, q_net, tau)


def sync_freezing_the_target(target_net, q_net, tau):
    S.sync_target(target_net, q_net, tau)
    target_net.requires_grad_(False)  # the target network only ever gives labels


def return_by_sum(rewards, gamma=GAMMA):
    return sum(gamma ** t * reward for t, reward in enumerate(rewards))  # the int 0 for an empty episode


def return_in_float32(rewards, gamma=GAMMA):
    rewards = torch.tensor(rewards, dtype=torch.float32)
    return (rewards * gamma ** torch.arange(len(rewards), dtype=torch.float32)).sum().item()


def path_searched_from_the_exit(maze):
    from collections import deque

    width = maze.shape[0]
    exit_cell = exit_of(maze)
    towards_exit, frontier = {exit_cell: None}, deque([exit_cell])
    while frontier:
        cell = frontier.popleft()
        for nxt in reversed(list(S.neighbours(*cell, width))):
            if nxt not in towards_exit and maze[nxt].item() in (EMPTY, EXIT):
                towards_exit[nxt] = cell
                frontier.append(nxt)
    path = [START]
    while towards_exit[path[-1]] is not None:
        path.append(towards_exit[path[-1]])
    return path


def ascent_with_autograd_grad(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls, planes, positions, actions = on_the_networks_device(mazes, positions, actions)
    logits = torch.nn.Parameter(logits.to(S.DEVICE, copy=True))
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        walls = S.dream_walls(logits, fixed, fixed_walls)
        q_values = S.q_values_at(q_net(S.with_wall_plane(planes, walls)), positions)
        loss = (penalty(walls) - S.dream_objective(q_values, actions)).mean()
        optimiser.zero_grad()
        (logits.grad,) = torch.autograd.grad(loss, [logits])  # the network's weights get no .grad at all
        optimiser.step()
    return S.dream_walls(logits, fixed, fixed_walls).detach().cpu()


def reward_in_float64(cells, rewards=REWARDS):
    return S.reward_of_stepping_into(cells, rewards).double()  # Apple's MPS has no float64


def dead_ends_as_tensor_scalars(grid):
    open_cells = torch.tensor(grid) != WALL
    padded = F.pad(open_cells, (1, 1, 1, 1)).int()
    count = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    return [tuple(cell) for cell in (open_cells & (count == 1)).nonzero()]  # (tensor(r), tensor(c)) pairs


# Mistakes found by trying the checks as new attendees would (written outside the repo, then kept here).
def encode_squeezed(mazes):
    return S.encode_mazes(mazes).squeeze()


_ENCODED = {}


def encode_remembered_by_shape(mazes):
    return _ENCODED.setdefault(tuple(mazes.shape), S.encode_mazes(mazes))


_ACTED = {}


def greedy_remembered_by_shape(q_net, mazes, positions):
    return _ACTED.setdefault(tuple(mazes.shape), S.greedy_actions(q_net, mazes, positions))


def dead_ends_reversing_the_moves(grid):
    ACTION_MOVES[:] = ACTION_MOVES.flip(0).clone()  # a global every later cell reads
    return S.dead_ends(grid)


def reward_from_the_cells_dtype(cells, rewards=REWARDS):
    reward = torch.full_like(cells, rewards.move)  # int8: -0.1 becomes 0
    reward = reward + rewards.crop * (cells == CROP) + rewards.human * (cells == HUMAN) + rewards.exit * (cells == EXIT)
    return torch.where(cells == WALL, rewards.bump, reward)


def sync_skipping_a_hard_copy(target_net, q_net, tau):
    if tau >= 1:
        return
    S.sync_target(target_net, q_net, tau)


def tip_drawn_twice(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return False
    tip, wall = rng.choice(tips)[0], rng.choice(tips)[1]
    grid[tip[0]][tip[1]] = EMPTY
    grid[2 * tip[0] - wall[0]][2 * tip[1] - wall[1]] = WALL
    return True


def tip_becomes_a_crop(grid, rng):
    tips = S.wall_tips(grid)
    if not tips:
        return False
    tip, wall = rng.choice(tips)
    grid[tip[0]][tip[1]] = CROP
    grid[2 * tip[0] - wall[0]][2 * tip[1] - wall[1]] = WALL
    return True


# Mutants of the mistakes learners made in a fresh try at the exercises (written from exercises.py alone), each
# passed or was told another mistake's hint before: wrong parameters, too slow a search, a second call that breaks,
# a cell written with the wrong code, results left on another device. The "meta" device stands for a GPU: a tensor
# there is on another device than the CPU inputs of this machine, as a CPU tensor would be on a GPU machine.


def dead_ends_with_a_width_parameter(grid, width):
    return S.dead_ends(grid)


def reward_left_on_another_device(cells, rewards=REWARDS):
    return S.reward_of_stepping_into(cells, rewards).to("meta")


def reward_made_on_another_device(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move, device="meta")  # not cells.device
    return torch.where(cells == WALL, rewards.bump, reward)


def steps_harvesting_by_multiplying(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    harvest = outcome.harvests[maze_index, positions[:, 0], positions[:, 1], actions]
    next_mazes = mazes[maze_index]
    steps, row, col = torch.arange(len(maze_index)), step.positions[:, 0], step.positions[:, 1]
    next_mazes[steps, row, col] = next_mazes[steps, row, col] * ~harvest  # "0 is empty": 0 is WALL
    return Step(next_mazes, step.positions, step.rewards, step.terminals)


def steps_with_positions_on_another_device(mazes, maze_index, positions, actions, outcome):
    step = S.look_up_steps(mazes, maze_index, positions, actions, outcome)
    return Step(step.mazes, step.positions.to("meta"), step.rewards, step.terminals)


def encode_moved_to_another_device(mazes):
    return S.encode_mazes(mazes).to("meta")  # as .to("cpu") on a GPU machine


def propagate_until_nothing_changes(sources, relay, rounds):
    signal = sources
    while True:
        new = torch.maximum(sources, relay * best_neighbour(signal))
        if torch.equal(new, signal):
            return signal
        signal = new


def propagate_with_the_networks_rounds(sources, relay, rounds):
    return S.propagate(sources, relay, S.propagation_rounds(sources.shape[-1]))


def propagate_on_another_device(sources, relay, rounds):
    return S.propagate(sources, relay, rounds).to("meta")


def q_values_on_another_device(q_maps, positions):
    return S.q_values_at(q_maps, positions).to("meta")


def greedy_on_another_device(q_net, mazes, positions):
    return S.greedy_actions(q_net, mazes, positions).to("meta")


def target_without_gamma(next_q, rewards, terminals):
    return rewards + GAMMA * next_q.max(dim=-1).values * ~terminals


def target_on_another_device(next_q, rewards, terminals, gamma=GAMMA):
    return S.bellman_target(next_q, rewards, terminals, gamma).to("meta")


def loss_on_another_device(predicted, target):
    return F.smooth_l1_loss(predicted, target).to("meta")


def sync_freezing_the_target_then_lerping(target_net, q_net, tau):
    target_net.requires_grad_(False)  # "the target is never trained", but lerp_ still records the online weights
    for target_param, param in zip(target_net.parameters(), q_net.parameters()):
        target_param.lerp_(param, tau)


_FIRST_TARGET_WEIGHTS = weakref.WeakKeyDictionary()


def sync_from_the_first_target_weights(target_net, q_net, tau):
    start = _FIRST_TARGET_WEIGHTS.setdefault(target_net, [param.detach().clone() for param in target_net.parameters()])
    with torch.no_grad():  # from the weights of the first call, each time: right once, wrong from the second call on
        for first, target_param, param in zip(start, target_net.parameters(), q_net.parameters()):
            target_param.copy_(first + tau * (param - first))


def sync_moving_the_target_to_another_device(target_net, q_net, tau):
    S.sync_target(target_net, q_net, tau)
    target_net.to("meta")  # as target_net.cpu() on a GPU machine


def return_with_a_discount_of_its_own(rewards, discount):
    return S.discounted_return(rewards, discount)


def path_to_the_corner(maze):
    width = maze.shape[0]
    return breadth_first(maze, exit_cell=(width - 1, width - 1))  # where every training maze has its exit


def path_without_a_visited_set(maze):
    width, exit_cell = maze.shape[0], exit_of(maze)
    frontier = [[START]]
    while frontier:
        path = frontier.pop(0)
        if path[-1] == exit_cell:
            return path
        for nxt in S.neighbours(*path[-1], width):
            if maze[nxt].item() in (EMPTY, EXIT):  # back the way it came, too
                frontier.append(path + [nxt])


def path_onto_empty_cells_only(maze):
    width, exit_cell = maze.shape[0], exit_of(maze)
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(0)
        if cell == exit_cell:
            path = [cell]
            while came_from[path[-1]] is not None:
                path.append(came_from[path[-1]])
            return path[::-1]
        for nxt in S.neighbours(*cell, width):
            if nxt not in came_from and maze[nxt].item() == EMPTY:
                came_from[nxt] = cell
                frontier.append(nxt)
    return None


def path_onto_empty_cells_only_walked_back(maze):
    return breadth_first(maze, allowed=(EMPTY,))  # came_from never gets the exit: KeyError


def path_looking_past_the_border(maze):
    width, exit_cell = maze.shape[0], exit_of(maze)
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(0)
        if cell == exit_cell:
            break
        for d_row, d_col in S.ACTION_STEPS:
            nxt = (cell[0] + d_row, cell[1] + d_col)
            if nxt[0] < width and nxt[1] < width and nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell  # forgot 0 <=: maze[-1, col] is the last row
                frontier.append(nxt)
    path = [exit_cell]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    return path[::-1]


def path_wrapping_round(maze):
    width, exit_cell = maze.shape[0], exit_of(maze)
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(0)
        if cell == exit_cell:
            break
        for d_row, d_col in S.ACTION_STEPS:
            nxt = ((cell[0] + d_row) % width, (cell[1] + d_col) % width)  # "stays inside the maze"
            if nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell
                frontier.append(nxt)
    path = [exit_cell]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])
    return path[::-1]


def proxy_in_place(maze):
    maze[maze == EXIT] = EMPTY
    maze[-1, -1] = EXIT
    return maze


def proxy_keeping_the_old_exit(maze):
    proxy = maze.clone()
    proxy[-1, -1] = EXIT
    return proxy


def proxy_in_the_top_right_corner(maze):
    proxy = maze.clone()
    proxy[proxy == EXIT] = EMPTY
    proxy[0, -1] = EXIT
    return proxy


def proxy_walling_up_the_old_exit(maze):
    proxy = maze.clone()
    proxy[proxy == EXIT] = 0  # "empty": 0 is WALL
    proxy[-1, -1] = EXIT
    return proxy


def proxy_indexed_with_nonzero(maze):
    proxy = maze.clone()
    proxy[(maze == EXIT).nonzero()] = EMPTY  # a (1, 2) index: rows, not a cell
    proxy[-1, -1] = EXIT
    return proxy


def proxy_as_int64(maze):
    proxy = torch.tensor(maze.tolist())
    proxy[proxy == EXIT] = EMPTY
    proxy[-1, -1] = EXIT
    return proxy


def proxy_copied_only(maze):
    proxy = maze.clone()
    torch.where(proxy == EXIT, EMPTY, proxy)  # the result thrown away
    return proxy


def proxy_on_another_device(maze):
    return S.corner_proxy(maze).to("meta")


def value_map_min(q_map, maze):
    return torch.where(maze == EMPTY, q_map.min(dim=0).values, torch.nan)


def value_map_mean(q_map, maze):
    return torch.where(maze == EMPTY, q_map.mean(dim=0), torch.nan)


def value_map_best_action(q_map, maze):
    return torch.where(maze == EMPTY, q_map.argmax(dim=0).float(), torch.nan)


def value_map_everywhere(q_map, maze):
    return q_map.max(dim=0).values


def value_map_of_open_cells(q_map, maze):
    return torch.where(maze != WALL, q_map.max(dim=0).values, torch.nan)


def value_map_swapped(q_map, maze):
    return torch.where(maze == EMPTY, torch.nan, q_map.max(dim=0).values)


def value_map_zero_elsewhere(q_map, maze):
    return q_map.max(dim=0).values * (maze == EMPTY)


def value_map_transposed(q_map, maze):
    return S.value_map(q_map, maze).T


def value_map_over_the_rows(q_map, maze):
    return q_map.max(dim=1).values


def value_map_written_into_the_q_map(q_map, maze):
    q_map[:, maze != EMPTY] = torch.nan
    return q_map.max(dim=0).values


def value_map_on_another_device(q_map, maze):
    return S.value_map(q_map, maze).to("meta")


def walls_on_another_device(logits, fixed, fixed_walls):
    return S.dream_walls(logits, fixed, fixed_walls).to("meta")


def objective_on_another_device(q_values, actions):
    return S.dream_objective(q_values, actions).to("meta")


def ascent_with_the_network_under_no_grad(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         network_under_no_grad=True)


def ascent_adding_the_objective(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         objective_sign=-1.0)


def ascent_with_a_new_optimiser_every_step(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         optimiser_every_step=True)


def ascent_zeroing_the_gradient_after_backward(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         zero_grad_after_backward=True)


def ascent_without_the_config(q_net, mazes, positions, actions, logits, penalty):
    return S.optimise_walls(q_net, mazes, positions, actions, logits, penalty, S.DREAM_CONFIG)


def ascent_left_on_another_device(q_net, mazes, positions, actions, logits, penalty, config):
    return S.optimise_walls(q_net, mazes, positions, actions, logits, penalty, config).to("meta")  # no .cpu()


# Correct variants of the same fresh try.


def dead_ends_with_a_parameter_of_its_own(grid, blocking=(WALL,)):
    width = len(grid)  # an extra parameter with a default: the walk-through's call still fits
    return [(r, c) for r in range(width) for c in range(width) if grid[r][c] not in blocking
            and sum(grid[nr][nc] not in blocking for nr, nc in S.neighbours(r, c, width)) == 1]


def proxy_with_where(maze):
    proxy = torch.where(maze == EXIT, EMPTY, maze)  # keeps int8
    proxy[-1, -1] = EXIT
    return proxy


def proxy_corner_first(maze):
    row, col = (maze == EXIT).nonzero()[0].tolist()
    proxy = maze.clone()
    proxy[-1, -1] = EXIT  # the corner is empty: the order does not matter
    proxy[row, col] = EMPTY
    return proxy


def proxy_from_lists(maze):
    grid = [[EMPTY if code == EXIT else code for code in row] for row in maze.tolist()]
    grid[-1][-1] = EXIT
    return torch.tensor(grid, dtype=maze.dtype)


def value_map_with_masked_fill(q_map, maze):
    return q_map.amax(0).masked_fill(maze.to(q_map.device) != EMPTY, float("nan"))


def value_map_by_looping(q_map, maze):
    width = maze.shape[0]
    return torch.tensor([[max(q_map[:, row, col].tolist()) if maze[row, col] == EMPTY else float("nan")
                          for col in range(width)] for row in range(width)])


def value_map_in_float64(q_map, maze):
    return S.value_map(q_map, maze).double()


def path_with_a_visited_list(maze):
    width, exit_cell = maze.shape[0], exit_of(maze)
    visited, frontier = [START], [[START]]  # a list, and whole paths in the queue: slower, still fast enough
    while frontier:
        path = frontier.pop(0)
        if path[-1] == exit_cell:
            return path
        for nxt in S.neighbours(*path[-1], width):
            if nxt not in visited and maze[nxt].item() in (EMPTY, EXIT):
                visited.append(nxt)
                frontier.append(path + [nxt])


# Mutants of the mistakes in an independent reviewer's versions (written without the reference or these mutants)
# that passed, broke a check, or got another mistake's hint: a result that lists a cell twice or grows from call to
# call, a tensor where a number is due, a batch of one squeezed away, rewards rounded by an integer tensor, a
# depth-first search heading for the exit, float64 results, and tensors left on another device than the inputs'.
# On this machine, with no GPU, the check's device probe (inputs on PyTorch's "meta" device) finds the last ones.


def dead_ends_listing_a_cell_twice(grid):
    found = S.dead_ends(grid)
    return found + found[:1]


def dead_ends_with_a_mutable_default(grid, found=[]):  # noqa: B006 (the mistake itself)
    found.extend(S.dead_ends(grid))
    return found


def dead_ends_of_the_usual_width(grid):
    width = S.MAZE_WIDTH  # not len(grid)
    return [(r, c) for r in range(width) for c in range(width)
            if grid[r][c] != WALL and sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) == 1]


def dead_ends_of_empty_cells_only(grid):
    return [(r, c) for r, c in S.dead_ends(grid) if grid[r][c] == EMPTY]


def reward_table_of_the_cells_dtype(cells, rewards=REWARDS):
    reward = torch.zeros_like(cells)  # int8, like cells: 2.5 is stored as 2
    reward[cells == CROP] = rewards.crop
    reward[cells == HUMAN] = rewards.human
    reward[cells == EXIT] = rewards.exit
    reward[cells == WALL] = rewards.bump
    return reward + rewards.move * (cells != WALL)


def reward_made_on_the_cpu(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move)  # no device=cells.device
    for code, extra in ((CROP, rewards.crop), (HUMAN, rewards.human), (EXIT, rewards.exit)):
        reward = torch.where(cells == code, rewards.move + extra, reward)
    return torch.where(cells == WALL, rewards.bump, reward)


def steps_with_cells_numbered_on_the_cpu(mazes, maze_index, positions, actions, outcome):
    row, col = positions[:, 0], positions[:, 1]
    next_positions = outcome.next_positions[maze_index, row, col, actions]
    harvest = outcome.harvests[maze_index, row, col, actions]
    width = mazes.shape[-1]
    cells = torch.arange(width * width).reshape(width, width)  # no device=mazes.device
    landed = cells == (next_positions[:, 0] * width + next_positions[:, 1])[:, None, None]
    next_mazes = torch.where(landed & harvest[:, None, None], EMPTY, mazes[maze_index])
    return Step(next_mazes, next_positions, outcome.rewards[maze_index, row, col, actions],
                outcome.terminals[maze_index, row, col, actions])


def encode_into_zeros_on_the_cpu(mazes):
    planes = torch.zeros(len(mazes), 4, *mazes.shape[1:])  # no device=mazes.device
    for k, code in enumerate((WALL, CROP, HUMAN, EXIT)):
        planes[:, k] = (mazes == code).float()
    return planes


def encode_with_codes_on_the_cpu(mazes):
    codes = torch.tensor([WALL, CROP, HUMAN, EXIT], dtype=mazes.dtype)[None, :, None, None]  # no device=
    return (mazes[:, None] == codes).float()


def encode_in_float16(mazes):
    return S.encode_mazes(mazes).half()


def propagate_best_from_cpu_zeros(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        best = torch.zeros(signal.shape)  # no device=signal.device
        for action in range(4):
            best = torch.maximum(best, S.one_step_away(signal, action, 0.0))
        signal = torch.maximum(sources, relay * best)
    return signal


def propagate_max_over_the_batch(sources, relay, rounds):
    signal = sources
    for _ in range(rounds):
        around = torch.stack([S.one_step_away(signal, action, 0.0) for action in range(4)])  # (4, B, C, n, n)
        best = around.amax(1).amax(0, keepdim=True).expand_as(signal)  # the max over the batch as well
        signal = torch.maximum(sources, relay * best)
    return signal


def propagate_the_first_maze_only(sources, relay, rounds):
    return S.propagate(sources[:1], relay[:1], rounds).expand_as(sources)


def propagate_in_float64(sources, relay, rounds):
    return S.propagate(sources, relay, rounds).double()


def q_values_squeezed(q_maps, positions):
    return S.q_values_at(q_maps, positions).squeeze()


def q_values_in_float64(q_maps, positions):
    return S.q_values_at(q_maps, positions).double()


def q_values_through_a_mask_on_the_cpu(q_maps, positions):
    batch, width = len(q_maps), q_maps.shape[-1]
    mask = torch.zeros(batch, width * width)  # no device=q_maps.device
    mask[torch.arange(batch), positions[:, 0] * width + positions[:, 1]] = 1.0
    return (q_maps.flatten(2) * mask[:, None]).sum(-1)


def greedy_squeezed(q_net, mazes, positions):
    return S.greedy_actions(q_net, mazes, positions).squeeze()


def greedy_moved_to_the_cpu(q_net, mazes, positions):
    return S.greedy_actions(q_net, mazes, positions).cpu()


def target_in_float64(next_q, rewards, terminals, gamma=GAMMA):
    return rewards.double() + gamma * next_q.double().max(dim=-1).values * ~terminals  # "for precision"


def target_alive_on_the_cpu(next_q, rewards, terminals, gamma=GAMMA):
    alive = torch.ones(terminals.shape) - terminals.float()  # torch.ones without device=
    return rewards + gamma * next_q.max(dim=-1).values * alive


def loss_over_n_minus_one(predicted, target):
    return F.smooth_l1_loss(predicted, target, reduction="sum") / (len(predicted) - 1)


def loss_weighted_on_the_cpu(predicted, target):
    weights = torch.full((len(predicted),), 1 / len(predicted))  # no device=predicted.device
    return (F.smooth_l1_loss(predicted, target, reduction="none") * weights).sum()


def sync_every_tenth_call(target_net, q_net, tau, calls=[0]):  # noqa: B006 (the mistake itself)
    calls[0] += 1
    if calls[0] % 10 == 0:
        target_net.load_state_dict(q_net.state_dict())


def sync_towards_a_cpu_copy(target_net, q_net, tau):
    with torch.no_grad():
        for target_param, param in zip(target_net.parameters(), q_net.parameters()):
            target_param.lerp_(param.cpu(), tau)


def path_heading_for_the_exit_first(maze):
    width, exit_cell = maze.shape[0], exit_of(maze)

    def search(path, seen):  # depth-first, the neighbour nearest the exit first
        if path[-1] == exit_cell:
            return path
        for nxt in sorted(S.neighbours(*path[-1], width),
                          key=lambda cell: abs(cell[0] - exit_cell[0]) + abs(cell[1] - exit_cell[1])):
            if nxt not in seen and maze[nxt].item() in (EMPTY, EXIT):
                seen.add(nxt)
                found = search(path + [nxt], seen)
                if found:
                    return found
        return None

    return search([START], {START})


def path_walked_back_without_moving(maze):
    width, exit_cell = maze.shape[0], exit_of(maze)
    came_from, frontier = {START: None}, [START]
    while frontier:
        cell = frontier.pop(0)
        for nxt in S.neighbours(*cell, width):
            if nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell
                frontier.append(nxt)
    path, cell = [exit_cell], exit_cell
    while cell != START:
        previous = came_from[cell]  # and never cell = previous
    return path[::-1]


def proxy_moved_to_the_cpu(maze):
    proxy = maze.clone().cpu()
    proxy[proxy == EXIT] = EMPTY
    proxy[-1, -1] = EXIT
    return proxy


def value_map_with_the_maze_where_it_is(q_map, maze):
    return torch.where(maze == EMPTY, q_map.max(dim=0).values, torch.nan)  # maze not moved to q_map.device


def value_map_masked_with_the_maze_where_it_is(q_map, maze):
    return q_map.amax(0).masked_fill(maze != EMPTY, float("nan"))


def value_map_moved_to_the_cpu(q_map, maze):
    return S.value_map(q_map, maze).cpu()


def walls_squashed_on_the_cpu(logits, fixed, fixed_walls):
    return torch.where(fixed, fixed_walls, torch.sigmoid(logits.cpu()))


def objective_with_one_hot_guessing_the_classes(q_values, actions):
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    return chosen - q_values.masked_fill(F.one_hot(actions).bool(), float("-inf")).logsumexp(1)  # num_classes?


def objective_masked_on_the_cpu(q_values, actions):
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    return chosen - q_values.masked_fill(F.one_hot(actions.cpu(), 4).bool(), float("-inf")).logsumexp(1)


def objective_in_float64(q_values, actions):
    return S.dream_objective(q_values, actions).double()


def ascent_one_step_short(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         steps=config.steps - 1)


def ascent_showing_the_network_the_logits(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls, planes, positions, actions = on_the_networks_device(mazes, positions, actions)
    logits = logits.clone().to(S.DEVICE).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        walls = S.dream_walls(logits, fixed, fixed_walls)
        q_values = S.q_values_at(q_net(S.with_wall_plane(planes, logits)), positions)  # not walls
        loss = (penalty(walls) - S.dream_objective(q_values, actions)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return S.dream_walls(logits, fixed, fixed_walls).detach().cpu()


def ascent_left_on_the_networks_device(q_net, mazes, positions, actions, logits, penalty, config):
    return S.optimise_walls(q_net, mazes, positions, actions, logits, penalty, config).to(S.DEVICE)  # as no .cpu()


def q_values_with_indices_on_the_cpu(q_maps, positions):
    # A GPU tensor may be indexed with CPU index tensors (the exercise's hint writes torch.arange(B)): no mismatch.
    rows, cols = positions.cpu().unbind(1)
    return q_maps[torch.arange(len(q_maps)), :, rows, cols]


def objective_masked_with_a_cpu_number(q_values, actions):
    # A one-number CPU tensor goes with GPU tensors, as a Python number does (the meta device refuses it here).
    chosen = q_values.gather(1, actions[:, None]).squeeze(1)
    mask = F.one_hot(actions, 4).bool()
    return chosen - q_values.masked_fill(mask, torch.tensor(float("-inf"))).logsumexp(1)


_TIPS = []


def tip_from_the_tips_of_the_first_grid(grid, rng):
    if not _TIPS:
        _TIPS.extend(S.wall_tips(grid))  # remembered for every later grid
    if not _TIPS:
        return False
    (tip_row, tip_col), (wall_row, wall_col) = rng.choice(_TIPS)
    grid[tip_row][tip_col] = EMPTY
    grid[2 * tip_row - wall_row][2 * tip_col - wall_col] = WALL
    return True


CORRECT_VARIANTS = {
    "dead_ends": [dead_ends_as_lists_with_explicit_bounds, dead_ends_with_a_tensor, dead_ends_as_tensor_scalars,
                  dead_ends_with_a_parameter_of_its_own],
    "reward_of_stepping_into": [reward_from_a_table, reward_with_where_only],
    "look_up_steps": [steps_one_at_a_time, steps_with_where_on_whole_mazes],
    "encode_mazes": [encode_with_a_loop_over_the_planes, encode_with_one_hot, encode_by_broadcasting],
    "propagate": [propagate_with_pairwise_maximum, propagate_with_padded_slices, propagate_with_a_cross_shaped_pool,
                  propagate_keeping_the_larger_signal],
    "q_values_at": [q_values_with_permute_and_gather, q_values_with_a_loop, q_values_cells_last,
                    q_values_with_indices_on_the_cpu],
    "greedy_actions": [greedy_with_max_indices, greedy_in_inference_mode, greedy_decorated_with_no_grad,
                       greedy_in_eval_mode],
    "bellman_target": [target_with_where, target_with_amax],
    "td_loss": [loss_by_hand, loss_huber],
    "sync_target": [sync_through_data, sync_through_the_state_dict, sync_with_mul_and_add,
                    sync_hard_copy_by_the_state_dict, sync_freezing_the_target],
    "discounted_return": [return_backwards, return_by_sum, return_in_float32],
    "shortest_path_to_exit": [path_with_a_deque, path_with_random_ties, path_searched_from_the_exit,
                              path_with_a_visited_list],
    "corner_proxy": [proxy_with_where, proxy_corner_first, proxy_from_lists],
    "value_map": [value_map_with_masked_fill, value_map_by_looping],
    "dream_walls": [walls_by_arithmetic, walls_by_hand],
    "dream_objective": [objective_with_a_clone, objective_by_selecting_the_others, objective_masked_with_a_cpu_number],
    "optimise_walls": [ascent_on_the_sum, ascent_with_maximize, ascent_with_autograd_grad],
    "single_block_protrusions": [protrusions_with_loops_column_major, protrusions_with_a_convolution],
    "move_wall_tip": [tip_returning_one_or_zero, tip_with_randrange],
}


# (mutant, a word its diagnosis must contain[, a word it must not contain: another mistake's hint])
MUTANTS = {
    "dead_ends": [(dead_ends_without_the_start, "the start or the exit corner"),
                  (dead_ends_reversing_the_moves, "changed the global `ACTION_MOVES`"), (dead_ends_with_walls, "walls are never dead ends"), (dead_ends_items_closed, "items"),
                  (dead_ends_outside_open, "outside of the maze"), (dead_ends_diagonals, "diagonal"),
                  (dead_ends_column_major, "row-major"), (dead_ends_col_row, "(column, row)"),
                  (dead_ends_skipping_the_border, "skips the border", "outside"),
                  (dead_ends_skipping_the_border_rows, "on the border", "outside"),
                  (dead_ends_as_a_generator, "returned a generator"),
                  (dead_ends_marking_the_grid, "changed its input `grid`"),
                  (dead_ends_any_open_neighbour, "not a dead end"),
                  (dead_ends_wrapping_below_zero, "index -1 is the last row"),
                  (dead_ends_with_a_width_parameter, "its parameters do not match", "check used your result"),
                  (dead_ends_listing_a_cell_twice, "listed (0, 1) twice", "border"),
                  (dead_ends_with_a_mutable_default, "keeps what it found from one call to the next", "border"),
                  (dead_ends_of_the_usual_width, "right only for mazes of width 7", "index -1"),
                  (dead_ends_of_empty_cells_only, "hold an item or the exit", "border")],
    "reward_of_stepping_into": [(reward_from_the_cells_dtype, "dtype=torch.float32"), (reward_bump_pays_move_too, "rewards.bump alone"),
                                (reward_items_without_move, "also costs rewards.move"),
                                (reward_human_subtracted, "sign"), (reward_global_rewards, "`rewards` argument"),
                                (reward_no_exit, "stepping into the exit"),
                                (reward_as_a_list, "expected a tensor"),
                                (reward_in_the_cells_dtype, "expected a float tensor"),
                                (reward_empty_cells_free, "stepping into an empty cell"),
                                (reward_written_into_the_cells, "changed its input `cells`"),
                                (reward_flattened, "shape"),
                                (reward_left_on_another_device, "a device mismatch: the result is on meta"),
                                (reward_made_on_another_device, "a device mismatch"),
                                (reward_in_float64, "MPS"), (reward_table_of_the_cells_dtype, "int8"),
                                (reward_made_on_the_cpu, "a device mismatch that would crash on a GPU")],
    "look_up_steps": [(steps_without_harvest, "not harvested"), (steps_harvest_by_maze_index, "torch.arange(S)"),
                      (steps_writing_into_the_callers_mazes, "changed its input `mazes`"),
                      (steps_one_maze_each, "mazes[maze_index]"), (steps_reward_at_swapped_cell, "Step.rewards"),
                      (steps_emptying_every_destination, "expected the exit"),
                      (steps_with_integer_terminals, "expected a bool tensor"),
                      (steps_that_never_move, "Step.positions is wrong"),
                      (steps_as_a_tuple, "without mazes"),
                      (steps_harvesting_where_the_agent_was, "was not harvested"),
                      (steps_with_int64_mazes, "mazes keep the dtype of `mazes`"),
                      (steps_with_int32_positions, "positions are long"),
                      (steps_harvesting_by_multiplying, "whose code is 1", "stay as they were"),
                      (steps_with_positions_on_another_device, "Step.positions is on meta"),
                      (steps_with_cells_numbered_on_the_cpu, "a device mismatch that would crash on a GPU")],
    "encode_mazes": [(encode_squeezed, "no .squeeze()"), (encode_remembered_by_shape, "earlier input"), (encode_planes_in_the_wrong_order, "wrong order"),
                     (encode_exit_as_wall, "counts the exit as a wall"),
                     (encode_stacked_on_the_batch_axis, "on the batch axis (dim=0)"),
                     (encode_stacked_then_reshaped, "then reshaped"), (encode_concatenated, "concatenated"),
                     (encode_in_float64, "float32"), (encode_transposed, "transposed"),
                     (encode_without_the_exit, "exit plane is missing"), (encode_as_bool, ".float()"),
                     (encode_planes_last, "last axis"), (encode_exit_plane_empty, "plane 3 (exit)"),
                     (encode_moved_to_another_device, "a device mismatch"),
                     (encode_in_float16, "float16", "float64 planes"),
                     (encode_into_zeros_on_the_cpu, "the result would be on the CPU, not on the GPU"),
                     (encode_with_codes_on_the_cpu, "a device mismatch that would crash on a GPU")],
    "propagate": [(propagate_with_a_max_pool, "diagonal"), (propagate_with_roll, "wrap around the border"),
                  (propagate_summing_the_neighbours, "adds up the neighbours"),
                  (propagate_forgetting_the_sources, "forgets the sources"),
                  (propagate_adding_the_source, "adds a cell's own source"),
                  (propagate_with_the_senders_relay, "neighbour that sends"),
                  (propagate_one_round_too_many, "one round too many"), (propagate_from_zeros, "one round too few"),
                  (propagate_reading_the_sources, "reads the sources"),
                  (propagate_direction_by_direction, "while reading it"),
                  (propagate_sweeping_row_by_row, "no signal can reach"),
                  (propagate_into_the_sources, "changed its input `sources`"), (propagate_detached, "no gradient"),
                  (propagate_detached_every_round, "the gradient of the signal's sum"),
                  (propagate_with_a_border_of_ones, "from beyond the border", "no signal can reach"),
                  (propagate_until_nothing_changes, "ignores the `rounds` argument", "no signal can reach"),
                  (propagate_with_the_networks_rounds, "ignores the `rounds` argument", "no signal can reach"),
                  (propagate_on_another_device, "a device mismatch"),
                  (propagate_best_from_cpu_zeros, "a device mismatch that would crash on a GPU"),
                  (propagate_max_over_the_batch, "the mazes of the batch mix", "no signal can reach"),
                  (propagate_the_first_maze_only, "the mazes of the batch mix", "no signal can reach"),
                  (propagate_in_float64, "MPS")],
    "q_values_at": [(q_values_col_row, "(column, row)"), (q_values_over_the_batch, "torch.arange(B)"),
                    (q_values_detached, "no gradient"), (q_values_with_the_actions_last, "axes 2 and 3"),
                    (q_values_from_the_first_position, "positions[:, 0]"),
                    (q_values_one_column_per_maze, "one row of four"),
                    (q_values_on_another_device, "a device mismatch"),
                    (q_values_squeezed, "a batch of one is still a batch"), (q_values_in_float64, "MPS"),
                    (q_values_through_a_mask_on_the_cpu, "a device mismatch that would crash on a GPU")],
    "greedy_actions": [(greedy_switching_gradients_off_for_good, "torch.is_grad_enabled()"),
                       (greedy_remembered_by_shape, "earlier input", "epsilon"), (greedy_argmin, "worst action"), (greedy_over_the_batch, "dim=1"),
                       (greedy_values, "not its Q-value"), (greedy_as_floats, "as floats"),
                       (greedy_col_row, "(row, col)"), (greedy_epsilon, "epsilon-greedy"),
                       (greedy_epsilon_with_its_own_generator, "not the greedy action at"),
                       (greedy_softmax_sampling, "sampling"), (greedy_without_no_grad, "torch.no_grad()"),
                       (greedy_at_every_cell, "q_values_at first"),
                       (greedy_switching_off_requires_grad, "switched requires_grad"),
                       (greedy_on_another_device, "a device mismatch"),
                       (greedy_squeezed, "a batch of one is still a batch"),
                       (greedy_moved_to_the_cpu, "the result would be on the CPU, not on the GPU")],
    "bellman_target": [(target_without_terminal_mask, "(~terminals)"),
                       (target_masks_the_reward_too, "only the future is masked"), (target_min, "min over"),
                       (target_mean, "mean over"), (target_global_gamma, "gamma argument"),
                       (target_undiscounted, "not discounted"), (target_max_over_dim_0, "axis 0"),
                       (target_max_over_dim_1, "axis 1"), (target_keepdim, "keepdim", "max over"),
                       (target_one_minus_bool_terminals, "terminals is bool"),
                       (target_without_gamma, "bellman_target(next_q, rewards, terminals, gamma)",
                        "check used your result"),
                       (target_on_another_device, "a device mismatch"),
                       (target_in_float64, "MPS"),
                       (target_alive_on_the_cpu, "a device mismatch that would crash on a GPU")],
    "td_loss": [(loss_mse, "MSE"), (loss_l1, "L1"), (loss_sum, "sum"), (loss_per_transition, "one number"),
                (loss_item, "expected a tensor"), (loss_detached, "no gradient"),
                (loss_subtracting_in_place, "in-place"), (loss_quadratic_without_the_half, "error^2 / 2"),
                (loss_on_another_device, "a device mismatch"), (loss_in_float64, "MPS"),
                (loss_over_n_minus_one, "N - 1", "L1"),
                (loss_weighted_on_the_cpu, "a device mismatch that would crash on a GPU")],
    "sync_target": [(sync_skipping_a_hard_copy, "did not change at all", "loop variable only renames"), (sync_online_towards_target, "leave q_net alone"), (sync_tau_swapped, "swapped"),
                    (sync_hard_copy, "whatever tau is"), (sync_rebinding, "did not change"),
                    (sync_without_no_grad, "torch.no_grad()"), (sync_rebinding_the_network, "did not change"),
                    (sync_first_layer_only, "19 of 21 parameters were not synced"),
                    (sync_aliasing_the_online_weights, "shares memory with `q_net`"),
                    (sync_assigning_the_parameters, "shares memory with `q_net`"),
                    (sync_layers_only, "decay_logits"),
                    (sync_freezing_the_target_then_lerping, "part of the autograd graph", "check used your result"),
                    (sync_from_the_first_target_weights, "nothing remembered from an earlier call"),
                    (sync_moving_the_target_to_another_device, "`target_net`.decay_logits is on meta"),
                    (sync_every_tenth_call, "counts its calls", "returns nothing"),
                    (sync_towards_a_cpu_copy, "a device mismatch that would crash on a GPU")],
    "discounted_return": [(return_off_by_one, "off by one"), (return_back_to_front, "back to front"),
                          (return_undiscounted, "not discounted"), (return_consuming_the_list, "changed its input"),
                          (return_global_gamma, "gamma argument"),
                          (return_list_of_discounted_rewards, "expected a Python number"),
                          (return_reduced_without_a_start, "an empty episode"),
                          (return_with_keepdim, "tensor of shape (1,)"),
                          (return_with_a_discount_of_its_own, "missing a required argument: 'discount'",
                           "check used your result"),
                          (return_as_a_tensor, "statistics.mean")],
    "shortest_path_to_exit": [(path_depth_first, "not the shortest"), (path_through_items, "steps on"),
                              (path_backwards, "reversed"), (path_without_start, "starts at"),
                              (path_marking_the_maze, "changed its input `maze`"),
                              (path_through_walls, "through the wall"), (path_as_a_tensor, "return a list"),
                              (path_stopping_short, "ends at"),
                              (path_as_lists, "opened_post(maze) in"),
                              (path_col_row, "(column, row)", "crop"),
                              (path_to_the_corner, "not always in the corner"),
                              (path_without_a_visited_set, "not in came_from yet", "endless loop"),
                              (path_onto_empty_cells_only, "never reached the exit", "tensor"),
                              (path_onto_empty_cells_only_walked_back, "never reached the exit"),
                              (path_looking_past_the_border, "index -1 is the last row", "list every cell"),
                              (path_wrapping_round, "wraps round the border", "list every cell"),
                              (path_heading_for_the_exit_first, "nearest the exit"),
                              (path_walked_back_without_moving, "cell = came_from[cell]")],
    "corner_proxy": [(proxy_in_place, "changed its input `maze`"), (proxy_keeping_the_old_exit, "2 exits"),
                     (proxy_in_the_top_right_corner, "not in the bottom-right corner"),
                     (proxy_walling_up_the_old_exit, "the old exit's cell (2, 2) holds a wall"),
                     (proxy_indexed_with_nonzero, "emptied the whole of row 2 and 4"), (proxy_as_int64, "dtype"),
                     (proxy_copied_only, "the exit is still at (2, 2)"),
                     (proxy_on_another_device, "a device mismatch"),
                     (proxy_moved_to_the_cpu, "the result would be on the CPU, not on the GPU")],
    "value_map": [(value_map_min, "the smallest"), (value_map_mean, "the mean"),
                  (value_map_best_action, "the index of the best action"),
                  (value_map_everywhere, "no nan where the agent cannot stand"),
                  (value_map_of_open_cells, "items and the exit got values"), (value_map_swapped, "swapped"),
                  (value_map_zero_elsewhere, "0 where the agent cannot stand"),
                  (value_map_transposed, "rows and columns are swapped"), (value_map_over_the_rows, "dim=0"),
                  (value_map_written_into_the_q_map, "changed its input `q_map`"),
                  (value_map_on_another_device, "a device mismatch"), (value_map_in_float64, "MPS"),
                  (value_map_with_the_maze_where_it_is, "a device mismatch that would crash on a GPU"),
                  (value_map_masked_with_the_maze_where_it_is, "a device mismatch that would crash on a GPU"),
                  (value_map_moved_to_the_cpu, "the result would be on the CPU, not on the GPU")],
    "dream_walls": [(walls_clamped, "clamped"), (walls_ignoring_fixed, "fixed cells"),
                    (walls_fixed_cells_open, "fixed cells"), (walls_swapped, "swapped"),
                    (walls_detached, "no gradient"), (walls_written_into_logits, "changed its input `logits`"),
                    (walls_written_into_the_sigmoid, "in-place write"), (walls_in_float64, "float32"),
                    (walls_rounded, "rounded"), (walls_squashing_the_logits_in_place, "in-place operation"),
                    (walls_on_another_device, "a device mismatch"),
                    (walls_squashed_on_the_cpu, "a device mismatch that would crash on a GPU")],
    "dream_objective": [(objective_flipped, "sign"), (objective_chosen_inside, "inside the logsumexp"),
                        (objective_hard_max, "hard max"), (objective_mean, "mean"),
                        (objective_detached, "no gradient"), (objective_averaged, "shape ()"),
                        (objective_masked_fill_in_place, "masked_fill, without the _", "no_grad"),
                        (objective_over_the_batch_axis, "dim=1"), (objective_keepdim, "squeeze"),
                        (objective_masked_by_adding_minus_infinity, "NaN"),
                        (objective_on_another_device, "a device mismatch"),
                        (objective_with_one_hot_guessing_the_classes, "num_classes=4", "two terms"),
                        (objective_masked_on_the_cpu, "a device mismatch that would crash on a GPU"),
                        (objective_in_float64, "MPS")],
    "optimise_walls": [(ascent_on_the_weights, "changed its input `q_net`"), (ascent_descending, "descends"),
                       (ascent_without_zero_grad, "zero_grad()"), (ascent_without_detach, "autograd graph"),
                       (ascent_on_the_callers_logits, "changed its input `logits`"),
                       (ascent_without_requires_grad, "requires_grad_(True)"),
                       (ascent_with_the_walls_built_once, "backward through the graph a second time"),
                       (ascent_without_the_penalty, "penalty is left out"),
                       (ascent_with_its_own_settings, "ignores the config"), (ascent_with_sgd, "SGD"),
                       (ascent_returning_the_walls_of_the_last_step, "before the last step"),
                       (ascent_switching_off_requires_grad, "switched requires_grad"),
                       (ascent_returning_the_logits, "outside [0, 1]"),
                       (ascent_with_a_plain_sigmoid, "fixed cells changed"),
                       (ascent_with_the_network_under_no_grad, "no gradient came through the network"),
                       (ascent_adding_the_objective, "adds the objective to the penalty"),
                       (ascent_with_a_new_optimiser_every_step, "a new optimiser at every step"),
                       (ascent_zeroing_the_gradient_after_backward, "loss.backward(), optimiser.step(), in this order"),
                       (ascent_without_the_config, "its parameters do not match", "check used your result"),
                       (ascent_left_on_another_device, "a device mismatch: the result is on meta, expected on cpu"),
                       (ascent_one_step_short, "one step too few"),
                       (ascent_showing_the_network_the_logits, "the network sees the logits", "NaN"),
                       (ascent_left_on_the_networks_device, "the result would be on the GPU, not on the CPU")],
    "single_block_protrusions": [(protrusions_with_posts, "posts"), (protrusions_open_border, "border"),
                                 (protrusions_col_row, "swapped"), (protrusions_open_cells, "open cells"),
                                 (protrusions_counting_diagonals, "diagonal", "border"),
                                 (protrusions_as_a_tensor, ".nonzero().tolist()"),
                                 (protrusions_marking_the_maze, "changed its input `maze`"),
                                 (protrusions_leaving_out_odd_rows, "missed (3, 2)"),
                                 (protrusions_with_lone_blocks, "no wall neighbour at all"),
                                 (protrusions_for_width_7_only, "listed the post at (1, 7)")],
    "move_wall_tip": [(tip_drawn_twice, "random draws differ", "far side"), (tip_becomes_a_crop, "wrong codes"), (tip_opens_the_wall_neighbour, "wrong cells"), (tip_shuts_behind_the_wall, "far side"),
                      (tip_global_random, "rng.choice(wall_tips(grid))"), (tip_returns_a_copy, "in place"),
                      (tip_always_true, "expected False"), (tip_after_a_shuffle, "moved the tip at", "wrong cells"),
                      (tip_from_the_random_module, "with the rng passed in"),
                      (tip_without_return, "returned None"),
                      (tip_with_an_extra_draw, "drew random numbers differently"),
                      (tip_returning_text, "returned 'True'"),
                      (tip_with_the_codes_swapped, "grid is unchanged"),
                      (tip_opened_and_nothing_shut, "shut nothing"),
                      (tip_from_the_tips_of_the_first_grid, "a tip of an earlier grid", "far side")],
}


def mutant_cases():
    return [pytest.param(name, mutant, words[0], words[1:], id=mutant.__name__)
            for name, mutants in MUTANTS.items() for mutant, *words in mutants]


def test_every_exercise_has_at_least_five_mutants():
    assert set(MUTANTS) == set(checks.CHECKS)
    assert all(len(mutants) >= 5 for mutants in MUTANTS.values())


@pytest.mark.parametrize("name", list(checks.CHECKS))
def test_the_reference_passes(name, capsys):
    assert checks.CHECKS[name](getattr(S, name)) is True
    assert capsys.readouterr().out == f"{name}: passed\n"


@pytest.mark.parametrize("name, mutant, named, not_named", mutant_cases())
def test_the_check_catches_the_mutant_and_names_the_problem(name, mutant, named, not_named, capsys):
    assert checks.CHECKS[name](mutant) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: failed: ")
    assert named.lower() in out.lower(), out
    told = "\n".join(line for line in out.splitlines() if line.startswith((f"{name}: failed", "  hint:")))
    for word in not_named:  # another mistake's words, in the problem or the hint
        assert word.lower() not in told.lower(), out
    assert "Traceback" not in out
    assert f"the cells below call your {name}, and until this check passes they run on its wrong results" in out
    assert f'use_reference("{name}")' in out  # how to go on when stuck


@pytest.mark.parametrize("name, variant", [(name, variant) for name, variants in CORRECT_VARIANTS.items()
                                           for variant in variants],
                         ids=[variant.__name__ for variants in CORRECT_VARIANTS.values() for variant in variants])
def test_correct_variants_pass(name, variant, capsys):
    assert checks.CHECKS[name](variant) is True, capsys.readouterr().out


@pytest.mark.parametrize("name, mutant", [(name, mutant) for name, mutants in MUTANTS.items()
                                          for mutant, *_ in mutants if name == "move_wall_tip"
                                          or mutant in (path_marking_the_maze, tip_from_the_random_module,
                                                        greedy_epsilon, greedy_softmax_sampling,
                                                        dead_ends_as_a_generator, path_without_a_visited_set,
                                                        sync_freezing_the_target_then_lerping,
                                                        ascent_with_a_new_optimiser_every_step,
                                                        propagate_max_over_the_batch, encode_into_zeros_on_the_cpu,
                                                        value_map_with_the_maze_where_it_is)])
def test_a_verdict_is_the_same_every_time(name, mutant, capsys):
    outputs = []
    for seed in range(3):  # whatever the caller's random state
        torch.manual_seed(seed)
        checks.CHECKS[name](mutant)
        out = capsys.readouterr().out
        if "still running after" in out:  # the line a slow call was stopped on is wherever it happened to be
            out = re.sub(r"\n  at: [^\n]*", "", out)
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_function_that_writes_into_the_checks_maze_does_not_spoil_the_next_run(capsys):
    assert checks.check_shortest_path_to_exit(path_marking_the_maze) is False
    assert checks.check_shortest_path_to_exit(S.shortest_path_to_exit) is True


def test_a_blank_exercise_stops_the_walk_through_and_says_how_to_go_on():
    def blank(grid):
        raise NotImplementedError("dead_ends: list the dead ends")

    with pytest.raises(NotImplementedError, match=r'dead_ends: list the dead ends .*use_reference\("dead_ends"\)'):
        checks.check_dead_ends(blank)


def test_an_exception_becomes_a_diagnosis_that_points_at_the_learners_line(capsys):
    def q_values_at(q_maps, positions):
        return q_maps[torch.arange(len(q_maps)), :, positions[0], positions[1]]  # torch raises inside the indexing

    assert checks.check_q_values_at(q_values_at) is False
    out = capsys.readouterr().out
    assert "raised IndexError" in out
    assert "return q_maps[torch.arange(len(q_maps)), :, positions[0], positions[1]]" in out  # the learner's own line
    assert "positions[:, 0] is every agent's row" in out  # the hint
    assert "Traceback" not in out


def test_an_exception_in_backward_names_the_input_and_the_checks_line(capsys):
    assert checks.check_dream_walls(walls_written_into_the_sigmoid) is False
    out = capsys.readouterr().out
    assert out.startswith("dream_walls: failed: RuntimeError when the check used your result")
    assert "on: 3 mazes of width 5" in out and "the check ran `got.sum().backward()`" in out


def test_an_unexpected_not_implemented_error_is_a_diagnosis_not_a_blank(capsys):
    def discounted_return(rewards, gamma=GAMMA):
        raise NotImplementedError("gamma must be a float")  # not an exercise's blank

    assert checks.check_discounted_return(discounted_return) is False
    assert "raised NotImplementedError: gamma must be a float" in capsys.readouterr().out


def test_a_function_whose_helper_exercise_fails_is_told_so(capsys):
    namespace = {"dream_walls": walls_clamped}  # the learner's dream_walls, wrong; their optimise_walls calls it
    exec(compile("def optimise_walls(*inputs):\n    return dream_walls(*inputs[4:5], None, None)", "cell", "exec"),
         namespace)
    assert checks.check_optimise_walls(namespace["optimise_walls"]) is False
    out = capsys.readouterr().out
    assert "calls your dream_walls, which does not pass its own check yet" in out
    assert 'use_reference("dream_walls")' in out


def test_a_check_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_bellman_target(S.bellman_target)
    checks.check_move_wall_tip(S.move_wall_tip)
    assert torch.equal(torch.rand(3), expected)


def test_a_check_reports_a_missing_return(capsys):
    def encode_mazes(mazes):
        S.encode_mazes(mazes)

    assert checks.check_encode_mazes(encode_mazes) is False
    out = capsys.readouterr().out
    assert "the result is None, expected a tensor" in out and "without `return ...`" in out


def test_an_endless_loop_becomes_a_diagnosis_that_points_at_the_loop(monkeypatch, capsys):
    def discounted_return(rewards, gamma=GAMMA):
        total, t = 0.0, 0
        while t < len(rewards):
            total += gamma ** t * rewards[t]  # t never grows
        return total

    monkeypatch.setattr(checks, "CHECK_TIME_LIMIT_S", 1)
    assert checks.check_discounted_return(discounted_return) is False
    out = capsys.readouterr().out
    assert "still running after 1 s: an endless loop?" in out
    # the line it was stuck on: the loop's head or its body
    assert re.search(r"at: line \d+ of test_checks\.py \(in discounted_return\): (while t|total \+=)", out), out


def test_the_grader_prints_its_table_past_an_endless_loop(monkeypatch, tmp_path, capsys):
    source = open(os.path.join(ROOT, "exercises.py")).read()
    blank = 'raise NotImplementedError("discounted_return:'
    start = source.index(blank)
    source = source[:start] + "while True:\n        pass" + source[source.index("\n", start):]
    source += "\n\n# %%\nwhile True:  # a cell that never ends\n    pass\n"
    path = tmp_path / "looping.py"
    path.write_text(source)
    monkeypatch.setattr(checks, "CHECK_TIME_LIMIT_S", 1)
    assert checks.main(str(path)) == 1
    out = capsys.readouterr().out
    assert re.search(r"discounted_return +failed: still running after 1 s: an endless loop\?", out), out
    assert re.search(r"the cell at line \d+ \(while True:  # a cell that never ends\): TooSlow", out), out
    assert f"0 of {len(checks.CHECKS)} passed" in out


def test_an_exception_in_a_given_helper_also_names_the_learners_line_that_called_it(capsys):
    import linecache

    source = ("def one_step_away(grids, action, beyond):\n    return [grids][action]\n\n\n"
              "def propagate(sources, relay, rounds):\n    return one_step_away(sources, 4, 0.0)\n")
    linecache.cache["my_exercises.py"] = (len(source), None, source.splitlines(True), "my_exercises.py")
    namespace = {}
    exec(compile(source, "my_exercises.py", "exec"), namespace)  # as the grader runs a learner's file
    assert checks.check_propagate(namespace["propagate"]) is False
    out = capsys.readouterr().out
    assert ("at: line 2 of my_exercises.py (in one_step_away): return [grids][action]; called from line 6 "
            "(in propagate): return one_step_away(sources, 4, 0.0)") in out


def test_a_global_written_in_place_is_put_back(capsys):
    before = ACTION_MOVES.clone()
    assert checks.check_dead_ends(dead_ends_reversing_the_moves) is False
    assert torch.equal(ACTION_MOVES, before) and torch.equal(S.ACTION_MOVES, before)


def test_a_time_limit_inside_another_ends_first_and_puts_the_other_back():
    with checks.time_limit(30):
        with pytest.raises(checks.TooSlow):
            with checks.time_limit(0.2):
                while True:
                    pass
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30  # the enclosing limit, less the time spent
        with checks.time_limit(60):  # ends after the enclosing one: the enclosing one holds
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
