"""Starting the local gateway from what Terraform created: the read-back function, authorizer
and site run on the local stack, against the tables in the emulator Terraform applied to."""

from __future__ import annotations

import socket
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from deployment import product
from deployment.rehearsal import csp, local_run, readback, site_checks
from deployment.rehearsal.options import RehearsalOptions
from deployment.rehearsal.readback_steps import TIMEOUT_S, Found, read_back
from deployment.rehearsal.report import Printer, RehearsalError, Report, Step
from deployment.terraform.applied import AppliedDeployment
from local_stack.cognito import COGNITO_PATH
from local_stack.cognito import UserPool as LocalUserPool
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import Stack, StackOptions, running_stack

if TYPE_CHECKING:
    # Part 2 of issue #17 adds it; imported where the authorizer is run, so the open chat is
    # rehearsed on an emulator without it too.
    from local_stack.emulator.settings import AuthorizerSettings

LOCAL_HOST: Final = "127.0.0.1"
_LISTEN_ATTEMPTS: Final = 3

STEP_START: Final = "start the local gateway from what Terraform created"


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
    found = Found()
    with (
        tempfile.TemporaryDirectory(prefix="awsome-rehearsal-") as scratch,
        ExitStack() as local,
    ):
        work = Path(scratch)
        read_back(report, options, deployment, found, work)
        running: Stack | None = None
        if not report.problems and found.code_dir is not None:
            with report.step(STEP_START, area="local gateway") as step:
                running = start_local(step, local, deployment, found, work)
        if running is None or report.problems:
            problems = "; ".join(str(p) for p in report.problems) or "the code was not read back"
            raise RehearsalError(f"the deployment cannot run on the local gateway: {problems}")
        yield running


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def start_local(
    step: Step, local: ExitStack, deployment: AppliedDeployment, found: Found, work: Path
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


def _sign_in_pool(deployment: AppliedDeployment, found: Found) -> LocalUserPool | None:
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
    deployment: AppliedDeployment, found: Found
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
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:  # noqa: S310 - 127.0.0.1
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
