"""The step-by-step report, and the command line around the rehearsal."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment import rehearse as cli
from deployment.rehearsal import Problem, RehearsalError, RehearsalOptions, Report
from deployment.terraform.errors import HarnessError


def test_steps_turn_errors_into_problems_and_carry_on() -> None:
    """A known error is a problem without traceback; a bug keeps its traceback; later code runs."""
    printed: list[str] = []
    report = Report(printed.append)
    with report.step("first") as step:
        step.note("found something")
    with report.step("second", area="API") as step:
        raise HarnessError("terraform failed")
    with report.step("third") as step:
        raise KeyError("oops")
    report.skip("fourth", "because")
    report.destroyed = True

    assert [s.status for s in report.steps] == ["ok", "failed", "failed", "skipped"]
    assert report.problems[0] == Problem("API", "terraform failed")
    assert report.problems[1] == Problem("third", "unexpected KeyError: 'oops'")
    assert any("Traceback" in line for line in report.steps[2].lines)
    assert printed[:3] == ["[1] first", "    found something", printed[2]]
    assert printed[2].startswith("    -> ok (")
    assert "    PROBLEM [API] terraform failed" in printed
    assert not report.ok
    assert report.summary().splitlines() == [
        "Rehearsal FAILED with 2 problems:",
        "  - [API] terraform failed",
        "  - [third] unexpected KeyError: 'oops'",
        "Not run: fourth.",
        "Everything Terraform created in the emulator was destroyed.",
    ]


def test_a_run_passes_only_without_problems_and_once_destroyed() -> None:
    """No problem is not enough: the deployment must also be gone; a chosen skip is fine."""
    report = Report()
    with report.step("only"):
        pass
    report.skip("browser", "not asked for")
    before = report.ok
    assert report.summary().endswith(
        "WARNING: the deployment may not have been destroyed (see the destroy step)."
    )
    report.destroyed = True
    assert (before, report.ok) == (False, True)
    assert report.summary().splitlines()[:2] == [
        "Rehearsal passed: 2 steps, no problem.",
        "Skipped: browser.",
    ]


def test_an_interrupt_fails_the_step_and_propagates() -> None:
    """Ctrl-C is not swallowed, but the step still says it failed."""
    report = Report()
    with pytest.raises(KeyboardInterrupt), report.step("apply"):
        raise KeyboardInterrupt
    assert report.steps[0].status == "failed"
    assert report.problems == [Problem("apply", "interrupted (KeyboardInterrupt)")]


def test_command_line_options() -> None:
    """Flags map onto RehearsalOptions; --var values parse as JSON when they can."""
    options = cli.parse_arguments(
        [
            "--hosting-mode",
            "s3-website",
            "--no-browser",
            "--terraform-dir",
            "/tmp/tf",
            "--var",
            "stage_name=dev",
            "--var",
            "lambda_memory_mb=256",
        ]
    )
    assert options.hosting_mode == "s3-website"
    assert not options.browser
    assert options.terraform_dir == Path("/tmp/tf")
    assert options.variables == {"stage_name": "dev", "lambda_memory_mb": 256}
    defaults = cli.parse_arguments([])
    assert (defaults.hosting_mode, defaults.browser) == ("cloudfront", True)
    with pytest.raises(SystemExit) as bad:
        cli.parse_arguments(["--hosting-mode", "ftp"])
    assert bad.value.code == 2
    with pytest.raises(RehearsalError, match="hosting mode 'ftp' is not one of"):
        RehearsalOptions(hosting_mode="ftp")


@pytest.mark.terraform
@pytest.mark.usefixtures("terraform_tool")
def test_a_rehearsal_that_cannot_apply_exits_1_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory that is not the configuration fails the apply step; nothing is left."""
    code = cli.main(["--no-browser", "--terraform-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"PROBLEM [terraform apply] {tmp_path} is not the Terraform configuration" in out
    assert out.rstrip().endswith("Everything Terraform created in the emulator was destroyed.")
