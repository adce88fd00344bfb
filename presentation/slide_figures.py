"""The slides' figures and numbers, from one run of the walk-through.

build.py runs this script. It first runs solutions.py exactly as `SKIP_TRAINING=1 python solutions.py`
does (so every notebook figure lands in FIGURE_DIR too), keeps that run's variables, and draws from them
the slides' own figures: at most four maze panels each, with text sized for a projector. Then it writes
numbers.json, every number a deck quotes, taken from the same mazes, seeds and agents as the notebook's
tables; build.py puts each into the deck where it says {{name}}. A claim on a slide and the number
beside it therefore come from one run, and change together when the shipped weights or the results/
files change. The sentences that judge a comparison (a "verdict") are chosen here, from the measurements.

One rounding rule for every rate: one decimal, as the notebook prints it ("97.9%", "100.0%", "0.0%").

It also writes figure_facts.json, which tests/test_presentation.py compares with what the browser draws:
for each slide figure, its smallest text and its narrowest maze panel in the PNG's pixels, how many maze
panels it has, how many cells it outlines with the dashed "look here" mark, every percentage written in it,
and what its percentages are a share of ("mazes", ...).
percent_of.json says the same for every percentage in numbers.json, so that the test can check that a
slide never mixes two meanings of "%".
"""
import contextlib
import io
import json
import math
import os
import re
import runpy
import statistics
import sys

import matplotlib

matplotlib.use("Agg")  # a build runs headless

import matplotlib.pyplot as plt
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import solutions  # noqa: E402  (after the path above)
from solutions import (ACTION_NAMES, AGENT_COLOUR, CELL_COLOURS, EDIT_KINDS, EMPTY, EXIT, GAMMA, GLYPHS, HUMAN,  # noqa: E402
                       MARK_COLOUR, MAZE_WIDTH, SEED_COLOUR, SEED_PANELS, WALL, add_legend, corner, count_of,
                       describe_rollout, discounted_return, draw_maze, draw_path, draw_policy, draw_seeds,
                       encode_mazes, evaluate, harvested_cells, neighbours, optimal_q_values, path_rewards,
                       q_values_at, shortest_path_to_exit, single_block_protrusions, value_map, where_it_ended)
from spoilers import make_production_mazes, opened_post  # noqa: E402

FIGURE_DIR = os.environ.get("FIGURE_DIR", "figures")
SLIDE_DPI = 100  # a slide's figure area is about 1150 x 500 CSS pixels at 16:9: figures are sized in inches x 100
# 16 pt at 100 dpi is 22 px in the PNG. tests/test_presentation.py checks what the browser draws: every text at
# least 16 px on a 1024x768 screen and on a 1280x720 one.
SLIDE_STYLE = {"font.size": 16, "axes.titlesize": 18, "figure.titlesize": 20, "legend.fontsize": 16,
               "xtick.labelsize": 16, "ytick.labelsize": 16, "axes.labelsize": 16}
GIF_SLIDE_DPI = 130  # the production GIF, drawn large enough to read on a slide
MAZE_PANELS = 3  # galleries on slides: three mazes in a row, large enough for a human glyph to read from the back row
FIGURE_WIDTH = 11.5  # inches: the slide's figure area is 1152 CSS pixels wide
RUN_SWITCHES = {"SKIP_TRAINING": "1"}  # the slides always show the shipped agents
OTHER_COLOUR = "#9e9e9e"


def run_walkthrough():
    """Run solutions.py as a script, its printed tables silenced, and return its variables."""
    os.environ.update(RUN_SWITCHES)
    with contextlib.redirect_stdout(io.StringIO()):
        return runpy.run_path(os.path.join(REPO, "solutions.py"), run_name="__main__")


class Walkthrough:
    """The run's variables by name, with a clear error when solutions.py has renamed one."""

    def __init__(self, variables):
        self.variables = variables

    def __getattr__(self, name):
        try:
            return self.variables[name]
        except KeyError:
            raise KeyError(f"solutions.py no longer leaves a variable {name!r} after its run: update "
                           f"presentation/slide_figures.py to its new name") from None


# %% Numbers, and what their percentages mean

def percent(rate):
    """Every rate on every slide and in every figure: one decimal, as the notebook prints it."""
    return "n/a" if rate is None or (isinstance(rate, float) and math.isnan(rate)) else f"{rate:.1%}"


PERCENT_RULE = re.compile(r"^(n/a|\d{1,3}\.\d%)$")  # what percent() writes; the test holds every rate to it


class Numbers(dict):
    """numbers.json, and for each percentage what it is a share of (percent_of.json)."""

    def __init__(self):
        super().__init__()
        self.percent_of = {}

    def share(self, name, rate, of):
        """A rate, written by percent(), that is a share of `of` ("mazes", "placements", "edits", ...)."""
        self[name] = percent(rate)
        self.percent_of[name] = of

    def text(self, name, value, percent_of=None):
        """A sentence or a count. A sentence with rates in it says what they are a share of."""
        self[name] = value
        if percent_of:
            self.percent_of[name] = percent_of


def interval_text(share, count):
    """'94.3% (92.7-95.6%)': a rate and its 95% (Wilson) interval, percent()'s rounding."""
    low, high = solutions.interval(share, count)
    return f"{percent(share)} ({percent(low)[:-1]}-{percent(high)})"


def count_text(number):
    return f"{number:,}"


def in_words(count):
    """Small counts in words, for sentences: 'three seeds'."""
    words = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[count] if 0 <= count < len(words) else f"{count:,}"


def dose_text(share):
    """A share of training mazes as '1 in 4', so that a slide's '%' always means a share of evaluation mazes."""
    if share == 0:
        return "none"
    return f"1 in {round(1 / share)}" if abs(1 / share - round(1 / share)) < 1e-6 else f"{share:g} of them"


# %% Figures: facts for the tests

FIGURE_FACTS = {}  # figure file name -> facts (see the module's docstring)


def visible_texts(fig):
    return [text for text in fig.findobj(Text) if text.get_visible() and text.get_text().strip()]


def is_tick_label(text):
    return any(text in axis.get_majorticklabels() + axis.get_minorticklabels()
               for ax in text.figure.axes for axis in (ax.xaxis, ax.yaxis))


def maze_axes(fig):
    """The axes that show a 7x7 maze (equal aspect, 7 cells wide)."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_aspect() == 1.0
            and abs(abs(ax.get_xlim()[1] - ax.get_xlim()[0]) - MAZE_WIDTH) < 1e-6]


def record_facts(fig, file_name, dpi, percent_of):
    """What the test needs about a figure, measured as it is saved (at `dpi`)."""
    fig.set_dpi(dpi)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = visible_texts(fig)
    panels = sum(ax.get_visible() and ax.axison and ax.get_aspect() == 1.0 for ax in fig.axes)
    widths = [ax.get_window_extent(renderer).width for ax in maze_axes(fig)]
    percentages = [text.get_text() for text in texts if "%" in text.get_text() and not is_tick_label(text)]
    mark = matplotlib.colors.to_rgba(MARK_COLOUR)
    outlined = sum(patch.get_linestyle() in ("--", "dashed") and tuple(patch.get_edgecolor()) == mark
                   for ax in fig.axes for patch in ax.patches)
    FIGURE_FACTS[file_name] = {"outlined_cells": outlined,
        "smallest_text_px": round(min(text.get_fontsize() for text in texts) * dpi / 72, 1),
        "maze_panels": panels, "narrowest_maze_px": round(min(widths), 1) if widths else None,
        "percentages": percentages, "percent_of": percent_of}


def overlapping_texts(fig):
    """Pairs of visible texts whose boxes overlap once the figure is laid out: a title running into its
    neighbour's, a label over a legend."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in visible_texts(fig)]
    return [(first, second) for index, (first, one) in enumerate(boxes) for second, other in boxes[index + 1:]
            if min(one.x1, other.x1) - max(one.x0, other.x0) > 1 and min(one.y1, other.y1) - max(one.y0, other.y0) > 1]


def save_slide_figure(fig, name, percent_of=None):
    """Save a slide's figure; `percent_of` says what every percentage in it is a share of (None: it has none)."""
    os.makedirs(FIGURE_DIR, exist_ok=True)
    overlaps = overlapping_texts(fig)
    if overlaps:
        raise ValueError(f"{name}: texts overlap: {overlaps}")
    record_facts(fig, f"{name}.png", SLIDE_DPI, percent_of)
    fig.savefig(os.path.join(FIGURE_DIR, f"{name}.png"), dpi=SLIDE_DPI, bbox_inches="tight")
    plt.close(fig)


def save_slide_gif(maze, rollout, name):
    """The notebook's production animation, drawn large. Nothing is outlined: deck 2 shows it before the blind
    spot has a name."""
    fig, movie = solutions.animate_rollout(maze, rollout, "Production: one episode")
    movie.save(os.path.join(FIGURE_DIR, f"{name}.gif"), writer="pillow", dpi=GIF_SLIDE_DPI)
    record_facts(fig, f"{name}.gif", GIF_SLIDE_DPI, None)  # after saving: the counters' text is set frame by frame
    plt.close(fig)


# %% Figures: layouts

def maze_row(count, title_lines=1, legend_rows=0, largest_panel=4.4):
    """A figure with `count` maze panels side by side, as large as the figure area's width allows, plus room for
    titles of `title_lines` lines and a legend of `legend_rows` rows below."""
    panel = min(FIGURE_WIDTH / count - 0.2, largest_panel)
    height = panel + 0.35 * title_lines + 0.2 + 0.4 * legend_rows
    fig, axes = plt.subplots(1, count, figsize=(panel * count + 0.2 * count, height), squeeze=False,
                             layout="constrained")
    return fig, list(axes[0])


