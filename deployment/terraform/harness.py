"""Run ``terraform/`` offline: against moto's server, with the provider from a local mirror.

The Terraform tests and the deployment rehearsal both use this module; neither touches the
repository's ``terraform/`` folder. Every run works in a temporary directory laid out like the
repository, so the configuration's default paths (``../build/lambda.zip``, ``../frontend``)
resolve exactly as they do for ``make deploy``::

    <tmp>/terraform/                  a copy of terraform/ (no .terraform/, state or lock file)
    <tmp>/terraform/zz_emulator_override.tf   provider endpoints -> moto (test-only)
    <tmp>/terraform/zz_harness.auto.tfvars.json   the caller's variables
    <tmp>/frontend/                   a copy of the site
    <tmp>/build/lambda.zip            a copy of the Lambda package
    <tmp>/terraformrc                 CLI config: the aws provider from the filesystem mirror only

Typical use::

    with applied_stack({"hosting_mode": "s3-website"}) as stack:
        stack.outputs["websocket_url"]
        stack.client("lambda").get_function(FunctionName=stack.outputs["function_name"])
    # destroyed (also when the body raised), moto stopped, temporary files removed

Terraform never sees the caller's AWS credentials or profile: every ``AWS_*`` variable is
dropped from its environment and the override pins the emulator's dummy keys, so nothing can
reach a real account.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3

from local_stack import moto_server

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
TERRAFORM_DIR: Final = REPO_ROOT / "terraform"
SITE_DIR: Final = REPO_ROOT / "frontend"
LAMBDA_ZIP: Final = REPO_ROOT / "build" / "lambda.zip"

PROVIDER_ADDRESS: Final = "registry.terraform.io/hashicorp/aws"
# Overrides, checked first: the terraform binary and the provider mirror directory.
TERRAFORM_ENV: Final = "AWSOME_TERRAFORM"
MIRROR_ENV: Final = "AWSOME_TF_PLUGIN_MIRROR"
# Where provider mirrors usually live (Terraform's own implied local mirror directories, then
# the system-wide ones used by images that bake providers in).
MIRROR_CANDIDATES: Final = (
    Path("/opt/tf-plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
)

OVERRIDE_FILE: Final = "zz_emulator_override.tf"
VARIABLES_FILE: Final = "zz_harness.auto.tfvars.json"
# The region the harness applies in unless the caller's variables name one.
DEFAULT_REGION: Final = "eu-west-1"
# Provider endpoint keys (the aws provider's `endpoints` block) for every service the
# configuration uses; all point at the one emulator.
EMULATED_SERVICES: Final = (
    "apigateway",
    "apigatewayv2",
    "cloudfront",
    "dynamodb",
    "iam",
    "lambda",
    "logs",
    "s3",
    "sts",
)
COMMAND_TIMEOUT_SECONDS: Final = 600.0

# Copies skip Terraform's working files so a user's earlier `make deploy` (state, providers,
# lock file) never leaks into a run, and a stale override never points somewhere else.
_IGNORED_IN_COPY: Final = shutil.ignore_patterns(
    ".terraform",
    ".terraform.lock.hcl",
    "*.tfstate",
    "*.tfstate.*",
    "*.tfplan",
    "override.tf",
    "*_override.tf",
    "*.auto.tfvars.json",
    "terraform.tfvars",
)


class HarnessError(Exception):
    """Something the harness needs is missing or broken; the message says what to do."""


class TerraformError(HarnessError):
    """A terraform command failed."""

    def __init__(self, command: Sequence[str], returncode: int, output: str) -> None:
        self.command = tuple(command)
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-40:])
        super().__init__(f"`{' '.join(command)}` exited with {returncode}:\n{tail}")


# --- locating the tools -----------------------------------------------------------------------


def find_terraform() -> Path | None:
    """The terraform binary: ``$AWSOME_TERRAFORM``, else ``terraform`` on ``PATH``."""
    override = os.environ.get(TERRAFORM_ENV)
    if override:
        return Path(override) if Path(override).is_file() else None
    found = shutil.which("terraform")
    return None if found is None else Path(found)


def _mirror_has_aws(directory: Path) -> bool:
    return (directory / PROVIDER_ADDRESS).is_dir() and any((directory / PROVIDER_ADDRESS).iterdir())


def find_provider_mirror() -> Path | None:
    """A filesystem mirror with ``hashicorp/aws``: ``$AWSOME_TF_PLUGIN_MIRROR`` or a usual place."""
    override = os.environ.get(MIRROR_ENV)
    if override:
        return Path(override) if _mirror_has_aws(Path(override)) else None
    return next((path for path in MIRROR_CANDIDATES if _mirror_has_aws(path)), None)


@dataclass(frozen=True)
class TerraformTool:
    """A terraform binary and the provider mirror it installs from."""

    binary: Path
    mirror: Path

    @classmethod
    def locate(cls) -> TerraformTool:
        """Find both, or raise ``HarnessError`` saying which is missing and how to provide it."""
        binary = find_terraform()
        if binary is None:
            raise HarnessError(
                f"terraform not found: install Terraform >= 1.5 or set {TERRAFORM_ENV} to its path"
            )
        mirror = find_provider_mirror()
        if mirror is None:
            places = ", ".join(str(p) for p in MIRROR_CANDIDATES)
            raise HarnessError(
                f"no provider mirror with {PROVIDER_ADDRESS} found (looked in {places}); "
                f"set {MIRROR_ENV} to a directory made by `terraform providers mirror`"
            )
        return cls(binary=binary, mirror=mirror)


def cli_config_text(mirror: Path) -> str:
    """A Terraform CLI config that installs the aws provider from ``mirror`` and nothing else."""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{json.dumps(PROVIDER_ADDRESS)}]\n"
        "  }\n"
        "}\n"
    )


def terraform_environment(cli_config: Path) -> dict[str, str]:
    """The environment for every terraform command: isolated config, no AWS credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TF_")) and key != "CHECKPOINT_DISABLE"
    }
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        # The provider must not look for an instance role or a shared profile.
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


