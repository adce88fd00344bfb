"""The slides' figures and numbers, from one run of the walk-through.

build.py runs this script. It first runs solutions.py exactly as `SKIP_TRAINING=1 python solutions.py`
does (so every notebook figure lands in FIGURE_DIR too), keeps that run's variables, and draws from them
the slides' own figures: at most four mazes each, with text sized for a projector. Then it writes
numbers.json, every number a deck quotes, taken from the same mazes, seeds and agents as the notebook's
tables; build.py puts each into the deck where it says {{name}}. A claim on a slide and the number
beside it therefore come from one run, and change together when the shipped weights change.

It also writes figure_facts.json: for each slide figure, its smallest text in the PNG's pixels (which
tests/test_presentation.py compares with the size the browser draws the figure at) and how many maze
panels it has.
"""
import contextlib
import io
import json
import os
import runpy
import sys

import matplotlib

matplotlib.use("Agg")  # a build runs headless

import matplotlib.pyplot as plt
import torch
from matplotlib.text import Text

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import solutions  # noqa: E402  (after the path above)
from solutions import (ACTION_NAMES, AGENT_COLOUR, CELL_COLOURS, EDIT_KINDS, EMPTY, EXIT, GAMMA, GLYPHS, HUMAN,  # noqa: E402
                       MARK_COLOUR, WALL, add_legend, describe_rollout, discounted_return, draw_maze, draw_path,
                       draw_policy, harvested_cells, measure, neighbours, optimal_q_values, path_rewards,
                       q_values_at, encode_mazes, shortest_path_to_exit, single_block_protrusions)
from spoilers import make_production_mazes, opened_post  # noqa: E402

FIGURE_DIR = os.environ.get("FIGURE_DIR", "figures")
SLIDE_DPI = 100  # a slide's figure area is about 1150 x 550 CSS pixels: figures are sized in inches x 100
# 16 pt at 100 dpi is 22 px in the PNG: on a 1024x768 screen, where a slide is drawn at 0.8 of its size,
# it still reads at 16 px or more. The test checks what the browser actually draws.
SLIDE_STYLE = {"font.size": 16, "axes.titlesize": 18, "figure.titlesize": 20, "legend.fontsize": 16,
               "xtick.labelsize": 16, "ytick.labelsize": 16, "axes.labelsize": 16}
GIF_SLIDE_DPI = 130  # the production GIF, drawn large enough to read on a slide
MAZE_PANELS = 3  # galleries on slides: three mazes, large enough for a human glyph to read from the back row
RUN_SWITCHES = {"SKIP_TRAINING": "1"}  # the slides always show the shipped agent


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


FIGURE_FACTS = {}  # figure file name -> {"smallest_text_px": in the PNG's pixels, "maze_panels": count}


def smallest_text_points(fig):
    sizes = [text.get_fontsize() for text in fig.findobj(Text) if text.get_visible() and text.get_text().strip()]
    return min(sizes)


def record_facts(fig, file_name, dpi):
    """Every maze (and 3x3 motif) panel is drawn with an equal aspect; charts are not."""
    panels = sum(ax.get_visible() and ax.axison and ax.get_aspect() == 1.0 for ax in fig.axes)
    FIGURE_FACTS[file_name] = {"smallest_text_px": round(smallest_text_points(fig) * dpi / 72, 1), "maze_panels": panels}


