"""``TF_VAR_<name>`` for ``make dev``: every variable ``terraform/lambda.tf`` passes to the
function is taken, read from lambda.tf itself, and checked by the function's own validation."""

from __future__ import annotations

import re

import pytest

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.terraform_variables import (
    LAMBDA_TF,
    FunctionVariable,
    environment_block,
    function_environment,
    function_variables,
    ignored,
)
from tests.terraform.test_defaults import variable_default


def _lambda_tf() -> str:
    return LAMBDA_TF.read_text(encoding="utf-8")


def test_every_variable_in_the_functions_environment_is_taken_as_tf_var() -> None:
    """Each ``var.*`` in lambda.tf's environment block, given as TF_VAR_ with its
    variables.tf default, reaches the function's variable that lambda.tf sets from it."""
    block = environment_block(_lambda_tf())
    used = set(re.findall(r"\bvar\.(\w+)", block))
    assert used, "lambda.tf's environment uses no variable"
    variables = {variable.name: variable for variable in function_variables()}
    assert set(variables) == used
    for name in sorted(used):
        value = variable_default(name).strip('"')
        taken = function_environment({f"TF_VAR_{name}": value})
        assert taken == {variables[name].env_var: value}, name
        env_var = re.search(rf"^\s*(\w+)\s*=.*\bvar\.{name}\b", block, re.MULTILINE)
        assert env_var is not None
        assert variables[name].env_var == env_var[1]


def test_a_variable_added_to_lambda_tf_is_taken_without_another_edit() -> None:
    """The mapping is read from lambda.tf: a new ``NAME = tostring(var.x)`` line is taken."""
    text = _lambda_tf().replace(
        "      ROOM_MAX_MEMBERS ",
        "      SOME_NEW_SETTING = tostring(var.some_new_setting)\n      ROOM_MAX_MEMBERS ",
        1,
    )
    variables = function_variables(text)
    assert FunctionVariable("some_new_setting", "SOME_NEW_SETTING") in variables
    assert function_environment({"TF_VAR_some_new_setting": " 5 "}, variables) == {
        "SOME_NEW_SETTING": "5"
    }


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TF_VAR_room_max_members": "0"}, ["TF_VAR_room_max_members (ROOM_MAX_MEMBERS)"]),
        ({"TF_VAR_room_max_members": "eight"}, ["TF_VAR_room_max_members", "whole number"]),
        (
            {"TF_VAR_metrics_enabled": "yes", "TF_VAR_max_message_chars": "40000"},
            ["TF_VAR_metrics_enabled (METRICS_ENABLED)", "TF_VAR_max_message_chars"],
        ),
        ({"TF_VAR_auth": "saml"}, ["TF_VAR_auth (AUTH_MODE)"]),
        (
            {"TF_VAR_delivery_max_concurrency": "1"},
            ["TF_VAR_delivery_max_concurrency (DELIVERY_MAX_CONCURRENCY)"],
        ),
    ],
)
def test_an_invalid_value_is_refused_naming_the_variable(
    environ: dict[str, str], named: list[str]
) -> None:
    """A value the function would refuse stops the start, the message naming each TF_VAR_."""
    with pytest.raises(EmulatorConfigError) as refused:
        function_environment(environ)
    for words in named:
        assert words in str(refused.value)


def test_tf_vars_that_do_not_reach_the_function_are_listed() -> None:
    """A TF_VAR_ that sets nothing in the function (the region, the name prefix) is listed, so
    the runner can say it is not used; other variables are not TF_VAR_s at all."""
    environ = {"TF_VAR_region": "eu-west-1", "TF_VAR_room_max_members": "8", "HOME": "/root"}
    assert ignored(environ) == ["TF_VAR_region"]


def test_a_lambda_tf_without_the_functions_environment_is_a_clear_error() -> None:
    """A broken contract fails loudly, naming lambda.tf."""
    with pytest.raises(EmulatorConfigError, match=r"lambda\.tf has no aws_lambda_function\.chat"):
        function_variables('resource "aws_lambda_function" "chat" {\n}\n')


def test_a_list_variable_is_taken_as_the_json_terraform_gives_it() -> None:
    """``BLOCKED_WORDS = jsonencode(var.blocked_words)``: a TF_VAR_ list (``["a", "b"]``, as
    ``terraform apply`` takes it) reaches the function as that JSON, and the moderator secret's
    digest as it is."""
    taken = function_environment(
        {
            "TF_VAR_blocked_words": '["darn", "heck"]',
            "TF_VAR_moderator_secret_sha256": "ab" * 32,
        }
    )
    assert taken == {"BLOCKED_WORDS": '["darn", "heck"]', "MODERATOR_SECRET_SHA256": "ab" * 32}
