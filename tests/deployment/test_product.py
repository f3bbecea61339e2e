"""The product facts the deployment checks import: a renamed variable fails loudly."""

from __future__ import annotations

import importlib.util
import types

import pytest
from chat.runtime import RUNTIME_ENV

from deployment import product


def checked_function_variables() -> set[str]:
    """The function's variable names ``deployment.product`` exports (``*_VARIABLE``)."""
    names = {
        value
        for key, value in vars(product).items()
        if key.endswith("_VARIABLE") and isinstance(value, str)
    }
    return names - product.AUTHORIZER_VARIABLES


def fresh_product() -> types.ModuleType:
    """``deployment.product`` executed again, as a module of its own (the imported one stays)."""
    spec = product.__spec__
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_variables_are_the_ones_the_function_reads() -> None:
    """Every variable name the rehearsal checks is in chat.runtime.RUNTIME_ENV."""
    checked = checked_function_variables()
    assert "TABLE_NAME" in checked
    assert checked <= set(RUNTIME_ENV)


@pytest.mark.parametrize("gone", sorted(checked_function_variables()))
def test_importing_the_checks_fails_when_the_function_stops_reading_a_name(
    gone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each checked name is looked up when the module loads: with the function no longer reading
    it, importing ``deployment.product`` raises ``ContractError`` naming it (a name written as a
    bare string would import fine and check a dead variable)."""
    monkeypatch.setattr(
        "chat.runtime.RUNTIME_ENV", tuple(name for name in RUNTIME_ENV if name != gone)
    )
    with pytest.raises(Exception, match=rf"variable {gone}, but") as raised:
        fresh_product()
    # The fresh module defines its own ContractError class: compare by name.
    assert type(raised.value).__name__ == product.ContractError.__name__


def test_a_variable_the_function_no_longer_reads_is_a_contract_error() -> None:
    """A rename in the backend is an error naming the variable, not a check of a dead name."""
    renamed = (*(name for name in RUNTIME_ENV if name != "TABLE_NAME"), "CHAT_TABLE")
    with pytest.raises(product.ContractError, match=r"TABLE_NAME, but chat\.runtime\.RUNTIME_ENV"):
        product.function_variable("TABLE_NAME", renamed)
