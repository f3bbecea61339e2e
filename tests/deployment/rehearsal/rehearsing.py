"""What the rehearsal's end-to-end tests share: running it, on its own deployment or on a
test's, and what a run must show."""

from __future__ import annotations

from pathlib import Path

from chat.handler import ROUTES

from deployment.rehearsal import RehearsalOptions, Report, rehearse
from deployment.rehearsal.local_gateway import STEP_START
from deployment.rehearsal.runner import (
    STEP_BROWSER,
    STEP_DESTROY,
    STEP_SMOKE,
    STEP_WEBSOCKETS,
    rehearse_applied,
)
from deployment.terraform.applied import DEFAULT_REGION, AppliedDeployment
from deployment.terraform.emulator import emulator_inventory
from local_stack.moto_server import MotoServer

# The steps after the read-back, skipped when it finds a problem.
LATER_STEPS = (STEP_START, STEP_WEBSOCKETS, STEP_SMOKE, STEP_BROWSER)
# The code's routes, as the rehearsal names them.
CODE_ROUTES = ", ".join(sorted(ROUTES))


def run(options: RehearsalOptions) -> tuple[Report, list[str]]:
    """Rehearse, keeping the printed lines."""
    printed: list[str] = []
    report = rehearse(options, out=printed.append)
    print("\n".join(printed))  # shown by pytest when the test fails
    return report, printed


def run_applied(
    deployment: AppliedDeployment, options: RehearsalOptions, chromium: Path | None
) -> tuple[Report, list[str]]:
    """The rehearsal's steps between apply and destroy on the test's own ``deployment`` (left
    applied: one deployment serves the module's read-back tests and the rehearsal), keeping the
    printed lines."""
    printed: list[str] = []
    report = Report(printed.append)
    rehearse_applied(report, options, deployment, chromium)
    print("\n".join(printed))  # shown by pytest when the test fails
    return report, printed


def assert_destroyed(report: Report, printed: list[str], moto: MotoServer) -> None:
    """The destroy step ran and passed, the report says so, and the emulator is empty."""
    destroy = report.find(STEP_DESTROY)
    assert destroy is not None
    assert destroy.status == "ok"
    assert report.destroyed
    assert printed[-1] == "Everything Terraform created in the emulator was destroyed."
    left = emulator_inventory(moto.endpoint, DEFAULT_REGION)
    assert left == {kind: [] for kind in left}


def step_lines(report: Report, title: str) -> str:
    """What one step printed."""
    step = report.find(title)
    assert step is not None
    return "\n".join(step.lines)


def assert_chat_skipped(report: Report) -> None:
    """The steps after the read-back were skipped: the chat never started on a broken
    deployment."""
    for title in LATER_STEPS:
        step = report.find(title)
        assert step is not None
        assert step.status == "skipped"
