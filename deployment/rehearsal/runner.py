"""The rehearsal, step by step: apply, read back, check, run the chat on it, destroy.

Everything after a successful apply runs inside ``try``/``finally``: the deployment is destroyed
whatever happens (a problem found, a check failed, a bug, Ctrl-C), and the report says so.
When the read-back finds problems, the chat is not started: its failures would only be
symptoms of what the report already names.

With sign-in on (Terraform's ``auth``; issue #17), the API's ``$connect`` authorizer is read
back and checked too (its function, permission, code and environment, the user pool and app
client it trusts), the local gateway runs it as API Gateway would, and the chat checks sign
users of the applied pool in.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from deployment import product
from deployment.product import AuthMode
from deployment.rehearsal import (
    api_checks,
    code,
    csp,
    e2e,
    function_checks,
    local_run,
    readback,
    site_checks,
    smoke_run,
)
from deployment.rehearsal.api_checks import ApiWiring, AuthorizerWiring
from deployment.rehearsal.readback import Api, AppClient, Function, UserPool
from deployment.rehearsal.report import Printer, RehearsalError, Report, Step
from deployment.terraform.applied import DEFAULT_REGION, AppliedDeployment, apply_deployment
from deployment.terraform.emulator import emulator_inventory
from deployment.terraform.errors import HarnessError
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import (
    AUTHORIZER_ZIP,
    LAMBDA_ZIP,
    SITE_DIR,
    TERRAFORM_DIR,
    DeploymentSources,
)
from local_stack.cognito import COGNITO_PATH
from local_stack.cognito import UserPool as LocalUserPool
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.moto_server import MotoServer
from local_stack.stack import Stack, StackOptions, running_stack

if TYPE_CHECKING:
    # Part 2 of issue #17 adds it; imported where the authorizer is run, so the open chat is
    # rehearsed on an emulator without it too.
    from local_stack.emulator.settings import AuthorizerSettings

HOSTING_MODES: Final = ("cloudfront", "s3-website")
CHROMIUM_ENV: Final = "AWSOME_CHROMIUM"
LOCAL_HOST: Final = "127.0.0.1"
_LISTEN_ATTEMPTS: Final = 3
_TIMEOUT_S: Final = 10.0

STEP_SETUP: Final = "find Terraform, start the AWS emulator"
STEP_APPLY: Final = "apply terraform/ against the emulator"
STEP_API: Final = "read back the WebSocket API"
STEP_FUNCTION: Final = "read back the function and its permission"
STEP_AUTHORIZER: Final = "read back and check the $connect authorizer"
STEP_CODE: Final = "check the function's code"
STEP_ENV: Final = "check the function's environment and table"
STEP_SITE: Final = "download and check the site"
STEP_START: Final = "start the local gateway from what Terraform created"
STEP_WEBSOCKETS: Final = "chat over WebSockets"
STEP_SMOKE: Final = "run `make smoke` on it"
STEP_BROWSER: Final = "chat in the browser"
STEP_DESTROY: Final = "destroy everything Terraform created"


@dataclass(frozen=True)
class RehearsalOptions:
    """What to rehearse, and with what."""

    hosting_mode: str = "cloudfront"
    """``cloudfront`` (the default of terraform/) or ``s3-website``."""
    terraform_dir: Path = TERRAFORM_DIR
    """The configuration to apply (copied first: the directory is never written to)."""
    site_dir: Path = SITE_DIR
    lambda_zip: Path = LAMBDA_ZIP
    """The package Terraform uploads (``make build``)."""
    authorizer_zip: Path = AUTHORIZER_ZIP
    """The authorizer's package Terraform uploads with ``auth`` on (``make build``)."""
    variables: Mapping[str, Any] = field(default_factory=dict)
    """More Terraform variables, over ``hosting_mode``."""
    browser: bool = True
    """Run the browser check (needs Chromium)."""
    chromium: Path | None = None
    """Chromium's executable; default ``$AWSOME_CHROMIUM``, else ``chromium`` on PATH."""
    moto: MotoServer | None = None
    """A running emulator to apply to (left running); default: one started for the run."""
    tool: TerraformTool | None = None
    """Terraform and its provider mirror; default: located as deployment.terraform.tools does."""

    def __post_init__(self) -> None:
        if self.hosting_mode not in HOSTING_MODES:
            raise RehearsalError(
                f"hosting mode {self.hosting_mode!r} is not one of {', '.join(HOSTING_MODES)}"
            )


