"""``python -m tests.bench.silent_child``: a child that never answers, nor stops when asked.

It logs its process id (its stderr is the child's log) so a test can check it is gone.
"""

from __future__ import annotations

import os
import sys
import time

if __name__ == "__main__":
    print(os.getpid(), file=sys.stderr, flush=True)
    time.sleep(120)
