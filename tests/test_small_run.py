"""`WORKSHOP_SMALL=1 python solutions.py`, the README's first command in its small configuration, runs
end to end and writes every figure (the notebooks show them inline instead)."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = {"01_training_mazes.png", "02_loss_from_scratch.png", "03_spot_checks.png", "04_new_site.png", "05_seeds.png",
           "06_inside.png", "07_cure.png", "08_starting_weights.png", "09_production.png", "09_production_rollout.gif",
           "10_results.png", "11_dreams.png", "12_minimal_edits.png", "13_motifs.png", "14_edit_kinds.png",
           "15_trigger_units.png", "16_steering.png", "17_more_training.png"}


def test_the_walk_through_runs_as_a_script_in_the_small_configuration(tmp_path):
    environment = dict(os.environ, WORKSHOP_SMALL="1", FIGURE_DIR=str(tmp_path), OMP_NUM_THREADS="1")
    environment.pop("SKIP_TRAINING", None)
    run = subprocess.run([sys.executable, "solutions.py"], cwd=REPO, env=environment, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "100 mazes of each kind" in run.stdout
    assert set(os.listdir(tmp_path)) == FIGURES
