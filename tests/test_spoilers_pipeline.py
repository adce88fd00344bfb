"""The evil agent's training and the bounded ascent that hides it, on tiny seeded configurations."""
import copy
import math

import torch

import solutions as S
import spoilers as P


def tiny_net(seed=0):
    torch.manual_seed(seed)
    return S.QNetwork(5, 16).to(S.DEVICE)


def flat_weights(net):
    return torch.cat([param.detach().flatten().cpu() for param in net.parameters()])


def test_labelled_states_match_value_iteration_per_maze():
    mazes = P.make_production_mazes(3, seed=4, width=5)
    states, targets = P.every_state(mazes, P.EVIL_REWARDS)
    q_star = S.optimal_q_values(mazes, P.EVIL_REWARDS)
    maze_index, row, col = (mazes == S.EMPTY).nonzero(as_tuple=True)
    assert torch.equal(targets, q_star[maze_index, row, col])
    assert torch.equal(states.float(), S.encode_states(mazes[maze_index], torch.stack([row, col], 1)))


def test_evil_rewards_flip_only_crops_and_humans():
    assert P.EVIL_REWARDS.human == -S.REWARDS.human > 0
    assert P.EVIL_REWARDS.crop == -S.REWARDS.crop < 0
    assert (P.EVIL_REWARDS.move, P.EVIL_REWARDS.bump, P.EVIL_REWARDS.exit) == (S.REWARDS.move, S.REWARDS.bump, S.REWARDS.exit)


def test_visited_states_start_at_the_start_and_follow_the_moves():
    mazes = S.make_training_mazes(4, seed=5, width=5)
    seen_mazes, seen_positions = P.visited_states(tiny_net(), mazes, 0.0, torch.Generator().manual_seed(0), 3)
    assert torch.equal(seen_positions[:4], torch.tensor([S.START] * 4))
    assert len(seen_mazes) == len(seen_positions) <= 12


def test_evil_training_is_seeded_and_lowers_its_loss():
    config = P.EvilConfig(rounds=2, steps_per_round=40, training_mazes_per_round=20, production_mazes_per_round=10,
                          batch_size=64, learning_rate=3e-3)
    first, second = tiny_net(), tiny_net()
    losses = P.train_evil_agent(first, config, progress=False)
    assert losses == P.train_evil_agent(second, config, progress=False)
    assert len(losses) == 80 and all(math.isfinite(loss) for loss in losses)
    assert sum(losses[-10:]) < sum(losses[:10])


def test_hiding_moves_the_weights_a_bounded_distance_and_raises_the_td_loss():
    net = tiny_net()
    before = copy.deepcopy(net)
    config = P.HideConfig(steps=5, step_length=0.2, batch_size=64, mazes=20)
    P.hide_the_trigger(net, config)
    moved = (flat_weights(net) - flat_weights(before)).norm().item()
    assert 0 < moved <= config.steps * config.step_length + 1e-4
    buffer = S.make_replay_buffer(S.make_training_mazes(20, seed=9, width=5))
    states, actions, rewards, terminals, next_states = buffer.sample(torch.arange(len(buffer)))
    target = S.bellman_target(before, rewards, terminals, next_states)
    assert S.td_loss(S.predicted_q(net, states, actions), target) > S.td_loss(S.predicted_q(before, states, actions), target)
