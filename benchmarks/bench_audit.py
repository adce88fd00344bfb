"""Regenerates results/wall_move_audit.json, which the walk-through's section 24 loads: every valid
single wall move of 500 fresh training mazes, run by the trained agent, the control and the fix.
Prints the summary it writes; asserts nothing.

    python benchmarks/bench_audit.py      # a few minutes on a 2-core CPU
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import solutions as S  # noqa: E402
from spoilers import code_version, save_results  # noqa: E402

AUDIT_MAZES = 500
AUDIT_SEED = S.EVALUATION_SEED + 40  # fresh: no other measurement uses these mazes



def main():
    started = time.perf_counter()
    agents = {"trained agent": S.load_trained_agent(), "control": S.load_control_agent(), "fix": S.load_fixed_agent()}
    audit = S.audit_wall_moves(agents, S.make_training_mazes(AUDIT_MAZES, AUDIT_SEED))
    audit.update(seed=AUDIT_SEED, code_version=code_version(), seconds=round(time.perf_counter() - started))
    save_results(audit, S.AUDIT_PATH)
    print(json.dumps({key: value for key, value in audit.items() if "by_shut_cell" not in key}, indent=1))
    print(f"wrote {S.AUDIT_PATH} in {audit['seconds']} s")


if __name__ == "__main__":
    main()
