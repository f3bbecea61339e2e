"""Plans of terraform/ on moto, for the tests that check what a plan refuses or would create
(preconditions and planned values need a configured provider; nothing is applied)."""

from __future__ import annotations

import json
from typing import Any, Final

from deployment.terraform.cli import Terraform
from deployment.terraform.workspace import VARIABLES_FILE

PLAN_FILE: Final = "checks.tfplan"


def plan(tf: Terraform, variables: dict[str, Any], ok_codes: tuple[int, ...]) -> str:
    """``terraform plan`` with ``variables`` into ``PLAN_FILE``; its error output, white space
    collapsed."""
    (tf.workdir / VARIABLES_FILE).write_text(json.dumps(variables), encoding="utf-8")
    result = tf.run("plan", "-no-color", "-input=false", f"-out={PLAN_FILE}", ok_codes=ok_codes)
    return " ".join(result.stderr.split())


def shown_plan(tf: Terraform) -> dict[str, Any]:
    """The last saved plan, as ``terraform show -json`` gives it."""
    shown: dict[str, Any] = json.loads(tf.run("show", "-json", "-no-color", PLAN_FILE).stdout)
    return shown


def planned_resource(tf: Terraform, address: str) -> dict[str, Any]:
    """The planned values of ``address`` in the last saved plan."""
    resources = shown_plan(tf)["planned_values"]["root_module"]["resources"]
    (found,) = [r for r in resources if r["address"] == address]
    values: dict[str, Any] = found["values"]
    return values
