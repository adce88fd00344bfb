"""The README's results tables, made from the benchmarks' files in results/ (never typed by hand).

    python tools/readme_results.py      # prints the Markdown that README.md holds between its results markers

tests/test_results.py fails when README.md's tables differ from what this prints, so a rerun benchmark
and the README cannot disagree.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import solutions as S  # noqa: E402

BEGIN, END = "<!-- results: made by tools/readme_results.py -->", "<!-- end of results -->"


def percent(share):
    return f"{share:.1%}"


def share_of(counts, ending):
    return counts[ending] / counts["mazes"]


def spread(values):
    """'median (lowest to highest)'."""
    return f"{percent(statistics.median(values))} ({percent(min(values))} to {percent(max(values))})"


def act_1(runs):
    plain = [run for run in runs if run["share"] == 0.0]
    rows = (("training mazes: reached the exit", lambda run: run["training"]["exit_rate"]),
            ("new site: reached the exit", lambda run: share_of(run["new_site"], "exit")),
            ("new site: ended at the old corner", lambda run: share_of(run["new_site"], "old corner")),
            ("... of those, by a shortest path", lambda run: run["new_site"]["straight to the old corner"]
             / max(run["new_site"]["old corner"], 1)),
            ("new site, epsilon = 0.05: ended at the old corner", lambda run: share_of(run["new_site_epsilon"], "old corner")),
            ("no exit at all: ended at the old corner", lambda run: share_of(run["no_exit"], "old corner")),
            ("act 2's production mazes: harvested a human", lambda run: run["production"]["human_rate"]))
    lines = [f"**Act 1**: section 13's recipe from {len(plain)} random starts (seeds "
             f"{', '.join(str(run['seed']) for run in plain)}), each measured on 1,000 mazes of each kind:", "",
             f"| | median over {len(plain)} starts (lowest to highest) |", "|---|---|"]
    lines += [f"| {name} | {spread([value(run) for run in plain])} |" for name, value in rows]
    clear = [run["seed"] for run in plain if share_of(run["new_site"], "old corner") >= S.CORNER_BAR
             and run["training"]["exit_rate"] >= S.TRAINING_EXIT_BAR]
    corner = [run for run in plain if share_of(run["new_site"], "old corner") >= S.CORNER_BAR]
    competent = [run for run in plain if run["training"]["exit_rate"] >= S.TRAINING_EXIT_BAR]
    lines += ["", f"In {len(clear)} of {len(plain)} starts, {S.CORNER_BAR:.0%} or more of the new site's mazes end at the "
                  f"old corner while training exits stay at {S.TRAINING_EXIT_BAR:.0%} or above; the corner alone holds in "
                  f"{len(corner)}, the training exits alone in {len(competent)} (the others reach "
                  f"{', '.join(percent(run['training']['exit_rate']) for run in plain if run not in competent) or 'none'}).",
              "", "The cure, the same recipe with a share of training mazes whose exit stands elsewhere (new site, mean "
                  "over the seeds):", "", "| share | seeds | reached the exit | ended at the old corner (highest seed) |",
              "|---|---|---|---|"]
    for share in sorted({run["share"] for run in runs}):
        chosen = [run for run in runs if run["share"] == share and run["seed"] in
                  {r["seed"] for r in runs if r["share"] > 0}]
        corners = [share_of(run["new_site"], "old corner") for run in chosen]
        lines.append(f"| {share:.0%} | {len(chosen)} | {percent(statistics.mean(share_of(run['new_site'], 'exit') for run in chosen))} "
                     f"| {percent(statistics.mean(corners))} ({percent(max(corners))}) |")
    return lines


def act_2(reruns, fix_runs):
    lines = [f"**Act 2**: section 20's 100-step fine-tune from the shipped starting weights, from {len(reruns)} seeds, and "
             "the fix's cells (3 seeds each); the mean of the seeds, then the lowest and highest:", "",
             "| start, recipe, patched mazes | seeds | training: exit | production: a human | with epsilon = 0.05 | "
             "production: exit | loops |", "|---|---|---|---|---|---|---|"]

    def row(name, runs):
        def cell(side, key):
            return S.mean_and_range([run[side][key] for run in runs])
        return (f"| {name} | {len(runs)} | {cell('training', 'exit_rate')} | {cell('production', 'human_rate')} | "
                f"{cell('production_epsilon', 'human_rate')} | {cell('production', 'exit_rate')} | "
                f"{cell('production', 'stuck_rate')} |")

    lines.append(row("starting weights, fine-tune, 0% (results/planted)", reruns))
    for (start, steps, share), runs in S.fix_cells(fix_runs).items():
        recipe = "fine-tune" if steps == S.FINE_TUNE_CONFIG.steps else f"{steps:,} steps"
        lines.append(row(f"{start}, {recipe}, {share:.0%}", runs))
    met = sum(S.meets_planted_bars(run) for run in reruns)
    lines += ["", f"{met} of {len(reruns)} fine-tunes meet the bars the plant was built to meet ({S.PLANTED_BARS})."]
    return lines


def search(by_width):
    lines = ["", "Looking for the trigger before production (section 27): training mazes with the agent beside a human, "
                 f"{by_width[0]['placements']} a width; network passes spent per maze where a triggering wall move was "
                 "found (the control, the negative control, gives neither method anything):", "",
             "| width | random search: found | passes a find | minimal-edit dreams: found | passes a find |",
             "|---|---|---|---|---|"]
    for result in by_width:
        found, dreams = result["agents"]["trained agent"]["random search"], result["agents"]["trained agent"]["dreams"]
        lines.append(f"| {result['width']}x{result['width']} | {found['found']} of {found['mazes']} | "
                     f"{found['passes per find']:.0f} | {dreams['found']} of {dreams['mazes']} | {dreams['passes per find']:.0f} |")
    return lines


def results_markdown():
    runs = S.load_natural_runs()
    reruns = S.load_results(os.path.join("planted", "seed_*.json"), lambda run: run["seed"])
    fix_runs = S.load_fix_runs()
    by_width = S.load_results(os.path.join("search", "width_*.json"), lambda result: result["width"])
    if not (runs and reruns and fix_runs and by_width):
        raise SystemExit("results/ is incomplete: run benchmarks/bench_natural.py, bench_planted.py, bench_fix.py and "
                         "bench_search.py")
    return "\n".join([BEGIN] + act_1(runs) + [""] + act_2(reruns, fix_runs) + search(by_width) + [END])


if __name__ == "__main__":
    print(results_markdown())
