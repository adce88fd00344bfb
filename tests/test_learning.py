"""What the agent sees and how it learns: the planes, propagation along corridors, the Q-network and its
Q-maps, the DQN pieces, the exact optimal Q-values, greedy rollouts, evaluation and short training runs."""
import math
from dataclasses import replace

import pytest
import torch
from torch import nn

import solutions as S
from solutions import (CROP, DEVICE, DOWN, EMPTY, EXIT, GAMMA, HUMAN, LEFT, REWARDS, RIGHT, START, UP, WALL,
                       QNetwork, Rewards, Rollout, TrainConfig, bellman_target, encode_mazes, evaluate,
                       greedy_rollout, greedy_rollouts, make_training_mazes, maze_from_text, next_q_values,
                       optimal_q_values, propagate, q_values_at, step_batch, sync_target, td_loss, td_loss_on_mazes,
                       train, transitions)
from solutions import discounted_return, outcomes, reachable_humans

HAND = """
.CH##
.#...
...#.
H#C#.
....E
"""
ITEMS = """
.C#H.
.#...
...#C
H#.#.
..C.E
"""


def decode_planes(planes):
    """(B, 4, n, n) planes -> (B, n, n) mazes, following PLANES: wall, crop, human, exit; empty elsewhere."""
    assert torch.all((planes == 0) | (planes == 1)) and torch.all(planes.sum(1) <= 1)
    mazes = torch.full((len(planes),) + tuple(planes.shape[2:]), EMPTY, dtype=torch.int8)
    for plane, code in enumerate((WALL, CROP, HUMAN, EXIT)):
        mazes[planes[:, plane].cpu() == 1] = code
    return mazes


# ---------------------------------------------------------------------------------------------
# What the agent sees


def test_encode_mazes_layout_on_a_hand_made_maze():
    rows = [line.strip() for line in HAND.strip().splitlines()]
    planes = encode_mazes(maze_from_text(HAND)[None])
    assert planes.shape == (1, 4, 5, 5)
    assert planes.dtype == torch.float32
    expected = torch.zeros(4, 5, 5)
    for r, line in enumerate(rows):
        for c, char in enumerate(line):
            if char in "#CHE":
                expected["#CHE".index(char), r, c] = 1.0
    assert torch.equal(planes[0], expected)
    # Spot checks on the picture, in case the loop above and the encoder share a mistake.
    assert planes[0, 0, 0, 3] == 1 and planes[0, 0, 0, 4] == 1 and planes[0, 0, 1, 1] == 1  # walls
    assert planes[0, 1, 0, 1] == 1 and planes[0, 1, 3, 2] == 1  # crops
    assert planes[0, 2, 0, 2] == 1 and planes[0, 2, 3, 0] == 1  # humans
    assert planes[0, 3].nonzero().tolist() == [[4, 4]]  # the exit alone; it is no wall
    assert planes[0].sum().item() == 6 + 2 + 2 + 1  # nothing for the empty cells


def test_encode_mazes_round_trips_a_batch():
    mazes = torch.cat([maze_from_text(HAND)[None], make_training_mazes(5, seed=3, width=5)])
    planes = encode_mazes(mazes)
    assert planes.shape == (6, 4, 5, 5)
    assert torch.equal(decode_planes(planes), mazes)


@pytest.mark.parametrize("mazes", [torch.ones(7, 7, dtype=torch.int8), torch.ones(1, 1, 7, 7, dtype=torch.int8),
                                   torch.ones(2, 7, 5, dtype=torch.int8)])
def test_encode_mazes_rejects_what_is_not_a_batch_of_square_mazes(mazes):
    with pytest.raises(ValueError, match="(B, n, n)"):
        encode_mazes(mazes)


def test_with_wall_plane_replaces_only_the_walls():
    planes = encode_mazes(make_training_mazes(2, seed=4, width=5))
    walls = torch.full((2, 5, 5), 0.25)
    dreamt = S.with_wall_plane(planes, walls)
    assert torch.equal(dreamt[:, 0], walls)
    assert torch.equal(dreamt[:, 1:], planes[:, 1:])


# ---------------------------------------------------------------------------------------------
# Propagation along corridors


def corridor(top_row):
    """A (1, 1, 5, 5) tensor: `top_row` along row 0, zeros below (walls, when it is a relay)."""
    grid = torch.zeros(1, 1, 5, 5)
    grid[0, 0, 0] = torch.tensor(top_row)
    return grid


