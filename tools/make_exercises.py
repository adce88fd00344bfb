"""Generate exercises.py from solutions.py: every marked exercise body becomes a NotImplementedError.

In solutions.py, the part of a function the learner writes sits between two marker comments, with
its hint right above:

    def bellman_target(...):
        \"\"\"The label Q(s, a) should move towards: ... (the first paragraph names the task)\"\"\"
        # Hint: ...
        # BEGIN exercise bellman_target
        ...the reference solution...
        # END exercise bellman_target

In exercises.py the markers and the body become one line,
`raise NotImplementedError("bellman_target: <the docstring's first paragraph>")`; everything else
is copied unchanged, except the intro line that says which version the reader is looking at.

    python tools/make_exercises.py     # rewrite exercises.py (tools/make_notebooks.py runs this too)
"""
import ast
import json
import os
import re
import sys
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLUTIONS_PATH = os.path.join(REPO, "solutions.py")
EXERCISES_PATH = os.path.join(REPO, "exercises.py")

BEGIN = re.compile(r"^(?P<indent> *)# BEGIN exercise (?P<name>\w+)$")
END = re.compile(r"^(?P<indent> *)# END exercise (?P<name>\w+)$")
SOLUTIONS_INTRO = "# This is the solutions version: `exercises.py` and `exercises.ipynb` blank out the exercise bodies."
EXERCISES_INTRO = ("# This is the exercise version: replace each `raise NotImplementedError(...)` with your code, "
                   "then run the check cell below it.")


@dataclass
class Exercise:
    name: str
    begin: int  # index of the BEGIN line in the source's lines
    end: int  # index of the END line
    indent: str
    body: list  # the reference solution's lines, between the markers
    task: str  # the first paragraph of the enclosing function's docstring

    def blank(self):
        return f"{self.indent}raise NotImplementedError({json.dumps(f'{self.name}: {self.task}')})"


def find_exercises(source):
    """The marked exercises of a solutions source, in order. Raises ValueError on a malformed marker."""
    lines = source.splitlines()
    functions = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)]
    exercises, open_marker = [], None
    for index, line in enumerate(lines):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_marker:
                raise ValueError(f"line {index + 1}: exercise {begin['name']} begins inside exercise "
                                 f"{open_marker['name']}")
            open_marker, begin_index = begin, index
        elif end:
            if not open_marker or end["name"] != open_marker["name"] or end["indent"] != open_marker["indent"]:
                raise ValueError(f"line {index + 1}: END exercise {end['name']} does not close a BEGIN with the same "
                                 f"name and indentation")
            exercises.append(make_exercise(open_marker, begin_index, index, lines, functions))
            open_marker = None
    if open_marker:
        raise ValueError(f"line {begin_index + 1}: exercise {open_marker['name']} has no END marker")
    names = [exercise.name for exercise in exercises]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"exercises marked twice: {', '.join(duplicates)}")
    return exercises


def make_exercise(marker, begin, end, lines, functions):
    name = marker["name"]
    enclosing = [node for node in functions if node.lineno <= begin + 1 <= node.end_lineno]
    if not enclosing:
        raise ValueError(f"line {begin + 1}: exercise {name} is not inside a function")
    function = max(enclosing, key=lambda node: node.lineno)  # the innermost
    if function.name != name:
        raise ValueError(f"line {begin + 1}: exercise {name} sits in function {function.name}; name the exercise "
                         f"after the function the learner writes (the grader looks it up by that name)")
    docstring = ast.get_docstring(function)
    if not docstring:
        raise ValueError(f"function {name} needs a docstring: its first paragraph tells the learner what to build")
    if not lines[begin - 1].strip().startswith("#"):
        raise ValueError(f"line {begin + 1}: exercise {name} needs a '# Hint: ...' comment right above its "
                         f"BEGIN marker")
    body = lines[begin + 1:end]
    if not any(line.strip() for line in body):
        raise ValueError(f"line {begin + 1}: exercise {name} has an empty body")
    task = " ".join(docstring.split("\n\n")[0].split())
    return Exercise(name, begin, end, marker["indent"], body, task)


def make_exercises_source(solutions_source):
    """exercises.py's text: solutions_source with each marked body blanked and the intro line swapped."""
    if solutions_source.count(SOLUTIONS_INTRO + "\n") != 1:
        raise ValueError(f"solutions.py must contain this intro line exactly once:\n{SOLUTIONS_INTRO}")
    lines = solutions_source.splitlines()
    output, position = [], 0
    for exercise in find_exercises(solutions_source):
        output += lines[position:exercise.begin] + [exercise.blank()]
        position = exercise.end + 1
    output += lines[position:]
    return "\n".join(output).replace(SOLUTIONS_INTRO, EXERCISES_INTRO) + "\n"


def fill_blanks(text, solutions_source):
    """`text` (exercises.py, or one notebook cell of it) with each blank line replaced by the reference
    body: how the tests prove that the exercise version runs once every exercise is written."""
    bodies = {exercise.blank(): exercise.body for exercise in find_exercises(solutions_source)}
    lines = []
    for line in text.split("\n"):
        lines += bodies.get(line, [line])
    return "\n".join(lines)


def main():
    with open(SOLUTIONS_PATH) as file:
        solutions_source = file.read()
    with open(EXERCISES_PATH, "w") as file:
        file.write(make_exercises_source(solutions_source))
    names = [exercise.name for exercise in find_exercises(solutions_source)]
    print(f"wrote {os.path.relpath(EXERCISES_PATH)}: {len(names)} exercises ({', '.join(names)})")


if __name__ == "__main__":
    sys.exit(main())
