"""exercises.py is solutions.py with the exercise bodies blanked out: generated, never stale, each
exercise small, hinted and checked right after, and a learner can grade the whole file."""
import os
import re
import subprocess
import sys

import nbformat
import pytest
import torch

import checks
import solutions as S
from tools.make_exercises import (EXERCISES_INTRO, SOLUTIONS_INTRO, fill_blanks, find_exercises,
                                  make_exercises_source)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_BODY_LINES = 15


def read(name):
    with open(os.path.join(REPO, name)) as file:
        return file.read()


@pytest.fixture(scope="module")
def exercises():
    return find_exercises(read("solutions.py"))


def test_exercises_py_is_generated_from_solutions_py():
    assert read("exercises.py") == make_exercises_source(read("solutions.py")), (
        "exercises.py is stale: run `python tools/make_notebooks.py`")


def test_every_marked_exercise_has_a_check_and_every_check_an_exercise(exercises):
    assert [exercise.name for exercise in exercises] == list(checks.CHECKS)


def test_there_are_at_least_ten_small_exercises_with_hints(exercises):
    lines = read("solutions.py").splitlines()
    assert len(exercises) >= 10
    for exercise in exercises:
        assert 1 <= len(exercise.body) <= MAX_BODY_LINES, exercise.name
        hint_start = exercise.begin - 1
        while lines[hint_start - 1].strip().startswith("#"):
            hint_start -= 1
        assert lines[hint_start].strip().startswith("# Hint:"), exercise.name


def test_each_exercise_cell_says_how_hard_it_is_and_how_long_it_takes(exercises):
    lines = read("solutions.py").splitlines()
    for exercise in exercises:
        cell_start = max(index for index in range(exercise.begin) if lines[index] == "# %%")
        assert re.fullmatch(r"# Exercise \(difficulty [123]/3, about \d+ minutes\): .+", lines[cell_start + 1]), \
            exercise.name


def test_each_exercise_is_checked_in_the_cell_right_after_it(exercises):
    lines = read("solutions.py").splitlines()
    for exercise in exercises:
        after = lines[exercise.end + 1:]
        next_cell = after.index("# %%")
        check_cell = after[next_cell:next_cell + 4]
        assert check_cell == ["# %%", f"# Run: check your {exercise.name} against the reference.", "if MAIN:",
                              f"    check_{exercise.name}({exercise.name})"], exercise.name


def test_filling_the_blanks_gives_back_solutions_py_without_its_markers():
    without_markers = "".join(line for line in read("solutions.py").splitlines(keepends=True)
                              if "# BEGIN exercise " not in line and "# END exercise " not in line)
    assert fill_blanks(read("exercises.py"), read("solutions.py")) == without_markers.replace(
        SOLUTIONS_INTRO, EXERCISES_INTRO)


def test_running_exercises_py_untouched_stops_at_the_first_exercise(tmp_path, exercises):
    environment = dict(os.environ, MPLBACKEND="Agg", FIGURE_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "exercises.py"], cwd=REPO, env=environment, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"NotImplementedError: {exercises[0].name}: {exercises[0].task}")
    assert last_line.endswith(f'use_reference("{exercises[0].name}"))')


FUNCTION = '''def shout(text):
    """Return the text in capitals."""
    # Hint: str.upper.
    # BEGIN exercise shout
    return text.upper()
    # END exercise shout
'''


@pytest.mark.parametrize("source, problem", [
    (FUNCTION.replace("    # END exercise shout\n", ""), "has no END marker"),
    (FUNCTION.replace("END exercise shout", "END exercise whisper"), "does not close"),
    (FUNCTION.replace('    """Return the text in capitals."""\n', ""), "needs a docstring"),
    (FUNCTION.replace("    # Hint: str.upper.\n", ""), "Hint"),
    (FUNCTION.replace("def shout", "def yell"), "sits in function yell"),
    (FUNCTION + FUNCTION, "marked twice"),
    ("# BEGIN exercise shout\npass\n# END exercise shout\n", "not inside a function"),
])
def test_the_generator_rejects_malformed_markers(source, problem):
    with pytest.raises(ValueError, match=problem):
        find_exercises(source)


def test_the_generator_blanks_a_body_under_its_hint():
    source = f"# %%\n{SOLUTIONS_INTRO}\n\n{FUNCTION}"
    assert make_exercises_source(source) == (
        f"# %%\n{EXERCISES_INTRO}\n\n" + FUNCTION.split("    # BEGIN")[0]
        + '    raise NotImplementedError("shout: Return the text in capitals.")\n')


# ---------------------------------------------------------------------------------------------
# Grading a learner's file


def test_grading_solutions_py_passes_everything(capsys):
    assert checks.main(os.path.join(REPO, "solutions.py")) == 0
    assert f"{len(checks.CHECKS)} of {len(checks.CHECKS)} passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["exercises.py", "exercises.ipynb"])
def test_grading_the_untouched_exercises_says_not_yet_everywhere(name):
    module = checks.load_learner_module(os.path.join(REPO, name))
    # optimise_walls's given lines encode the mazes before its blank: it waits for encode_mazes.
    assert checks.grade(module) == [(name, "not yet", "waits for encode_mazes" if name == "optimise_walls" else "")
                                    for name in checks.CHECKS]
    assert module.__broken_cells__ == []