def test_propagate_along_a_corridor():
    sources, relay = corridor([0, 0, 0, 0, 1.0]), corridor([0.5] * 5)
    assert propagate(sources, relay, 4)[0, 0, 0].tolist() == [0.0625, 0.125, 0.25, 0.5, 1.0]
    assert propagate(sources, relay, 2)[0, 0, 0].tolist() == [0.0, 0.0, 0.25, 0.5, 1.0]  # one cell a round
    assert propagate(sources, relay, 4)[0, 0, 1:].sum() == 0  # the walls below hear nothing
    assert torch.equal(propagate(sources, relay, 0), sources)
    # A stronger source nearer by wins: each cell keeps the best signal, not the sum.
    sources = corridor([0.2, 0, 0, 0, 1.0])
    assert propagate(sources, relay, 10)[0, 0, 0].tolist() == pytest.approx([0.2, 0.125, 0.25, 0.5, 1.0])


def test_walls_stop_signals():
    relay = corridor([0.5, 0.5, 0.0, 0.5, 0.5])  # a wall in the middle of the corridor: relay 0, no source
    assert propagate(corridor([1.0, 0, 0, 0, 0]), relay, 10)[0, 0, 0].tolist() == [1.0, 0.5, 0.0, 0.0, 0.0]


def test_the_exit_passes_nothing_on_but_its_own_source_spreads():
    relay = corridor([0.5, 0.5, 0.0, 0.5, 0.5])  # the exit in the middle of the corridor: relay 0
    beyond = propagate(corridor([1.0, 0, 0, 0, 0]), relay, 10)
    assert beyond[0, 0, 0].tolist() == [1.0, 0.5, 0.0, 0.0, 0.0]
    from_the_exit = propagate(corridor([0, 0, 1.0, 0, 0]), relay, 10)
    assert from_the_exit[0, 0, 0].tolist() == [0.25, 0.5, 1.0, 0.5, 0.25]


def test_diagonal_cells_get_nothing():
    sources = torch.tensor([[0, 0, 0], [0, 1.0, 0], [0, 0, 0]])[None, None]
    signal = propagate(sources, torch.full_like(sources, 0.5), 1)
    assert signal[0, 0].tolist() == [[0, 0.5, 0], [0.5, 1.0, 0.5], [0, 0.5, 0]]


def test_propagate_keeps_channels_and_mazes_apart():
    sources = torch.cat([torch.cat([corridor([1.0, 0, 0, 0, 0]), corridor([0] * 5)], 1),
                         torch.cat([corridor([0] * 5), corridor([0, 0, 0, 0, 1.0])], 1)])  # (2 mazes, 2 channels)
    relay = torch.cat([corridor([0.5] * 5), corridor([0.9] * 5)], 1).expand(2, -1, -1, -1)
    signal = propagate(sources, relay, 10)
    assert signal[0, 0, 0].tolist() == pytest.approx([1.0, 0.5, 0.25, 0.125, 0.0625])
    assert signal[1, 1, 0].tolist() == pytest.approx([0.6561, 0.729, 0.81, 0.9, 1.0])
    assert signal[0, 1].sum() == 0 and signal[1, 0].sum() == 0


@pytest.mark.parametrize("width", [5, 7])
def test_propagation_rounds_reach_every_cell_of_a_training_maze(width):
    mazes = make_training_mazes(20, seed=5, width=width)
    open_cells = (mazes != WALL).float()[:, None]
    sources = torch.zeros_like(open_cells)
    sources[:, 0, width - 1, width - 1] = 1.0  # the exit
    rounds = S.propagation_rounds(width)
    signal = propagate(sources, 0.9 * open_cells, rounds)
    assert torch.all((signal > 0) == (open_cells > 0))  # every open cell hears from the exit ...
    assert torch.equal(signal, propagate(sources, 0.9 * open_cells, 2 * rounds))  # ... and more rounds change nothing


def test_propagate_passes_gradients_to_the_sources():
    sources = corridor([0, 0, 0, 0, 1.0]).requires_grad_(True)
    propagate(sources, corridor([0.5] * 5), 4).sum().backward()
    assert sources.grad[0, 0, 0, 4].item() == pytest.approx(1 + 0.5 + 0.25 + 0.125 + 0.0625)


