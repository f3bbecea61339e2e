"""`make smoke` (deployment/smoke.py): its outputs, and every check passing against a deployment.

There is no AWS here, so the smoke runs against the rehearsal's applied deployment: terraform/
applied to moto (s3-website mode, the faster apply), its function and site on the local gateway
(``deployment.rehearsal.runner.local_gateway``). The smoke reads the deployment's own outputs
with only the endpoints that run locally replaced, as the rehearsal maps them: the site's URL,
the WebSocket URL and the management API (moto cannot serve ``@connections``); DynamoDB is the
emulator Terraform applied to, through boto3's ``AWS_ENDPOINT_URL_DYNAMODB``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployment.rehearsal import RehearsalOptions
from deployment.rehearsal.runner import local_gateway
from deployment.smoke import OUTPUTS, SmokeError, SmokeTarget, main
from deployment.terraform.applied import AppliedDeployment, apply_deployment
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import DeploymentSources
from local_stack.moto_server import MotoServer

CHECKS = [
    "page",
    "config.js",
    "connect",
    "room delivery",
    "error frame",
    "@connections GetConnection",
    "@connections DeleteConnection",
    "@connections 410",
]


def test_outputs_with_or_without_terraforms_wrapping_name_the_target() -> None:
    """`terraform output -json`'s {"value": ...} objects and plain values both work."""
    plain = {name: f"{name}-value" for name in OUTPUTS}
    wrapped = {name: {"value": value, "sensitive": False} for name, value in plain.items()}
    assert SmokeTarget.from_outputs(plain) == SmokeTarget.from_outputs(wrapped)
    assert SmokeTarget.from_outputs(plain).connections_endpoint == "connections_endpoint-value"


def test_missing_outputs_say_to_deploy_first(tmp_path: Path, capsys: Any) -> None:
    """Without the outputs the smoke fails at once, naming them and `make deploy`."""
    with pytest.raises(SmokeError, match="no table_name, region: run `make deploy` first"):
        SmokeTarget.from_outputs(
            {"website_url": "x", "websocket_url": "y", "connections_endpoint": "z"}
        )
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    assert main(["--outputs", str(outputs)]) == 1
    assert "run `make deploy` first" in capsys.readouterr().err


def local_options(lambda_zip: Path) -> RehearsalOptions:
    """The rehearsal's options for the applied deployment (moto does not serve the package)."""
    return RehearsalOptions(hosting_mode="s3-website", lambda_zip=lambda_zip, browser=False)


@pytest.fixture(scope="module")
def applied(terraform_tool: TerraformTool, lambda_zip: Path) -> Iterator[AppliedDeployment]:
    """terraform/ applied to moto in s3-website mode; destroyed at the end."""
    with (
        MotoServer(quiet=True) as moto,
        apply_deployment(
            {"hosting_mode": "s3-website", "name_prefix": "smoke"},
            endpoint=moto.endpoint,
            sources=DeploymentSources(lambda_zip=lambda_zip),
            tool=terraform_tool,
        ) as deployment,
    ):
        print(f"\napplied in {dict(deployment.terraform.timings).get('apply', 0.0):.0f} s")
        yield deployment


@pytest.mark.terraform
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_check_passes_against_the_applied_deployment(
    applied: AppliedDeployment,
    lambda_zip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    """`python -m deployment.smoke --outputs` on the deployment run locally: one ok line per
    check, exit status 0, and its own connection deleted through @connections."""
    with local_gateway(applied, local_options(lambda_zip)) as running:
        outputs = {
            **applied.outputs,
            "website_url": running.page_url,
            "websocket_url": running.ws_url,
            "connections_endpoint": running.management_endpoint,
        }
        # Every output the smoke reads is the deployment's, but for the three moved endpoints.
        assert {k: v for k, v in outputs.items() if k in ("table_name", "region")} == {
            "table_name": applied.outputs["table_name"],
            "region": applied.region,
        }
        file = tmp_path / "outputs.json"
        file.write_text(json.dumps({k: {"value": v} for k, v in outputs.items()}))
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", applied.endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        status = main(["--outputs", str(file), "--page-wait", "5"])
        printed = capsys.readouterr().out
        print(printed)
        open_after = running.open_connection_ids()
    lines = printed.splitlines()[1:-1]
    assert [line.split(":", 1)[0].split(None, 1) for line in lines] == [
        ["ok", name] for name in CHECKS
    ]
    assert status == 0
    assert printed.splitlines()[-1] == f"{len(CHECKS)} of {len(CHECKS)} checks passed"
    assert open_after == []  # the smoke closed its sockets; carol's was deleted


@pytest.mark.terraform
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_broken_endpoint_fails_its_checks_and_the_exit_status(
    applied: AppliedDeployment, lambda_zip: Path, tmp_path: Path, capsys: Any
) -> None:
    """A WebSocket URL where nothing listens: connect fails, the chat checks are skipped, exit 1;
    the page checks still run and say what they found."""
    with local_gateway(applied, local_options(lambda_zip)) as running:
        outputs = {
            **applied.outputs,
            "website_url": running.page_url,
            "websocket_url": "ws://127.0.0.1:9/prod",
            "connections_endpoint": running.management_endpoint,
        }
        file = tmp_path / "outputs.json"
        file.write_text(json.dumps(outputs))
        status = main(["--outputs", str(file), "--page-wait", "0"])
    printed = capsys.readouterr().out
    statuses = [line.split(None, 1)[0] for line in printed.splitlines()[1:-1]]
    assert status == 1
    # The page names the deployed WebSocket origin, not the broken one: its CSP check fails.
    assert statuses == ["FAIL", "FAIL", "FAIL", "skip", "skip", "skip"]