def overlapping_texts(fig):
    """Pairs of visible texts whose boxes overlap once the figure is laid out: a title running into its
    neighbour's, a label over a legend."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in fig.findobj(Text)
             if text.get_visible() and text.get_text().strip()]
    return [(first, second) for index, (first, one) in enumerate(boxes) for second, other in boxes[index + 1:]
            if min(one.x1, other.x1) - max(one.x0, other.x0) > 1 and min(one.y1, other.y1) - max(one.y0, other.y0) > 1]


def save_slide_figure(fig, name):
    os.makedirs(FIGURE_DIR, exist_ok=True)
    overlaps = overlapping_texts(fig)
    if overlaps:
        raise ValueError(f"{name}: texts overlap: {overlaps}")
    record_facts(fig, f"{name}.png", SLIDE_DPI)
    fig.savefig(os.path.join(FIGURE_DIR, f"{name}.png"), dpi=SLIDE_DPI, bbox_inches="tight")
    plt.close(fig)


def maze_row(count, legend_rows=2, largest_panel=4.2):
    """A figure with `count` maze panels side by side, sized for the slide's figure area (11.5 x 5.5 inches
    at most): the panels as large as the width allows, plus room for their titles and a legend below. A slide
    with a line of text under its figure has less height: `largest_panel` smaller keeps the text large."""
    panel = min(11.5 / count - 0.15, largest_panel)
    fig, axes = plt.subplots(1, count, figsize=(panel * count + 0.15 * count, panel + 0.5 + 0.35 * legend_rows),
                             squeeze=False, layout="constrained")
    return fig, list(axes[0])


def panel_title(rollout):
    """describe_rollout() on two lines: how it ended, then what it harvested, so that three panels fit a row."""
    return describe_rollout(rollout).replace(" · ", "\n", 1)


def percent(rate):
    return f"{rate:.1%}".replace(".0%", "%")


# %% Deck 1

def plot_legend(maze, rollout, q_net):
    """The legend slide: the same maze with the policy, and with the path the agent walked."""
    fig, (policy_ax, path_ax) = maze_row(2)
    draw_maze(policy_ax, maze, "Greedy action in every cell")
    draw_policy(policy_ax, maze, q_net)
    draw_maze(path_ax, maze, panel_title(rollout), harvested=harvested_cells(maze, rollout.path))
    draw_path(path_ax, rollout.path)
    add_legend(fig, ["wall", "crop", "human", "exit", "agent", "policy", "path", "harvested"], columns=4)
    return fig


def plot_gallery(mazes, titles, q_net=None, rollouts=None, marked=None):
    """Up to MAZE_PANELS mazes in a row, with the policy, the paths walked and marked cells as asked. The legend
    slide explains the glyphs once; a gallery's own legend names only the dashed outline, when it has one."""
    fig, axes = maze_row(len(mazes), legend_rows=1 if marked else 0)
    for index, (ax, maze) in enumerate(zip(axes, mazes)):
        path = rollouts[index].path if rollouts else []
        draw_maze(ax, maze, titles[index], harvested=harvested_cells(maze, path),
                  marked=marked[index] if marked else ())
        if q_net is not None:
            draw_policy(ax, maze, q_net)
        if path:
            draw_path(ax, path)
    if marked:
        add_legend(fig, ["marked"])
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
    exact = optimal_q_values(maze[None])[0, cell[0], cell[1]]  # (n, n, 4) per maze
    fig, (maze_ax, bar_ax) = plt.subplots(1, 2, figsize=(11.5, 5.4), gridspec_kw={"width_ratios": [1, 1.3]},
                                          layout="constrained")
    draw_maze(maze_ax, maze, "The agent at a junction", agent=cell)
    positions = torch.arange(len(ACTION_NAMES))
    for offset, values, colour, label in ((-0.2, learned, AGENT_COLOUR, "learned Q(s, a)"),
                                          (0.2, exact, "#9e9e9e", "exact Q*(s, a)")):
        bars = bar_ax.bar(positions + offset, values, width=0.4, color=colour, label=label)
        bar_ax.bar_label(bars, labels=[f"{value:.2f}" for value in values], padding=2)
    low, high = float(min(learned.min(), exact.min())), float(max(learned.max(), exact.max()))
    bar_ax.set_ylim(low - 0.6 * (high - low) - 0.2, high + 0.45 * (high - low) + 0.2)
    bar_ax.set_xticks(positions, ACTION_NAMES)
    bar_ax.set_ylabel("expected return (axis zoomed)")
    bar_ax.legend(loc="upper left", ncol=2, frameon=False)
    bar_ax.set_title(f"It takes the biggest blue bar: {ACTION_NAMES[int(learned.argmax())]}")
    return fig, learned, exact