def find_chromium(configured: Path | None) -> Path:
    """Chromium's executable, or ``RehearsalError`` saying how to provide it."""
    candidate = configured or (
        Path(os.environ[CHROMIUM_ENV]) if os.environ.get(CHROMIUM_ENV) else None
    )
    if candidate is None:
        found = shutil.which("chromium")
        candidate = Path(found) if found else None
    if candidate is None or not candidate.is_file():
        raise RehearsalError(
            "chromium not found for the browser check: install it (apt-get install chromium), "
            f"set {CHROMIUM_ENV}, or pass --no-browser"
        )
    return candidate


@dataclass
class _Found:
    """What the read-back steps learnt, for the steps after them."""

    api: Api | None = None
    wiring: ApiWiring | None = None
    function: Function | None = None
    code_dir: Path | None = None
    facts: code.CodeFacts | None = None
    objects: dict[str, readback.SiteObject] = field(default_factory=dict)
    rendered_url: str | None = None
    website_origin: str = ""
    authorizer_wiring: AuthorizerWiring | None = None
    authorizer: Function | None = None
    authorizer_code_dir: Path | None = None
    pool: UserPool | None = None
    client: AppClient | None = None

    @property
    def auth_mode(self) -> str:
        """The chat's ``AUTH_MODE`` as deployed (``none`` before the function is read)."""
        if self.function is None:
            return AuthMode.NONE.value
        return function_checks.auth_mode(self.function.environment)

    @property
    def cognito(self) -> bool:
        """Whether the chat signs users in with the applied user pool, which the emulator
        runs (an OIDC issuer of the user's own is not emulated)."""
        return (
            self.authorizer_wiring is not None
            and self.auth_mode == AuthMode.COGNITO.value
            and self.pool is not None
            and self.client is not None
        )


def rehearse(options: RehearsalOptions | None = None, out: Printer | None = None) -> Report:
    """Run the whole rehearsal; ``out`` gets the report line by line.

    Never leaves a deployment behind."""
    options = options or RehearsalOptions()
    report = Report(out)
    report.out(
        f"Rehearsal: {options.terraform_dir} (hosting_mode={options.hosting_mode}) applied to a "
        "local AWS emulator, then the chat run on what it created"
    )
    with ExitStack() as resources:
        tool: TerraformTool | None = None
        moto: MotoServer | None = None
        chromium: Path | None = None
        before: dict[str, list[str]] = {}
        with report.step(STEP_SETUP) as step:
            tool = options.tool or TerraformTool.locate()
            step.note(f"terraform {tool.binary}, provider mirror {tool.mirror}")
            if options.browser:
                chromium = find_chromium(options.chromium)
                step.note(f"chromium {chromium}")
            moto = options.moto or resources.enter_context(MotoServer(quiet=True))
            # What the emulator held before, so the destroy check blames only this run.
            before = emulator_inventory(moto.endpoint, _region(options))
            step.note(f"moto at {moto.endpoint}")
        if tool is None or moto is None or step.problems:
            report.destroyed = True  # nothing was created
            report.finish()
            return report

        deployment = _apply(report, options, tool, moto)
        if deployment is None:
            report.finish()
            return report
        try:
            _rehearse_applied(report, options, deployment, chromium)
        finally:
            _destroy(report, deployment, before)
    report.finish()
    return report


def _region(options: RehearsalOptions) -> str:
    return str(options.variables.get("region", DEFAULT_REGION))


def _apply(
    report: Report, options: RehearsalOptions, tool: TerraformTool, moto: MotoServer
) -> AppliedDeployment | None:
    variables = {"hosting_mode": options.hosting_mode, **options.variables}
    sources = DeploymentSources(
        terraform_dir=options.terraform_dir,
        site_dir=options.site_dir,
        lambda_zip=options.lambda_zip,
        # Only a deployment with auth on needs it; Terraform says so when it is missing then.
        authorizer_zip=options.authorizer_zip if options.authorizer_zip.is_file() else None,
    )
    applied: AppliedDeployment | None = None
    failure: HarnessError | None = None
    with report.step(STEP_APPLY, area="terraform apply") as step:
        try:
            applied = apply_deployment(
                variables, endpoint=moto.endpoint, sources=sources, tool=tool
            )
        except HarnessError as error:
            failure = error
            raise
        seconds = dict(applied.terraform.timings).get("apply", 0.0)
        step.note(f"applied in {seconds:.0f} s, region {applied.region}")
        for name, value in sorted(applied.outputs.items()):
            step.note(f"output {name} = {value}")
    if applied is None:
        # apply_deployment destroyed what the failed apply created, unless it said otherwise.
        notes = getattr(failure, "__notes__", [])
        report.destroyed = not any("destroy" in note for note in notes)
        report.out(
            "    apply failed; what it created was destroyed"
            if report.destroyed
            else "    apply failed, and so did the destroy after it: see above"
        )
    return applied


