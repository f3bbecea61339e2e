"""``python -m soak``: the reliability campaign (``make soak``); prints every figure.

    python -m soak                          # everything, the issue's sizes (20 min steady)
    python -m soak --steady-minutes 2       # the steady load shorter
    python -m soak --only churn --cycles 300

Loopback only; each scenario is bounded in count and time. docs/reliability.md records a run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from soak import scenarios

SCENARIOS: Final = ("hostile", "churn", "faults", "crash", "outage", "steady")


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 -- git from PATH
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> str:
    cpus = "?"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:  # noqa: PTH123
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpus = f"{len(names)} x {names[0]}" if names else cpus
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {cpus}, Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen scenarios and print their figures; 1 if a scenario failed to run."""
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--only", action="append", choices=SCENARIOS)
    parser.add_argument("--frames", type=int, default=10_000, help="hostile frames")
    parser.add_argument("--cycles", type=int, default=1_000, help="churn cycles")
    parser.add_argument("--members", type=int, default=18, help="live members (faults)")
    parser.add_argument("--messages", type=int, default=10, help="messages per member (faults)")
    parser.add_argument("--outage-s", type=float, default=5.0)
    parser.add_argument("--steady-minutes", type=float, default=20.0)
    parser.add_argument("--steady-members", type=int, default=50)
    parser.add_argument("--steady-rate", type=float, default=10.0, help="messages per second")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args(argv)

    plans: dict[str, Callable[[], dict[str, Any]]] = {
        "hostile": lambda: scenarios.hostile(args.frames, args.seed),
        "churn": lambda: scenarios.churn(args.cycles),
        "faults": lambda: scenarios.faults(args.members, args.messages, args.seed),
        "crash": lambda: scenarios.crash(8),
        # As many clients as the function's concurrency (8): each invocation hangs on its own.
        "outage": lambda: scenarios.outage(8, args.outage_s),
        "steady": lambda: scenarios.steady(
            args.steady_minutes * 60, args.steady_members, args.steady_rate
        ),
    }
    print(f"soak at commit {_commit()} on {_machine()}", flush=True)
    status = 0
    for name in args.only or SCENARIOS:
        started = time.monotonic()
        try:
            figures = plans[name]()
        except Exception as error:  # report and go on: one scenario must not hide the rest
            status = 1
            figures = {"failed": f"{type(error).__name__}: {error}"}
        figures.setdefault("seconds", round(time.monotonic() - started, 1))
        print(f"\n== {name}", flush=True)
        for key, value in figures.items():
            print(f"  {key}: {json.dumps(value) if isinstance(value, dict) else value}")
        sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