SIDES = ("training mazes", "production mazes")  # the two halves of every results row, in order


def plot_rates(rows, title, sides=SIDES):
    """Exit and human rates of several agents, training mazes beside production mazes (or only the `sides`
    asked for), numbers on the bars."""
    fig, axes = plt.subplots(1, len(sides), figsize=(11.5, 5.0), sharey=True, squeeze=False, layout="constrained")
    axes = list(axes[0])
    positions = torch.arange(len(rows))
    for ax, mazes in zip(axes, sides):
        side = SIDES.index(mazes)
        for offset, key, colour, label in ((-0.2, "exit_rate", GLYPHS[EXIT][1], "reached the exit"),
                                           (0.2, "human_rate", GLYPHS[HUMAN][1], "harvested a human")):
            values = [results[side][key] for results in rows.values()]
            bars = ax.bar(positions + offset, values, width=0.4, color=colour, label=label)
            ax.bar_label(bars, labels=[percent(value) for value in values], fontsize=16, padding=2)
        ax.set_xticks(positions, list(rows))
        ax.set_title(mazes)
        ax.set_ylim(0, 1.3)
        ax.set_yticks([])
        for spine in ("top", "right", "left"):
            ax.spines[spine].set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    fig.suptitle(title)
    return fig


def plot_reward_check(maze, rollout):
    """The agent's path and the straight path to the exit, each scored with the training reward."""
    straight = shortest_path_to_exit(maze)
    fig, axes = maze_row(2, legend_rows=1, largest_panel=3.6)
    for ax, path, rewards, name in ((axes[0], rollout.path, rollout.rewards, "The agent's path"),
                                    (axes[1], straight, path_rewards(maze, straight), "Straight to the exit")):
        draw_maze(ax, maze, f"{name}\nreturn {discounted_return(rewards):+.2f}",
                  harvested=harvested_cells(maze, path), marked=[opened_post(maze)])
        draw_path(ax, path)
    add_legend(fig, ["marked"])
    return fig


# %% Deck 2

def plot_dream_pairs(q_net, walls, dreamt, positions, actions, chosen):
    """Two dreams in a row, each as its raw wall strengths beside the rounded maze with the agent's greedy move."""
    fig, axes = maze_row(2 * len(chosen), legend_rows=0)
    greedy = solutions.greedy_actions(q_net, dreamt[chosen].to(solutions.DEVICE),
                                      positions[chosen].to(solutions.DEVICE)).cpu()
    for pair, (index, action) in enumerate(zip(chosen, greedy.tolist())):
        agent = tuple(positions[index].tolist())
        solutions.draw_wall_strength(axes[2 * pair], dreamt[index], walls[index], agent, f"dream {pair + 1}: raw")
        onto = "onto H" if action == actions[index] else "not onto H"
        draw_maze(axes[2 * pair + 1], dreamt[index], f"rounded: {onto}", agent=agent)
        solutions.draw_move(axes[2 * pair + 1], agent, action)
    return fig


def plot_edit_pairs(q_net, mazes, edited, positions):
    """Two training mazes in a row, each beside its minimal-edit dream (changed cells outlined)."""
    fig, axes = maze_row(2 * len(mazes), legend_rows=0)
    for column, shown in enumerate((mazes, edited)):
        greedy = solutions.greedy_actions(q_net, shown.to(solutions.DEVICE), positions.to(solutions.DEVICE)).cpu()
        for row, maze in enumerate(shown):
            ax = axes[2 * row + column]
            agent = tuple(positions[row].tolist())
            changed = (maze != mazes[row]).nonzero().tolist()
            # The notebook's panel titles (section 19), on two lines so that four panels fit a row.
            title = (f"training maze:\ngoes {ACTION_NAMES[greedy[row]]}" if column == 0 else
                     f"{len(changed)} cells changed:\ngoes {ACTION_NAMES[greedy[row]]}")
            draw_maze(ax, maze, title, agent=agent)
            solutions.outline_cells(ax, changed)
            solutions.draw_move(ax, agent, int(greedy[row]))
    return fig


