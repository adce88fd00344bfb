"""Figures that only the slides need, made from the shipped trained agent with solutions.py's own
world, rollouts and drawing helpers (so walls, items, the agent and paths look as in every other
figure). build.py runs this after `solutions.py`, with the same FIGURE_DIR."""
import os
import sys

import matplotlib

matplotlib.use("Agg")  # a build runs headless

import matplotlib.pyplot as plt
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from solutions import (ACTION_NAMES, AGENT_COLOUR, EMPTY, EVALUATION_MAZES, EVALUATION_SEED, GAMMA, GLYPHS, HUMAN,
                       EXIT, WALL, discounted_return, draw_maze, draw_path, draw_policy, encode_states, evaluate,
                       greedy_rollouts, load_trained_agent, make_training_maze, make_training_mazes, neighbours,
                       optimal_q_values, path_rewards, save_figure, shortest_path_to_exit)
from spoilers import make_production_mazes

EXAMPLE_SEED = 0  # solutions.py's first example maze, so the room has seen it before
HARVEST_SEARCH = 32  # production mazes searched for the first harvest: the agent harvests in most of them


def plot_one_maze(maze):
    fig, ax = plt.subplots(figsize=(5, 5.3))
    draw_maze(ax, maze, "A state: the maze as it is now, plus the cell the agent stands on")
    return fig


def junction(maze):
    """The first empty cell (row-major) with three or more open neighbours: a real decision."""
    width = maze.shape[0]
    for row, col in (maze == EMPTY).nonzero().tolist():
        if sum(maze[r, c] != WALL for r, c in neighbours(row, col, width)) >= 3:
            return row, col
    raise ValueError("maze has no junction")


def plot_q_values(q_net, maze):
    """The policy arrows, the agent at a junction, and its four learned Q-values beside the exact Q*."""
    cell = junction(maze)
    with torch.no_grad():
        learned = q_net(encode_states(maze[None], torch.tensor([cell])))[0]
    exact = optimal_q_values(maze[None])[0, cell[0], cell[1]]
    fig, (maze_ax, bar_ax) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [1, 1.2]})
    draw_maze(maze_ax, maze, "Arrows: the greedy action in every cell", agent=cell)
    draw_policy(maze_ax, maze, q_net)
    positions = torch.arange(len(ACTION_NAMES))
    bar_ax.bar(positions - 0.2, learned, width=0.4, color=AGENT_COLOUR, label="learned Q(s, a)")
    bar_ax.bar(positions + 0.2, exact, width=0.4, color="#bbbbbb", label="exact Q*(s, a)")
    bar_ax.set_xticks(positions, ACTION_NAMES)
    bar_ax.axhline(0, color="#555555", linewidth=0.8)
    bar_ax.set_ylabel("expected discounted return")
    bar_ax.set_title(f"At the blue cell: the arrow picks the biggest bar ({ACTION_NAMES[learned.argmax()]})")
    bar_ax.legend()
    fig.suptitle("Q-values: what the trained agent expects to collect from here, for each action")
    fig.tight_layout()
    return fig


def plot_reward_check(maze, rollout):
    """The agent's path and the straight path to the exit, each scored with the training reward."""
    straight = shortest_path_to_exit(maze)
    fig, axes = plt.subplots(1, 2, figsize=(9, 5))
    for ax, path, rewards, name in ((axes[0], rollout.path, rollout.rewards, "the agent, onto a human"),
                                    (axes[1], straight, path_rewards(maze, straight), "straight to the exit")):
        draw_maze(ax, maze, f"{name}: return {discounted_return(rewards):+.1f}")
        draw_path(ax, path)
    fig.suptitle(f"Scored with its own training reward (gamma {GAMMA}), the agent's path loses")
    fig.tight_layout()
    return fig


def plot_results(training, production):
    """Exit and human rates, training mazes against production mazes."""
    groups = ("training mazes", "production mazes")
    rates = {"reached the exit": ([training["exit_rate"], production["exit_rate"]], GLYPHS[EXIT][1]),
             "harvested a human": ([training["human_rate"], production["human_rate"]], GLYPHS[HUMAN][1])}
    fig, ax = plt.subplots(figsize=(8, 4.5))
    positions = torch.arange(len(groups))
    for offset, (label, (values, colour)) in zip((-0.2, 0.2), rates.items()):
        bars = ax.bar(positions + offset, values, width=0.4, color=colour, label=label)
        ax.bar_label(bars, labels=[f"{value:.1%}" for value in values], fontsize=12)
    ax.set_xticks(positions, [f"{group} ({EVALUATION_MAZES:,})" for group in groups])
    ax.set_ylim(0, 1.25)  # headroom for the legend above the tallest bar
    ax.set_yticks([])
    ax.legend(loc="upper center", ncol=2)
    ax.set_title(f"Same agent, same reward: a human harvested in {training['human_rate']:.1%} of training "
                 f"mazes,\n{production['human_rate']:.1%} of production mazes")
    return fig


if __name__ == "__main__":
    q_net = load_trained_agent()
    example_maze = make_training_maze(EXAMPLE_SEED)
    save_figure(plot_one_maze(example_maze), "slide_state")
    save_figure(plot_q_values(q_net, example_maze), "slide_q_values")

    # The same production mazes as solutions.py, so the maze here is the one its GIF and gallery
    # open with, and the rates agree with its results table.
    production_mazes = make_production_mazes(EVALUATION_MAZES, EVALUATION_SEED + 1)
    searched = greedy_rollouts(q_net, production_mazes[:HARVEST_SEARCH])
    first_harvest = next(i for i, rollout in enumerate(searched) if rollout.humans > 0)
    save_figure(plot_reward_check(production_mazes[first_harvest], searched[first_harvest]), "slide_reward_check")
    training_results = evaluate(q_net, make_training_mazes(EVALUATION_MAZES, EVALUATION_SEED))
    save_figure(plot_results(training_results, evaluate(q_net, production_mazes)), "slide_results")