def _destroy(
    report: Report, deployment: AppliedDeployment, before: Mapping[str, list[str]]
) -> None:
    with report.step(STEP_DESTROY, area="terraform destroy") as step:
        step.note("destroying (this runs whether or not the steps above passed)")
        deployment.close()
        seconds = dict(deployment.terraform.timings).get("destroy", 0.0)
        left = {
            kind: sorted(set(names) - set(before.get(kind, [])))
            for kind, names in emulator_inventory(deployment.endpoint, deployment.region).items()
        }
        leftovers = {kind: names for kind, names in left.items() if names}
        if leftovers:
            step.problem("terraform destroy", f"destroy left resources behind: {leftovers}")
        else:
            step.note(f"destroyed in {seconds:.0f} s; nothing Terraform created is left")
        report.destroyed = deployment.destroyed


def _read_back(
    report: Report,
    options: RehearsalOptions,
    deployment: AppliedDeployment,
    found: _Found,
    work: Path,
) -> None:
    """The read-back steps: the API, the function, its code and environment, the site."""
    with report.step(STEP_API, area=api_checks.API_AREA) as step:
        _read_api(step, deployment, found)
    if found.wiring is not None and found.wiring.function_arn is not None:
        with report.step(STEP_FUNCTION, area="function") as step:
            _read_function(step, deployment, found)
    if found.function is not None:
        with report.step(STEP_CODE, area=code.CODE_AREA) as step:
            _check_code(step, deployment, options, found, work)
        with report.step(STEP_ENV, area=function_checks.ENV_AREA) as step:
            _check_environment(step, deployment, found)
    if found.authorizer_wiring is not None:
        with report.step(STEP_AUTHORIZER, area=api_checks.AUTHORIZER_AREA) as step:
            _check_authorizer(step, deployment, options, found, work)
    with report.step(STEP_SITE, area=site_checks.SITE_AREA) as step:
        _check_site(step, deployment, found)


@contextmanager
def local_gateway(
    deployment: AppliedDeployment,
    options: RehearsalOptions | None = None,
    out: Printer | None = None,
) -> Iterator[Stack]:
    """The applied deployment's function and site running on the local gateway, as the
    rehearsal's chat checks get them: read back, checked, started. For other checks of a
    deployment (``make smoke``'s test). ``RehearsalError`` naming the problems if the read-back
    finds any; the gateway stops when the ``with`` ends (the deployment is the caller's)."""
    options = options or RehearsalOptions(
        hosting_mode=str(deployment.variables.get("hosting_mode", "cloudfront")), browser=False
    )
    report = Report(out)
    found = _Found()
    with (
        tempfile.TemporaryDirectory(prefix="awsome-rehearsal-") as scratch,
        ExitStack() as local,
    ):
        work = Path(scratch)
        _read_back(report, options, deployment, found, work)
        running: Stack | None = None
        if not report.problems and found.code_dir is not None:
            with report.step(STEP_START, area="local gateway") as step:
                running = _start_local(step, local, deployment, found, work)
        if running is None or report.problems:
            problems = "; ".join(str(p) for p in report.problems) or "the code was not read back"
            raise RehearsalError(f"the deployment cannot run on the local gateway: {problems}")
        yield running


