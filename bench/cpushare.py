"""Lambda's CPU share, applied to this process with the cgroup v1 ``cpu`` controller.

Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB ("Lambda
allocates CPU power in proportion to the amount of memory configured", Configuring function
memory, AWS Lambda Developer Guide), so about 0.29 of one at 512 MB. ``cpu_share`` creates a
child cgroup with ``cpu.cfs_quota_us / cpu.cfs_period_us`` equal to that share, moves this
whole process (every thread) into it for the ``with`` block, moves it back and removes the
cgroup. ``measured_share`` checks that the quota holds: a busy loop's CPU time over its wall
time, inside the cgroup.

Where the controller is missing or not writable (not root, cgroup v2 only, a container),
``CpuShareUnavailable`` says why; the benchmark reports that and skips the share's section.

Cost: Lambda bills memory times duration, in GB-seconds (1 GB = 1,024 MB, duration rounded up
to the millisecond); arm64 costs $0.0000133334 per GB-second (US East (N. Virginia), first 7.5
billion GB-seconds a month, https://aws.amazon.com/lambda/pricing/, as of 2026-11), plus $0.20
per million requests.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

ONE_VCPU_MB: Final = 1769
"""The memory size at which a function gets one full vCPU."""
ARM64_USD_PER_GB_S: Final = 0.0000133334
"""Lambda's arm64 duration price (us-east-1, first tier); see the module docstring."""
USD_PER_REQUEST: Final = 0.20 / 1_000_000
PERIOD_US: Final = 100_000  # CFS's default period: the quota is enforced per 100 ms
_ROOT: Final = Path("/sys/fs/cgroup/cpu")


class CpuShareUnavailable(RuntimeError):
    """The cgroup ``cpu`` controller cannot be used here; the message says why."""


def lambda_share(memory_mb: int) -> float:
    """The vCPUs Lambda gives a function of ``memory_mb`` (1.0 at 1,769 MB)."""
    return memory_mb / ONE_VCPU_MB


def gb_seconds(memory_mb: int, wall_s: float) -> float:
    """Billed GB-seconds of one invocation lasting ``wall_s`` (rounded up to the ms)."""
    return memory_mb / 1024 * math.ceil(wall_s * 1000) / 1000


def usd(memory_mb: int, wall_s: float) -> float:
    """Dollars of duration for that invocation at the arm64 price (requests not included)."""
    return gb_seconds(memory_mb, wall_s) * ARM64_USD_PER_GB_S


def _current_cgroup() -> Path:
    """This process's cgroup in the v1 ``cpu`` hierarchy."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return _ROOT / path.lstrip("/")
    raise CpuShareUnavailable("this process is in no cgroup v1 'cpu' hierarchy (cgroup v2 only?)")


def check_available() -> None:
    """Raise ``CpuShareUnavailable`` unless a child cgroup can be created here."""
    if not (_ROOT / "cpu.cfs_quota_us").exists():
        raise CpuShareUnavailable(f"no cgroup v1 cpu controller mounted at {_ROOT}")
    parent = _current_cgroup()
    if not os.access(parent, os.W_OK):
        raise CpuShareUnavailable(f"cannot create a cgroup under {parent} (not root?)")


@contextlib.contextmanager
def cpu_share(share: float, name: str = "awsome-chat-bench") -> Iterator[Path]:
    """Run this process under a CPU quota of ``share`` vCPUs for the ``with`` block."""
    check_available()
    parent = _current_cgroup()
    group = parent / f"{name}-{os.getpid()}"
    try:
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(max(1000, round(share * PERIOD_US))))
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as error:
        _remove(group, parent)
        raise CpuShareUnavailable(f"cannot apply a CPU quota in {group}: {error}") from error
    try:
        yield group
    finally:
        _remove(group, parent)


def _remove(group: Path, parent: Path) -> None:
    with contextlib.suppress(OSError):
        (parent / "cgroup.procs").write_text(str(os.getpid()))
    with contextlib.suppress(OSError):
        group.rmdir()


def measured_share(seconds: float = 0.5) -> float:
    """CPU seconds per wall second of a busy loop in this thread: the share in force."""
    wall = time.perf_counter()
    cpu = time.process_time()
    while time.perf_counter() - wall < seconds:
        sum(range(1000))
    return (time.process_time() - cpu) / (time.perf_counter() - wall)
