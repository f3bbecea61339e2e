"""How the rehearsal runs `make smoke`: its environment (never a real account) and how its
answer becomes the step's problems. The run itself is in test_rehearse.py."""

from __future__ import annotations

from deployment.rehearsal import Problem
from deployment.rehearsal.smoke_run import SMOKE_AREA, read_result, smoke_environment
from deployment.smoke.sign_in import ID_TOKEN_ENV

MOTO = "http://127.0.0.1:5000"


def test_the_smoke_gets_the_emulator_and_none_of_the_callers_aws_settings() -> None:
    """Every AWS_* variable and the smoke's token are dropped; AWS calls go to the emulator
    with dummy keys; the rest (PATH...) is kept."""
    caller = {
        "PATH": "/usr/bin",
        "AWS_PROFILE": "prod",
        "AWS_SESSION_TOKEN": "secret",
        "AWS_ENDPOINT_URL_S3": "https://s3.example",
        ID_TOKEN_ENV: "eyJ...",
    }
    assert smoke_environment(MOTO, "eu-west-1", caller) == {
        "PATH": "/usr/bin",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": MOTO,
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def test_each_failed_check_is_a_problem() -> None:
    """Exit 1: one problem per FAIL line, its name and detail; skips are not problems."""
    stdout = (
        "Smoke test of http://127.0.0.1:1/ (eu-west-1, auth = none)\n"
        "ok    page: served\n"
        "FAIL  connect: HTTP 500\n"
        "skip  room delivery: no connection\n"
        "1 of 3 checks passed, 1 skipped, 1 FAILED\n"
    )
    lines, problems = read_result(1, stdout, "")
    assert lines == stdout.splitlines()
    assert problems == [Problem(SMOKE_AREA, "the smoke's check failed: connect: HTTP 500")]
    assert read_result(0, stdout.replace("FAIL ", "ok   "), "")[1] == []


def test_a_smoke_that_cannot_start_is_a_problem_with_its_error() -> None:
    """Exit 1 without a check line (bad outputs): its error output is the problem."""
    _, problems = read_result(1, "", "smoke: the Terraform outputs have no site_bucket\n")
    assert problems == [
        Problem(
            SMOKE_AREA, "the smoke exited with 1: smoke: the Terraform outputs have no site_bucket"
        )
    ]