def _rehearse_applied(
    report: Report, options: RehearsalOptions, deployment: AppliedDeployment, chromium: Path | None
) -> None:
    found = _Found()
    with tempfile.TemporaryDirectory(prefix="awsome-rehearsal-") as scratch:
        work = Path(scratch)
        _read_back(report, options, deployment, found, work)

        later = [STEP_START, STEP_WEBSOCKETS, STEP_SMOKE, STEP_BROWSER]
        if report.problems or found.function is None or found.code_dir is None:
            reason = "the deployment has the problems above; a chat on it would only show them"
            for title in later:
                report.skip(title, reason)
            return
        if found.authorizer_wiring is not None and not found.cognito:
            reason = (
                f"sign-in is {found.auth_mode}: the emulator has no issuer of yours to sign "
                "users in with (only auth = cognito is rehearsed end to end)"
            )
            for title in later:
                report.skip(title, reason)
            return
        with ExitStack() as local:
            running: Stack | None = None
            with report.step(STEP_START, area="local gateway") as step:
                running = _start_local(step, local, deployment, found, work)
            if running is None:
                for title in later[1:]:
                    report.skip(title, "the local gateway did not start")
                return
            with report.step(STEP_WEBSOCKETS, area=e2e.WEBSOCKET_AREA) as step:
                notes, problems = e2e.websocket_checks(
                    running.ws_url,
                    dynamodb=deployment.client("dynamodb"),
                    table_name=running.table_name,
                    origins_restricted=bool(running.environment.get(product.ORIGINS_VARIABLE)),
                    sign_in=_sign_in(deployment, found),
                )
                for note in notes:
                    step.note(note)
                step.extend(problems)
            with report.step(STEP_SMOKE, area=smoke_run.SMOKE_AREA) as step:
                notes, problems = smoke_run.run_smoke(deployment, running, work)
                for note in notes:
                    step.note(note)
                step.extend(problems)
            if chromium is None:
                report.skip(STEP_BROWSER, "not asked for (--no-browser)")
            else:
                with report.step(STEP_BROWSER, area=e2e.BROWSER_AREA) as step:
                    notes, problems = e2e.browser_check(
                        running.page_url, chromium, sign_in=_sign_in(deployment, found)
                    )
                    for note in notes:
                        step.note(note)
                    step.extend(problems)


# --- read-back steps --------------------------------------------------------------------------


def _api_id(deployment: AppliedDeployment) -> str:
    apis = deployment.client("apigatewayv2").get_apis().get("Items", [])
    websocket = [a["ApiId"] for a in apis if a.get("ProtocolType") == "WEBSOCKET"]
    named = deployment.outputs.get("api_id")
    if named in websocket:
        return str(named)
    if len(websocket) == 1:
        return str(websocket[0])
    raise RehearsalError(
        f"cannot tell which WebSocket API Terraform created: output api_id is {named!r}, the "
        f"emulator has {websocket or 'none'}"
    )


def _read_api(step: Step, deployment: AppliedDeployment, found: _Found) -> None:
    api = readback.read_api(deployment, _api_id(deployment))
    stage_hint = (
        str(deployment.outputs.get("websocket_url", "")).rstrip("/").rpartition("/")[2] or None
    )
    wiring, problems = api_checks.check_api(api, deployment.region, stage_hint)
    problems += api_checks.check_outputs(deployment.outputs, wiring)
    found.api, found.wiring = api, wiring
    step.note(
        f"API {api.api_id} ({api.protocol_type}), route selection "
        f"{api.route_selection_expression}, endpoint {wiring.websocket_url}"
    )
    for stage in api.stages:
        step.note(
            f"stage {stage.name}: auto deploy {'on' if stage.auto_deploy else 'off'}, "
            f"deployment {stage.deployment_id or 'none'}"
        )
    step.note(
        f"routes to {wiring.function_arn or 'no function'}: {', '.join(sorted(wiring.route_keys))}"
    )
    authorizer, authorizer_problems = api_checks.check_authorizer(api, wiring.function_arn)
    found.authorizer_wiring = authorizer
    if authorizer is not None:
        step.note(
            f"$connect is guarded by REQUEST authorizer {authorizer.authorizer_id} "
            f"({authorizer.function_arn}), identity source "
            f"{', '.join(authorizer.identity_sources)}"
        )
    elif not authorizer_problems:
        step.note("no route has an authorizer: the open chat")
    step.extend(problems + authorizer_problems)


