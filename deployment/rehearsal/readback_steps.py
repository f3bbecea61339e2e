"""The read-back steps: the API, the function, its code and environment, the authorizer, the
site, each read back from the emulator and judged by the check modules; what they learn is kept
in ``Found`` for the steps after them (starting the local gateway, the chat checks)."""

from __future__ import annotations

import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from deployment import product
from deployment.product import AuthMode
from deployment.rehearsal import (
    api_checks,
    code,
    csp,
    function_checks,
    local_run,
    readback,
    site_checks,
)
from deployment.rehearsal.api_checks import ApiWiring, AuthorizerWiring
from deployment.rehearsal.options import RehearsalOptions
from deployment.rehearsal.readback import Api, AppClient, AppliedUserPool, Function
from deployment.rehearsal.report import RehearsalError, Report, Step
from deployment.terraform.applied import AppliedDeployment

TIMEOUT_S: Final = 10.0

STEP_API: Final = "read back the WebSocket API"
STEP_FUNCTION: Final = "read back the function and its permission"
STEP_AUTHORIZER: Final = "read back and check the $connect authorizer"
STEP_CODE: Final = "check the function's code"
STEP_ENV: Final = "check the function's environment and table"
STEP_SITE: Final = "download and check the site"


@dataclass
class Found:
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
    pool: AppliedUserPool | None = None
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


def read_back(
    report: Report,
    options: RehearsalOptions,
    deployment: AppliedDeployment,
    found: Found,
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


def _read_api(step: Step, deployment: AppliedDeployment, found: Found) -> None:
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


def _read_function(step: Step, deployment: AppliedDeployment, found: Found) -> None:
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


def _check_code(
    step: Step, deployment: AppliedDeployment, options: RehearsalOptions, found: Found, work: Path
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
        with urllib.request.urlopen(location, timeout=TIMEOUT_S) as answer:  # noqa: S310
            target.write_bytes(answer.read())
        return target, f"the package downloaded from {location}"
    step.note(
        f"the emulator's code location ({location or 'none'}) is not on the emulator, so it is "
        f"not fetched; checking {local_zip} against CodeSha256 instead"
    )
    return local_zip, str(local_zip)


def _check_environment(step: Step, deployment: AppliedDeployment, found: Found) -> None:
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
    step: Step, deployment: AppliedDeployment, options: RehearsalOptions, found: Found, work: Path
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


def _check_site(step: Step, deployment: AppliedDeployment, found: Found) -> None:
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
