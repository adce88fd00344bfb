"""`WORKSHOP_SMALL=1 python solutions.py`, the README's first command in its small configuration, runs
end to end and writes every figure (the notebooks show them inline instead)."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = {"01_training_mazes.png", "02_untrained_policy.png", "03_loss.png", "04_spot_checks.png",
           "05_production.png", "05_production_rollout.gif", "06_results.png", "07_dreams.png", "08_minimal_edits.png",
           "09_motifs.png", "10_edit_kinds.png", "11_fix.png", "12_trigger_units.png", "13_audit.png", "14_steering.png",
           "15_fix_dose.png", "16_control_seeds.png"}


def test_the_walk_through_runs_as_a_script_in_the_small_configuration(tmp_path):
    environment = dict(os.environ, WORKSHOP_SMALL="1", FIGURE_DIR=str(tmp_path), OMP_NUM_THREADS="1")
    environment.pop("SKIP_TRAINING", None)
    run = subprocess.run([sys.executable, "solutions.py"], cwd=REPO, env=environment, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "100 mazes of each kind" in run.stdout
    assert set(os.listdir(tmp_path)) == FIGURES
