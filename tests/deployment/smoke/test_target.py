"""The smoke's target: the Terraform outputs it needs, and the sign-in mode they say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from deployment.product import AuthMode
from deployment.smoke import OUTPUTS, SmokeError, SmokeTarget, main
from deployment.smoke.target import AUTHORIZER_OUTPUT, CLIENT_OUTPUT, USER_POOL_OUTPUT
from deployment.terraform.workspace import TERRAFORM_DIR

PLAIN = {name: f"{name}-value" for name in OUTPUTS}


def test_outputs_with_or_without_terraforms_wrapping_name_the_target() -> None:
    """`terraform output -json`'s {"value": ...} objects and plain values both work."""
    wrapped = {name: {"value": value, "sensitive": False} for name, value in PLAIN.items()}
    assert SmokeTarget.from_outputs(PLAIN) == SmokeTarget.from_outputs(wrapped)
    assert SmokeTarget.from_outputs(PLAIN).messages_table_name == "messages_table_name-value"


def test_missing_outputs_say_to_deploy_first(tmp_path: Path, capsys: Any) -> None:
    """Without the outputs the smoke fails at once, naming them and `make deploy`."""
    with pytest.raises(SmokeError, match="no site_bucket, region: run `make deploy` first"):
        SmokeTarget.from_outputs(
            {k: v for k, v in PLAIN.items() if k not in {"site_bucket", "region"}}
        )
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    assert main(["--outputs", str(outputs)]) == 1
    assert "run `make deploy` first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("more", "mode"),
    [
        ({"user_pool_id": None, "authorizer_function_name": None}, AuthMode.NONE),
        (
            {
                "user_pool_id": "p",
                "user_pool_client_id": "c",
                "authorizer_function_name": "a",
                "auth_name_claim": "cognito:username",
            },
            AuthMode.COGNITO,
        ),
        (
            {"user_pool_id": None, "authorizer_function_name": "a", "auth_name_claim": "name"},
            AuthMode.OIDC,
        ),
    ],
)
def test_the_sign_in_mode_is_read_from_the_outputs(more: dict[str, Any], mode: AuthMode) -> None:
    """A user pool is Cognito sign-in; an authorizer without one is OIDC; neither, the open chat
    (null outputs are as terraform gives them)."""
    assert SmokeTarget.from_outputs({**PLAIN, **more}).auth is mode


def test_sign_in_without_the_name_rule_is_refused() -> None:
    """The smoke predicts the chat's names with the authorizer's claim: a deployment made before
    that output existed is told to deploy this version."""
    with pytest.raises(SmokeError, match="no auth_name_claim"):
        SmokeTarget.from_outputs({**PLAIN, "authorizer_function_name": "a"})


def test_the_name_rule_is_read_from_the_outputs() -> None:
    """The claim and its uniqueness, as terraform output -json gives them (a bool)."""
    target = SmokeTarget.from_outputs(
        {
            **PLAIN,
            "authorizer_function_name": "a",
            "auth_name_claim": "email",
            "auth_name_unique": True,
        }
    )
    assert (target.name_claim, target.name_unique) == ("email", True)


def test_a_pool_without_its_client_is_refused() -> None:
    """The throwaway user signs in through the page's client: without it, say so."""
    with pytest.raises(SmokeError, match="no user_pool_client_id"):
        SmokeTarget.from_outputs({**PLAIN, "user_pool_id": "p"})


def test_an_unknown_skip_is_refused(tmp_path: Path, capsys: Any) -> None:
    """--skip takes a known check and a reason; anything else is an error naming the checks."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    assert main(["--outputs", str(outputs), "--skip", "CSP headers=typo"]) == 1
    assert main(["--outputs", str(outputs), "--skip", "CSP header="]) == 1
    err = capsys.readouterr().err
    assert "--skip 'CSP headers=typo': give CHECK=WHY, CHECK one of site bucket, CSP header" in err
    assert "--skip 'CSP header='" in err


def test_every_output_the_smoke_reads_is_one_terraform_declares() -> None:
    """A renamed output would read as missing (or, for the pool, as the open chat): each name
    the smoke reads is declared in terraform/outputs.tf."""
    declared = set(re.findall(r'^output "(\w+)"', (TERRAFORM_DIR / "outputs.tf").read_text(), re.M))
    read = {*OUTPUTS, USER_POOL_OUTPUT, CLIENT_OUTPUT, AUTHORIZER_OUTPUT}
    assert read - declared == set()