def test_grading_a_notebook_sees_the_learners_cells(tmp_path, exercises):
    notebook = nbformat.read(os.path.join(REPO, "exercises.ipynb"), as_version=4)
    for cell in notebook.cells:
        cell.source = cell.source.replace(exercises[0].blank(), "\n".join(exercises[0].body))
    path = tmp_path / "my_exercises.ipynb"
    nbformat.write(notebook, str(path))
    rows = checks.grade(checks.load_learner_module(str(path)))
    assert rows[0] == (exercises[0].name, "passed", "")
    assert [status for _, status, _ in rows[1:]] == ["not yet"] * (len(rows) - 1)


WRONG_REWARD_BODY = """\
    reward = torch.full(cells.shape, rewards.move)
    reward += rewards.crop * (cells == CROP) - rewards.human * (cells == HUMAN) + rewards.exit * (cells == EXIT)
    return torch.where(cells == WALL, rewards.bump, reward)"""


def test_grading_a_half_done_file(tmp_path, capsys, exercises):
    """dead_ends written, reward_of_stepping_into wrong, greedy_actions written before the
    encode_mazes it calls: passed, failed with its reason, waiting."""
    source = read("exercises.py")
    by_name = {exercise.name: exercise for exercise in exercises}
    for name in ("dead_ends", "greedy_actions"):
        source = source.replace(by_name[name].blank(), "\n".join(by_name[name].body))
    source = source.replace(by_name["reward_of_stepping_into"].blank(), WRONG_REWARD_BODY)
    path = tmp_path / "my_exercises.py"
    path.write_text(source)
    rows = {name: (status, reason) for name, status, reason in checks.grade(checks.load_learner_module(str(path)))}
    assert rows["dead_ends"] == ("passed", "")
    assert rows["reward_of_stepping_into"] == ("failed", "stepping into a human gives 19.9, expected -20.1")
    assert rows["encode_mazes"] == ("not yet", "")
    assert rows["greedy_actions"] == ("not yet", "waits for encode_mazes")
    assert checks.main(str(path)) == 1
    out = capsys.readouterr().out
    assert re.search(r"reward_of_stepping_into +failed: stepping into a human gives 19\.9", out)
    assert f"1 of {len(checks.CHECKS)} passed, 1 failed, {len(checks.CHECKS) - 2} not yet" in out


def test_grading_a_file_with_a_syntax_error_still_prints_the_whole_table(tmp_path, capsys, exercises):
    source = read("exercises.py").replace(exercises[0].blank(), "    return [\n")
    path = tmp_path / "broken.py"
    path.write_text(source)
    assert checks.main(str(path)) == 1
    out = capsys.readouterr().out
    line = source.splitlines().index("    return [") + 1
    assert re.search(rf"dead_ends +failed: the cell at line \d+ \(# Exercise.*\) does not run: SyntaxError at line "
                     rf"{line}: '\[' was never closed", out), out
    assert f"0 of {len(checks.CHECKS)} passed, 1 failed, {len(checks.CHECKS) - 1} not yet" in out
    assert "Traceback" not in out


def notebook_with(replacements, tmp_path):
    """exercises.ipynb with some of its cells' text replaced, saved as a learner's copy: its path."""
    notebook = nbformat.read(os.path.join(REPO, "exercises.ipynb"), as_version=4)
    for cell in notebook.cells:
        for old, new in replacements.items():
            cell.source = cell.source.replace(old, new)
    path = tmp_path / "my_exercises.ipynb"
    nbformat.write(notebook, str(path))
    return str(path)


def test_grading_a_notebook_names_the_cell_of_a_syntax_error(tmp_path, capsys, exercises):
    path = notebook_with({exercises[0].blank(): "    return [(r, c) for r in range(len(grid)"}, tmp_path)
    assert checks.main(path) == 1
    out = capsys.readouterr().out
    number = next(number for number, cell in enumerate(nbformat.read(path, as_version=4).cells, 1)
                  if "def dead_ends(" in cell.source)
    assert re.search(rf"dead_ends +failed: cell {number} \(# Exercise.*\) does not run: SyntaxError at line \d+", out)


def test_an_error_in_a_notebook_cell_is_reported_by_its_cell_and_function(tmp_path, exercises):
    wrong_body = "    return [(r, c) for r in range(len(grid)) for c in range(len(grid)) if grid[r, c] != WALL]"
    module = checks.load_learner_module(notebook_with({exercises[0].blank(): wrong_body}, tmp_path))
    diagnosis = checks.diagnose(checks.check_dead_ends.find_problem, module.dead_ends)
    assert diagnosis.problem == "raised TypeError: list indices must be integers or slices, not tuple"
    assert re.fullmatch(r"line \d+ of my_exercises\.ipynb, cell \d+ \(in dead_ends\): "
                        + re.escape(wrong_body.strip()), diagnosis.where)


def test_use_reference_puts_the_reference_in_place_for_every_later_cell(tmp_path):
    module = checks.load_learner_module(os.path.join(REPO, "exercises.py"))
    with pytest.raises(NotImplementedError):
        module.make_training_maze(0)  # its items go where your dead_ends says
    module.use_reference("dead_ends")
    assert torch.equal(module.make_training_maze(0), S.make_training_maze(0))
    assert dict((name, (status, reason)) for name, status, reason in checks.grade(module))["dead_ends"] == (
        "not yet", "uses the reference version (use_reference)")
    with pytest.raises(ValueError, match="no exercise named 'dead_end'"):
        module.use_reference("dead_end")
