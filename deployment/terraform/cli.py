"""``Terraform``: the terraform commands in one working directory, timed and transcribed."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from deployment.terraform.errors import HarnessError, TerraformError
from deployment.terraform.plan import Plan, plan_from_json
from deployment.terraform.tools import TerraformTool, terraform_environment

COMMAND_TIMEOUT_SECONDS: Final = 600.0
# When the answer to a CreateDistribution is lost (a reset connection, a slow answer), the
# provider sends it again with the same CallerReference, and CloudFront answers
# DistributionAlreadyExists for the distribution the first call made (terraform-provider-aws
# #9434): seen here once, against the emulator under a loaded suite. What an operator does then:
# import the distribution the error names, and apply again.
ORPHANED_DISTRIBUTION: Final = re.compile(
    r"DistributionAlreadyExists: .*?Already exists: (?P<id>\w+).*?"
    r"with (?P<address>aws_cloudfront_distribution\.[^,\s]+),",
    re.DOTALL,
)


class Terraform:
    """Terraform commands in one working directory, with the harness's environment."""

    def __init__(self, tool: TerraformTool, workdir: Path, cli_config: Path) -> None:
        self.tool = tool
        self.workdir = workdir
        self.env = terraform_environment(cli_config)
        self.transcript: list[str] = []
        self.timings: list[tuple[str, float]] = []

    def run(
        self, *args: str, ok_codes: Sequence[int] = (0,), timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> subprocess.CompletedProcess[str]:
        """Run ``terraform <args>``; raise ``TerraformError`` unless the exit code is ok."""
        command = [str(self.tool.binary), *args]
        started = time.monotonic()
        try:
            result = subprocess.run(  # noqa: S603 - a fixed binary with our own arguments
                command,
                cwd=self.workdir,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise HarnessError(f"`terraform {' '.join(args)}` took over {timeout:.0f}s") from error
        self.timings.append((args[0], time.monotonic() - started))
        # `show -json` prints the whole plan; the transcript keeps what a person would read.
        stdout = result.stdout if "-json" not in args else f"({len(result.stdout)} bytes of JSON)\n"
        self.transcript.append(f"$ terraform {' '.join(args)}\n{stdout}{result.stderr}")
        if result.returncode not in ok_codes:
            raise TerraformError(
                ["terraform", *args], result.returncode, result.stdout + result.stderr
            )
        return result

    def init(self) -> None:
        """``terraform init`` from the mirror (no backend: local state in the workdir)."""
        self.run("init", "-input=false", "-no-color")

    def validate(self) -> dict[str, Any]:
        """``terraform validate -json``: the parsed result (``valid``, ``diagnostics``)."""
        result = self.run("validate", "-json", "-no-color", ok_codes=(0, 1))
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def fmt_check(self) -> list[str]:
        """Files ``terraform fmt -check`` would rewrite (empty when all are formatted)."""
        result = self.run("fmt", "-check", "-recursive", "-list=true", "-no-color", ok_codes=(0, 3))
        return result.stdout.split()

    def apply(self) -> None:
        """``terraform apply -auto-approve``; a distribution orphaned by the provider's own
        retry (``ORPHANED_DISTRIBUTION``) is imported and the apply run once more."""
        try:
            self.run("apply", "-auto-approve", "-input=false", "-no-color")
        except TerraformError as error:
            orphan = ORPHANED_DISTRIBUTION.search(error.output)
            if orphan is None:
                raise
            self.run("import", "-input=false", "-no-color", orphan["address"], orphan["id"])
            self.run("apply", "-auto-approve", "-input=false", "-no-color")

    def plan(self) -> Plan:
        """``terraform plan -detailed-exitcode``, with the planned changes per attribute."""
        planfile = "harness.tfplan"
        result = self.run(
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            f"-out={planfile}",
            ok_codes=(0, 2),
        )
        shown = self.run("show", "-json", "-no-color", planfile)
        (self.workdir / planfile).unlink(missing_ok=True)
        return plan_from_json(json.loads(shown.stdout), result.returncode, result.stdout)

    def destroy(self) -> None:
        """``terraform destroy -auto-approve``."""
        self.run("destroy", "-auto-approve", "-input=false", "-no-color")

    def outputs(self) -> dict[str, Any]:
        """``terraform output -json`` as ``{name: value}``."""
        result = self.run("output", "-json", "-no-color")
        return {name: entry["value"] for name, entry in json.loads(result.stdout).items()}

    def state_addresses(self) -> list[str]:
        """Addresses in the state (``terraform state list``); empty when nothing is managed."""
        result = self.run("state", "list", "-no-color", ok_codes=(0, 1))
        return result.stdout.split()