def _read_function(step: Step, deployment: AppliedDeployment, found: _Found) -> None:
    assert found.wiring is not None and found.wiring.function_arn is not None  # noqa: S101
    assert found.api is not None  # noqa: S101
    function = readback.read_function(deployment, found.wiring.function_arn)
    found.function = function
    step.note(
        f"function {function.name}: {function.runtime}, handler {function.handler}, "
        f"{function.memory_mb} MB, {function.timeout_s} s"
    )
    step.note(
        f"environment: {', '.join(f'{k}={v}' for k, v in sorted(function.environment.items()))}"
    )
    route = "$connect" if "$connect" in found.wiring.route_keys else min(found.wiring.route_keys)
    step.extend(
        function_checks.check_permission(function, found.api.api_id, found.wiring.stage, route)
    )
    if not step.problems:
        step.note(f"its resource policy lets this API's stage {found.wiring.stage} invoke it")


def _sign_in(deployment: AppliedDeployment, found: _Found) -> e2e.SignIn | None:
    """Where the chat checks sign users in; None for the open chat."""
    if not found.cognito:
        return None
    assert found.pool is not None and found.client is not None  # noqa: S101 - found.cognito
    assert found.authorizer is not None  # noqa: S101 - read before the pool
    return e2e.SignIn(
        cognito=deployment.client("cognito-idp"),
        pool=found.pool,
        client_id=found.client.client_id,
        authorizer=product.AuthorizerSettings.from_env(found.authorizer.environment),
    )


def _check_code(
    step: Step, deployment: AppliedDeployment, options: RehearsalOptions, found: _Found, work: Path
) -> None:
    assert found.function is not None and found.wiring is not None  # noqa: S101
    assert found.api is not None  # noqa: S101
    function = found.function
    package, source = _package(step, deployment, options.lambda_zip, function, work)
    step.extend(code.check_code_hash(package.read_bytes(), function.code_sha256, source))
    if step.problems:
        return
    step.note(f"{source} is the code the function runs (CodeSha256 {function.code_sha256})")
    code_dir = work / "code"
    names = code.extract(package, code_dir)
    step.extend(code.check_handler_in_zip(names, function.handler))
    if step.problems:
        return
    facts = code.probe(code_dir, function.handler, function.environment)
    found.facts = facts
    step.extend(code.check_probe(facts, function.handler, code_dir))
    if step.problems:
        return
    found.code_dir = code_dir
    step.note(
        f"{function.handler} imports from the package ({len(names)} files) under Python "
        f"{sys.version_info.major}.{sys.version_info.minor} (the function runs {function.runtime})"
    )
    module = function.handler.rpartition(".")[0]
    # check_probe reported a missing ROUTES as a broken contract, and returned above.
    assert facts.routes is not None  # noqa: S101
    step.note(f"{module}.ROUTES handles {', '.join(sorted(facts.routes))}")
    step.extend(
        api_checks.check_routes_against_code(
            found.wiring.route_keys,
            facts.routes,
            found.api.route_selection_expression,
            f"{module}.ROUTES",
        )
    )


def _package(
    step: Step,
    deployment: AppliedDeployment,
    local_zip: Path,
    function: Function,
    work: Path,
) -> tuple[Path, str]:
    """The deployed package: downloaded when the emulator serves it, else the checked zip."""
    location = function.code_location or ""
    if location and urlsplit(location).netloc == urlsplit(deployment.endpoint).netloc:
        target = work / f"downloaded-{function.name}.zip"
        with urllib.request.urlopen(location, timeout=_TIMEOUT_S) as answer:  # noqa: S310
            target.write_bytes(answer.read())
        return target, f"the package downloaded from {location}"
    step.note(
        f"the emulator's code location ({location or 'none'}) is not on the emulator, so it is "
        f"not fetched; checking {local_zip} against CodeSha256 instead"
    )
    return local_zip, str(local_zip)


