"""A deployment applied to the emulator: its outputs, boto3 clients in its region, its destroy.

Typical use::

    with MotoServer(quiet=True) as moto, apply_deployment(
        {"hosting_mode": "s3-website"}, endpoint=moto.endpoint
    ) as deployment:
        deployment.outputs["websocket_url"]
        deployment.client("lambda").get_function(FunctionName=deployment.outputs["function_name"])
    # destroyed (also when the body raised), temporary files removed

Terraform never sees the caller's AWS credentials or profile (``tools.terraform_environment``)
and the override pins the emulator's dummy keys, so nothing can reach a real account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from deployment.terraform.cli import Terraform
from deployment.terraform.emulator import boto3_client
from deployment.terraform.errors import HarnessError, TerraformError
from deployment.terraform.plan import Plan
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import DeploymentSources, Workspace

# The region the harness applies in unless the caller's variables name one.
DEFAULT_REGION: Final = "eu-west-1"


@dataclass
class AppliedDeployment:
    """A deployment applied to the emulator; its ``with`` exit (or ``close()``) destroys it."""

    outputs: dict[str, Any]
    endpoint: str
    region: str
    variables: dict[str, Any]
    workspace: Workspace
    destroyed: bool = field(default=False)

    @property
    def terraform(self) -> Terraform:
        """The Terraform runner of the deployment's workspace."""
        return self.workspace.terraform

    @property
    def workdir(self) -> Path:
        """The temporary Terraform directory (a copy of terraform/ plus the override)."""
        return self.workspace.terraform.workdir

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the emulator, in the deployment's region."""
        return boto3_client(service, self.endpoint, self.region)

    def plan(self) -> Plan:
        """A fresh ``plan -detailed-exitcode`` against what was applied."""
        return self.terraform.plan()

    def destroy(self) -> None:
        """``terraform destroy`` (once; later calls do nothing), run a second time if the first
        fails: on a loaded machine the emulator can answer a delete the provider retried with
        "not found" (the first attempt did it), and a second destroy only confirms what is gone.
        A second failure raises."""
        if not self.destroyed:
            try:
                self.terraform.destroy()
            except TerraformError:
                self.terraform.destroy()
            self.destroyed = True

    def close(self) -> None:
        """Destroy (if not done yet), then remove the workspace, also when destroy fails."""
        try:
            self.destroy()
        finally:
            self.workspace.remove()

    def close_after(self, failure: BaseException) -> None:
        """Close after ``failure`` without hiding it: a failed destroy becomes a note on it."""
        try:
            self.close()
        except HarnessError as error:
            failure.add_note(
                f"deployment.terraform: the destroy after this failure also failed: {error}"
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.close_after(exc)


def apply_deployment(
    variables: Mapping[str, Any] | None = None,
    *,
    endpoint: str,
    sources: DeploymentSources | None = None,
    tool: TerraformTool | None = None,
) -> AppliedDeployment:
    """Apply the deployment to the emulator at ``endpoint``; use the result in a ``with``
    (or ``close()`` it).

    ``region`` defaults to ``DEFAULT_REGION``. When apply fails, whatever it created is
    destroyed and the workspace removed before the error propagates.
    """
    merged: dict[str, Any] = {"region": DEFAULT_REGION, **(variables or {})}
    workspace = Workspace(sources, tool=tool, endpoint=endpoint, variables=merged)
    deployment = AppliedDeployment(
        outputs={},
        endpoint=endpoint,
        region=str(merged["region"]),
        variables=merged,
        workspace=workspace,
    )
    try:
        workspace.terraform.apply()
        deployment.outputs = workspace.terraform.outputs()
    except BaseException as failure:
        deployment.close_after(failure)
        raise
    return deployment
