"""The rehearsal's step-by-step report: what each step found, and every problem, in words.

A ``Report`` prints as it goes (an apply takes the better part of a minute, so a person wants
to see progress) and keeps everything for the summary and for tests, which assert on
``Problem.message``.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from deployment.terraform.errors import HarnessError
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.moto_server import MotoServerError

Status = Literal["running", "ok", "failed", "skipped"]
Printer = Callable[[str], None]

INDENT: Final = "    "


class RehearsalError(Exception):
    """The rehearsal cannot go on (a missing tool, an unreadable resource); says what to do."""


# Failures that are a finding about the deployment or the machine, reported without a
# traceback; anything else is a bug in the rehearsal and keeps its traceback in the report.
EXPECTED_ERRORS: Final = (
    RehearsalError,
    HarnessError,
    MotoServerError,
    EmulatorConfigError,
    ClientError,
    BotoCoreError,
    OSError,
    TimeoutError,
)


def listed(items: Iterable[str]) -> str:
    """Names for a message: sorted, comma-separated, or "none"."""
    return ", ".join(sorted(items)) or "none"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the deployment, said so that a person knows what to fix."""

    area: str
    message: str

    def __str__(self) -> str:
        return f"[{self.area}] {self.message}"


@dataclass
class Step:
    """One step of the rehearsal: what it found (``lines``) and what is wrong (``problems``)."""

    title: str
    status: Status = "running"
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _out: Printer | None = field(default=None, repr=False)

    def note(self, line: str) -> None:
        """Record (and print) one finding."""
        self.lines.append(line)
        if self._out is not None:
            self._out(f"{INDENT}{line}")

    def problem(self, area: str, message: str) -> None:
        """Record (and print) one problem; the step fails."""
        found = Problem(area, message)
        self.problems.append(found)
        if self._out is not None:
            self._out(f"{INDENT}PROBLEM {found}")

    def extend(self, problems: list[Problem]) -> None:
        """Record several problems."""
        for found in problems:
            self.problem(found.area, found.message)


class StepContext:
    """``with report.step(...) as step``: times the step and turns its errors into problems.

    ``__exit__`` returns ``bool``, so type checkers know the ``with`` may swallow an error
    and that names bound inside it may be unbound after it.
    """

    def __init__(self, step: Step, area: str, out: Printer) -> None:
        self._step = step
        self._area = area
        self._out = out
        self._started = 0.0

    def __enter__(self) -> Step:
        self._started = time.monotonic()
        return self._step

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> bool:
        step = self._step
        swallowed = False
        if isinstance(error, EXPECTED_ERRORS):
            step.problem(self._area, _describe(error))
            swallowed = True
        elif isinstance(error, Exception):  # a bug in the rehearsal: keep the traceback
            step.problem(self._area, f"unexpected {_describe(error)}")
            for line in "".join(traceback.format_exception(error)).rstrip().splitlines():
                step.note(line)
            swallowed = True
        step.seconds = time.monotonic() - self._started
        step.status = "failed" if step.problems else "ok"
        if isinstance(error, BaseException) and not swallowed:
            step.problem(self._area, f"interrupted ({type(error).__name__})")
            step.status = "failed"
        self._out(f"{INDENT}-> {'FAILED' if step.problems else 'ok'} ({step.seconds:.1f} s)")
        return swallowed


class Report:
    """Every step of one rehearsal, printed as it happens through ``out``."""

    def __init__(self, out: Printer | None = None) -> None:
        self.out: Printer = out or (lambda _line: None)
        self.steps: list[Step] = []
        self.destroyed = False
        """True once everything Terraform created was destroyed (also after a failure)."""

    def step(self, title: str, area: str | None = None) -> StepContext:
        """Run a ``with`` body as one step; an error in it becomes a problem of ``area``
        (default: the title), and the code after the ``with`` goes on."""
        step = Step(title, _out=self.out)
        self.steps.append(step)
        self.out(f"[{len(self.steps)}] {title}")
        return StepContext(step, area or title, self.out)

    def skip(self, title: str, reason: str) -> None:
        """Record a step that did not run, and why."""
        step = Step(title, status="skipped", lines=[reason])
        self.steps.append(step)
        self.out(f"[{len(self.steps)}] {title}")
        self.out(f"{INDENT}-> skipped: {reason}")

    def find(self, title: str) -> Step | None:
        """The step called ``title``, if it ran or was skipped."""
        return next((s for s in self.steps if s.title == title), None)

    @property
    def problems(self) -> list[Problem]:
        """Every problem of every step, in order."""
        return [p for s in self.steps for p in s.problems]

    @property
    def ok(self) -> bool:
        """True when no step found a problem and everything was destroyed.

        A step skipped by choice (``--no-browser``) does not fail the rehearsal; the summary
        names it.
        """
        return (
            bool(self.steps)
            and all(s.status in {"ok", "skipped"} for s in self.steps)
            and not self.problems
            and self.destroyed
        )

    def finish(self) -> None:
        """Print the summary, line by line."""
        for line in self.summary().splitlines():
            self.out(line)

    def summary(self) -> str:
        """The closing lines: the verdict, every problem, and whether destroy ran."""
        lines = []
        skipped = [s.title for s in self.steps if s.status == "skipped"]
        if self.ok:
            lines.append(f"Rehearsal passed: {len(self.steps)} steps, no problem.")
            if skipped:
                lines.append(f"Skipped: {', '.join(skipped)}.")
        else:
            count = len(self.problems)
            lines.append(f"Rehearsal FAILED with {count} problem{'s' * (count != 1)}:")
            lines.extend(f"  - {p}" for p in self.problems)
            if skipped:
                lines.append(f"Not run: {', '.join(skipped)}.")
        lines.append(
            "Everything Terraform created in the emulator was destroyed."
            if self.destroyed
            else "WARNING: the deployment may not have been destroyed (see the destroy step)."
        )
        return "\n".join(lines)


def _describe(error: BaseException) -> str:
    text = str(error).strip() or "(no message)"
    if isinstance(error, RehearsalError | HarnessError | MotoServerError | EmulatorConfigError):
        return text
    return f"{type(error).__name__}: {text}"