def propagation_inputs(kind, width, seed):
    """Sources and relays (4 mazes, 3 channels) as the network makes them, or as tests of ties need them."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "training mazes":
        planes = encode_mazes(make_training_mazes(4, seed=seed, width=width))
        open_cells, passing = 1 - planes[:, :1], (1 - planes[:, :1]) * (1 - planes[:, 3:])
        return torch.rand(4, 3, width, width, generator=generator) * open_cells, 0.95 * passing.expand(-1, 3, -1, -1)
    if kind == "open mazes with ties":  # one source a channel, the same relay everywhere: equal signals meet
        sources = (torch.rand(4, 3, width, width, generator=generator) > 0.9).float()
        return sources, torch.full((4, 3, width, width), 0.9)
    # soft walls, as in a dream: every relay different
    return torch.rand(4, 3, width, width, generator=generator), 0.95 * torch.rand(4, 3, width, width, generator=generator)


@pytest.mark.parametrize("kind", ["training mazes", "open mazes with ties", "soft walls"])
@pytest.mark.parametrize("width", [5, 7, 9])
def test_the_networks_propagation_gives_the_signals_and_gradients_of_propagate(kind, width):
    sources, relay = propagation_inputs(kind, width, seed=width)
    rounds = width * width  # enough for any path without loops
    weights = torch.randn(4, 3, width, width, generator=torch.Generator().manual_seed(1))
    results = []
    for spread in (lambda s, r: propagate(s, r, rounds), S.FastPropagation.apply):
        leaves = sources.clone().requires_grad_(True), relay.clone().requires_grad_(True)
        signal = spread(*leaves)
        results.append((signal.detach(), *torch.autograd.grad((signal * weights).sum(), leaves)))
    for readable, fast in zip(*results):
        assert torch.allclose(readable, fast, atol=1e-5)


def test_the_networks_propagation_stops_when_a_round_changes_nothing():
    sources, relay = propagation_inputs("training mazes", 7, seed=3)
    assert torch.equal(S.FastPropagation.apply(sources, relay), propagate(sources, relay, S.propagation_rounds(7)))


# ---------------------------------------------------------------------------------------------
# The Q-network and its Q-maps


@pytest.mark.parametrize("width", [5, 7, 9])
def test_qnetwork_writes_a_q_map(width):
    torch.manual_seed(0)
    q_maps = QNetwork(width)(encode_mazes(make_training_mazes(3, seed=1, width=width)))
    assert q_maps.shape == (3, 4, width, width)
    assert torch.isfinite(q_maps).all()


def test_qnetwork_default_width_and_sizes():
    net = QNetwork()
    assert net.width == S.MAZE_WIDTH
    assert QNetwork(**net.sizes()).sizes() == net.sizes()


@pytest.mark.parametrize("shape", [(2, 3, 7, 7), (2, 4, 9, 9), (2, 4, 5, 5), (2, 4 * 7 * 7), (4, 7, 7),
                                   (1, 2, 4, 7, 7)])
def test_qnetwork_rejects_wrong_input_shapes(shape):
    with pytest.raises(ValueError, match=r"expected planes of shape \(batch, 4, 7, 7\) from encode_mazes"):
        QNetwork(7)(torch.zeros(shape))


@pytest.mark.parametrize("width", [4, 6, 3])
def test_qnetwork_rejects_bad_widths(width):
    with pytest.raises(ValueError):
        QNetwork(width)


def test_q_values_at_reads_each_agents_cell():
    b, action, row, col = torch.meshgrid(*(torch.arange(size) for size in (3, 4, 5, 5)), indexing="ij")
    q_maps = (1000 * b + 100 * action + 10 * row + col).float().requires_grad_(True)
    q_values = q_values_at(q_maps, torch.tensor([[0, 0], [2, 4], [4, 1]]))
    assert q_values.tolist() == [[0, 100, 200, 300], [1024, 1124, 1224, 1324], [2041, 2141, 2241, 2341]]
    q_values.sum().backward()
    assert q_maps.grad.sum().item() == 12  # the gradient reaches the three cells read, one per action
    assert q_maps.grad[1, :, 2, 4].tolist() == [1, 1, 1, 1]


# ---------------------------------------------------------------------------------------------
# Bellman targets, the loss, the target network


class StandIn(nn.Module):
    """A stand-in for a QNetwork, defined by its Q-maps (forward): q_values_of_cells reads them out as training does."""

    def q_values_of_cells(self, planes, cells=None):
        q_maps = self(planes).permute(0, 2, 3, 1)  # (B, n, n, 4)
        return q_maps.flatten(0, 2) if cells is None else q_maps[cells]


class ItemCounter(StandIn):
    """A stand-in network whose Q-map says what is left in the maze and where: 100 per crop, 10 per human,
    plus the action, plus the cell (row / 10, col / 100)."""

    def forward(self, planes):
        crops = planes[:, 1].sum((1, 2))[:, None, None, None]
        humans = planes[:, 2].sum((1, 2))[:, None, None, None]
        width = planes.shape[-1]
        action, row, col = torch.meshgrid(torch.arange(4.0), torch.arange(width) / 10, torch.arange(width) / 100,
                                          indexing="ij")
        return 100 * crops + 10 * humans + (action + row + col)[None]


def test_next_q_values_score_each_step_where_and_in_the_maze_it_lands():
    mazes = torch.stack([maze_from_text(HAND), maze_from_text(ITEMS)])
    outcome = transitions(mazes)
    standing = mazes == EMPTY
    next_q = next_q_values(ItemCounter(), mazes, outcome, standing)
    assert next_q.shape == (int(standing.sum()), 4, 4)
    assert not next_q.requires_grad
    harvests = 0
    for index, (b, row, col) in enumerate(standing.nonzero().tolist()):
        for action in range(4):
            after = step_batch(mazes[b:b + 1], torch.tensor([[row, col]]), torch.tensor([action]))
            if after.terminals[0]:
                continue  # the exit ends the episode: the target reads nothing there
            # A step onto an item lands in the maze without it: the item counts drop by one there.
            expected = q_values_at(ItemCounter()(encode_mazes(after.mazes)), after.positions)[0]
            assert torch.allclose(next_q[index, action], expected), (b, row, col, action)
            harvests += outcome.harvests[b, row, col, action].item()
    assert harvests >= 4


def test_bellman_target_by_hand():
    next_q = torch.tensor([[1.0, 2, 0, -1], [0, -1, 3, 0], [0, 0, 0, 5], [-1, -2, 0, 1]])
    target = bellman_target(next_q, torch.tensor([0.5, -1.0, 10.0, -0.1]), torch.tensor([False, False, True, False]),
                            gamma=0.9)
    assert target.tolist() == pytest.approx([0.5 + 0.9 * 2, -1 + 0.9 * 3, 10.0, -0.1 + 0.9 * 1])
    # Section 8's update by hand, with the default gamma.
    by_hand = bellman_target(torch.tensor([[0.5, 0.2, 1.0, 3.0]] * 2), torch.tensor([-0.1, 9.9]),
                             torch.tensor([False, True]))
    assert by_hand.tolist() == pytest.approx([-0.1 + GAMMA * 3.0, 9.9])


def test_bellman_target_keeps_every_leading_axis():
    next_q = torch.randn(2, 5, 5, 4, 4, generator=torch.Generator().manual_seed(0))
    rewards, terminals = torch.randn(2, 5, 5, 4), torch.zeros(2, 5, 5, 4, dtype=torch.bool)
    terminals[1, 4, 3, RIGHT] = True
    target = bellman_target(next_q, rewards, terminals)
    assert target.shape == (2, 5, 5, 4)
    by_hand = rewards[0, 2, 1, UP] + GAMMA * next_q[0, 2, 1, UP].max()
    assert target[0, 2, 1, UP].item() == pytest.approx(by_hand.item())
    assert target[1, 4, 3, RIGHT] == rewards[1, 4, 3, RIGHT]


def test_a_step_onto_the_exit_is_worth_its_reward_whatever_the_target_network_says():
    class Huge(StandIn):
        def forward(self, planes):
            return torch.full((len(planes), 4) + tuple(planes.shape[2:]), 1000.0)

    mazes = maze_from_text(HAND)[None]
    outcome = transitions(mazes)
    everywhere = torch.ones_like(mazes, dtype=torch.bool)
    target = bellman_target(next_q_values(Huge(), mazes, outcome, everywhere), outcome.rewards[everywhere],
                            outcome.terminals[everywhere]).reshape(1, 5, 5, 4)
    assert outcome.terminals[0, 3, 4, DOWN] and outcome.terminals[0, 4, 3, RIGHT]
    assert target[outcome.terminals].tolist() == pytest.approx([REWARDS.move + REWARDS.exit] * 2)
    assert target[0, 0, 0, DOWN].item() == pytest.approx(REWARDS.move + GAMMA * 1000)


def test_td_loss_is_huber_by_hand():
    predicted = torch.tensor([0.0, 0.0, 0.0, 1.0])
    target = torch.tensor([0.5, 2.0, -3.0, 1.0])
    # 0.5 * 0.5^2, |2| - 0.5, |-3| - 0.5, 0 -> mean
    assert td_loss(predicted, target).item() == pytest.approx((0.125 + 1.5 + 2.5 + 0.0) / 4)
    assert td_loss(torch.tensor([100.0]), torch.tensor([0.0])).item() == pytest.approx(99.5)
    assert td_loss(torch.tensor([0.2]), torch.tensor([-0.2])).item() == pytest.approx(0.5 * 0.4 ** 2)


def test_td_loss_gradient_is_bounded():
    predicted = torch.tensor([50.0, -0.5], requires_grad=True)
    td_loss(predicted, torch.zeros(2)).backward()
    assert predicted.grad.tolist() == pytest.approx([1.0 / 2, -0.5 / 2])


class FreeQMap(StandIn):
    """A stand-in network that ignores the maze: one free Q-value per action and cell."""

    def __init__(self, width, seed):
        super().__init__()
        self.q_map = nn.Parameter(torch.randn(4, width, width, generator=torch.Generator().manual_seed(seed)))

    def forward(self, planes):
        return self.q_map.expand(len(planes), -1, -1, -1)


def test_td_loss_on_mazes_covers_every_empty_cell_and_nothing_else():
    maze = maze_from_text(HAND)
    q_net, target_net = FreeQMap(5, seed=0), FreeQMap(5, seed=1)
    loss = td_loss_on_mazes(q_net, target_net, maze[None])
    loss.backward()
    learned = q_net.q_map.grad.abs().sum(0) > 0  # (n, n): the cells the loss covers
    assert torch.equal(learned, maze == EMPTY)
    assert target_net.q_map.grad is None  # targets are labels
    outcome = transitions(maze[None])
    empty = maze == EMPTY
    target = bellman_target(next_q_values(target_net, maze[None], outcome, empty[None]), outcome.rewards[0][empty],
                            outcome.terminals[0][empty])
    by_hand = td_loss(q_net.q_map.detach().permute(1, 2, 0)[empty].flatten(), target.flatten())
    assert loss.item() == pytest.approx(by_hand.item())


def small_nets():
    torch.manual_seed(0)
    return (QNetwork(5, channels=4, context_units=4, hidden_units=8),
            QNetwork(5, channels=4, context_units=4, hidden_units=8))


def test_sync_target_hard_copy():
    target, online = small_nets()
    online_before = [p.clone() for p in online.parameters()]
    assert not all(torch.equal(t, o) for t, o in zip(target.parameters(), online.parameters()))
    sync_target(target, online, tau=1.0)
    for t, o, o_before in zip(target.parameters(), online.parameters(), online_before):
        assert torch.equal(t, o)
        assert torch.equal(o, o_before)


def test_sync_target_half_way():
    target, online = small_nets()
    target_before = [p.clone() for p in target.parameters()]
    online_before = [p.clone() for p in online.parameters()]
    sync_target(target, online, tau=0.5)
    for t, t_before, o, o_before in zip(target.parameters(), target_before, online.parameters(), online_before):
        assert torch.allclose(t, (t_before + o_before) / 2, atol=1e-7)
        assert torch.equal(o, o_before)
        assert not t.requires_grad or t.grad is None


# ---------------------------------------------------------------------------------------------
# Exact optimal Q-values

CORRIDOR = """
.####
.####
.####
.####
....E
"""
CORRIDOR_PATH = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (4, 1), (4, 2), (4, 3)]  # exit at (4, 4) next


def corridor_value(steps, rewards, gamma):
    """The return of walking `steps` steps straight to the exit: steps - 1 plain moves, then the exit."""
    return sum(gamma ** k * rewards.move for k in range(steps - 1)) + gamma ** (steps - 1) * (rewards.move + rewards.exit)


@pytest.mark.parametrize("rewards, gamma", [
    (REWARDS, GAMMA),
    (Rewards(move=-1.0, bump=-3.0, crop=1.0, exit=4.0, human=-9.0), 0.5),
])
def test_optimal_q_values_on_a_corridor(rewards, gamma):
    q = optimal_q_values(maze_from_text(CORRIDOR)[None], rewards, gamma)[0]
    assert q.shape == (5, 5, 4)
    for index, cell in enumerate(CORRIDOR_PATH):
        steps = len(CORRIDOR_PATH) - index  # steps to the exit from here
        forward = CORRIDOR_PATH[index + 1] if index + 1 < len(CORRIDOR_PATH) else (4, 4)
        backward = CORRIDOR_PATH[index - 1] if index > 0 else None
        expected = {}
        for action in range(4):
            d_row, d_col = S.ACTION_MOVES[action].tolist()
            nxt = (cell[0] + d_row, cell[1] + d_col)
            if nxt == forward:
                expected[action] = corridor_value(steps, rewards, gamma)
            elif nxt == backward:
                expected[action] = rewards.move + gamma * corridor_value(steps + 1, rewards, gamma)
            else:  # a wall or the border
                expected[action] = rewards.bump + gamma * corridor_value(steps, rewards, gamma)
        for action, value in expected.items():
            assert q[cell[0], cell[1], action].item() == pytest.approx(value, abs=1e-4), (cell, action)
    assert q[4, 3, RIGHT].item() == pytest.approx(rewards.move + rewards.exit, abs=1e-5)


def test_optimal_q_values_take_the_crop_and_avoid_the_human():
    crop_maze = maze_from_text(CORRIDOR.replace(".####", ".C###", 1))
    human_maze = maze_from_text(CORRIDOR.replace(".####", ".H###", 1))
    q = optimal_q_values(torch.stack([maze_from_text(CORRIDOR), crop_maze, human_maze]))
    assert q.shape == (3, 5, 5, 4)
    m, g = REWARDS.move, GAMMA
    v8 = corridor_value(8, REWARDS, g)  # start to exit, no items left to take
    v7 = corridor_value(7, REWARDS, g)  # (1, 0) to exit
    # Crop: step onto it, step back, walk the corridor.
    crop_right = m + REWARDS.crop + g * (m + g * v8)
    assert crop_right > v8  # ... which beats walking straight out
    v1_crop = max(m + g * crop_right, v7)  # from (1, 0): go back for the crop, or leave
    v0_crop = max(crop_right, m + g * v1_crop)
    assert q[1, 0, 0, RIGHT].item() == pytest.approx(crop_right, abs=1e-4)
    assert q[1, 0, 0, DOWN].item() == pytest.approx(m + g * v1_crop, abs=1e-4)
    assert q[1, 0, 0, UP].item() == pytest.approx(REWARDS.bump + g * v0_crop, abs=1e-4)
    assert q[1, 0, 0].argmax().item() == RIGHT
    # Human: never worth it.
    human_right = m + REWARDS.human + g * (m + g * v8)
    assert q[2, 0, 0, RIGHT].item() == pytest.approx(human_right, abs=1e-4)
    assert q[2, 0, 0, DOWN].item() == pytest.approx(v8, abs=1e-4)
    assert q[2, 0, 0].argmax().item() == DOWN
    # No items: the crop-free corridor gives the same as the human maze when the human is ignored.
    assert q[0, 0, 0, DOWN].item() == pytest.approx(v8, abs=1e-4)


def test_the_optimal_agents_q_map_is_q_star_of_the_maze_it_is_shown():
    mazes = torch.cat([maze_from_text(HAND)[None], maze_from_text(ITEMS)[None]])
    for rewards in (REWARDS, Rewards(crop=-2.0, human=20.0)):
        q_maps = S.OptimalAgent(rewards)(encode_mazes(mazes))
        assert torch.allclose(q_maps, optimal_q_values(mazes, rewards).permute(0, 3, 1, 2))


def test_the_optimal_agent_reaches_the_exit_without_humans():
    mazes = make_training_mazes(200, seed=424_242)
    assert (mazes == HUMAN).any() and (mazes == CROP).any()
    rollouts = greedy_rollouts(S.OptimalAgent(), mazes.clone())
    assert all(r.reached_exit for r in rollouts)
    assert sum(r.humans for r in rollouts) == 0
    assert sum(r.crops for r in rollouts) > 0  # it does go for (some) crops
    # Every path ends at the exit and never revisits the exit.
    assert all(r.path[-1] == (6, 6) and r.path.count((6, 6)) == 1 for r in rollouts)


# ---------------------------------------------------------------------------------------------
# Rollouts and evaluation

ROW_THEN_DOWN = """
.CH..
####.
####C
####.
####E
"""


class FixedPreference(nn.Module):
    """Always prefers the same action, everywhere."""

    def __init__(self, action):
        super().__init__()
        self.action = action

    def forward(self, planes):
        q_maps = torch.zeros(len(planes), 4, *planes.shape[2:], device=planes.device)
        q_maps[:, self.action] = 1.0
        return q_maps


class RightThenDown(nn.Module):
    """Goes right until the last column, then down."""

    def forward(self, planes):
        q_maps = torch.zeros(len(planes), 4, *planes.shape[2:], device=planes.device)
        q_maps[:, RIGHT, :, :-1] = 1.0
        q_maps[:, DOWN, :, -1] = 1.0
        return q_maps


def test_greedy_rollout_on_a_hand_made_maze():
    maze = maze_from_text(ROW_THEN_DOWN)
    rollout = greedy_rollout(RightThenDown(), maze)
    assert isinstance(rollout, Rollout)
    assert rollout.path == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert rollout.crops == 2
    assert rollout.humans == 1
    assert rollout.reached_exit is True
    expected = 8 * REWARDS.move + 2 * REWARDS.crop + REWARDS.human + REWARDS.exit
    assert sum(rollout.rewards) == pytest.approx(expected, abs=1e-4)


def test_greedy_rollout_stops_at_max_steps_when_stuck():
    maze = maze_from_text(ROW_THEN_DOWN)
    rollout = greedy_rollout(FixedPreference(UP), maze, max_steps=7)
    assert rollout.path == [START] * 8
    assert (rollout.crops, rollout.humans, rollout.reached_exit) == (0, 0, False)
    assert sum(rollout.rewards) == pytest.approx(7 * REWARDS.bump, abs=1e-4)
    default = greedy_rollout(FixedPreference(LEFT), maze)
    assert len(default.path) == S.max_rollout_steps(5) + 1 == 4 * 25 + 1
    assert default.reached_exit is False


def test_greedy_rollout_counts_each_item_once_when_stuck_against_the_border():
    rollout = greedy_rollout(FixedPreference(RIGHT), maze_from_text(ROW_THEN_DOWN), max_steps=10)
    assert rollout.path == [(0, 0), (0, 1), (0, 2), (0, 3)] + [(0, 4)] * 7
    assert (rollout.crops, rollout.humans, rollout.reached_exit) == (1, 1, False)
    expected = 4 * REWARDS.move + REWARDS.crop + REWARDS.human + 6 * REWARDS.bump
    assert sum(rollout.rewards) == pytest.approx(expected, abs=1e-4)


def test_greedy_rollout_with_zero_max_steps_takes_no_step():
    rollout = greedy_rollout(FixedPreference(RIGHT), maze_from_text(ROW_THEN_DOWN), max_steps=0)
    assert rollout.path == [START]
    assert rollout.crops == 0


def test_greedy_rollouts_stop_each_maze_at_its_exit():
    blocked = maze_from_text(ROW_THEN_DOWN.replace(".CH..", ".C#..", 1))
    mazes = torch.stack([maze_from_text(ROW_THEN_DOWN), blocked])
    finished, stuck = greedy_rollouts(RightThenDown(), mazes, max_steps=20)
    assert len(finished.path) == 9 and finished.reached_exit
    assert stuck.path == [(0, 0)] + [(0, 1)] * 20
    assert (stuck.crops, stuck.humans, stuck.reached_exit) == (1, 0, False)


def test_greedy_rollout_does_not_modify_the_callers_maze():
    maze = maze_from_text(ROW_THEN_DOWN)
    before = maze.clone()
    rollout = greedy_rollout(RightThenDown(), maze)
    assert rollout.crops == 2  # items were harvested during the rollout ...
    assert torch.equal(maze, before)  # ... but not in the maze the caller passed in


def test_evaluate_does_not_modify_the_callers_mazes():
    mazes = torch.stack([maze_from_text(ROW_THEN_DOWN), maze_from_text(HAND)])
    before = mazes.clone()
    results = evaluate(RightThenDown(), mazes)
    assert results["mean_crops"] > 0 and results["mean_humans"] > 0  # items were harvested
    assert torch.equal(mazes, before)


def test_evaluate_by_hand():
    two_humans = ROW_THEN_DOWN.replace("####C", "####H", 1)
    mazes = torch.stack([
        maze_from_text(two_humans),  # exit, 1 crop, 2 humans
        maze_from_text(ROW_THEN_DOWN.replace(".CH..", ".C...", 1)),  # exit, 2 crops
        maze_from_text(ROW_THEN_DOWN.replace(".CH..", ".C#..", 1)),  # stuck after 1 crop
    ])
    results = evaluate(RightThenDown(), mazes)
    assert {"exit_rate", "human_rate", "mean_crops"} <= set(results)
    assert results["exit_rate"] == pytest.approx(2 / 3)
    assert results["human_rate"] == pytest.approx(1 / 3)  # share of mazes with any human, not humans per maze
    assert results["mean_crops"] == pytest.approx(4 / 3)
    assert results["mean_humans"] == pytest.approx(2 / 3)
    assert results["stuck_rate"] == pytest.approx(1 / 3)  # the third one walks into the new wall for ever


def test_outcomes_add_the_mean_discounted_return_of_the_rollouts():
    mazes = torch.stack([maze_from_text(ROW_THEN_DOWN), maze_from_text(ROW_THEN_DOWN.replace(".CH..", ".C#..", 1))])
    rollouts = greedy_rollouts(RightThenDown(), mazes)
    results = outcomes(rollouts)
    assert results["mean_return"] == pytest.approx(sum(discounted_return(r.rewards) for r in rollouts) / 2)
    assert {key: value for key, value in results.items() if key != "mean_return"} == evaluate(RightThenDown(), mazes)


def test_reachable_humans_leave_out_those_behind_the_exit():
    maze = maze_from_text("""
        .C...
        .###.
        H#..#
        .#.#H
        ....E
        """)
    assert reachable_humans(maze) == 1  # (3, 4) is reached only through the exit, which ends the episode


def test_evaluate_values_in_range():
    torch.manual_seed(0)
    mazes = make_training_mazes(30, seed=12)
    items_per_maze = ((mazes == CROP) | (mazes == HUMAN)).flatten(1).sum(1).max().item()
    results = evaluate(QNetwork().to(DEVICE), mazes.clone())
    for key in ("exit_rate", "human_rate", "mean_crops"):
        assert math.isfinite(results[key])
    assert 0 <= results["exit_rate"] <= 1
    assert 0 <= results["human_rate"] <= 1
    assert 0 <= results["mean_crops"] <= items_per_maze
    # Walking into the border above the start forever: nothing reached, nothing harvested, stuck in every maze.
    assert evaluate(FixedPreference(UP), mazes.clone()) == {
        "exit_rate": 0.0, "human_rate": 0.0, "mean_crops": 0.0, "mean_humans": 0.0, "stuck_rate": 1.0}


# ---------------------------------------------------------------------------------------------
# Short training runs on a tiny configuration: 5x5 mazes, a small pool, a small network


TINY = TrainConfig(steps=40, mazes_per_step=8, pool_size=50, new_pool_every=40, learning_rate=1e-2, seed=0)


def tiny_net():
    torch.manual_seed(123)
    return QNetwork(5, channels=4, context_units=4, hidden_units=16).to(DEVICE)


@pytest.fixture(scope="module")
def two_tiny_runs():
    runs = []
    for _ in range(2):
        q_net = tiny_net()
        initial = [p.detach().clone() for p in q_net.parameters()]
        runs.append((q_net, initial, train(q_net, TINY, progress=False)))
    return runs


def test_train_returns_one_finite_loss_per_step(two_tiny_runs):
    _, _, losses = two_tiny_runs[0]
    assert len(losses) == TINY.steps
    assert all(isinstance(loss, float) and math.isfinite(loss) and loss >= 0 for loss in losses)


def test_train_is_deterministic(two_tiny_runs):
    (net_a, _, losses_a), (net_b, _, losses_b) = two_tiny_runs
    assert losses_a == losses_b
    assert all(torch.equal(a, b) for a, b in zip(net_a.parameters(), net_b.parameters()))


def test_train_updates_the_network_in_place(two_tiny_runs):
    q_net, initial, _ = two_tiny_runs[0]
    assert any(not torch.equal(p, p0) for p, p0 in zip(q_net.parameters(), initial))


def test_train_loss_falls(two_tiny_runs):
    losses = torch.tensor(two_tiny_runs[0][2])
    start, end = losses[:10].mean().item(), losses[-10:].mean().item()
    assert end < 0.85 * start, (start, end)


def test_train_depends_on_the_seed():
    config = replace(TINY, steps=5)
    assert train(tiny_net(), config, progress=False) != train(tiny_net(), replace(config, seed=1), progress=False)


def test_train_with_sgd():
    config = replace(TINY, steps=5, optimiser="sgd")
    losses = train(tiny_net(), config, progress=False)
    assert len(losses) == 5 and all(math.isfinite(loss) for loss in losses)
    adam_losses = train(tiny_net(), replace(config, optimiser="adam"), progress=False)
    assert losses[0] == adam_losses[0]  # same start ...
    assert losses != adam_losses  # ... different steps
