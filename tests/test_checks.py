"""The checks are proven: each passes the reference, and catches plausible wrong versions (mutants)
of its exercise, naming the problem. A check that cannot fail checks nothing."""
import pytest
import torch
import torch.nn.functional as F

import checks
import solutions as S
from solutions import CROP, EMPTY, EXIT, GAMMA, HUMAN, REWARDS, START, WALL, ReplayBuffer, Step


# ---------------------------------------------------------------------------------------------
# The mutants: each is a mistake a learner could make, with a word the diagnosis must contain.


def dead_ends_with_walls(grid):
    width = len(grid)
    return [(r, c) for r in range(width) for c in range(width)
            if sum(grid[nr][nc] != WALL for nr, nc in S.neighbours(r, c, width)) == 1]


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


def encode_column_major(mazes, positions):
    return S.encode_states(mazes.transpose(1, 2), positions)


def encode_crops_and_humans_swapped(mazes, positions):
    swapped = mazes.clone()
    swapped[mazes == CROP], swapped[mazes == HUMAN] = HUMAN, CROP
    return S.encode_states(swapped, positions)


def encode_column_first(mazes, positions):
    return S.encode_states(mazes, positions.flip(1))


def encode_without_float(mazes, positions):
    batch, width, _ = mazes.shape
    flat = mazes.reshape(batch, width * width)
    rows, cols = F.one_hot(positions[:, 0], width), F.one_hot(positions[:, 1], width)
    return torch.cat([(flat == WALL).long(), (flat == CROP).long(), (flat == HUMAN).long(), rows, cols], dim=1)


def encode_exit_as_wall(mazes, positions):
    encoded = S.encode_states(mazes, positions)
    width = mazes.shape[-1]
    encoded[:, :width * width] = (mazes.reshape(len(mazes), -1) <= WALL).float()
    return encoded


def buffer_from(mazes, maze_index, row, col, actions, rewards=REWARDS, encode_next_from_before=False):
    positions = torch.stack([row, col], 1)
    after = S.look_up_steps(mazes, maze_index, positions, actions, S.transitions(mazes, rewards))
    next_mazes = mazes[maze_index] if encode_next_from_before else after.mazes
    return ReplayBuffer(S.encode_states(mazes[maze_index], positions).to(torch.uint8), actions, after.rewards,
                        after.terminals, S.encode_states(next_mazes, after.positions).to(torch.uint8))


def every_cell_action(cells):
    maze_index, row, col = cells.nonzero(as_tuple=True)
    count = len(maze_index)
    maze_index, row, col = (t.repeat_interleave(4) for t in (maze_index, row, col))
    return maze_index, row, col, torch.arange(4).repeat(count)


def buffer_every_open_cell(mazes, rewards=REWARDS):
    return buffer_from(mazes, *every_cell_action(mazes != WALL), rewards)