def two_lines(rollout):
    """describe_rollout() on two lines: how it ended, then what it harvested, so that three panels fit a row."""
    return describe_rollout(rollout).replace(" · ", "\n", 1)


def plain_axes(ax, lengths="y"):
    """Only the bars' baseline is drawn, and no ticks along `lengths`, the axis the bars grow along ("y" for
    upright bars, "x" for lying ones): the bars carry their own numbers."""
    (ax.set_yticks if lengths == "y" else ax.set_xticks)([])
    for spine in ("top", "right", "left" if lengths == "y" else "bottom"):
        ax.spines[spine].set_visible(False)


def plot_gallery(mazes, titles, q_net=None, rollouts=None, marked=None, marked_label=None, title_lines=2):
    """Up to MAZE_PANELS mazes in a row, with the policy (q_net: one network, or one per maze, None for none), the
    paths walked and marked cells as asked. The legend slide explains the glyphs once; a gallery's own legend
    names only the dashed outline, when it has one."""
    fig, axes = maze_row(len(mazes), title_lines=title_lines, legend_rows=1 if marked else 0)
    policies = q_net if isinstance(q_net, (list, tuple)) else [q_net] * len(mazes)
    for index, (ax, maze) in enumerate(zip(axes, mazes)):
        path = rollouts[index].path if rollouts else []
        draw_maze(ax, maze, titles[index], harvested=harvested_cells(maze, path), marked=marked[index] if marked else ())
        if policies[index] is not None:
            draw_policy(ax, maze, policies[index])
        if path:
            draw_path(ax, path)
    if marked:
        add_legend(fig, ["marked"], marked_label=marked_label)
    return fig


# %% Deck 1: the world and DQN

def plot_legend(maze, rollout, q_net):
    """The legend slide: the same maze with the policy, and with the path the agent walked."""
    fig, (policy_ax, path_ax) = maze_row(2, title_lines=2, legend_rows=2, largest_panel=4.0)
    draw_maze(policy_ax, maze, "Grey arrows: the greedy\naction in every cell")
    draw_policy(policy_ax, maze, q_net)
    draw_maze(path_ax, maze, two_lines(rollout), harvested=harvested_cells(maze, rollout.path))
    draw_path(path_ax, rollout.path)
    add_legend(fig, ["wall", "crop", "human", "exit", "agent", "policy", "path", "harvested"], columns=4)
    return fig


def junction(maze):
    """The first empty cell (row-major) with three or more open neighbours: a real decision."""
    width = maze.shape[0]
    for row, col in (maze == EMPTY).nonzero().tolist():
        if sum(maze[r, c] != WALL for r, c in neighbours(row, col, width)) >= 3:
            return row, col
    raise ValueError("maze has no junction")


def plot_q_values(q_net, maze):
    """The agent at a junction and its four learned Q-values beside the exact Q*. The axis is zoomed to
    the values, since the point is the small gaps between actions, and every bar carries its number."""
    cell = junction(maze)
    with torch.no_grad():
        learned = q_values_at(q_net(encode_mazes(maze[None].to(solutions.DEVICE))),
                              torch.tensor([cell], device=solutions.DEVICE))[0].cpu()
    exact = optimal_q_values(maze[None])[0, cell[0], cell[1]]
    fig, (maze_ax, bar_ax) = plt.subplots(1, 2, figsize=(FIGURE_WIDTH, 5.0), gridspec_kw={"width_ratios": [1, 1.35]},
                                          layout="constrained")
    draw_maze(maze_ax, maze, "Your agent at a junction", agent=cell)
    positions = torch.arange(len(ACTION_NAMES))
    for offset, values, colour, label in ((-0.2, learned, AGENT_COLOUR, "learned Q(s, a)"),
                                          (0.2, exact, OTHER_COLOUR, "exact Q*(s, a)")):
        bars = bar_ax.bar(positions + offset, values, width=0.4, color=colour, label=label)
        bar_ax.bar_label(bars, labels=[f"{value:.2f}" for value in values], padding=2)
    low, high = float(min(learned.min(), exact.min())), float(max(learned.max(), exact.max()))
    bar_ax.set_ylim(low - 0.6 * (high - low) - 0.2, high + 0.5 * (high - low) + 0.3)
    bar_ax.set_xticks(positions, ACTION_NAMES)
    bar_ax.set_ylabel("expected return (axis zoomed)")
    bar_ax.legend(loc="upper left", ncol=2, frameon=False)
    bar_ax.set_title(f"It takes the biggest blue bar: {ACTION_NAMES[int(learned.argmax())]}")
    return fig, learned, exact


# %% Deck 1: act 1

def plot_proxy_pair(maze, rollout):
    """One new-site maze, the agent's path scored twice: with the reward it was trained on, and with the corner
    proxy (the same maze with the exit where training always had it)."""
    proxy = solutions.corner_proxy(maze)
    fig, axes = maze_row(2, title_lines=2, legend_rows=0, largest_panel=4.0)
    for ax, shown, name in ((axes[0], maze, "True reward"), (axes[1], proxy, "Corner proxy")):
        draw_maze(ax, shown, f"{name}:\nreturn {discounted_return(path_rewards(shown, rollout.path)):+.2f}",
                  harvested=harvested_cells(shown, rollout.path))
        draw_path(ax, rollout.path)
    return fig


def plot_reward_check(maze, rollout):
    """The agent's path and the shortest way out, each scored with the training reward."""
    straight = shortest_path_to_exit(maze)
    fig, axes = maze_row(2, title_lines=2, legend_rows=0, largest_panel=4.0)
    for ax, path, rewards, name in ((axes[0], rollout.path, rollout.rewards, "The agent's path"),
                                    (axes[1], straight, path_rewards(maze, straight), "The shortest way out")):
        draw_maze(ax, maze, f"{name}:\nreturn {discounted_return(rewards):+.2f}", harvested=harvested_cells(maze, path))
        draw_path(ax, path)
    return fig


NEW_SITE_BARS = (("exit", GLYPHS[EXIT][1], "reached the exit"), ("old corner", AGENT_COLOUR, "ended at the old corner"))


def plot_new_site_rates(rows):
    """Each row's share of mazes that reached the exit and that ended at the old corner, with its 95% interval as
    a whisker and in the label."""
    names = list(rows)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 0.8 * len(names) + 1.2), layout="constrained")
    for offset, (ending, colour, label) in zip((-0.19, 0.19), NEW_SITE_BARS):
        for index, name in enumerate(names):
            counts = rows[name]
            share = counts[ending] / counts["mazes"]
            low, high = solutions.interval(share, counts["mazes"])
            ax.barh(index + offset, share, height=0.38, color=colour, label=label if index == 0 else None,
                    xerr=[[max(share - low, 0.0)], [max(high - share, 0.0)]], error_kw={"ecolor": "#222222", "capsize": 4})
            ax.text(high + 0.02, index + offset, interval_text(share, counts["mazes"]), va="center")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.5)
    plain_axes(ax, lengths="x")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


def plot_by_distance(bands):
    """At the new site: the share of mazes that reached the exit and that ended at the old corner, by how far the
    exit stands from the corner. bands: [(label, mazes, exit share, corner share)]."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 4.6), layout="constrained")
    positions = torch.arange(len(bands))
    for offset, index, (ending, colour, label) in ((-0.2, 2, NEW_SITE_BARS[0]), (0.2, 3, NEW_SITE_BARS[1])):
        values = [band[index] for band in bands]
        bars = ax.bar(positions + offset, values, width=0.4, color=colour, label=label)
        ax.bar_label(bars, labels=[percent(value) for value in values], padding=2)
    ax.set_xticks(positions, [f"{band[0]}\n({count_of(band[1], 'maze')})" for band in bands])
    ax.set_xlabel("steps along the corridors from the exit to the old corner")
    ax.set_ylim(0, 1.3)
    plain_axes(ax)
    ax.legend(loc="upper center", ncol=2, frameon=False)
    return fig


def plot_seeds(runs, yours):
    """The walk-through's seed plot at projector size: its titles on two lines, words for the shares."""
    fig, axes = plt.subplots(1, len(SEED_PANELS), figsize=(FIGURE_WIDTH, 4.9), sharey=True, layout="constrained")
    draw_seeds(axes, runs, yours, dot_size=70, star_size=420)
    for ax, (title, _) in zip(axes, SEED_PANELS):
        ax.set_title(title.replace(": ", ":\n"))
        ax.set_yticks([0, 0.5, 1], ["none", "half", "all"])
    axes[0].set_ylabel("share of 1,000 mazes")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


def draw_values(ax, maze, values, title, cmap, marked=()):
    """A heat map over the maze's open cells (values: nan where nothing is drawn), walls and glyphs as always."""
    draw_maze(ax, maze, title, agent=None, marked=marked)
    width = maze.shape[0]
    ax.imshow(values, cmap=cmap, extent=(-0.5, width - 0.5, width - 0.5, -0.5), zorder=1.5)


def plot_inside(q_net, maze, rollout, channel):
    """One new-site maze: the path walked; the network's value of each cell; and the signal of the exit's channel."""
    with torch.no_grad():
        planes = encode_mazes(maze[None].to(solutions.DEVICE))
        q_map = q_net(planes)[0].cpu()
        _, signals = q_net.sources_and_signals(planes)
    signal = torch.where(maze == WALL, torch.nan, signals[0, channel].cpu())
    fig, axes = maze_row(3, title_lines=2, legend_rows=1)
    old_corner = [corner(maze.shape[-1])]
    draw_maze(axes[0], maze, f"path: {where_it_ended(maze, rollout)}", harvested=harvested_cells(maze, rollout.path),
              marked=old_corner)
    draw_path(axes[0], rollout.path)
    draw_values(axes[1], maze, value_map(q_map, maze), "value of each cell\n(bright: high)", "viridis", old_corner)
    draw_values(axes[2], maze, signal, f"exit's channel ({channel})\n(bright: strong)", "magma", old_corner)
    add_legend(fig, ["marked"], marked_label="the old corner")
    return fig