def _check_environment(step: Step, deployment: AppliedDeployment, found: _Found) -> None:
    assert found.function is not None and found.wiring is not None  # noqa: S101
    environment = found.function.environment
    facts = found.facts
    tables = readback.table_names(deployment)
    found.website_origin = csp.url_origin(
        str(deployment.outputs.get("website_url", "")).rstrip("/")
    )
    module = found.function.handler.split(".")[0]
    step.extend(
        function_checks.check_environment(
            environment,
            code_reads=None if facts is None else facts.reads_env,
            reads_where=f"{module}.runtime.RUNTIME_ENV",
            config_error=None if facts is None else facts.config_error,
            tables=tables,
            connections_endpoint=found.wiring.connections_endpoint,
            website_origin=found.website_origin,
        )
    )
    if facts is None or facts.reads_env is None:
        step.note("the code does not list the variables it reads: names not checked against it")
    if facts is not None and facts.validates_environment and facts.config_error is None:
        step.note("the code accepts the function's environment")
    terraform_auth = deployment.variables.get("auth")
    step.extend(
        function_checks.check_auth_mode(
            environment,
            guarded=found.authorizer_wiring is not None,
            terraform_auth=None if terraform_auth is None else str(terraform_auth),
        )
    )
    step.note(f"{product.AUTH_MODE_VARIABLE} is {found.auth_mode}")
    table_name = environment.get(product.TABLE_VARIABLE)
    if table_name in tables:
        table = readback.read_table(deployment, str(table_name))
        if table is None:
            step.problem(
                function_checks.TABLE_AREA, f"table {table_name!r} vanished while being read"
            )
            return
        step.extend(function_checks.check_table(table))
        step.note(
            f"table {table.name}: key {table.key_schema[0][0]}, indexes "
            f"{', '.join(sorted(table.indexes))}, TTL on {table.ttl_attribute}"
        )


def _check_authorizer(
    step: Step, deployment: AppliedDeployment, options: RehearsalOptions, found: _Found, work: Path
) -> None:
    """The authorizer's function, permission, code and environment, and the pool it trusts."""
    assert found.authorizer_wiring is not None and found.api is not None  # noqa: S101
    wiring = found.authorizer_wiring
    function = readback.read_function(deployment, wiring.function_arn)
    step.note(
        f"function {function.name}: {function.runtime}, handler {function.handler}, "
        f"{function.memory_mb} MB, {function.timeout_s} s"
    )
    step.note(
        f"environment: {', '.join(f'{k}={v}' for k, v in sorted(function.environment.items()))}"
    )
    step.extend(
        function_checks.check_authorizer_permission(
            function, found.api.api_id, wiring.authorizer_id
        )
    )
    # The pool and client the authorizer trusts, when its issuer is a Cognito pool's.
    mode = found.auth_mode
    pool_id = function_checks.cognito_pool_id(
        function.environment.get(product.AUTH_ISSUER_VARIABLE, "")
    )
    if mode == AuthMode.COGNITO.value and pool_id is not None:
        found.pool = readback.read_user_pool(deployment, pool_id[1])
        audience = function.environment.get(product.AUTH_AUDIENCE_VARIABLE, "")
        if found.pool is not None and audience:
            found.client = readback.read_app_client(deployment, found.pool.pool_id, audience)
    step.extend(
        function_checks.check_authorizer_environment(
            function.environment,
            mode=mode,
            region=deployment.region,
            pool=found.pool,
            client=found.client,
        )
    )
    if found.pool is not None and found.client is not None:
        step.note(
            f"it trusts user pool {found.pool.pool_id} ({found.pool.name}) and app client "
            f"{found.client.client_id} ({found.client.name}: "
            f"{', '.join(sorted(found.client.auth_flows))})"
        )

    package, source = _package(step, deployment, options.authorizer_zip, function, work)
    if not package.is_file():
        step.problem(
            code.CODE_AREA,
            f"{package} does not exist: run `make build` (it builds the authorizer's package)",
        )
        return
    step.extend(code.check_code_hash(package.read_bytes(), function.code_sha256, source))
    if step.problems:
        return
    step.note(f"{source} is the code the authorizer runs (CodeSha256 {function.code_sha256})")
    code_dir = work / "authorizer"
    names = code.extract(package, code_dir)
    step.extend(code.check_handler_in_zip(names, function.handler))
    if step.problems:
        return
    for replaced in code.runnable_here(code_dir):
        step.note(
            f"the package's {replaced.name} {replaced.packaged} is built for another platform "
            f"than this machine's: the local run uses this interpreter's "
            + (
                f"{replaced.name} {replaced.local}"
                if replaced.local == replaced.packaged
                else f"{replaced.name} {replaced.local or '(not installed)'}, NOT the same version"
            )
        )
    facts = code.probe(
        code_dir, function.handler, function.environment, settings=code.AUTHORIZER_SETTINGS
    )
    step.extend(code.check_authorizer_probe(facts, function.handler, code_dir))
    if facts.config_error is not None:
        step.problem(
            function_checks.AUTH_AREA,
            f"the authorizer refuses its environment: {facts.config_error}",
        )
    if step.problems:
        return
    step.note(
        f"{function.handler} imports from the package ({len(names)} files) and accepts its "
        "environment"
    )
    found.authorizer, found.authorizer_code_dir = function, code_dir