def buffer_actions_misaligned(mazes, rewards=REWARDS):
    maze_index, row, col, _ = every_cell_action(mazes == EMPTY)
    return buffer_from(mazes, maze_index, row, col, torch.arange(4).repeat_interleave(len(maze_index) // 4), rewards)


def buffer_next_state_before_harvest(mazes, rewards=REWARDS):
    return buffer_from(mazes, *every_cell_action(mazes == EMPTY), rewards, encode_next_from_before=True)


def buffer_default_rewards(mazes, rewards=REWARDS):
    return S.make_replay_buffer(mazes)


def buffer_float_states(mazes, rewards=REWARDS):
    buffer = S.make_replay_buffer(mazes, rewards)
    return ReplayBuffer(buffer.states.float(), buffer.actions, buffer.rewards, buffer.terminals,
                        buffer.next_states.float())


def greedy_argmin(q_net, mazes, positions):
    with torch.no_grad():
        return q_net(S.encode_states(mazes, positions)).argmin(dim=1)


def greedy_over_the_batch(q_net, mazes, positions):
    with torch.no_grad():
        return q_net(S.encode_states(mazes, positions)).argmax(dim=0)


def greedy_values(q_net, mazes, positions):
    with torch.no_grad():
        return q_net(S.encode_states(mazes, positions)).max(dim=1).values


def greedy_col_row(q_net, mazes, positions):
    return S.greedy_actions(q_net, mazes, positions[:, [1, 0]])


def target_without_terminal_mask(target_net, rewards, terminals, next_states, gamma=GAMMA):
    with torch.no_grad():
        return rewards + gamma * target_net(next_states).max(dim=1).values


def target_with_gradient(target_net, rewards, terminals, next_states, gamma=GAMMA):
    return rewards + gamma * target_net(next_states).max(dim=1).values * (~terminals)


def target_min(target_net, rewards, terminals, next_states, gamma=GAMMA):
    with torch.no_grad():
        return rewards + gamma * target_net(next_states).min(dim=1).values * (~terminals)


def target_masks_the_reward_too(target_net, rewards, terminals, next_states, gamma=GAMMA):
    with torch.no_grad():
        return (rewards + gamma * target_net(next_states).max(dim=1).values) * (~terminals)


def target_global_gamma(target_net, rewards, terminals, next_states, gamma=GAMMA):
    return S.bellman_target(target_net, rewards, terminals, next_states)


def target_max_over_the_batch(target_net, rewards, terminals, next_states, gamma=GAMMA):
    with torch.no_grad():
        return rewards + gamma * target_net(next_states).max(dim=0).values * (~terminals)


def predicted_best(q_net, states, actions):
    return q_net(states).max(dim=1).values


def predicted_detached(q_net, states, actions):
    return S.predicted_q(q_net, states, actions).detach()


def predicted_unsqueezed(q_net, states, actions):
    return q_net(states).gather(1, actions[:, None])


def predicted_gathered_over_the_batch(q_net, states, actions):
    return q_net(states).gather(0, actions[:, None]).squeeze(1)


def predicted_every_action(q_net, states, actions):
    return q_net(states)[:, actions]


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


def breadth_first(maze, take=0, allowed=(EMPTY, EXIT), reverse=True, keep_start=True):
    width = maze.shape[0]
    exit_cell = (width - 1, width - 1)
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
    exit_cell = (width - 1, width - 1)
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
                                  requires_grad=True, walls_once=False, parameters=None, make_optimiser=None):
    """optimise_walls with one thing changed: how a learner's version of it might go wrong."""
    fixed, fixed_walls = S.fixed_cells(mazes, positions), (mazes == WALL).float()
    states = S.encode_states(mazes, positions)
    logits = logits.clone() if clone else logits
    if requires_grad:
        logits.requires_grad_(True)
    optimiser = (make_optimiser or torch.optim.Adam)(parameters(q_net) if parameters else [logits],
                                                     lr=lr or config.learning_rate)
    walls = S.dream_walls(logits, fixed, fixed_walls)
    for _ in range(steps or config.steps):
        if not walls_once:
            walls = S.dream_walls(logits, fixed, fixed_walls)
        loss = sign * (penalty(walls) - S.dream_objective(q_net(S.with_wall_plane(states, walls)), actions)).mean()
        if zero_grad:
            optimiser.zero_grad()
        loss.backward()
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
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config, steps=100,
                                         lr=0.1)


def ascent_with_sgd(q_net, mazes, positions, actions, logits, penalty, config):
    return optimise_walls_reference_loop(q_net, mazes, positions, actions, logits, penalty, config,
                                         make_optimiser=torch.optim.SGD)