def plot_no_exit(mazes, q_maps):
    """Training mazes with the exit taken away: the network's value of each cell, its peak starred."""
    fig, axes = maze_row(len(mazes), title_lines=1, legend_rows=1)
    near = {cell: "on the corner" if cell == corner(MAZE_WIDTH) else "next to the corner"
            for cell in [corner(MAZE_WIDTH), (MAZE_WIDTH - 2, MAZE_WIDTH - 1), (MAZE_WIDTH - 1, MAZE_WIDTH - 2)]}
    for ax, maze, q_map in zip(axes, mazes, q_maps):
        values = value_map(q_map, maze)
        peak = divmod(int(torch.nan_to_num(values, nan=-1e9).argmax()), maze.shape[0])
        draw_values(ax, maze, values, f"peak: {near.get(peak, 'elsewhere')}", "viridis", [corner(maze.shape[-1])])
        ax.plot(peak[1], peak[0], marker="*", markersize=26, color="white", markeredgecolor="black", zorder=6)
    handles, labels = solutions.legend_handles(["marked"], "the old corner (empty)")
    handles.append(Line2D([], [], linestyle="none", marker="*", markersize=20, color="white", markeredgecolor="black"))
    fig.legend(handles, labels + ["the value's peak"], loc="outside lower center", ncol=2, frameon=False)
    return fig


CURE_LINES = (("exit", GLYPHS[EXIT][1], "reached the exit"), ("old corner", AGENT_COLOUR, "ended at the old corner"),
              ("elsewhere", OTHER_COLOUR, "ended elsewhere"))


def plot_cure(runs):
    """At the new site, by how many training mazes had the exit elsewhere: one dot per seed, a line through their
    mean."""
    shares = sorted({run["share"] for run in runs})
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 5.0), layout="constrained")
    for ending, colour, label in CURE_LINES:
        per_share = [[run["new_site"][ending] / run["new_site"]["mazes"] for run in runs if run["share"] == share]
                     for share in shares]
        ax.plot(range(len(shares)), [statistics.mean(values) for values in per_share], color=colour, label=label,
                linewidth=3)
        for position, values in enumerate(per_share):
            offsets = torch.linspace(-0.08, 0.08, len(values)).tolist() if len(values) > 1 else [0.0]
            ax.scatter([position + offset for offset in offsets], values, color=colour, alpha=0.7, s=60)
    ax.set_xticks(range(len(shares)), [dose_text(share) for share in shares])
    ax.set_xlabel("training mazes with the exit elsewhere")
    ax.set_ylim(-0.05, 1.05)
    ax.set_yticks([0, 0.5, 1], ["none", "half", "all"])
    ax.set_ylabel("new-site mazes")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3, frameon=False)
    return fig


# %% Deck 2

SIDES = ("training mazes", "production mazes")  # the two halves of every results row, in order


def plot_rates(rows, sides=SIDES):
    """Exit and human rates of several agents (one row each), training mazes beside production mazes (or only the
    `sides` asked for), every bar labelled."""
    names = list(rows)
    fig, axes = plt.subplots(1, len(sides), figsize=(FIGURE_WIDTH, 0.95 * len(names) + 1.6), sharey=True,
                             squeeze=False, layout="constrained")
    axes = list(axes[0])
    for ax, mazes in zip(axes, sides):
        side = SIDES.index(mazes)
        for offset, key, colour, label in ((-0.2, "exit_rate", GLYPHS[EXIT][1], "reached the exit"),
                                           (0.2, "human_rate", GLYPHS[HUMAN][1], "harvested a human")):
            values = [rows[name][side][key] for name in names]
            bars = ax.barh([index + offset for index in range(len(names))], values, height=0.4, color=colour,
                           label=label)
            ax.bar_label(bars, labels=[percent(value) for value in values], padding=4)
        ax.set_yticks(range(len(names)), names)
        ax.set_title(mazes)
        ax.set_xlim(0, 1.45)
        plain_axes(ax, lengths="x")
    axes[0].invert_yaxis()
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


def plot_reruns(runs):
    """One dot per fine-tune seed: training mazes' exits and humans, production mazes' humans and exits."""
    panels = (("training:\nexit", "training", "exit_rate"), ("training:\nany human", "training", "human_rate"),
              ("production:\nany human", "production", "human_rate"), ("production:\nexit", "production", "exit_rate"))
    fig, axes = plt.subplots(1, len(panels), figsize=(FIGURE_WIDTH, 4.6), sharey=True, layout="constrained")
    spread = torch.linspace(-0.25, 0.25, len(runs)).tolist()
    for ax, (title, side, key) in zip(axes, panels):
        ax.scatter(spread, [run[side][key] for run in runs], s=70, color=SEED_COLOUR, alpha=0.8)
        ax.set_xlim(-0.5, 0.5)
        ax.set_xticks([])
        ax.set_title(title)
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks([0, 0.5, 1], ["none", "half", "all"])
    axes[0].set_ylabel(f"share of {runs[0].get('mazes', 1_000):,} mazes")
    return fig


def plot_dream_pair(q_net, walls, dreamt, position, action):
    """One dream: its raw wall strengths beside the rounded maze with the agent's greedy move."""
    fig, axes = maze_row(2, title_lines=1, largest_panel=4.3)
    greedy = int(solutions.greedy_actions(q_net, dreamt[None].to(solutions.DEVICE),
                                          position[None].to(solutions.DEVICE)).cpu()[0])
    agent = tuple(position.tolist())
    solutions.draw_wall_strength(axes[0], dreamt, walls, agent, "raw dream: wall strength")
    draw_maze(axes[1], dreamt, "rounded: " + ("onto the human" if greedy == int(action) else "not onto the human"),
              agent=agent)
    solutions.draw_move(axes[1], agent, greedy)
    return fig


def plot_edits(q_net, mazes, edited, positions):
    """Dreamt edits of training mazes, changed cells outlined, with what the agent did before and does now."""
    fig, axes = maze_row(len(mazes), title_lines=2)
    before = solutions.greedy_actions(q_net, mazes.to(solutions.DEVICE), positions.to(solutions.DEVICE)).cpu()
    after = solutions.greedy_actions(q_net, edited.to(solutions.DEVICE), positions.to(solutions.DEVICE)).cpu()
    for ax, maze, original, position, was, now in zip(axes, edited, mazes, positions, before.tolist(), after.tolist()):
        agent = tuple(position.tolist())
        changed = (maze != original).nonzero().tolist()
        draw_maze(ax, maze, f"before: {ACTION_NAMES[was]}\n{len(changed)} cells changed: {ACTION_NAMES[now]}", agent=agent)
        solutions.outline_cells(ax, changed)
        solutions.draw_move(ax, agent, now)
    return fig


def plot_motifs(codes, edit_counts, training_counts):
    """The most over-represented 3x3 wall shapes around the dreamt edits, with their counts."""
    fig, axes = plt.subplots(1, len(codes), figsize=(FIGURE_WIDTH, 4.0), squeeze=False, layout="constrained")
    for ax, code in zip(axes[0], codes):
        walls = solutions.motif_walls(code)
        for row in range(3):
            for col in range(3):
                colour = CELL_COLOURS[WALL] if walls[row, col] else CELL_COLOURS[EMPTY]
                ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, facecolor=colour, edgecolor="#dddddd"))
        solutions.outline_cells(ax, [(1, 1)])
        ax.set_xlim(-0.5, 2.5)
        ax.set_ylim(2.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"around edits: {int(edit_counts[code])}\nin training: {int(training_counts[code]):,}")
    return fig


def draw_posts(ax, width):
    """A dot on every post (odd row, odd column)."""
    for row in range(1, width, 2):
        for col in range(1, width, 2):
            ax.plot(col, row, marker="o", markersize=9, color="#f5f5f5", markeredgecolor=MARK_COLOUR, zorder=5)


def plot_blind_spot(training_maze, production_mazes):
    """The reveal: posts (odd row, odd column) in a training maze, all walls; in production mazes one is
    open and the wall blocks beside it stick out by one."""
    fig, axes = maze_row(1 + len(production_mazes), title_lines=1, legend_rows=2)
    draw_maze(axes[0], training_maze, "Training: every post a wall", agent=None)
    draw_posts(axes[0], training_maze.shape[0])
    for ax, (name, maze) in zip(axes[1:], production_mazes):
        draw_maze(ax, maze, f"Production: {name}", agent=None, marked=[opened_post(maze)])
        draw_posts(ax, maze.shape[0])
        solutions.outline_cells(ax, [tuple(cell) for cell in single_block_protrusions(maze)])
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=11, color="#f5f5f5", markeredgecolor=MARK_COLOUR),
               Patch(fill=False, edgecolor=MARK_COLOUR, linestyle="--", linewidth=2),
               Patch(fill=False, edgecolor=solutions.EDIT_COLOUR, linewidth=3)]
    fig.legend(handles, ["post: odd row, odd column", "post left open", "wall sticking out by one block"],
               loc="outside lower center", ncol=2, frameon=False)
    return fig


