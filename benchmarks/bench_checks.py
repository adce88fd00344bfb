"""How good are the checks? Runs every check on the wrong versions (mutants) and the correct variants
of tests/test_checks.py and prints, per exercise: how many mutants, the share caught, the share whose
diagnosis names the mistake (contains the expected words and none of another mistake's), the share of
correct variants that pass, and the time of one check of the reference. Prints numbers; asserts
nothing (tests/test_checks.py asserts the same things one by one).

    python benchmarks/bench_checks.py     # about ten seconds, three of them a too-slow mutant's time limit
"""
import contextlib
import io
import os
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import torch  # noqa: E402

import checks  # noqa: E402
import solutions as S  # noqa: E402
from test_checks import CORRECT_VARIANTS, MUTANTS  # noqa: E402


def run(check, function):
    """(verdict, what the check printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        verdict = check(function)
    return verdict, printed.getvalue()


def names_the_mistake(name, printed, named, not_named):
    told = "\n".join(line for line in printed.splitlines() if line.startswith((f"{name}: failed", "  hint:")))
    return named.lower() in printed.lower() and not any(word.lower() in told.lower() for word in not_named)


def main():
    torch.set_num_threads(1)
    print(f"{'exercise':<26}{'mutants':>8}{'caught':>8}{'named':>8}{'variants':>10}{'passing':>9}{'check ms':>10}")
    totals = {"mutants": 0, "caught": 0, "named": 0, "variants": 0, "passing": 0}
    for name, check in checks.CHECKS.items():
        caught = named = 0
        for mutant, expected, *not_named in MUTANTS[name]:
            verdict, printed = run(check, mutant)
            caught += verdict is False
            named += verdict is False and names_the_mistake(name, printed, expected, not_named)
        variants = CORRECT_VARIANTS.get(name, [])
        passing = sum(run(check, variant)[0] is True for variant in variants)
        started = time.perf_counter()
        run(check, getattr(S, name))
        milliseconds = 1000 * (time.perf_counter() - started)
        count = len(MUTANTS[name])
        share = f"{passing / len(variants):.0%}" if variants else "-"
        print(f"{name:<26}{count:>8}{caught / count:>8.0%}{named / count:>8.0%}{len(variants):>10}{share:>9}"
              f"{milliseconds:>10.0f}")
        for key, value in (("mutants", count), ("caught", caught), ("named", named), ("variants", len(variants)),
                           ("passing", passing)):
            totals[key] += value
    print(f"{'all':<26}{totals['mutants']:>8}{totals['caught'] / totals['mutants']:>8.0%}"
          f"{totals['named'] / totals['mutants']:>8.0%}{totals['variants']:>10}"
          f"{totals['passing'] / totals['variants']:>9.0%}")


if __name__ == "__main__":
    main()