def _check_site(step: Step, deployment: AppliedDeployment, found: _Found) -> None:
    bucket = deployment.outputs.get("site_bucket")
    if not bucket:
        raise RehearsalError("Terraform has no site_bucket output: cannot find the site's files")
    objects = readback.read_site(deployment, str(bucket))
    found.objects = objects
    step.note(f"bucket {bucket}: {', '.join(sorted(objects)) or 'empty'}")
    if found.wiring is None:
        return
    environment = found.function.environment if found.function is not None else {}
    site, problems = site_checks.check_site(
        objects, found.wiring.websocket_url, environment.get(product.MAX_CHARS_VARIABLE)
    )
    step.extend(problems)
    found.rendered_url = site.rendered_url
    if found.cognito:
        assert found.client is not None  # noqa: S101 - found.cognito
        endpoint = local_run.cognito_endpoint_origin(deployment.region)
        sign_in_problems = site_checks.check_sign_in_site(
            objects,
            mode=found.auth_mode,
            endpoint_origin=endpoint,
            client_id=found.client.client_id,
        )
        step.extend(sign_in_problems)
        if not sign_in_problems:
            step.note(
                f"config.js signs in at {endpoint}/ with app client {found.client.client_id}, "
                f"and every page's Content-Security-Policy allows {endpoint}"
            )
    if site.rendered_url is not None:
        step.note(f"config.js points at {site.rendered_url}, the API's endpoint")
        step.note(
            f"every page's Content-Security-Policy allows {csp.url_origin(site.rendered_url)}"
        )


# --- the local stack --------------------------------------------------------------------------


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _start_local(
    step: Step, local: ExitStack, deployment: AppliedDeployment, found: _Found, work: Path
) -> Stack:
    assert found.function is not None and found.wiring is not None  # noqa: S101
    assert found.api is not None and found.code_dir is not None  # noqa: S101
    assert found.rendered_url is not None  # noqa: S101
    function, wiring = found.function, found.wiring
    host = LOCAL_HOST
    # The environment and the site need the gateway's URL before it starts, so the port is
    # chosen first; another process taking it in between only costs a retry.
    for attempt in range(1, _LISTEN_ATTEMPTS + 1):
        port = _free_port(host)
        origin = f"http://{host}:{port}"
        ws_url = f"ws://{host}:{port}/{wiring.stage}"
        environment, changes = local_run.local_environment(
            function.environment,
            connections_endpoint=f"{origin}/{wiring.stage}",
            dynamodb_endpoint=deployment.endpoint,
            website_origin=found.website_origin,
            page_origin=origin,
        )
        authorizer, authorizer_changes = _local_authorizer(deployment, found)
        sign_in = (
            local_run.SignInMove(
                rendered_origin=local_run.cognito_endpoint_origin(deployment.region),
                local_endpoint=f"{origin}{COGNITO_PATH}",
            )
            if found.cognito
            else None
        )
        site_dir = work / f"site-{port}"
        _write_site(
            site_dir, local_run.rewrite_site(found.objects, found.rendered_url, ws_url, sign_in)
        )
        options = StackOptions(
            host=host,
            port=port,
            emulator=_emulator_settings(
                stage=wiring.stage,
                route_selection_expression=found.api.route_selection_expression,
                routes=wiring.route_keys,
                authorizer=authorizer,
            ),
            function=FunctionSettings(
                handler=function.handler,
                code_dir=found.code_dir,
                environment=environment,
                timeout_s=float(function.timeout_s),
                memory_mb=function.memory_mb,
                region=deployment.region,
            ),
            site_dir=site_dir,
            sign_in_proxy=_sign_in_pool(deployment, found),
            dynamodb_endpoint=deployment.endpoint,
            table_name=function.environment[product.TABLE_VARIABLE],
            messages_table_name=function.environment[product.MESSAGES_TABLE_VARIABLE],
        )
        try:
            running = local.enter_context(running_stack(options))
        except EmulatorConfigError as error:
            if "cannot listen" in str(error) and attempt < _LISTEN_ATTEMPTS:
                continue
            raise
        break
    step.note(
        f"gateway {running.ws_url}: route selection "
        f"{options.emulator.route_selection_expression}, "
        f"routes {', '.join(sorted(options.emulator.routes))}"
    )
    step.note(f"function {function.handler} from the extracted package, {function.timeout_s} s")
    step.note(
        f"tables {running.table_name} and {running.messages_table_name} in the emulator "
        "Terraform applied to"
    )
    for change in changes:
        step.note(f"mapped {change}")
    if authorizer is not None:
        step.note(
            f"$connect authorizer {authorizer.function.handler} from its extracted package, "
            f"identity source {', '.join(authorizer.identity_sources)}"
        )
        for change in authorizer_changes:
            step.note(f"mapped the authorizer's {change}")
    step.note(f"site {running.page_url}: the bucket's {len(found.objects)} files")
    step.note(f"mapped config.js {found.rendered_url} -> {ws_url}")
    step.note(
        f"mapped Content-Security-Policy connect-src {csp.url_origin(found.rendered_url)} -> "
        f"{csp.url_origin(ws_url)}"
    )
    if sign_in is not None:
        step.note(
            f"mapped config.js sign-in endpoint {sign_in.rendered_origin}/ -> "
            f"{sign_in.local_endpoint} (forwarded to the pool in moto)"
        )
        step.note(
            f"mapped Content-Security-Policy connect-src {sign_in.rendered_origin} -> "
            f"{sign_in.local_origin}"
        )
    _check_served_site(running, ws_url)
    return running


