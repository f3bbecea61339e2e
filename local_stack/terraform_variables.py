"""The deployment's settings for ``make dev``: ``TF_VAR_<name>`` as ``terraform apply`` takes it.

    TF_VAR_room_max_members=8 make dev

Terraform hands some of its variables to the chat function as environment variables
(``terraform/lambda.tf``: ``environment { variables = { ROOM_MAX_MEMBERS =
tostring(var.room_max_members), ... } }``). That block is the one definition of which variable
becomes which setting: it is read at start, so a variable added to it works here with no other
edit. A value goes to the function as Terraform's ``tostring`` would give it, and is checked
by the function's own validation (``chat.config.Settings.from_env``, which the function runs at
its cold start): a bad value stops the start with the variable's name, as Terraform's
``validation`` blocks stop a plan, instead of a function failing at its first invocation.

Variables that reach the function through an expression other than ``var.x`` or
``tostring(var.x)`` (the table names, the endpoint and ``allowed_origins``, through
``local.*``), and variables that do not reach it at all, are not taken: ``ignored`` lists the
``TF_VAR_`` names given that ``make dev`` does not use, so the runner can say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from chat.config import EnvVar, Settings
from chat.errors import ConfigurationError
from chat.jobs import DeliverySettings

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.site import REPO_ROOT

PREFIX: Final = "TF_VAR_"
LAMBDA_TF: Final = REPO_ROOT / "terraform" / "lambda.tf"
# The chat function's resource, then its `environment { variables = { ... } }` block.
_FUNCTION: Final = re.compile(r'^resource "aws_lambda_function" "chat" \{\n(.*?)^\}', re.M | re.S)
_ENVIRONMENT: Final = re.compile(
    r"^\s*environment \{\s*variables\s*=\s*\{\n(.*?)\n\s*\}", re.M | re.S
)
_ENTRY: Final = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.+?)\s*$", re.M)
# The expressions that pass a variable on as it is: `var.x` and `tostring(var.x)`, and
# `jsonencode(var.x)` for a list of strings (a TF_VAR_ list, `["a", "b"]`, is JSON already).
_PLAIN: Final = re.compile(
    r"(?:tostring\(\s*var\.(\w+)\s*\)|jsonencode\(\s*var\.(\w+)\s*\)|var\.(\w+))"
)
# Settings.from_env needs the table names, which the stack gives itself (not a TF_VAR_).
_STACK_GIVEN: Final = {
    EnvVar.TABLE_NAME.value: "connections",
    EnvVar.MESSAGES_TABLE_NAME.value: "messages",
}


@dataclass(frozen=True)
class FunctionVariable:
    """A Terraform variable that becomes one of the function's environment variables."""

    name: str
    """Terraform's name (``room_max_members``): given as ``TF_VAR_room_max_members``."""
    env_var: str
    """The function's variable (``ROOM_MAX_MEMBERS``, a ``chat.config.EnvVar``)."""

    @property
    def tf_var(self) -> str:
        """The shell variable Terraform reads it from."""
        return PREFIX + self.name


def environment_block(lambda_tf: str) -> str:
    """The body of the chat function's ``environment { variables = { ... } }`` in
    ``lambda_tf``; ``EmulatorConfigError`` when there is none (the contract is broken)."""
    function = _FUNCTION.search(lambda_tf)
    block = None if function is None else _ENVIRONMENT.search(function.group(1))
    if block is None:
        raise EmulatorConfigError(
            f"{LAMBDA_TF} has no aws_lambda_function.chat with an environment block: make dev "
            "reads the function's settings from it"
        )
    return block.group(1)


def function_variables(lambda_tf: str | None = None) -> tuple[FunctionVariable, ...]:
    """Each ``NAME = var.x`` or ``NAME = tostring(var.x)`` of the chat function's environment
    in ``lambda_tf`` (by default ``terraform/lambda.tf`` as it is now)."""
    text = LAMBDA_TF.read_text(encoding="utf-8") if lambda_tf is None else lambda_tf
    found = []
    for env_var, expression in _ENTRY.findall(environment_block(text)):
        plain = _PLAIN.fullmatch(expression)
        if plain is not None:
            name = plain.group(1) or plain.group(2) or plain.group(3)
            found.append(FunctionVariable(name, env_var))
    return tuple(found)


def function_environment(
    environ: Mapping[str, str], variables: tuple[FunctionVariable, ...] | None = None
) -> dict[str, str]:
    """The function's environment variables that ``TF_VAR_*`` in ``environ`` set, checked by
    the function's own validation; ``EmulatorConfigError`` naming each bad ``TF_VAR_``."""
    variables = function_variables() if variables is None else variables
    given = {
        variable.env_var: environ[variable.tf_var].strip()
        for variable in variables
        if variable.tf_var in environ
    }
    try:
        Settings.from_env({**_STACK_GIVEN, **given})
        DeliverySettings.from_env(given)  # the delivery workers' (chat.jobs), read beside it
    except ConfigurationError as exc:
        message = str(exc)
        for variable in variables:
            if variable.env_var in given:
                message = re.sub(
                    rf"\b{variable.env_var}\b", f"{variable.tf_var} ({variable.env_var})", message
                )
        raise EmulatorConfigError(f"invalid deployment settings: {message}") from exc
    return given


def ignored(
    environ: Mapping[str, str], variables: tuple[FunctionVariable, ...] | None = None
) -> list[str]:
    """The ``TF_VAR_*`` names in ``environ`` that do not set the function's environment."""
    variables = function_variables() if variables is None else variables
    taken = {variable.tf_var for variable in variables}
    return sorted(name for name in environ if name.startswith(PREFIX) and name not in taken)