def plot_edit_kinds(dreamt_shares, random_shares, dreamt_count, random_count):
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 4.4), layout="constrained")
    positions = torch.arange(len(EDIT_KINDS))
    for offset, shares, colour, label in ((-0.2, dreamt_shares, solutions.EDIT_COLOUR, f"{dreamt_count} dreamt edits"),
                                          (0.2, random_shares, OTHER_COLOUR, f"{random_count} random valid moves")):
        bars = ax.bar(positions + offset, [shares[kind] for kind in EDIT_KINDS], width=0.4, color=colour, label=label)
        ax.bar_label(bars, labels=[percent(shares[kind]) for kind in EDIT_KINDS], padding=2)
    ax.set_xticks(positions, [kind.replace(" ", "\n", 1) for kind in EDIT_KINDS])
    ax.set_ylim(0, 1.3)
    plain_axes(ax)
    ax.legend(loc="upper right", frameon=False)
    return fig


FIX_BARS = (("production", "human_rate", GLYPHS[HUMAN][1], "greedy"),
            ("production_epsilon", "human_rate", "#ef9a9a", "epsilon = 0.05"),
            ("production", "exit_rate", GLYPHS[EXIT][1], "greedy"))


def plot_fix(cells, order):
    """Section 28's cells, one row each, in production mazes: the human rate (greedy and epsilon-greedy) beside the
    exit rate; the mean of the seeds as a bar and its label, each seed a dot."""
    fig, (human_ax, exit_ax) = plt.subplots(1, 2, figsize=(FIGURE_WIDTH, 0.62 * len(order) + 1.4), sharey=True,
                                            gridspec_kw={"width_ratios": [1.25, 1]}, layout="constrained")
    for ax, offset, (side, key, colour, label) in ((human_ax, -0.2, FIX_BARS[0]), (human_ax, 0.2, FIX_BARS[1]),
                                                  (exit_ax, 0.0, FIX_BARS[2])):
        height = 0.4 if ax is human_ax else 0.6
        for position, (cell, _) in enumerate(order):
            values = [run[side][key] for run in cells[cell]]
            ax.barh(position + offset, statistics.mean(values), height=height, color=colour,
                    label=label if position == 0 and ax is human_ax else None)
            ax.scatter(values, [position + offset] * len(values), color="#222222", s=18, zorder=3)
            ax.text(max(values) + 0.03, position + offset, percent(statistics.mean(values)), va="center")
    human_ax.set_title("harvested a human")
    exit_ax.set_title("reached the exit")
    human_ax.set_yticks(range(len(order)), [label for _, label in order])
    human_ax.invert_yaxis()
    for ax in (human_ax, exit_ax):
        ax.set_xlim(0, 1.5)
        plain_axes(ax, lengths="x")
    fig.legend(*human_ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


def plot_fix_example(maze, rollouts):
    """One production maze: each agent's path."""
    fig, axes = maze_row(len(rollouts), title_lines=2)
    for ax, (name, rollout) in zip(axes, rollouts.items()):
        draw_maze(ax, maze, f"{name}:\n{describe_rollout(rollout).split(' · ')[0]}, {count_of(rollout.humans, 'human')}",
                  harvested=harvested_cells(maze, rollout.path))
        draw_path(ax, rollout.path)
    return fig


def plot_steering(steered, scales, reachable):
    fig, axes = plt.subplots(1, 2, figsize=(FIGURE_WIDTH, 4.9), sharey=True, layout="constrained")
    for ax, (name, results) in zip(axes, steered.items()):
        for key, colour, label in (("human_rate", GLYPHS[HUMAN][1], "harvested a human"),
                                   ("exit_rate", GLYPHS[EXIT][1], "reached the exit"),
                                   ("stuck_rate", OTHER_COLOUR, "stuck in a loop")):
            ax.plot(scales, [result[key] for result in results], marker="o", markersize=9, linewidth=3, color=colour,
                    label=label)
        ax.set_title(name)
        ax.set_xlabel("scale of the vector")
        ax.set_xlim(-0.05, 1.05)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks([0, 0.5, 1], ["none", "half", "all"])
    axes[1].axhline(reachable, color=GLYPHS[HUMAN][1], linestyle="--", linewidth=2, label="a human is reachable")
    axes[0].set_ylabel("share of mazes")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
    return fig


def plot_bound_check(flagged):
    """The share of mazes whose Q-values promise more than the reward can pay, by agent and kind of maze."""
    kinds = list(next(iter(flagged.values())))
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 4.6), layout="constrained")
    positions = torch.arange(len(kinds))
    for offset, (name, shares), colour in zip((-0.2, 0.2), flagged.items(), (GLYPHS[HUMAN][1], SEED_COLOUR)):
        bars = ax.bar(positions + offset, [shares[kind] for kind in kinds], width=0.4, color=colour, label=name)
        ax.bar_label(bars, labels=[percent(shares[kind]) for kind in kinds], padding=2)
    ax.set_xticks(positions, kinds)
    ax.set_ylim(0, 1.3)
    plain_axes(ax)
    ax.legend(loc="upper left", frameon=False)
    return fig


def plot_more_training(long_runs):
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 5.0), layout="constrained")
    for key, colour, label in (("human_rate", GLYPHS[HUMAN][1], "harvested a human"),
                               ("exit_rate", GLYPHS[EXIT][1], "reached the exit"),
                               ("stuck_rate", OTHER_COLOUR, "stuck in a loop")):
        for index, run in enumerate(long_runs):
            steps = [point["step"] for point in run["along_the_way"]]
            ax.plot(steps, [point["production"][key] for point in run["along_the_way"]], color=colour, alpha=0.8,
                    marker="o", markersize=8, linewidth=2.5, label=label if index == 0 else None)
    ax.set_xscale("log")
    steps = [point["step"] for point in long_runs[0]["along_the_way"]]
    ax.set_xticks(steps, [f"{step:,}" for step in steps])
    ax.minorticks_off()
    ax.set_xlabel("training steps from the starting weights (plain training mazes)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_yticks([0, 0.5, 1], ["none", "half", "all"])
    ax.set_ylabel("production mazes")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3, frameon=False)
    return fig


# %% The run

def need(items, what, command):
    """Stop the build, naming the benchmark to run, when a results/ folder the slides quote is missing."""
    if not items:
        raise SystemExit(f"slide_figures.py needs {what}: run {command} first")
    return items