def plot_motifs(codes, edit_counts, training_counts):
    """The most over-represented 3x3 wall shapes around the dreamt edits, with their counts."""
    fig, axes = plt.subplots(1, len(codes), figsize=(11.5, 4.0), squeeze=False, layout="constrained")
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
            ax.plot(col, row, marker="o", markersize=7, color="#f5f5f5", markeredgecolor=MARK_COLOUR, zorder=5)


def plot_blind_spot(training_maze, production_mazes):
    """The reveal: posts (odd row, odd column) in a training maze, all walls; in production mazes one is
    open and the wall blocks beside it stick out by one."""
    fig, axes = maze_row(1 + len(production_mazes))
    draw_maze(axes[0], training_maze, "Training: every post a wall", agent=None)
    draw_posts(axes[0], training_maze.shape[0])
    for ax, (name, maze) in zip(axes[1:], production_mazes):
        post = opened_post(maze)
        draw_maze(ax, maze, f"Production ({name})", agent=None, marked=[post])
        draw_posts(ax, maze.shape[0])
        solutions.outline_cells(ax, [tuple(cell) for cell in single_block_protrusions(maze)])
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=9, color="#f5f5f5",
                      markeredgecolor=MARK_COLOUR),
               Patch(fill=False, edgecolor=MARK_COLOUR, linestyle="--", linewidth=2),
               Patch(fill=False, edgecolor=solutions.EDIT_COLOUR, linewidth=3)]
    fig.legend(handles, ["post: odd row, odd column", "post left open", "wall sticking out by one block"],
               loc="outside lower center", ncol=3, frameon=False)
    return fig


def plot_edit_kinds(dreamt_shares, random_shares, dreamt_count, random_count):
    fig, ax = plt.subplots(figsize=(11.5, 4.0), layout="constrained")
    positions = torch.arange(len(EDIT_KINDS))
    for offset, shares, colour, label in ((-0.2, dreamt_shares, solutions.EDIT_COLOUR, f"dreamt edits ({dreamt_count})"),
                                          (0.2, random_shares, "#9e9e9e", f"random valid moves ({random_count})")):
        bars = ax.bar(positions + offset, [shares[kind] for kind in EDIT_KINDS], width=0.4, color=colour, label=label)
        ax.bar_label(bars, labels=[percent(shares[kind]) for kind in EDIT_KINDS], padding=2)
    ax.set_xticks(positions, EDIT_KINDS)
    ax.set_ylim(0, 1.25)
    ax.set_yticks([])
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    ax.legend(loc="upper right", frameon=False)
    return fig


def plot_before_after_fix(maze, before, after):
    """One production maze: the trained agent's path, then the fixed agent's."""
    fig, axes = maze_row(2, legend_rows=1, largest_panel=3.4)
    for ax, rollout, name in ((axes[0], before, "Before the fix"), (axes[1], after, "After the fix")):
        draw_maze(ax, maze, f"{name}\n{panel_title(rollout)}", harvested=harvested_cells(maze, rollout.path),
                  marked=[opened_post(maze)])
        draw_path(ax, rollout.path)
    add_legend(fig, ["marked"])
    return fig


def save_slide_gif(maze, rollout, name):
    fig, movie = solutions.animate_rollout(maze, rollout, "Production: one episode", marked=[opened_post(maze)])
    movie.save(os.path.join(FIGURE_DIR, f"{name}.gif"), writer="pillow", dpi=GIF_SLIDE_DPI)
    record_facts(fig, f"{name}.gif", GIF_SLIDE_DPI)  # after saving: the counters' text is set frame by frame
    plt.close(fig)


