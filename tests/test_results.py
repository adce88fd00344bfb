"""The benchmarks' files in results/ are whole and say how they were made, the notebook's loaders read them, and
the README quotes them exactly (tools/readme_results.py makes its tables)."""
import json
import os

import pytest

import solutions as S
from tools.readme_results import BEGIN, END, results_markdown

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATES = ("exit_rate", "human_rate", "stuck_rate")


def read(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as file:
        return file.read()


def rates_are_shares(result, sides):
    return all(0.0 <= result[side][key] <= 1.0 for side in sides for key in RATES)


def test_act_1_runs_are_whole_and_say_how_they_were_made():
    runs = S.load_natural_runs()
    by_share = {}
    for run in runs:
        by_share.setdefault(run["share"], []).append(run["seed"])
        assert run["config"]["seed"] == run["seed"] and run["code_version"] and run["mazes"] == 1_000
        assert rates_are_shares(run, ("training", "production"))
        for counts in (run["new_site"], run["new_site_epsilon"], run["no_exit"], run["no_exit_epsilon"]):
            assert counts["mazes"] == 1_000 and sum(counts[end] for end in S.ENDINGS) == 1_000
            assert counts["straight to the old corner"] <= counts["old corner"]
        assert sum(band["mazes"] for band in run["by_distance"].values()) == 1_000
    assert by_share == {0.0: list(range(10)), 0.01: [0, 1, 2], 0.05: [0, 1, 2], 0.25: [0, 1, 2]}


def test_act_2_reruns_and_fix_cells_are_whole():
    reruns = S.load_results(os.path.join("planted", "seed_*.json"), lambda run: run["seed"])
    assert [run["seed"] for run in reruns] == list(range(10))
    for run in reruns:
        assert run["config"]["steps"] == S.FINE_TUNE_CONFIG.steps and run["code_version"]
        assert rates_are_shares(run, ("training", "production", "training_epsilon", "production_epsilon"))
        assert run["meets_the_bars"] == S.meets_planted_bars(run)
    cells = S.fix_cells(S.load_fix_runs())
    long = S.TrainConfig().steps
    assert set(cells) == {("random start", long, 0.0), ("random start", long, 0.25),
                          ("starting weights", S.FINE_TUNE_CONFIG.steps, 0.0),
                          ("starting weights", S.FINE_TUNE_CONFIG.steps, 0.25), ("starting weights", long, 0.0)}
    for (start, steps, share), runs in cells.items():
        assert [run["seed"] for run in runs] == [0, 1, 2]
        for run in runs:
            assert run["config"]["steps"] == steps and run["config"]["seed"] == run["seed"] and run["code_version"]
            assert rates_are_shares(run, ("training", "production", "training_epsilon", "production_epsilon"))
        if start == "starting weights" and steps == long:
            assert all([point["step"] for point in run["along_the_way"]] == sorted(point["step"] for point in
                                                                                  run["along_the_way"]) for run in runs)


def test_the_search_comparison_covers_three_widths_and_the_control_finds_nothing():
    by_width = S.load_results(os.path.join("search", "width_*.json"), lambda result: result["width"])
    assert [result["width"] for result in by_width] == [7, 9, 11]
    for result in by_width:
        assert result["code_version"] and set(result["agents"]) == {"trained agent", "control"}
        for method in ("random search", "dreams"):
            assert result["agents"]["control"][method]["found"] == 0
            assert result["agents"]["trained agent"][method]["mazes"] == result["placements"]


def test_results_load_sorted_and_the_fix_cells_group_them(tmp_path):
    (tmp_path / "natural").mkdir()
    for share, seed in ((0.25, 1), (0.0, 0), (0.0, 2), (0.25, 0)):
        (tmp_path / "natural" / f"share_{share}_seed_{seed}.json").write_text(json.dumps({"share": share, "seed": seed}))
    runs = S.load_results(os.path.join("natural", "share_*_seed_*.json"), lambda run: (run["share"], run["seed"]),
                          str(tmp_path))
    assert [(run["share"], run["seed"]) for run in runs] == [(0.0, 0), (0.0, 2), (0.25, 0), (0.25, 1)]
    grouped = S.fix_cells([{"start": "a", "steps": 1, "share": 0.0, "seed": seed} for seed in (0, 1)]
                          + [{"start": "b", "steps": 1, "share": 0.0, "seed": 0}])
    assert {cell: [run["seed"] for run in runs] for cell, runs in grouped.items()} == {("a", 1, 0.0): [0, 1],
                                                                                        ("b", 1, 0.0): [0]}


def test_the_readme_quotes_the_results_files():
    readme = read("README.md")
    assert BEGIN in readme and END in readme
    quoted = readme[readme.index(BEGIN):readme.index(END) + len(END)]
    assert quoted == results_markdown(), "README.md's results are stale: paste `python tools/readme_results.py` in"


@pytest.mark.parametrize("name", ["README.md", os.path.join("presentation", "SETUP.md")])
def test_setup_pins_the_cpu_build_of_torch_from_its_own_index(name):
    text = read(name)
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in text
    assert "torch==2.13.0" in read("requirements.txt")
