"""The smoke's answer: one line per check, and whether the deployment passed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

Printer = Callable[[str], None]

OK: Final = "ok"
FAIL: Final = "FAIL"
SKIP: Final = "skip"


class CheckFailed(Exception):
    """One check's expectation was not met; the message says what happened instead."""


@dataclass(frozen=True)
class Check:
    """One line of the smoke's answer."""

    name: str
    status: str  # OK, FAIL or SKIP
    detail: str

    def line(self) -> str:
        """``ok    name: detail``."""
        return f"{self.status:<5} {self.name}: {self.detail}"


@dataclass
class Run:
    """The checks so far, each printed as it is recorded. ``skips`` names checks the caller
    said cannot be made here, with why (``--skip``): they are recorded as skipped, never run."""

    out: Printer
    skips: Mapping[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def record(self, name: str, status: str, detail: str) -> None:
        """Add and print one line."""
        check = Check(name, status, detail)
        self.checks.append(check)
        self.out(check.line())

    def attempt(self, name: str, check: Callable[[], str]) -> bool:
        """Run ``check`` (its detail on success), unless the caller skipped it; whether it
        passed (a skip is not a pass)."""
        if name in self.skips:
            self.record(name, SKIP, f"{self.skips[name]} (skipped with --skip)")
            return False
        try:
            self.record(name, OK, check())
        except CheckFailed as failed:
            self.record(name, FAIL, str(failed))
            return False
        return True

    def skip(self, names: tuple[str, ...], why: str) -> None:
        """Record each of ``names`` as skipped, saying why."""
        for name in names:
            self.record(name, SKIP, why)


def failed(checks: list[Check]) -> list[Check]:
    """The checks that failed: the exit status is 1 when there is any (a skip is not one)."""
    return [c for c in checks if c.status == FAIL]


def summary(checks: list[Check]) -> str:
    """``7 of 9 checks passed, 2 skipped`` (and how many failed)."""
    counts = {status: sum(c.status == status for c in checks) for status in (OK, SKIP, FAIL)}
    parts = [f"{counts[OK]} of {len(checks)} checks passed"]
    if counts[SKIP]:
        parts.append(f"{counts[SKIP]} skipped")
    if counts[FAIL]:
        parts.append(f"{counts[FAIL]} FAILED")
    return ", ".join(parts)
