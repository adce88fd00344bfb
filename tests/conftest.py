"""Shared test setup: put the repository root on sys.path so that `import solutions` and
`import spoilers` work from tests/."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402  (solutions imports it anyway; this only pins the thread count)

# On a 2-core machine that is also running something else, torch's default two intra-op threads
# spin against the other process: a 300-step training run took ~115 s instead of ~3 s. Tests use
# tiny tensors, so one thread loses nothing.
torch.set_num_threads(1)
