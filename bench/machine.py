"""The machine the benchmarks ran on: cores, CPU, Python, package versions, commit, load."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from bench.paths import ROOT

_PACKAGES: Final = ("boto3", "botocore", "urllib3", "aiohttp", "moto", "matplotlib")


def machine() -> dict[str, Any]:
    """Cores, CPU, Python, package versions, commit, time and load: what the numbers ran on."""
    versions: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": versions,
        "commit": _commit(),
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_start": load_average(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages: how busy the machine was (others' work too)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None
