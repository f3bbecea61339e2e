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

import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Final

from deployment import product
from deployment.rehearsal import e2e_browser, e2e_users, e2e_websocket, smoke_run
from deployment.rehearsal.local_gateway import STEP_START, start_local
from deployment.rehearsal.options import RehearsalOptions, find_chromium
from deployment.rehearsal.readback_steps import Found, read_back
from deployment.rehearsal.report import Printer, Report
from deployment.terraform.applied import DEFAULT_REGION, AppliedDeployment, apply_deployment
from deployment.terraform.emulator import emulator_inventory
from deployment.terraform.errors import HarnessError
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import DeploymentSources
from local_stack.moto_server import MotoServer
from local_stack.stack import Stack

STEP_SETUP: Final = "find Terraform, start the AWS emulator"
STEP_APPLY: Final = "apply terraform/ against the emulator"
STEP_WEBSOCKETS: Final = "chat over WebSockets"
STEP_SMOKE: Final = "run `make smoke` on it"
STEP_BROWSER: Final = "chat in the browser"
STEP_DESTROY: Final = "destroy everything Terraform created"


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
            rehearse_applied(report, options, deployment, chromium)
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


def rehearse_applied(
    report: Report, options: RehearsalOptions, deployment: AppliedDeployment, chromium: Path | None
) -> None:
    """The steps between apply and destroy, on ``deployment`` (the caller's, left applied): the
    read-back steps, then, when they found no problem, the local gateway and the chat checks
    (the browser's only with ``chromium``); the rest skipped, saying why."""
    found = Found()
    with tempfile.TemporaryDirectory(prefix="awsome-rehearsal-") as scratch:
        work = Path(scratch)
        read_back(report, options, deployment, found, work)

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
                running = start_local(step, local, deployment, found, work)
            if running is None:
                for title in later[1:]:
                    report.skip(title, "the local gateway did not start")
                return
            with report.step(STEP_WEBSOCKETS, area=e2e_websocket.WEBSOCKET_AREA) as step:
                notes, problems = e2e_websocket.websocket_checks(
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
                with report.step(STEP_BROWSER, area=e2e_browser.BROWSER_AREA) as step:
                    notes, problems = e2e_browser.browser_check(
                        running.page_url, chromium, sign_in=_sign_in(deployment, found)
                    )
                    for note in notes:
                        step.note(note)
                    step.extend(problems)


def _sign_in(deployment: AppliedDeployment, found: Found) -> e2e_users.SignIn | None:
    """Where the chat checks sign users in; None for the open chat."""
    if not found.cognito:
        return None
    assert found.pool is not None and found.client is not None  # noqa: S101 - found.cognito
    assert found.authorizer is not None  # noqa: S101 - read before the pool
    return e2e_users.SignIn(
        cognito=deployment.client("cognito-idp"),
        pool=found.pool,
        client_id=found.client.client_id,
        authorizer=product.AuthorizerSettings.from_env(found.authorizer.environment),
    )