def ascent_returning_the_walls_of_the_last_step(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls = S.fixed_cells(mazes, positions), (mazes == WALL).float()
    states = S.encode_states(mazes, positions)
    logits = logits.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        walls = S.dream_walls(logits, fixed, fixed_walls)
        loss = (penalty(walls) - S.dream_objective(q_net(S.with_wall_plane(states, walls)), actions)).mean()
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
    return torch.tensor([table[code] for code in cells.flatten().tolist()], dtype=torch.float64).reshape(cells.shape)


def reward_with_where_only(cells, rewards=REWARDS):
    reward = torch.full(cells.shape, rewards.move)
    for code, extra in ((CROP, rewards.crop), (HUMAN, rewards.human), (EXIT, rewards.exit)):
        reward = torch.where(cells == code, rewards.move + extra, reward)
    return torch.where(cells == WALL, rewards.bump, reward)


def steps_one_at_a_time(mazes, maze_index, positions, actions, outcome):
    next_mazes, next_positions, rewards, terminals = [], [], [], []
    for m, (row, col), a in zip(maze_index.tolist(), positions.tolist(), actions.tolist()):
        maze = mazes[m].long().clone()
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
    cells = torch.arange(width * width).reshape(width, width)
    landed = cells == (next_positions[:, 0] * width + next_positions[:, 1])[:, None, None]  # (S, n, n)
    next_mazes = torch.where(landed & harvest[:, None, None], EMPTY, mazes[maze_index].long())
    return Step(next_mazes, next_positions.int(), outcome.rewards[maze_index, row, col, actions],
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


def path_with_a_deque_and_lists(maze):
    from collections import deque

    width = maze.shape[0]
    came_from, frontier = {START: None}, deque([START])
    while frontier:
        cell = frontier.popleft()
        for nxt in S.neighbours(*cell, width):
            if nxt not in came_from and maze[nxt].item() in (EMPTY, EXIT):
                came_from[nxt] = cell
                frontier.append(nxt)
    path, cell = [], (width - 1, width - 1)
    while cell is not None:
        path.append(list(cell))
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
    path = [(width - 1, width - 1)]
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


def ascent_on_the_sum(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls = S.fixed_cells(mazes, positions), (mazes == WALL).float()
    states = S.encode_states(mazes, positions)
    logits = logits.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        walls = S.dream_walls(logits, fixed, fixed_walls)
        loss = (penalty(walls) - S.dream_objective(q_net(S.with_wall_plane(states, walls)), actions)).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return S.dream_walls(logits, fixed, fixed_walls).detach()


def ascent_with_maximize(q_net, mazes, positions, actions, logits, penalty, config):
    fixed, fixed_walls = S.fixed_cells(mazes, positions), (mazes == WALL).float()
    states = S.encode_states(mazes, positions)
    logits = logits.detach().clone()
    logits.requires_grad = True
    optimiser = torch.optim.Adam([logits], lr=config.learning_rate, maximize=True)
    for _ in range(config.steps):
        optimiser.zero_grad()
        walls = S.dream_walls(logits, fixed, fixed_walls)
        (S.dream_objective(q_net(S.with_wall_plane(states, walls)), actions) - penalty(walls)).mean().backward()
        optimiser.step()
    with torch.no_grad():
        return S.dream_walls(logits, fixed, fixed_walls)


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


CORRECT_VARIANTS = {
    "dead_ends": [dead_ends_as_lists_with_explicit_bounds, dead_ends_with_a_tensor],
    "reward_of_stepping_into": [reward_from_a_table, reward_with_where_only],
    "look_up_steps": [steps_one_at_a_time, steps_with_where_on_whole_mazes],
    "td_loss": [loss_by_hand, loss_huber, loss_in_float64],
    "sync_target": [sync_through_data, sync_through_the_state_dict, sync_with_mul_and_add],
    "discounted_return": [return_backwards, return_as_a_tensor],
    "shortest_path_to_exit": [path_with_a_deque_and_lists, path_with_random_ties],
    "dream_walls": [walls_by_arithmetic, walls_by_hand],
    "dream_objective": [objective_with_a_clone, objective_by_selecting_the_others],
    "optimise_walls": [ascent_on_the_sum, ascent_with_maximize],
    "single_block_protrusions": [protrusions_with_loops_column_major, protrusions_with_a_convolution],
    "move_wall_tip": [tip_returning_one_or_zero, tip_with_randrange],
}


# (mutant, a word its diagnosis must contain[, a word it must not contain: another mistake's hint])
MUTANTS = {
    "dead_ends": [(dead_ends_with_walls, "walls are never dead ends"), (dead_ends_items_closed, "items"),
                  (dead_ends_outside_open, "outside of the maze"), (dead_ends_diagonals, "diagonal"),
                  (dead_ends_column_major, "row-major"), (dead_ends_col_row, "(column, row)"),
                  (dead_ends_skipping_the_border, "skips the border", "outside"),
                  (dead_ends_skipping_the_border_rows, "on the border", "outside"),
                  (dead_ends_as_a_generator, "returned a generator"),
                  (dead_ends_marking_the_grid, "changed its input `grid`"),
                  (dead_ends_any_open_neighbour, "not a dead end")],
    "reward_of_stepping_into": [(reward_bump_pays_move_too, "rewards.bump alone"),
                                (reward_items_without_move, "also costs rewards.move"),
                                (reward_human_subtracted, "sign"), (reward_global_rewards, "`rewards` argument"),
                                (reward_no_exit, "stepping into the exit"),
                                (reward_as_a_list, "expected a tensor"),
                                (reward_in_the_cells_dtype, "expected a float tensor"),
                                (reward_empty_cells_free, "stepping into an empty cell"),
                                (reward_written_into_the_cells, "changed its input `cells`"),
                                (reward_flattened, "shape")],
    "look_up_steps": [(steps_without_harvest, "not harvested"), (steps_harvest_by_maze_index, "torch.arange(S)"),
                      (steps_writing_into_the_callers_mazes, "changed its input `mazes`"),
                      (steps_one_maze_each, "mazes[maze_index]"), (steps_reward_at_swapped_cell, "Step.rewards"),
                      (steps_emptying_every_destination, "expected the exit"),
                      (steps_with_integer_terminals, "expected a bool tensor"),
                      (steps_that_never_move, "Step.positions is wrong"),
                      (steps_as_a_tuple, "without mazes"),
                      (steps_harvesting_where_the_agent_was, "was not harvested")],
    "encode_states": [(encode_column_major, "column-major"), (encode_crops_and_humans_swapped, "walls, crops, humans"),
                      (encode_column_first, "row comes first"), (encode_without_float, "float"),
                      (encode_exit_as_wall, "exit")],
    "make_replay_buffer": [(buffer_every_open_cell, "only ever stands on EMPTY"),
                           (buffer_actions_misaligned, "more than once"),
                           (buffer_next_state_before_harvest, "harvested item is gone"),
                           (buffer_default_rewards, "rewards argument"), (buffer_float_states, "uint8")],
    "greedy_actions": [(greedy_argmin, "worst action"), (greedy_over_the_batch, "dim=1"),
                       (greedy_values, "not its Q-value"), (greedy_col_row, "(row, col)")],
    "bellman_target": [(target_without_terminal_mask, "(~terminals)"), (target_with_gradient, "torch.no_grad()"),
                       (target_min, "min over actions"), (target_masks_the_reward_too, "only the future is masked"),
                       (target_global_gamma, "gamma argument"), (target_max_over_the_batch, "dim=1")],
    "predicted_q": [(predicted_best, "best action"), (predicted_detached, "no gradient"),
                    (predicted_unsqueezed, "squeeze"), (predicted_gathered_over_the_batch, "batch axis"),
                    (predicted_every_action, "every action for every row")],
    "td_loss": [(loss_mse, "MSE"), (loss_l1, "L1"), (loss_sum, "sum"), (loss_per_transition, "one number"),
                (loss_item, "expected a tensor"), (loss_detached, "no gradient"),
                (loss_subtracting_in_place, "in-place"), (loss_quadratic_without_the_half, "error^2 / 2")],
    "sync_target": [(sync_online_towards_target, "leave q_net alone"), (sync_tau_swapped, "swapped"),
                    (sync_hard_copy, "whatever tau is"), (sync_rebinding, "did not change"),
                    (sync_without_no_grad, "torch.no_grad()"), (sync_rebinding_the_network, "did not change"),
                    (sync_first_layer_only, "parameter 2 differs")],
    "discounted_return": [(return_off_by_one, "off by one"), (return_back_to_front, "back to front"),
                          (return_undiscounted, "not discounted"), (return_consuming_the_list, "changed its input"),
                          (return_global_gamma, "gamma argument"),
                          (return_list_of_discounted_rewards, "expected a number"),
                          (return_reduced_without_a_start, "an empty episode")],
    "shortest_path_to_exit": [(path_depth_first, "not the shortest"), (path_through_items, "steps on"),
                              (path_backwards, "reversed"), (path_without_start, "starts at"),
                              (path_marking_the_maze, "changed its input `maze`"),
                              (path_through_walls, "through the wall"), (path_as_a_tensor, "return a list"),
                              (path_stopping_short, "ends at")],
    "dream_walls": [(walls_clamped, "clamped"), (walls_ignoring_fixed, "fixed cells"),
                    (walls_fixed_cells_open, "fixed cells"), (walls_swapped, "swapped"),
                    (walls_detached, "no gradient"), (walls_written_into_logits, "changed its input `logits`"),
                    (walls_written_into_the_sigmoid, "in-place write"), (walls_in_float64, "float32"),
                    (walls_rounded, "rounded"), (walls_squashing_the_logits_in_place, "in-place operation")],
    "dream_objective": [(objective_flipped, "sign"), (objective_chosen_inside, "inside the logsumexp"),
                        (objective_hard_max, "hard max"), (objective_mean, "mean"),
                        (objective_detached, "no gradient"), (objective_averaged, "shape ()"),
                        (objective_masked_fill_in_place, "masked_fill, without the _", "no_grad"),
                        (objective_over_the_batch_axis, "dim=1"), (objective_keepdim, "squeeze")],
    "optimise_walls": [(ascent_on_the_weights, "changed its input `q_net`"), (ascent_descending, "descends"),
                       (ascent_without_zero_grad, "zero_grad()"), (ascent_without_detach, "autograd graph"),
                       (ascent_on_the_callers_logits, "changed its input `logits`"),
                       (ascent_without_requires_grad, "requires_grad_(True)"),
                       (ascent_with_the_walls_built_once, "backward through the graph a second time"),
                       (ascent_without_the_penalty, "penalty is left out"),
                       (ascent_with_its_own_settings, "ignores the config"), (ascent_with_sgd, "SGD"),
                       (ascent_returning_the_walls_of_the_last_step, "before the last step")],
    "single_block_protrusions": [(protrusions_with_posts, "posts"), (protrusions_open_border, "border"),
                                 (protrusions_col_row, "swapped"), (protrusions_open_cells, "open cells"),
                                 (protrusions_counting_diagonals, "diagonal", "border"),
                                 (protrusions_as_a_tensor, "finish with .tolist()"),
                                 (protrusions_marking_the_maze, "changed its input `maze`"),
                                 (protrusions_leaving_out_odd_rows, "missed (3, 2)")],
    "move_wall_tip": [(tip_opens_the_wall_neighbour, "wrong cells"), (tip_shuts_behind_the_wall, "far side"),
                      (tip_global_random, "rng.choice(wall_tips(grid))"), (tip_returns_a_copy, "in place"),
                      (tip_always_true, "expected False"), (tip_after_a_shuffle, "moved the tip at", "wrong cells"),
                      (tip_from_the_random_module, "with the rng passed in"),
                      (tip_without_return, "returned None"),
                      (tip_with_an_extra_draw, "drew random numbers differently"),
                      (tip_returning_text, "returned 'True'")],
}
# Being rewritten for the Q-map network (issue 10): their new checks bring their own new mutants.
REDESIGNED = {"encode_states", "make_replay_buffer", "greedy_actions", "bellman_target", "predicted_q"}


def mutant_cases():
    return [pytest.param(name, mutant, words[0], words[1:], id=mutant.__name__)
            for name, mutants in MUTANTS.items() for mutant, *words in mutants]


def test_every_exercise_has_at_least_five_mutants():
    assert set(MUTANTS) == set(checks.CHECKS)
    assert all(len(mutants) >= (3 if name in REDESIGNED else 5) for name, mutants in MUTANTS.items())


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
    assert f'use_reference("{name}")' in out  # how to go on when stuck


@pytest.mark.parametrize("name, variant", [(name, variant) for name, variants in CORRECT_VARIANTS.items()
                                           for variant in variants],
                         ids=[variant.__name__ for variants in CORRECT_VARIANTS.values() for variant in variants])
def test_correct_variants_pass(name, variant, capsys):
    assert checks.CHECKS[name](variant) is True, capsys.readouterr().out


@pytest.mark.parametrize("name, mutant", [(name, mutant) for name, mutants in MUTANTS.items()
                                          for mutant, *_ in mutants if name == "move_wall_tip"
                                          or mutant in (path_marking_the_maze, tip_from_the_random_module)])
def test_a_verdict_is_the_same_every_time(name, mutant, capsys):
    outputs = []
    for seed in range(3):  # whatever the caller's random state
        torch.manual_seed(seed)
        checks.CHECKS[name](mutant)
        outputs.append(capsys.readouterr().out)
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
    def predicted_q(q_net, states, actions):
        return q_net(states).gather(1, actions)  # a (B,) index: torch raises deep inside gather

    assert checks.check_predicted_q(predicted_q) is False
    out = capsys.readouterr().out
    assert "raised RuntimeError" in out
    assert "return q_net(states).gather(1, actions)" in out  # the learner's own line
    assert "actions[:, None]" in out  # the hint
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
    def encode_states(mazes, positions):
        S.encode_states(mazes, positions)

    assert checks.check_encode_states(encode_states) is False
    assert "NoneType, expected a tensor" in capsys.readouterr().out