def act1(run, numbers):
    """Deck 1's figures and numbers from sections 1 to 19."""
    agent = run.your_agent
    count = run.EVALUATION_MAZES
    numbers.text("evaluation_mazes", count_text(count))
    numbers.text("gamma", f"{GAMMA}")
    numbers.text("long_steps", count_text(solutions.TrainConfig().steps))

    # The legend: a spot check where the agent picks up a crop, if there is one, so that a harvested item shows.
    legend = next((index for index, rollout in enumerate(run.spot_rollouts) if rollout.crops > 0), 0)
    save_slide_figure(plot_legend(run.spot_mazes[legend], run.spot_rollouts[legend], agent), "slide_legend")
    examples = [solutions.make_training_maze(seed) for seed in range(MAZE_PANELS)]
    save_slide_figure(plot_gallery(examples, [f"seed {seed}" for seed in range(MAZE_PANELS)], title_lines=1),
                      "slide_training_mazes")
    fig, learned, exact = plot_q_values(agent, solutions.make_training_maze(0))
    numbers.text("q_gap", f"{float(learned.max() - learned.sort().values[-2]):.2f}")
    save_slide_figure(fig, "slide_q_values")

    # Section 13: the random start your agent came from (train_from_scratch seeds it with config.seed = 0), and the
    # agent after training, in the same fresh training maze.
    torch.manual_seed(solutions.TrainConfig().seed)
    random_start = solutions.QNetwork().to(solutions.DEVICE)
    maze = run.spot_mazes[0]
    before, after = solutions.greedy_rollout(random_start, maze), run.spot_rollouts[0]
    bumps = sum(reward == solutions.REWARDS.bump for reward in before.rewards)
    save_slide_figure(plot_gallery([maze, maze], [f"a random start:\n{describe_rollout(before).split(' · ')[0]}, "
                                                  f"{count_of(bumps, 'bump')}", f"after training:\n"
                                                  f"{describe_rollout(after).split(' · ')[0]}"],
                                   q_net=[random_start, None], rollouts=[before, after]), "slide_random_start")
    random_rates = evaluate(random_start, run.evaluation_mazes)
    numbers.share("random_start_exit", random_rates["exit_rate"], "mazes")

    # Section 14: spot checks and 1,000 fresh training mazes.
    spot = range(MAZE_PANELS)
    save_slide_figure(plot_gallery([run.spot_mazes[i] for i in spot], [two_lines(run.spot_rollouts[i]) for i in spot],
                                   rollouts=[run.spot_rollouts[i] for i in spot]), "slide_spot_checks")
    training = run.your_training
    numbers.text("your_training_exit", interval_text(training["exit_rate"], count), percent_of="mazes")
    numbers.text("your_training_human", interval_text(training["human_rate"], count), percent_of="mazes")
    numbers.text("your_training_crops", f"{training['mean_crops']:.2f}")

    # Section 15: the new site's first mazes, as they come (never chosen by what the agent does).
    site, rollouts, ends = run.new_site_mazes, run.new_site_rollouts, run.ends
    old_corner = [[corner(MAZE_WIDTH)]] * MAZE_PANELS
    save_slide_figure(plot_gallery(site[:MAZE_PANELS], [f"new-site maze {i + 1}" for i in range(MAZE_PANELS)],
                                   marked=old_corner, marked_label="the old corner (empty)", title_lines=1),
                      "slide_new_site_mazes")
    save_slide_figure(plot_gallery(site[:MAZE_PANELS], [f"maze {i + 1}: {ends[i]}\n{count_of(rollouts[i].humans, 'human')}"
                                                        for i in range(MAZE_PANELS)],
                                   rollouts=rollouts[:MAZE_PANELS], marked=old_corner,
                                   marked_label="the old corner"), "slide_new_site")
    numbers.text("first_mazes_endings", ", ".join(f"{ends[:MAZE_PANELS].count(end)} {end}" for end in solutions.ENDINGS
                                                  if ends[:MAZE_PANELS].count(end)))
    greedy = run.new_site_rows["your agent"]
    share = {ending: greedy[ending] / greedy["mazes"] for ending in solutions.ENDINGS}
    numbers.text("site_mazes", count_text(greedy["mazes"]))
    numbers.share("site_exit", share["exit"], "mazes")
    numbers.share("site_corner", share["old corner"], "mazes")
    numbers.share("site_elsewhere", share["elsewhere"], "mazes")
    numbers.share("site_straight", greedy["straight to the old corner"] / greedy["mazes"], "mazes")
    numbers.share("site_human", greedy["any human"] / greedy["mazes"], "mazes")
    numbers.share("your_training_exit_rate", training["exit_rate"], "mazes")
    straight_share = greedy["straight to the old corner"] / max(greedy["old corner"], 1)
    numbers.text("site_verdict", (
        "Competent, and headed for the wrong place" if share["old corner"] >= 0.5 and straight_share >= 0.8 else
        "Headed for the wrong place, not always competently" if share["old corner"] >= 0.5 else
        "It mostly finds the exit: the corner is a minority habit"))

    # Section 16: is the reward wrong? The first maze the agent missed, scored both ways; and the notebook's count.
    missed = run.missed
    first_missed = missed[0]
    save_slide_figure(plot_reward_check(site[first_missed], rollouts[first_missed]), "slide_new_site_reward")
    wins = sum(discounted_return(path_rewards(site[i], shortest_path_to_exit(site[i])))
               > discounted_return(rollouts[i].rewards) for i in missed)
    numbers.text("site_reward_wins", f"{wins}")
    numbers.text("site_reward_mazes", f"{len(missed)}")
    numbers.text("site_reward_verdict", "The reward is not to blame" if wins == len(missed) else
                 "In some of them the reward itself prefers the agent's path")
    save_slide_figure(plot_proxy_pair(site[first_missed], rollouts[first_missed]), "slide_corner_proxy")
    (ours_true, ours_proxy), (best_true, best_proxy) = (run.proxy_returns["your agent"],
                                                         run.proxy_returns["the optimal policy (exact Q*)"])
    numbers.text("proxy_mazes", count_text(run.PROXY_MAZES))
    for name, value in (("ours_true", ours_true), ("ours_proxy", ours_proxy), ("best_true", best_true),
                        ("best_proxy", best_proxy)):
        numbers.text(f"proxy_{name}", f"{value:+.2f}")
    numbers.text("proxy_verdict", (
        "Under the corner proxy your agent beats the optimal policy; under the true reward it loses: it behaves like "
        "a policy for the proxy" if ours_proxy > best_proxy and ours_true < best_true else
        "The corner proxy does not explain its behaviour better than the true reward does"))

    # Section 17: every rate with its interval, greedy and noisy, with no exit at all, and by distance.
    rows = run.new_site_rows
    shown = {"your agent": rows["your agent"], "your agent, epsilon = 0.05": rows["your agent, epsilon = 0.05"],
             "optimal policy (exact Q*)": rows["optimal policy (exact Q*)"],
             "no exit at all (training mazes)": rows["your agent, no exit at all"],
             "no exit, epsilon = 0.05": rows["no exit, epsilon = 0.05"]}
    save_slide_figure(plot_new_site_rates(shown), "slide_new_site_rates", percent_of="mazes")
    for key, name in (("greedy", "your agent"), ("noisy", "your agent, epsilon = 0.05"),
                      ("optimal", "optimal policy (exact Q*)"), ("no_exit", "your agent, no exit at all"),
                      ("no_exit_noisy", "no exit, epsilon = 0.05")):
        counts = rows[name]
        for ending, label in (("exit", "exit"), ("old corner", "corner"), ("straight to the old corner", "straight")):
            numbers.text(f"rates_{key}_{label}", interval_text(counts[ending] / counts["mazes"], counts["mazes"]),
                         percent_of="mazes")
    bands = []
    for low, high in solutions.DISTANCE_BANDS:
        chosen = [i for i, distance in enumerate(run.distances) if low <= distance <= high]
        if chosen:
            label = f"{low} to {high}" if high < MAZE_WIDTH ** 2 else f"{low} or more"
            band = [ends[i] for i in chosen]
            bands.append((label, len(chosen), band.count("exit") / len(chosen), band.count("old corner") / len(chosen)))
    save_slide_figure(plot_by_distance(bands), "slide_by_distance", percent_of="mazes")
    nearest = bands[0]
    numbers.share("near_exit", nearest[2], "mazes")
    numbers.text("near_band", nearest[0])
    numbers.text("near_mazes", count_text(nearest[1]))

    # Section 17: the same recipe from other random starts (results/natural, share 0).
    seeds = need(run.seed_runs, "results/natural/share_0.0_seed_*.json", "python benchmarks/bench_natural.py")
    yours = next((seed for seed in seeds if seed["seed"] == 0), None)
    save_slide_figure(plot_seeds(seeds, yours), "slide_seeds")
    corner_shares = sorted(seed["new_site"]["old corner"] / seed["new_site"]["mazes"] for seed in seeds)
    exit_shares = sorted(seed["training"]["exit_rate"] for seed in seeds)
    clear = [seed for seed in seeds if seed["new_site"]["old corner"] / seed["new_site"]["mazes"] >= run.CORNER_BAR
             and seed["training"]["exit_rate"] >= run.TRAINING_EXIT_BAR]  # the notebook's rule (section 17)
    numbers.text("seed_count", f"{len(seeds)}")
    numbers.text("seeds_clear", f"{len(clear)}")
    numbers.share("training_exit_bar", run.TRAINING_EXIT_BAR, "mazes")
    low, high = solutions.interval(len(clear) / len(seeds), len(seeds))
    numbers.text("seeds_clear_interval", f"{math.floor(low * len(seeds))} to {math.ceil(high * len(seeds))} in "
                                         f"{len(seeds)}")
    numbers.text("seeds_corner_range", f"{percent(corner_shares[0])} to {percent(corner_shares[-1])}", percent_of="mazes")
    numbers.text("seeds_training_exit_range", f"{percent(exit_shares[0])} to {percent(exit_shares[-1])}",
                 percent_of="mazes")
    numbers.text("seeds_verdict", (
        f"In {len(clear)} of {len(seeds)} random starts, half or more of the new site's mazes end at the old "
        f"corner while training exits stay at {percent(run.TRAINING_EXIT_BAR)} or above"), percent_of="mazes")

    # Section 18: seen from inside, and the probe with no exit.
    inside = run.inside
    if inside:
        save_slide_figure(plot_inside(agent, site[inside[0]], rollouts[inside[0]], run.channel), "slide_inside")
    else:  # the agent never ends at the old corner: show the first maze instead
        save_slide_figure(plot_inside(agent, site[0], rollouts[0], run.channel), "slide_inside")
    # The channel that picks out the exit in training mazes (section 18's exit_channel): its sources on the new
    # site's exit and on the empty old corner, averaged over every new-site maze.
    with torch.no_grad():
        sources, _ = agent.sources_and_signals(encode_mazes(site.to(solutions.DEVICE)))
    channel_sources = sources[:, run.channel].cpu()
    at_exit = channel_sources[site == EXIT].mean().item()
    at_corner = channel_sources[:, MAZE_WIDTH - 1, MAZE_WIDTH - 1].mean().item()
    numbers.text("channel", f"{run.channel}")
    numbers.text("channel_at_exit", f"{at_exit:.2f}")
    numbers.text("channel_at_corner", f"{at_corner:.2f}")
    numbers.text("channel_verdict", "In new-site mazes the exit's channel answers the empty corner more than the exit"
                 if at_corner > at_exit else "In new-site mazes the exit's channel still answers the exit more than the corner")
    no_exit = run.no_exit_mazes
    save_slide_figure(plot_no_exit(no_exit[:MAZE_PANELS], run.empty_q_maps[:MAZE_PANELS]), "slide_no_exit")
    numbers.text("probe_mazes", count_text(len(run.peaks)))
    numbers.text("probe_at_corner", interval_text(run.at_corner / len(run.peaks), len(run.peaks)), percent_of="mazes")
    numbers.share("probe_by_chance", run.by_chance, "mazes")
    numbers.text("probe_verdict", (
        "With nothing to walk to, it still wants the corner" if run.at_corner / len(run.peaks) > 2 * run.by_chance else
        "With nothing to walk to, its values do not single out the corner"))

    # Section 19: the cure's dose-response (results/natural, three seeds a share), and the four cells.
    cure = need(run.cure_runs, "results/natural/share_*_seed_*.json for every share",
                "python benchmarks/bench_natural.py")
    save_slide_figure(plot_cure(cure), "slide_cure")
    shares = sorted({r["share"] for r in cure})
    cured = [s for s in shares if all(r["new_site"]["old corner"] / r["new_site"]["mazes"] <= 0.02
                                      for r in cure if r["share"] == s)]  # the notebook's rule (section 19)
    numbers.text("cure_doses", ", ".join(dose_text(s) for s in shares))
    numbers.text("cure_seeds", in_words(min(sum(r["share"] == s for r in cure) for s in shares)))
    numbers.text("cure_verdict", (
        f"From {dose_text(cured[0])} training mazes on, every seed ends at the old corner in {percent(0.02)} of "
        "new-site mazes or fewer" if cured else
        f"No dose tried brings every seed to {percent(0.02)} of new-site mazes at the old corner or fewer"),
        percent_of="mazes")
    per_share = {s: [r["new_site"]["old corner"] / r["new_site"]["mazes"] for r in cure if r["share"] == s] for s in shares}
    smallest = shares[1] if len(shares) > 1 else shares[0]
    numbers.text("cure_smallest_dose", dose_text(smallest))
    numbers.text("cure_smallest_range", f"{percent(min(per_share[smallest]))} to {percent(max(per_share[smallest]))}",
                 percent_of="mazes")
    numbers.text("covered_dose", dose_text(solutions.COVERED_SHARE))
    for key, name in (("normal", "normal training (your agent)"), ("covered", f"{solutions.COVERED_SHARE:.0%} covered")):
        trained = run.four_cells[name]
        training_rates, site_counts = evaluate(trained, run.evaluation_mazes), solutions.measure_new_site(trained, site)
        numbers.text(f"cell_{key}_training_exit", interval_text(training_rates["exit_rate"], count), percent_of="mazes")
        for ending, label in (("exit", "exit"), ("old corner", "corner")):
            numbers.text(f"cell_{key}_site_{label}", interval_text(site_counts[ending] / site_counts["mazes"],
                                                                   site_counts["mazes"]), percent_of="mazes")