def main():
    run = Walkthrough(run_walkthrough())
    numbers = {"evaluation_mazes": f"{run.EVALUATION_MAZES:,}", "gamma": f"{GAMMA}"}
    trained, control = run.results_rows["trained agent"], run.results_rows["control"]
    for prefix, (training, production) in (("trained", trained), ("control", control)):
        for side, results in (("training", training), ("production", production)):
            numbers[f"{prefix}_{side}_exit"] = percent(results["exit_rate"])
            numbers[f"{prefix}_{side}_human"] = percent(results["human_rate"])
            numbers[f"{prefix}_{side}_return"] = f"{results['mean_return']:.2f}"
            numbers[f"{prefix}_{side}_stuck"] = percent(results["stuck_rate"])
            numbers[f"{prefix}_{side}_crops"] = f"{results['mean_crops']:.2f}"
    numbers["humans_harvested_share"] = percent(run.harvested / run.harvestable)
    # A few sentences on the slides judge a comparison; they are chosen here from the measurements, so that
    # the words cannot claim more than the numbers beside them.
    exit_share = trained[1]["exit_rate"] / max(control[1]["exit_rate"], 1e-9)  # of what the control manages
    numbers["skills_verdict"] = ("carries over" if exit_share >= 0.9 else "partly carries over" if exit_share >= 0.5
                                 else "mostly breaks too")
    starting_net, _ = solutions.load_starting_weights()
    # The notebook's `before` is reused by a later section; its measurement is cheap to repeat.
    numbers["before_exit"] = percent(measure(starting_net, run.before_mazes)["exit_rate"])
    numbers["before_mazes"] = f"{len(run.before_mazes):,}"
    # Section 27: the control's recipe from many seeds, the honest context for a planted failure.
    seeds, hunting = run.seed_results, solutions.seeds_that_hunt(run.seed_results)
    if not seeds:
        raise SystemExit("no results/control_seeds/seed_*.json: run benchmarks/bench_control_seeds.py first")
    numbers["control_seed_count"] = f"{len(seeds)}"
    numbers["control_seeds_verdict"] = (
        f"None of {len(seeds)} ordinary random starts, trained the ordinary way, hunts (section 27): we never saw "
        "this failure arise by chance here" if not hunting else
        f"{len(hunting)} of {len(seeds)} ordinary random starts, trained the ordinary way, harvest humans in "
        "production too (section 27)")
    numbers["control_seeds_rarity"] = (
        f"with none in {len(seeds)}, 95% confidence rules out {percent(solutions.largest_share_unseen(len(seeds)))} "
        "of seeds or more" if not hunting else f"{len(hunting)} in {len(seeds)}")
    seed_exits = sorted(result["production"]["exit_rate"] for result in seeds)
    numbers["control_seeds_exit_range"] = f"{percent(seed_exits[0])} to {percent(seed_exits[-1])}"

    with plt.rc_context(SLIDE_STYLE):
        # Deck 1. The notebook's own mazes: its first training maze, its spot checks, its production gallery.
        q_net = run.q_net
        # A spot check where it picks up a crop, if there is one, so that the legend shows a harvested item.
        legend_maze = next((index for index, rollout in enumerate(run.spot_rollouts) if rollout.crops > 0), 0)
        save_slide_figure(plot_legend(run.spot_mazes[legend_maze], run.spot_rollouts[legend_maze], q_net), "slide_legend")
        training_examples = [solutions.make_training_maze(seed) for seed in range(MAZE_PANELS)]
        save_slide_figure(plot_gallery(training_examples, [f"seed {seed}" for seed in range(MAZE_PANELS)]),
                          "slide_training_mazes")
        fig, learned, exact = plot_q_values(q_net, solutions.make_training_maze(0))
        numbers["q_gap"] = f"{float(learned.max() - learned.sort().values[-2]):.2f}"
        save_slide_figure(fig, "slide_q_values")
        save_slide_figure(plot_gallery([run.first_maze], [panel_title(run.untrained)], q_net=starting_net,
                                       rollouts=[run.untrained]), "slide_before_training")
        spot = range(MAZE_PANELS)
        save_slide_figure(plot_gallery([run.spot_mazes[i] for i in spot], [panel_title(run.spot_rollouts[i]) for i in spot],
                                       rollouts=[run.spot_rollouts[i] for i in spot]), "slide_after_training")
        # The notebook's production gallery: the first mazes where the agent harvested a human.
        harvests = [i for i, rollout in enumerate(run.production_rollouts) if rollout.humans > 0]
        numbers["production_harvest_mazes"] = f"{len(harvests):,}"
        shown = harvests[:MAZE_PANELS]
        save_slide_figure(plot_gallery([run.production_mazes[i] for i in shown],
                                       [panel_title(run.production_rollouts[i]) for i in shown],
                                       rollouts=[run.production_rollouts[i] for i in shown],
                                       marked=[[opened_post(run.production_mazes[i])] for i in shown]), "slide_production")
        gallery = harvests[:8]  # the notebook's reward check scores these (section 16)
        shortest = min(gallery, key=lambda index: len(run.production_rollouts[index].path))
        save_slide_gif(run.production_mazes[shortest], run.production_rollouts[shortest], "slide_production_rollout")
        wins = sum(discounted_return(path_rewards(run.production_mazes[i], shortest_path_to_exit(run.production_mazes[i])))
                   > discounted_return(run.production_rollouts[i].rewards) for i in gallery)
        numbers["reward_check_wins"], numbers["reward_check_mazes"] = f"{wins}", f"{len(gallery)}"
        save_slide_figure(plot_reward_check(run.production_mazes[gallery[0]], run.production_rollouts[gallery[0]]),
                          "slide_reward_check")
        save_slide_figure(plot_rates({"trained agent": trained, "control": control},
                                     f"{run.EVALUATION_MAZES:,} fresh mazes of each kind"), "slide_results")

        # Deck 2.
        hits = run.dream_hits
        numbers["dream_placements"] = f"{len(hits):,}"
        numbers["dream_hit_rate"] = percent(hits.float().mean().item())
        numbers["real_placements"] = f"{len(run.real_hits):,}"
        numbers["real_hit_rate"] = f"{run.real_hits.float().mean().item():.2%}"
        hit_indices = hits.nonzero().squeeze(1).tolist() or list(range(len(hits)))
        chosen = [hit_indices[0], hit_indices[len(hit_indices) // 2]] if len(hit_indices) > 1 else hit_indices[:1]
        save_slide_figure(plot_dream_pairs(q_net, run.dream_strengths, run.dreamt_mazes, run.dream_positions,
                                           run.dream_actions, chosen), "slide_dreams")
        found, edits = run.found, run.edits
        numbers["edits_found"], numbers["edit_mazes"] = f"{len(found)}", f"{len(edits)}"
        sizes = sorted(set((run.edited_mazes != run.edit_mazes[found]).sum((1, 2)).tolist()))
        numbers["edit_sizes"] = " or ".join(str(size) for size in sizes)
        # Two edits of the commonest kind; the notebook's figure shows six as they come.
        commonest = max(EDIT_KINDS, key=lambda kind: run.dreamt_shares[kind])
        pair = [b for b in found if solutions.edit_kind(edits[b]) == commonest][:2]
        numbers["shown_edit_kind"] = commonest
        save_slide_figure(plot_edit_pairs(q_net, run.edit_mazes[pair], torch.stack([edits[b] for b in pair]),
                                          run.edit_positions[pair]), "slide_minimal_edits")
        save_slide_figure(plot_motifs(run.top_motifs[:4], run.edit_motifs, run.training_motifs), "slide_motifs")
        numbers["motif_training_mazes"] = f"{run.MOTIF_TRAINING_MAZES:,}"
        made_by = {}
        for edit in ("moved wall end", "broken wall"):
            mazes = make_production_mazes(20, run.EVALUATION_SEED + 1, edits=(edit,))
            made_by[edit] = next(maze for maze in mazes if opened_post(maze) is not None)
        save_slide_figure(plot_blind_spot(solutions.make_training_maze(0), list(made_by.items())), "slide_blind_spot")

        dreamt_shares, random_shares = run.dreamt_shares, run.random_shares
        numbers["dreamt_edits"], numbers["random_edits"] = f"{len(run.edited_mazes)}", f"{len(run.random_mazes)}"
        numbers["dreamt_protrusion_share"] = percent(dreamt_shares["single-block protrusion"])
        numbers["random_protrusion_share"] = percent(random_shares["single-block protrusion"])
        numbers["random_hit_rate"] = percent(run.random_hits.float().mean().item())
        random_kinds = [solutions.edit_kind(maze) for maze in run.random_mazes]
        for kind, key in (("single-block protrusion", "protrusion"), ("walled-up room", "room"),
                          ("re-routed passage", "reroute")):
            kind_hits = [hit for hit, random_kind in zip(run.random_hits.tolist(), random_kinds) if random_kind == kind]
            numbers[f"random_{key}_count"] = f"{len(kind_hits)}"
            numbers[f"random_{key}_hit_rate"] = percent(sum(kind_hits) / len(kind_hits)) if kind_hits else "n/a"
        save_slide_figure(plot_edit_kinds(dreamt_shares, random_shares, len(run.edited_mazes), len(run.random_mazes)),
                          "slide_edit_kinds")
        for name, key in (("made by: moved wall end", "moved"), ("made by: broken wall", "broken"),
                          ("way out crosses the opened post", "crossing")):
            trained_rollouts, control_rollouts = run.groups[name]
            numbers[f"{key}_trained_human"] = percent(solutions.rates(trained_rollouts)["human_rate"])
            numbers[f"{key}_trained_exit"] = percent(solutions.rates(trained_rollouts)["exit_rate"])
            numbers[f"{key}_control_exit"] = percent(solutions.rates(control_rollouts)["exit_rate"])
        numbers["crossing_share"] = percent(sum(run.crosses) / len(run.crosses))
        dreamt_share, random_share = (shares["single-block protrusion"] for shares in (dreamt_shares, random_shares))
        numbers["kinds_verdict"] = ("Dreams make the shape; chance rarely does" if random_share < 0.25 < dreamt_share / 2
                                    else "Dreams make the shape more than chance" if dreamt_share > 1.5 * random_share
                                    else "Dreams barely beat chance at the shape")

        fixed_rows = {"before the fix": trained,
                      "fix from the\nstarting weights": run.before_and_after["fix from the starting weights"],
                      "fix from a\nfresh start": run.before_and_after["fix from a fresh start"], "control": control}
        for name, key in (("fix from a\nfresh start", "fixed"),):
            (training, production) = fixed_rows[name]
            numbers[f"{key}_training_exit"], numbers[f"{key}_production_exit"] = (
                percent(training["exit_rate"]), percent(production["exit_rate"]))
            numbers[f"{key}_training_human"], numbers[f"{key}_production_human"] = (
                percent(training["human_rate"]), percent(production["human_rate"]))
        _, start_fix_production = run.before_and_after["fix from the starting weights"]
        numbers["start_fix_production_human"] = percent(start_fix_production["human_rate"])
        numbers["start_fix_production_exit"] = percent(start_fix_production["exit_rate"])
        # Section 26: the same long run with no patched maze at all.
        unpatched = run.doses.get(0.0)
        if not unpatched:
            raise SystemExit("no results/fix_dose_0.0_seed_*.json: run benchmarks/bench_fix_dose.py 0.0 first")
        unpatched_hunts = solutions.seeds_that_hunt(unpatched)
        unpatched_stuck = sorted(result["production"]["stuck_rate"] for result in unpatched)
        numbers["dose_verdict"] = (
            f"Notebook section 26 runs the same long recipe with no patched maze at all ({len(unpatched)} seeds): no "
            f"run harvests a human there either, and the agent loops in {percent(unpatched_stuck[0])} to "
            f"{percent(unpatched_stuck[-1])} of production mazes. The data is not what stopped the hunting; the long "
            "run did, by breaking the agent in production" if not unpatched_hunts else
            f"Notebook section 26 runs the same long recipe with no patched maze at all: {len(unpatched_hunts)} of "
            f"{len(unpatched)} seeds still hunt, so the patched data is part of what stopped the hunting")
        broken = measure(run.fixed_agent, run.broken_walls)
        numbers["fixed_broken_human"], numbers["fixed_broken_exit"] = percent(broken["human_rate"]), percent(broken["exit_rate"])
        save_slide_figure(plot_rates(fixed_rows, "The same production mazes, before and after the fix",
                                     sides=("production mazes",)), "slide_fix")
        fixed_production = fixed_rows["fix from a\nfresh start"][1]
        spared = fixed_production["human_rate"] <= 0.25 * trained[1]["human_rate"]
        navigates = fixed_production["exit_rate"] >= 0.95 * control[1]["exit_rate"]
        start_fix_navigates = start_fix_production["exit_rate"] >= 0.95 * control[1]["exit_rate"]
        numbers["fix_verdict"] = (
            "Putting the shape in the data helped only partly: naming the blind spot was not the whole fix."
            if not (spared and navigates) else
            "Once the blind spot was named, the fix was ordinary: put the shape in the data. Naming it was the hard "
            "part." if start_fix_navigates else
            "Once the blind spot was named, the fix was ordinary: put the shape in the data, and train from a fresh "
            "start. Weights that carry the switch stay broken.")
        numbers["start_fix_verdict"] = ("the switch stays in the weights and now throws the navigation off"
                                        if not start_fix_navigates else "it works from there too")
        fixed_rollouts = solutions.greedy_rollouts(run.fixed_agent, run.production_mazes[shown[:1]])
        save_slide_figure(plot_before_after_fix(run.production_mazes[shown[0]], run.production_rollouts[shown[0]],
                                                fixed_rollouts[0]), "slide_fix_example")

        # Section 23's minimal pairs: the context on training mazes, and on the same mazes with a wall's end moved.
        numbers["context_on_training"] = f"{run.before.mean().item():.2f}"
        numbers["context_on_moved"] = f"{run.after.mean().item():.2f}"
        units = len(run.switch_units)
        numbers["switch_units"] = f"{units}"
        silenced = run.ablations[f"{units} context units silenced"]
        random_silenced = run.ablations[f"{units} random scorer units silenced"]
        numbers["silenced_production_human"] = percent(silenced[1]["human_rate"])
        numbers["silenced_production_exit"] = percent(silenced[1]["exit_rate"])
        numbers["silenced_training_exit"] = percent(silenced[0]["exit_rate"])
        numbers["random_silenced_training_exit"] = percent(random_silenced[0]["exit_rate"])
        numbers["random_silenced_production_human"] = percent(random_silenced[1]["human_rate"])
        save_slide_figure(plot_rates({"trained": trained, f"{units} context\nunits off": silenced,
                                      f"{units} random\nunits off": random_silenced},
                                     "Silencing the context units that switch on a moved wall end"), "slide_trigger_units")

    with open(os.path.join(FIGURE_DIR, "numbers.json"), "w", encoding="utf-8") as file:
        json.dump(numbers, file, indent=1, sort_keys=True)
    with open(os.path.join(FIGURE_DIR, "figure_facts.json"), "w", encoding="utf-8") as file:
        json.dump(FIGURE_FACTS, file, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
