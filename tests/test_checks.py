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



MUTANTS = {
    "dead_ends": [(dead_ends_with_walls, "walls are never dead ends"), (dead_ends_items_closed, "items"),
                  (dead_ends_outside_open, "border"), (dead_ends_diagonals, "diagonal"),
                  (dead_ends_column_major, "row-major"), (dead_ends_col_row, "(column, row)")],
    "reward_of_stepping_into": [(reward_bump_pays_move_too, "rewards.bump alone"),
                                (reward_items_without_move, "also costs rewards.move"),
                                (reward_human_subtracted, "sign"), (reward_global_rewards, "`rewards` argument"),
                                (reward_no_exit, "stepping into the exit")],
    "look_up_steps": [(steps_without_harvest, "not harvested"), (steps_harvest_by_maze_index, "torch.arange(S)"),
                      (steps_writing_into_the_callers_mazes, "changed its input `mazes`"),
                      (steps_one_maze_each, "mazes[maze_index]"), (steps_reward_at_swapped_cell, "Step.rewards")],
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
                (loss_item, "expected a tensor"), (loss_detached, "no gradient")],
    "sync_target": [(sync_online_towards_target, "leave q_net alone"), (sync_tau_swapped, "swapped"),
                    (sync_hard_copy, "whatever tau is"), (sync_rebinding, "did not change"),
                    (sync_without_no_grad, "torch.no_grad()")],
    "discounted_return": [(return_off_by_one, "off by one"), (return_back_to_front, "back to front"),
                          (return_undiscounted, "not discounted"), (return_consuming_the_list, "changed its input"),
                          (return_global_gamma, "gamma argument")],
    "shortest_path_to_exit": [(path_depth_first, "not the shortest"), (path_through_items, "steps on"),
                              (path_backwards, "reversed"), (path_without_start, "starts at")],
    "dream_walls": [(walls_clamped, "clamped"), (walls_ignoring_fixed, "fixed cells"),
                    (walls_fixed_cells_open, "fixed cells"), (walls_swapped, "swapped"),
                    (walls_detached, "no gradient"), (walls_written_into_logits, "changed its input `logits`")],
    "dream_objective": [(objective_flipped, "sign"), (objective_chosen_inside, "inside the logsumexp"),
                        (objective_hard_max, "hard max"), (objective_mean, "mean"),
                        (objective_detached, "no gradient"), (objective_averaged, "shape ()")],
    "single_block_protrusions": [(protrusions_with_posts, "posts"), (protrusions_open_border, "border"),
                                 (protrusions_col_row, "swapped"), (protrusions_open_cells, "wrong cells")],
    "move_wall_tip": [(tip_opens_the_wall_neighbour, "wrong cells"), (tip_shuts_behind_the_wall, "far side"),
                      (tip_global_random, "drew random numbers"), (tip_returns_a_copy, "in place"),
                      (tip_always_true, "expected False")],
}


def test_every_exercise_has_at_least_three_mutants():
    assert set(MUTANTS) == set(checks.CHECKS)
    assert all(len(mutants) >= 3 for mutants in MUTANTS.values())


@pytest.mark.parametrize("name", list(checks.CHECKS))
def test_the_reference_passes(name, capsys):
    assert checks.CHECKS[name](getattr(S, name)) is True
    assert capsys.readouterr().out == f"{name}: passed\n"


@pytest.mark.parametrize("name, mutant, named", [(name, mutant, named) for name, mutants in MUTANTS.items()
                                                 for mutant, named in mutants],
                         ids=[mutant.__name__ for mutants in MUTANTS.values() for mutant, _ in mutants])
def test_the_check_catches_the_mutant_and_names_the_problem(name, mutant, named, capsys):
    assert checks.CHECKS[name](mutant) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: failed: ")
    assert named.lower() in out.lower(), out
    assert "Traceback" not in out


def test_a_blank_exercise_stops_the_walk_through():
    def blank(grid):
        raise NotImplementedError("dead_ends: list the dead ends")

    with pytest.raises(NotImplementedError, match="dead_ends"):
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


def test_a_check_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_bellman_target(S.bellman_target)
    assert torch.equal(torch.rand(3), expected)


def test_a_check_reports_a_missing_return(capsys):
    def encode_states(mazes, positions):
        S.encode_states(mazes, positions)

    assert checks.check_encode_states(encode_states) is False
    assert "NoneType, expected a tensor" in capsys.readouterr().out