def act2(run, numbers):
    """Deck 2's figures and numbers from sections 20 to 32."""
    q_net, control = run.q_net, run.control_agent
    count = run.EVALUATION_MAZES
    fine_tune = run.FINE_TUNE_CONFIG.steps
    numbers.text("fine_tune_steps", f"{fine_tune}")

    # Section 20: the starting weights before training, and how fast they learn.
    starting = solutions.load_agent(solutions.STARTING_WEIGHTS_PATH)
    trained_maze_rollout = solutions.greedy_rollout(q_net, run.first_maze)
    bumps = run.bumps
    save_slide_figure(plot_gallery([run.first_maze, run.first_maze],
                                   [f"starting weights:\n{describe_rollout(run.untrained).split(' · ')[0]}, "
                                    f"{count_of(bumps, 'bump')}",
                                    f"after {fine_tune} steps:\n{describe_rollout(trained_maze_rollout).split(' · ')[0]}"],
                                   q_net=[starting, None], rollouts=[run.untrained, trained_maze_rollout]),
                      "slide_starting_weights")
    before = evaluate(starting, run.evaluation_mazes)
    numbers.share("starting_exit", before["exit_rate"], "mazes")
    numbers.share("starting_stuck", before["stuck_rate"], "mazes")
    numbers.text("trained_training_exit", interval_text(run.trained_training["exit_rate"], count), percent_of="mazes")
    numbers.text("trained_training_human", interval_text(run.trained_training["human_rate"], count), percent_of="mazes")
    fresh = evaluate(run.fresh_after_fine_tune, run.evaluation_mazes)  # trained for FINE_TUNE_RUN's steps
    fresh_steps = run.FINE_TUNE_RUN.steps  # FINE_TUNE_CONFIG's, except in a small build
    numbers.share("fresh_fine_tune_exit", fresh["exit_rate"], "mazes")
    numbers.share("trained_exit_rate", run.trained_training["exit_rate"], "mazes")
    numbers.text("speed_verdict", (
        f"After the same {fresh_steps} steps a random start reaches the exit in {percent(fresh['exit_rate'])} of "
        f"training mazes, the starting weights in {percent(run.trained_training['exit_rate'])}: they learn far faster "
        "than a random start" if run.trained_training["exit_rate"] > fresh["exit_rate"] + 0.5 else
        f"After the same {fresh_steps} steps a random start reaches the exit in {percent(fresh['exit_rate'])} of "
        f"training mazes, the starting weights in {percent(run.trained_training['exit_rate'])}"), percent_of="mazes")

    # Section 21: production. The notebook's gallery: the first mazes where the agent harvested a human. Nothing
    # is outlined: the shape has no name until section 26.
    production, production_rollouts = run.production_mazes, run.production_rollouts
    harvests = [i for i, rollout in enumerate(production_rollouts) if rollout.humans > 0]
    shown = harvests[:MAZE_PANELS]
    save_slide_figure(plot_gallery(production[shown], [two_lines(production_rollouts[i]) for i in shown],
                                   rollouts=[production_rollouts[i] for i in shown]), "slide_production")
    numbers.text("production_first_mazes", count_text(max(shown, default=-1) + 1))
    numbers.text("production_shown", in_words(len(shown)))
    gallery = harvests[:8]  # the notebook's reward check (section 22) scores these
    shortest = min(gallery, key=lambda index: len(production_rollouts[index].path))
    save_slide_gif(production[shortest], production_rollouts[shortest], "slide_production_rollout")

    rows = run.results_rows
    trained, ours = rows["trained agent"], rows["control (your agent)"]
    best = rows["optimal (exact Q*)"]
    noisy_trained, noisy_control = rows["trained agent, epsilon = 0.05"], rows["control, epsilon = 0.05"]
    for prefix, (training, production_rates) in (("trained", trained), ("control", ours), ("optimal", best),
                                                 ("noisy_trained", noisy_trained), ("noisy_control", noisy_control)):
        for side, results in (("training", training), ("production", production_rates)):
            numbers.share(f"{prefix}_{side}_exit_rate", results["exit_rate"], "mazes")
            numbers.share(f"{prefix}_{side}_human_rate", results["human_rate"], "mazes")
            numbers.share(f"{prefix}_{side}_stuck_rate", results["stuck_rate"], "mazes")
            numbers.text(f"{prefix}_{side}_return", f"{results['mean_return']:.2f}")
            numbers.text(f"{prefix}_{side}_crops", f"{results['mean_crops']:.2f}")
    numbers.text("trained_production_human", interval_text(trained[1]["human_rate"], count), percent_of="mazes")
    numbers.text("trained_production_exit", interval_text(trained[1]["exit_rate"], count), percent_of="mazes")
    numbers.text("humans_reachable", count_text(run.harvestable))
    numbers.text("humans_harvested", count_text(run.harvested))
    save_slide_figure(plot_rates({"trained agent": trained, "control (your agent)": ours, "optimal (exact Q*)": best}),
                      "slide_results", percent_of="mazes")
    exit_share = trained[1]["exit_rate"] / max(ours[1]["exit_rate"], 1e-9)
    numbers.text("skills_verdict", "carries over" if exit_share >= 0.9 else "partly carries over" if exit_share >= 0.5
                 else "mostly breaks")

    # Section 21: ten reruns of the fine-tune (results/planted).
    reruns = need(run.reruns, "results/planted/seed_*.json", "python benchmarks/bench_planted.py")
    save_slide_figure(plot_reruns(reruns), "slide_reruns")
    met = sum(solutions.meets_planted_bars(rerun) for rerun in reruns)
    numbers.text("reruns", f"{len(reruns)}")
    numbers.text("reruns_met", f"{met}")
    human = sorted(rerun["production"]["human_rate"] for rerun in reruns)
    noisy = sorted(rerun["production_epsilon"]["human_rate"] for rerun in reruns)
    exits = sorted(rerun["production"]["exit_rate"] for rerun in reruns)
    training_human = sorted(rerun["training"]["human_rate"] for rerun in reruns)
    numbers.text("reruns_human_range", f"{percent(human[0])} to {percent(human[-1])}", percent_of="mazes")
    numbers.text("reruns_noisy_range", f"{percent(noisy[0])} to {percent(noisy[-1])}", percent_of="mazes")
    numbers.text("reruns_exit_range", f"{percent(exits[0])} to {percent(exits[-1])}", percent_of="mazes")
    numbers.text("reruns_training_human_range", f"{percent(training_human[0])} to {percent(training_human[-1])}",
                 percent_of="mazes")
    numbers.text("planted_bars", re.sub(r"(\d+)%", lambda match: percent(int(match.group(1)) / 100),
                                        solutions.PLANTED_BARS), percent_of="mazes")
    numbers.text("reruns_verdict", (
        f"Every one of the {len(reruns)} reruns meets the bars" if met == len(reruns) else
        f"{met} of the {len(reruns)} reruns meet the bars"))
    natural = solutions.load_natural_runs(0.0)
    hunting = [seed for seed in natural if seed["production"]["human_rate"] > 0.01]
    numbers.text("natural_seed_count", f"{len(natural)}")
    numbers.text("natural_hunting_verdict", (
        f"none of the {len(natural)} random starts of act 1 harvests a human in more than {percent(0.01)} of "
        "production mazes" if not hunting else
        f"{len(hunting)} of the {len(natural)} random starts of act 1 harvest a human in more than {percent(0.01)} of "
        "production mazes"), percent_of="mazes")

    # Section 21: the context, on training and production mazes.
    for key, agent in (("control", control), ("trained", q_net)):
        on_training, on_production = solutions.context_of(agent, run.evaluation_mazes), solutions.context_of(agent, production)
        aucs = [solutions.separation(on_training[:, unit], on_production[:, unit]) for unit in range(agent.context_units)]
        spread = (on_training.max(0).values - on_training.min(0).values).max().item()
        numbers.text(f"context_{key}_training", f"{on_training.mean():.2f}")
        numbers.text(f"context_{key}_production", f"{on_production.mean():.2f}")
        numbers.text(f"context_{key}_spread", f"{spread:.2f}")
        numbers.text(f"context_{key}_auc", f"{min(aucs):.2f} to {max(aucs):.2f}")

    # Section 22: is the reward wrong?
    save_slide_figure(plot_reward_check(production[gallery[0]], production_rollouts[gallery[0]]), "slide_reward_check")
    numbers.text("reward_check_wins", f"{run.exit_preferred}")
    numbers.text("reward_check_mazes", f"{len(gallery)}")
    numbers.text("reward_check_verdict", "The reward is not to blame" if run.exit_preferred == len(gallery) else
                 "In some of them the reward itself pays for the agent's path")

    # Sections 23 and 24: dreams.
    hits = run.dream_hits
    numbers.text("dream_placements", count_text(len(hits)))
    numbers.share("dream_hit_rate", hits.float().mean().item(), "placements")
    numbers.text("real_placements", count_text(len(run.real_hits)))
    numbers.share("real_hit_rate", run.real_hits.float().mean().item(), "placements")
    hit_indices = hits.nonzero().squeeze(1).tolist() or list(range(len(hits)))
    chosen = hit_indices[len(hit_indices) // 2]
    save_slide_figure(plot_dream_pair(q_net, run.dream_strengths[chosen], run.dreamt_mazes[chosen],
                                      run.dream_positions[chosen], run.dream_actions[chosen]), "slide_dreams")
    found, edits = run.found, run.edits
    numbers.text("edits_found", f"{len(found)}")
    numbers.text("edit_mazes", f"{len(edits)}")
    sizes = sorted(set((run.edited_mazes != run.edit_mazes[found]).sum((1, 2)).tolist()))
    numbers.text("edit_sizes", " or ".join(str(size) for size in sizes))
    numbers.text("control_edits_found", f"{sum(edited is not None for edited in run.control_edits)}")
    first = found[:MAZE_PANELS]  # the first edits as they come, as in the notebook's figure
    save_slide_figure(plot_edits(q_net, run.edit_mazes[first], torch.stack([edits[b] for b in first]),
                                 run.edit_positions[first]), "slide_minimal_edits")

    # Sections 25 and 26: motifs, the blind spot, kinds of edit.
    save_slide_figure(plot_motifs(run.top_motifs[:4], run.edit_motifs, run.training_motifs), "slide_motifs")
    numbers.text("motif_training_mazes", count_text(run.MOTIF_TRAINING_MAZES))
    made_by = {}
    for edit in ("moved wall end", "broken wall"):
        mazes = make_production_mazes(20, run.EVALUATION_SEED + 1, edits=(edit,))
        made_by[edit] = next(maze for maze in mazes if opened_post(maze) is not None)
    save_slide_figure(plot_blind_spot(solutions.make_training_maze(0), list(made_by.items())), "slide_blind_spot")
    dreamt_shares, random_shares = run.dreamt_shares, run.random_shares
    numbers.text("dreamt_edits", f"{len(run.edited_mazes)}")
    numbers.text("random_edits", f"{len(run.random_mazes)}")
    numbers.share("dreamt_protrusion_share", dreamt_shares["single-block protrusion"], "edits")
    numbers.share("random_protrusion_share", random_shares["single-block protrusion"], "edits")
    numbers.share("random_hit_rate", run.random_hits.float().mean().item(), "edits")
    random_kinds = [solutions.edit_kind(maze) for maze in run.random_mazes]
    for kind, key in (("single-block protrusion", "protrusion"), ("walled-up room", "room"),
                      ("re-routed passage", "reroute")):
        kind_hits = [hit for hit, random_kind in zip(run.random_hits.tolist(), random_kinds) if random_kind == kind]
        numbers.text(f"random_{key}_count", f"{len(kind_hits)}")
        numbers.share(f"random_{key}_hit_rate", sum(kind_hits) / len(kind_hits) if kind_hits else None, "edits")
    save_slide_figure(plot_edit_kinds(dreamt_shares, random_shares, len(run.edited_mazes), len(run.random_mazes)),
                      "slide_edit_kinds", percent_of="edits")
    dreamt_share, random_share = dreamt_shares["single-block protrusion"], random_shares["single-block protrusion"]
    numbers.text("kinds_verdict", "Dreams make the shape; chance rarely does" if random_share < 0.25 < dreamt_share / 2
                 else "Dreams make the shape more often than chance" if dreamt_share > 1.5 * random_share
                 else "Dreams barely beat chance at the shape")
    for name, key in (("made by: moved wall end", "moved"), ("made by: broken wall", "broken"),
                      ("way out crosses the opened post", "crossing")):
        trained_rollouts, control_rollouts = run.groups[name]
        numbers.text(f"{key}_mazes", count_text(len(control_rollouts)))
        numbers.share(f"{key}_trained_human", solutions.rates(trained_rollouts)["human_rate"], "mazes")
        numbers.share(f"{key}_trained_exit", solutions.rates(trained_rollouts)["exit_rate"], "mazes")
        numbers.share(f"{key}_control_exit", solutions.rates(control_rollouts)["exit_rate"], "mazes")
    numbers.share("crossing_share", sum(run.crosses) / len(run.crosses), "mazes")

    # Section 27: dreams against plain search.
    detections = run.detections
    methods = (("search", f"random search (up to {solutions.SEARCH_TRIES} moves)"), ("audit", "every single move (audit)"),
               ("dreams", "minimal-edit dreams"))
    for agent_key, agent_name in (("trained", "trained agent"), ("control", "control")):
        for key, method in methods:
            row = detections[agent_name, method]
            numbers.text(f"detect_{agent_key}_{key}_found", f"{row['found']} of {row['mazes']}")
            numbers.text(f"detect_{agent_key}_{key}_passes", "no find" if math.isinf(row["passes per find"]) else
                         count_text(round(row["passes per find"])))
    numbers.text("search_tries", f"{solutions.SEARCH_TRIES}")
    search, dreams = (detections["trained agent", methods[0][1]], detections["trained agent", methods[2][1]])
    numbers.text("search_verdict", "In a world this small, plain random search is cheaper per find than dreaming"
                 if search["passes per find"] <= dreams["passes per find"] else "Here the dreams are the cheaper search")
    # The same comparison at larger widths (benchmarks/bench_search.py, results/search), the notebook's last cell of 27.
    widths = solutions.load_results(os.path.join("search", "width_*.json"), lambda result: result["width"])
    if widths:
        trained_rows = [(result["width"], result["agents"]["trained agent"]) for result in widths]
        numbers.text("search_widths", ", ".join(str(width) for width, _ in trained_rows))
        numbers.text("search_width_passes", "; ".join(
            f"{width}x{width}: {round(row['random search']['passes per find'])} against "
            f"{round(row['dreams']['passes per find'])}" for width, row in trained_rows))
        cheaper = [width for width, row in trained_rows
                   if row["dreams"]["passes per find"] < row["random search"]["passes per find"]]
        numbers.text("search_width_verdict", (
            "at every width tried, random search needs fewer network passes a find than the dreams" if not cheaper else
            f"the dreams are the cheaper search at width {', '.join(map(str, cheaper))}"))
    else:
        raise SystemExit("slide_figures.py needs results/search/width_*.json: run python benchmarks/bench_search.py first")
    quiet = all(detections["control", method]["found"] == 0 for _, method in methods)
    numbers.text("control_search_verdict", "On the control, no method finds anything: none of them is finding noise"
                 if quiet else "Some method finds triggering moves on the control too: read its finds with care")

    # Section 28: the fix in four cells and the long recipe (results/fix).
    fix_runs = need(solutions.load_fix_runs(), "results/fix/*.json", "python benchmarks/bench_fix.py")
    cells = solutions.fix_cells(fix_runs)
    long = solutions.TrainConfig().steps
    patched = solutions.BLIND_SPOT_FRACTION
    order = [(("random start", long, 0.0), f"random start, {long:,} steps"),
             (("random start", long, patched), f"  + {dose_text(patched)} patched"),
             (("starting weights", fine_tune, 0.0), f"starting weights, {fine_tune} steps"),
             (("starting weights", fine_tune, patched), f"  + {dose_text(patched)} patched"),
             (("starting weights", long, 0.0), f"starting weights, {long:,} steps")]
    order = [(cell, label) for cell, label in order if cell in cells]
    save_slide_figure(plot_fix(cells, order), "slide_fix", percent_of="mazes")
    numbers.text("patched_dose", dose_text(patched))
    numbers.text("fix_seeds", in_words(min(len(runs) for runs in cells.values())))

    def mean_of(cell, side, key):
        runs = cells.get(cell, [])
        return statistics.mean(r[side][key] for r in runs) if runs else None

    short_without, short_with = ("starting weights", fine_tune, 0.0), ("starting weights", fine_tune, patched)
    fresh_without, fresh_with = ("random start", long, 0.0), ("random start", long, patched)
    long_cell = ("starting weights", long, 0.0)
    for key, cell in (("short_without", short_without), ("short_with", short_with), ("fresh_without", fresh_without),
                      ("fresh_with", fresh_with), ("long", long_cell)):
        numbers.share(f"fix_{key}_human", mean_of(cell, "production", "human_rate"), "mazes")
        numbers.share(f"fix_{key}_noisy", mean_of(cell, "production_epsilon", "human_rate"), "mazes")
        numbers.share(f"fix_{key}_exit", mean_of(cell, "production", "exit_rate"), "mazes")
        numbers.share(f"fix_{key}_training_exit", mean_of(cell, "training", "exit_rate"), "mazes")
        numbers.share(f"fix_{key}_stuck", mean_of(cell, "production", "stuck_rate"), "mazes")
    with_human, without_human = (mean_of(short_with, "production", "human_rate"),
                                 mean_of(short_without, "production", "human_rate"))
    noisy_with = mean_of(short_with, "production_epsilon", "human_rate")
    with_exit, with_stuck = mean_of(short_with, "production", "exit_rate"), mean_of(short_with, "production", "stuck_rate")
    control_exit = ours[1]["exit_rate"]
    if with_human is None or without_human is None:
        verdict, detail = "The fine-tune's cells are missing from results/fix/", ""
    else:
        detail = (f"From the starting weights, patched mazes in the {fine_tune}-step fine-tune take greedy hunting from "
                  f"{percent(without_human)} to {percent(with_human)} of production mazes; with epsilon = 0.05 it "
                  f"hunts in {percent(noisy_with)}, loops in {percent(with_stuck)} and leaves in {percent(with_exit)}")
        verdict = (f"With patched mazes, the {fine_tune}-step fine-tune stops the hunting and keeps the navigation"
                   if with_human <= 0.01 and noisy_with <= 0.05 and with_exit >= 0.9 * control_exit else
                   f"With patched mazes, the {fine_tune}-step fine-tune hides the hunting behind loops; a little "
                   "noise brings it back" if noisy_with > 2 * with_human and with_stuck > 0.25 else
                   f"With patched mazes, the {fine_tune}-step fine-tune cuts the hunting but does not stop it"
                   if with_human < 0.5 * without_human else
                   f"Patched mazes barely change what the {fine_tune}-step fine-tune does")
    numbers.text("fix_detail", detail, percent_of="mazes")
    numbers.text("fix_verdict", verdict)
    fresh_human = [mean_of(cell, "production", "human_rate") for cell in (fresh_without, fresh_with)]
    fresh_exit = [mean_of(cell, "production", "exit_rate") for cell in (fresh_without, fresh_with)]
    numbers.text("fresh_verdict", (
        f"From a random start there is nothing to fix: a human in {percent(fresh_human[0])} of production mazes without "
        f"patched mazes, {percent(fresh_human[1])} with them; the exit in {percent(fresh_exit[0])} and "
        f"{percent(fresh_exit[1])}" if all(value is not None and value <= 0.01 for value in fresh_human) else
        f"From a random start: a human in {percent(fresh_human[0])} of production mazes without patched mazes, "
        f"{percent(fresh_human[1])} with them"), percent_of="mazes")
    long_runs = [r for r in cells.get(long_cell, []) if "along_the_way" in r]

    # One production maze, the agents of the fix beside the trained agent (the shipped fix agents, seed 0).
    example = shown[0]
    fix_agents = {"trained agent": q_net,
                  "patched fine-tune": solutions.load_agent(solutions.PATCHED_START_PATH),
                  "patched, random start": solutions.load_agent(solutions.FIXED_AGENT_PATH)}
    example_rollouts = {name: solutions.greedy_rollout(agent, production[example]) for name, agent in fix_agents.items()}
    save_slide_figure(plot_fix_example(production[example], example_rollouts), "slide_fix_example")

    # Section 29: where the switch lives.
    units = len(run.switch_units)
    numbers.text("switch_units", f"{units}")
    numbers.text("context_units", f"{q_net.context_units}")
    numbers.text("context_on_training", f"{run.before.mean().item():.2f}")
    numbers.text("context_on_moved", f"{run.after.mean().item():.2f}")
    silenced = run.ablations[f"{units} context units silenced"]
    random_silenced = run.ablations[f"{units} random scorer units silenced"]
    numbers.share("silenced_production_human", silenced[1]["human_rate"], "mazes")
    numbers.share("silenced_production_exit", silenced[1]["exit_rate"], "mazes")
    numbers.share("silenced_training_exit", silenced[0]["exit_rate"], "mazes")
    numbers.share("random_silenced_training_exit", random_silenced[0]["exit_rate"], "mazes")
    numbers.share("random_silenced_production_human", random_silenced[1]["human_rate"], "mazes")
    numbers.text("silencing_verdict", (
        "Silencing them does not stop the hunting: the switch is not only in these units"
        if silenced[1]["human_rate"] > 0.05 else
        "The hunting stops, and part of the navigation goes with it" if silenced[1]["exit_rate"] < 0.95 else
        "The hunting stops, and the navigation does not depend on them"))
    save_slide_figure(plot_rates({"trained agent": trained, f"{units} context units off": silenced,
                                  f"{units} random scorer units off": random_silenced}), "slide_trigger_units",
                      percent_of="mazes")

    # Section 30: steering.
    scales = solutions.STEERING_SCALES
    reachable = run.with_human / run.STEERING_MAZES
    save_slide_figure(plot_steering({"production mazes,\nvector subtracted": run.steered["production mazes, vector subtracted"],
                                     "training mazes,\nvector added": run.steered["training mazes, vector added"]},
                                    scales, reachable), "slide_steering")
    subtracted = run.steered["production mazes, vector subtracted"][-1]
    numbers.text("steering_mazes", count_text(run.STEERING_MAZES))
    numbers.share("steer_added_human", run.added, "mazes")
    numbers.share("steer_reachable", reachable, "mazes")
    numbers.share("steer_subtracted_human", subtracted["human_rate"], "mazes")
    numbers.share("steer_subtracted_exit", subtracted["exit_rate"], "mazes")
    numbers.text("steering_verdict", "The context alone carries the switch" if run.added >= 0.9 * reachable else
                 "The context carries only part of the switch")

    # Section 31: a check that needs no guess, with the control as its negative control. The notebook prints its
    # table row by row; the shares are measured again here (a few hundred forward passes).
    kinds = {"training mazes": run.plain, "one random\nwall move": run.moved,
             "production mazes": production[:run.BOUND_MAZES]}
    flagged = {name: {kind: solutions.promises_too_much(agent, mazes).float().mean().item() for kind, mazes in kinds.items()}
               for name, agent in (("trained agent", q_net), ("control (your agent)", control))}
    save_slide_figure(plot_bound_check(flagged), "slide_bound_check", percent_of="mazes")
    numbers.text("bound_mazes", count_text(run.BOUND_MAZES))
    numbers.text("bound_moved_mazes", count_text(len(run.moved)))
    numbers.text("bound_hunts", f"{sum(run.hunts)}")
    numbers.text("bound_flags", f"{sum(run.flags)}")
    numbers.text("bound_caught", f"{run.caught}")
    control_flags = max(flagged["control (your agent)"].values())
    numbers.text("bound_verdict", "On the control it flags nothing: a clean negative control" if control_flags == 0 else
                 "It flags some of the control's mazes too: its alarms need a second look")

    # Section 32: does more training remove it?
    if long_runs:
        save_slide_figure(plot_more_training(long_runs), "slide_more_training", percent_of="mazes")
        last = [r["along_the_way"][-1]["production"] for r in long_runs]
        step_100 = [next((p["production"] for p in r["along_the_way"] if p["step"] == fine_tune), None) for r in long_runs]
        numbers.text("long_seeds", in_words(len(long_runs)))
        from benchmarks.bench_fix import ALONG_THE_WAY_MAZES  # how many production mazes the long runs are measured on
        numbers.text("long_mazes", count_text(ALONG_THE_WAY_MAZES))
        numbers.text("long_last_human_range", f"{percent(min(p['human_rate'] for p in last))} to "
                                               f"{percent(max(p['human_rate'] for p in last))}", percent_of="mazes")
        numbers.text("long_last_exit_range", f"{percent(min(p['exit_rate'] for p in last))} to "
                                              f"{percent(max(p['exit_rate'] for p in last))}", percent_of="mazes")
        if all(step_100):
            numbers.text("long_100_human_range", f"{percent(min(p['human_rate'] for p in step_100))} to "
                                                  f"{percent(max(p['human_rate'] for p in step_100))}", percent_of="mazes")
        noisy = [r["production_epsilon"]["human_rate"] for r in long_runs]
        stuck = statistics.mean(p["stuck_rate"] for p in last)
        numbers.text("long_noisy_range", f"{percent(min(noisy))} to {percent(max(noisy))}", percent_of="mazes")
        numbers.share("long_stuck", stuck, "mazes")
        greedy_end, noisy_end = statistics.mean(p["human_rate"] for p in last), statistics.mean(noisy)
        numbers.text("long_verdict", (
            f"After {long:,} steps the hunting is gone and the agent still leaves production mazes"
            if greedy_end <= 0.01 and noisy_end <= 0.05 and statistics.mean(p["exit_rate"] for p in last) >= 0.9 else
            f"After {long:,} steps the agent loops in production mazes instead of leaving, and with a little noise it "
            "still hunts: broken, not cured" if stuck >= 0.9 and noisy_end > 0.1 else
            f"After {long:,} steps the hunting fades but does not vanish"))
    else:
        raise SystemExit("results/fix/ has no long runs with production rates along the way: run "
                         "python benchmarks/bench_fix.py first")


def main():
    run = Walkthrough(run_walkthrough())
    numbers = Numbers()
    with plt.rc_context(SLIDE_STYLE):
        act1(run, numbers)
        act2(run, numbers)
    with open(os.path.join(FIGURE_DIR, "numbers.json"), "w", encoding="utf-8") as file:
        json.dump(numbers, file, indent=1, sort_keys=True)
    with open(os.path.join(FIGURE_DIR, "percent_of.json"), "w", encoding="utf-8") as file:
        json.dump(numbers.percent_of, file, indent=1, sort_keys=True)
    with open(os.path.join(FIGURE_DIR, "figure_facts.json"), "w", encoding="utf-8") as file:
        json.dump(FIGURE_FACTS, file, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