def _sign_in_pool(deployment: AppliedDeployment, found: _Found) -> LocalUserPool | None:
    """The applied pool and app client, whose public operations the local gateway forwards to
    moto for the page; None for the open chat."""
    if not found.cognito:
        return None
    assert found.pool is not None and found.client is not None  # noqa: S101 - found.cognito
    return LocalUserPool(
        endpoint=deployment.endpoint,
        region=deployment.region,
        pool_id=found.pool.pool_id,
        client_id=found.client.client_id,
    )


def _local_authorizer(
    deployment: AppliedDeployment, found: _Found
) -> tuple[AuthorizerSettings | None, list[str]]:
    """The ``$connect`` authorizer as the local gateway runs it, and what was changed in its
    environment; None for the open chat."""
    if found.authorizer_wiring is None:
        return None, []
    assert found.authorizer is not None and found.authorizer_code_dir is not None  # noqa: S101
    # Part 2 of issue #17: the emulator's REQUEST authorizer (local_stack.emulator.settings).
    from local_stack.emulator.settings import AuthorizerSettings  # noqa: PLC0415

    function = found.authorizer
    environment, changes = local_run.local_authorizer_environment(
        function.environment, cognito_endpoint=deployment.endpoint
    )
    return (
        AuthorizerSettings(
            function=FunctionSettings(
                handler=function.handler,
                code_dir=found.authorizer_code_dir,
                environment=environment,
                timeout_s=float(function.timeout_s),
                memory_mb=function.memory_mb,
                function_name=function.name,
                region=deployment.region,
            ),
            identity_sources=found.authorizer_wiring.identity_sources,
        ),
        changes,
    )


def _emulator_settings(
    *,
    stage: str,
    route_selection_expression: str,
    routes: frozenset[str],
    authorizer: AuthorizerSettings | None,
) -> EmulatorSettings:
    """The emulator's settings; the ``authorizer`` field only when there is one, so the open
    chat runs on an emulator without REQUEST authorizers too."""
    more: dict[str, Any] = {} if authorizer is None else {"authorizer": authorizer}
    return EmulatorSettings(
        stage=stage,
        route_selection_expression=route_selection_expression,
        routes=routes,
        **more,
    )


def _write_site(root: Path, files: Mapping[str, bytes]) -> None:
    for key, body in files.items():
        path = root / readback.safe_relative_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as answer:  # noqa: S310 - 127.0.0.1
        body: bytes = answer.read()
    return body.decode("utf-8")


def _check_served_site(running: Stack, ws_url: str) -> None:
    """What the local gateway serves must point at itself, or the browser check is moot."""
    config = _fetch(f"{running.page_url}{site_checks.CONFIG_JS}")
    if ws_url not in config:
        raise RehearsalError(f"the served config.js does not hold {ws_url} after mapping")
    allowed, sources = csp.page_allows(_fetch(running.page_url), csp.url_origin(ws_url))
    if not allowed:
        raise RehearsalError(
            f"the served index.html's connect-src ({' '.join(sources)}) does not allow "
            f"{csp.url_origin(ws_url)} after mapping"
        )
