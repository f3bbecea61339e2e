"""The product facts the deployment checks import: a renamed variable fails loudly."""

from __future__ import annotations

import pytest
from chat.config import DEFAULT_MAX_MESSAGE_CHARS
from chat.runtime import RUNTIME_ENV

from deployment import product


def test_the_checked_variables_are_the_ones_the_function_reads() -> None:
    """Every variable name the rehearsal checks is in chat.runtime.RUNTIME_ENV."""
    checked = {
        product.TABLE_VARIABLE,
        product.ENDPOINT_VARIABLE,
        product.ORIGINS_VARIABLE,
        product.MAX_CHARS_VARIABLE,
        product.DYNAMODB_ENDPOINT_VARIABLE,
    }
    assert checked <= set(RUNTIME_ENV)
    assert product.DEFAULT_MAX_MESSAGE_CHARS is DEFAULT_MAX_MESSAGE_CHARS


def test_a_variable_the_function_no_longer_reads_is_a_contract_error() -> None:
    """A rename in the backend is an error naming the variable, not a check of a dead name."""
    renamed = (*(name for name in RUNTIME_ENV if name != "TABLE_NAME"), "CHAT_TABLE")
    with pytest.raises(product.ContractError, match=r"TABLE_NAME, but chat\.runtime\.RUNTIME_ENV"):
        product.function_variable("TABLE_NAME", renamed)