# --- running terraform ------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class AttributeDiff:
    """One attribute a plan would change."""

    # Dotted attribute path with list and set positions left out, so nested blocks read
    # naturally: "origin.origin_access_control_id", "logging_config".
    path: str
    # True when the new value is known only after apply (it depends on a pending change).
    unknown: bool


@dataclass(frozen=True)
class ResourceChange:
    """One resource in a plan that is not a no-op."""

    address: str
    resource_type: str
    actions: tuple[str, ...]
    diffs: tuple[AttributeDiff, ...]

    @property
    def paths(self) -> frozenset[str]:
        """The changed attribute paths."""
        return frozenset(diff.path for diff in self.diffs)


@dataclass(frozen=True)
class Plan:
    """The result of ``terraform plan -detailed-exitcode``."""

    has_changes: bool
    changes: tuple[ResourceChange, ...]
    output_changes: tuple[str, ...]
    text: str


def _diffs(path: str, before: Any, after: Any, unknown: Any) -> Iterator[AttributeDiff]:
    if unknown is True:
        yield AttributeDiff(path, unknown=True)
    elif isinstance(before, dict) and isinstance(after, dict):
        unknown_keys = unknown if isinstance(unknown, dict) else {}
        for key in sorted(before.keys() | after.keys() | unknown_keys.keys()):
            child = f"{path}.{key}" if path else key
            yield from _diffs(child, before.get(key), after.get(key), unknown_keys.get(key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        unknown_items = unknown if isinstance(unknown, list) else [None] * len(after)
        for b, a, u in zip(before, after, unknown_items, strict=False):
            yield from _diffs(path, b, a, u)
    elif before != after:
        yield AttributeDiff(path, unknown=False)


def attribute_diffs(change: Mapping[str, Any]) -> tuple[AttributeDiff, ...]:
    """Every attribute path whose planned value differs from the state (unknown included)."""
    diffs = _diffs(
        "", change.get("before") or {}, change.get("after") or {}, change.get("after_unknown")
    )
    return tuple(sorted(set(diffs)))


def plan_from_json(document: Mapping[str, Any], exit_code: int, text: str) -> Plan:
    """Build a ``Plan`` from ``terraform show -json <planfile>``."""
    changes = tuple(
        ResourceChange(
            address=rc["address"],
            resource_type=rc["type"],
            actions=tuple(rc["change"]["actions"]),
            diffs=attribute_diffs(rc["change"]),
        )
        for rc in document.get("resource_changes", [])
        if tuple(rc["change"]["actions"]) not in {("no-op",), ("read",)}
    )
    outputs = tuple(
        name
        for name, oc in (document.get("output_changes") or {}).items()
        if tuple(oc.get("actions", ())) != ("no-op",)
    )
    return Plan(has_changes=exit_code == 2, changes=changes, output_changes=outputs, text=text)


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
        """``terraform apply -auto-approve``."""
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


# --- the emulator -----------------------------------------------------------------------------


class MotoServer(moto_server.MotoServer):
    """``local_stack.moto_server.MotoServer`` that raises ``HarnessError`` and stays quiet.

    Its stderr is dropped: moto's complaints about calls it does not emulate would bury the
    rehearsal's own report.
    """

    error = HarnessError
    quiet = True


def boto3_client(service: str, endpoint: str, region: str) -> Any:
    """A boto3 client for ``service`` talking to the emulator with its dummy credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto's dummy key
    )


def emulator_override(endpoint: str) -> str:
    """The test-only ``provider "aws"`` override pointing every used service at ``endpoint``."""
    endpoints = "\n".join(
        f"    {service} = {json.dumps(endpoint)}" for service in EMULATED_SERVICES
    )
    return (
        "# Written by deployment/terraform into a temporary copy of terraform/: points the\n"
        "# provider at the local AWS emulator. Never part of the shipped configuration.\n"
        'provider "aws" {\n'
        '  access_key                  = "test"\n'
        '  secret_key                  = "test"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_region_validation      = true\n"
        "  s3_use_path_style           = true\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    )


# --- work directories -------------------------------------------------------------------------


@dataclass(frozen=True)
class StackSources:
    """What a run deploys: the Terraform configuration, the site and the Lambda zip."""

    terraform_dir: Path = TERRAFORM_DIR
    site_dir: Path = SITE_DIR
    # None: no package to lay out (a configuration without the Lambda, or `validate` only).
    lambda_zip: Path | None = LAMBDA_ZIP


def prepare_workdir(root: Path, sources: StackSources) -> Path:
    """Lay out ``sources`` under ``root`` like the repository; return the Terraform directory."""
    if not (sources.terraform_dir / "versions.tf").is_file():
        raise HarnessError(f"{sources.terraform_dir} is not the Terraform configuration")
    workdir = root / "terraform"
    shutil.copytree(sources.terraform_dir, workdir, ignore=_IGNORED_IN_COPY)
    if sources.site_dir.is_dir():
        shutil.copytree(sources.site_dir, root / "frontend")
    if sources.lambda_zip is not None:
        if not sources.lambda_zip.is_file():
            raise HarnessError(f"{sources.lambda_zip} does not exist: run `make build` first")
        (root / "build").mkdir()
        shutil.copy2(sources.lambda_zip, root / "build" / "lambda.zip")
    return workdir


class Workspace:
    """A temporary copy of the stack with its own CLI config, initialised; ``remove()`` after.

    With ``endpoint``, the copy holds the emulator override; with ``variables``, a tfvars file.
    """

    def __init__(
        self,
        sources: StackSources | None = None,
        *,
        tool: TerraformTool | None = None,
        endpoint: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        tool = tool or TerraformTool.locate()
        self.root = Path(tempfile.mkdtemp(prefix="awsome-tf-"))
        try:
            workdir = prepare_workdir(self.root, sources or StackSources())
            cli_config = self.root / "terraformrc"
            cli_config.write_text(cli_config_text(tool.mirror), encoding="utf-8")
            if endpoint is not None:
                (workdir / OVERRIDE_FILE).write_text(emulator_override(endpoint), encoding="utf-8")
            if variables:
                (workdir / VARIABLES_FILE).write_text(json.dumps(dict(variables)), encoding="utf-8")
            self.terraform = Terraform(tool, workdir, cli_config)
            self.terraform.init()
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        """Delete the temporary directory (state included)."""
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def terraform_workspace(
    sources: StackSources | None = None,
    *,
    tool: TerraformTool | None = None,
    endpoint: str | None = None,
    variables: Mapping[str, Any] | None = None,
    keep: bool = False,
) -> Iterator[Terraform]:
    """``Workspace`` as a context manager; the directory is removed unless ``keep``."""
    workspace = Workspace(sources, tool=tool, endpoint=endpoint, variables=variables)
    try:
        yield workspace.terraform
    finally:
        if not keep:
            workspace.remove()


# --- the applied stack ------------------------------------------------------------------------


@dataclass
class AppliedStack:
    """A stack applied against the emulator. ``close()`` destroys it and removes its files."""

    outputs: dict[str, Any]
    endpoint: str
    region: str
    variables: dict[str, Any]
    workspace: Workspace
    destroyed: bool = field(default=False)

    @property
    def terraform(self) -> Terraform:
        """The Terraform runner of the stack's workspace."""
        return self.workspace.terraform

    @property
    def workdir(self) -> Path:
        """The temporary Terraform directory (a copy of terraform/ plus the override)."""
        return self.workspace.terraform.workdir

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the emulator, in the stack's region."""
        return boto3_client(service, self.endpoint, self.region)

    def plan(self) -> Plan:
        """A fresh ``plan -detailed-exitcode`` against what was applied."""
        return self.terraform.plan()

    def destroy(self) -> None:
        """``terraform destroy`` (once; later calls do nothing)."""
        if not self.destroyed:
            self.terraform.destroy()
            self.destroyed = True

    def close(self, *, keep_workdir: bool = False) -> None:
        """Destroy (if not done yet), then remove the workspace, also when destroy fails."""
        try:
            self.destroy()
        finally:
            if not keep_workdir:
                self.workspace.remove()


def apply_stack(
    variables: Mapping[str, Any] | None = None,
    *,
    endpoint: str,
    sources: StackSources | None = None,
    tool: TerraformTool | None = None,
) -> AppliedStack:
    """Apply the stack against the emulator at ``endpoint``; the caller must ``close()`` it.

    ``region`` defaults to ``DEFAULT_REGION``. When apply fails, whatever it created is
    destroyed and the workspace removed before the error propagates.
    """
    merged: dict[str, Any] = {"region": DEFAULT_REGION, **(variables or {})}
    workspace = Workspace(sources, tool=tool, endpoint=endpoint, variables=merged)
    stack = AppliedStack(
        outputs={},
        endpoint=endpoint,
        region=str(merged["region"]),
        variables=merged,
        workspace=workspace,
    )
    try:
        workspace.terraform.apply()
        stack.outputs = workspace.terraform.outputs()
    except BaseException as failure:
        _close_after(failure, stack)
        raise
    return stack


def _close_after(
    failure: BaseException, stack: AppliedStack, *, keep_workdir: bool = False
) -> None:
    """Close after ``failure`` without hiding it: a failed destroy becomes a note on it."""
    try:
        stack.close(keep_workdir=keep_workdir)
    except HarnessError as error:
        failure.add_note(f"tfharness: the destroy after this failure also failed: {error}")


@contextmanager
def applied_stack(
    variables: Mapping[str, Any] | None = None,
    *,
    sources: StackSources | None = None,
    moto: MotoServer | None = None,
    tool: TerraformTool | None = None,
    keep_workdir: bool = False,
) -> Iterator[AppliedStack]:
    """Apply the stack against moto, yield it, then destroy it, also when the body fails.

    A caller-supplied running ``moto`` is used (and left running); otherwise one is started
    for this stack and stopped afterwards, which also drops anything a failed destroy left.
    """
    with ExitStack() as resources:
        server = moto if moto is not None else resources.enter_context(MotoServer())
        stack = apply_stack(variables, endpoint=server.endpoint, sources=sources, tool=tool)
        try:
            yield stack
        except BaseException as failure:
            _close_after(failure, stack, keep_workdir=keep_workdir)
            raise
        stack.close(keep_workdir=keep_workdir)


def emulator_inventory(endpoint: str, region: str) -> dict[str, list[str]]:
    """Everything of a kind this configuration creates, as the emulator lists it.

    For checking that a destroy left nothing behind; one page per listing is enough for the
    handful of resources a test creates.
    """

    def client(service: str) -> Any:
        return boto3_client(service, endpoint, region)

    cloudfront = client("cloudfront")
    iam = client("iam")
    return {
        "dynamodb tables": client("dynamodb").list_tables()["TableNames"],
        "lambda functions": [
            f["FunctionName"] for f in client("lambda").list_functions()["Functions"]
        ],
        "iam roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "iam policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "websocket apis": [a["Name"] for a in client("apigatewayv2").get_apis()["Items"]],
        "s3 buckets": [b["Name"] for b in client("s3").list_buckets()["Buckets"]],
        "cloudfront distributions": [
            d["Id"] for d in cloudfront.list_distributions()["DistributionList"].get("Items", [])
        ],
        "cloudfront origin access controls": [
            c["Name"]
            for c in cloudfront.list_origin_access_controls()["OriginAccessControlList"].get(
                "Items", []
            )
        ],
        "log groups": [
            g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]
        ],
    }
