"""The product facts the deployment checks hold Terraform to, imported from where the product
defines them (one definition per fact; see docs/internals.md, "Contracts").

- the function's defaults: ``chat.config`` (``DEFAULT_MAX_MESSAGE_CHARS``);
- the environment variables the function reads: ``chat.runtime.RUNTIME_ENV``. The names the
  rehearsal sets or checks are looked up there when this module is imported, so a renamed
  variable fails loudly (``ContractError``) instead of being checked under its old name;
- the connections table: ``local_stack.dynamodb`` (``TABLE_SCHEMA``, ``INDEX_NAME``,
  ``TTL_ATTRIBUTE``).

``chat`` lives in ``backend/``; it is put on ``sys.path`` here, as pytest's ``pythonpath``
setting does for the tests, so ``python -m deployment.rehearse`` works from the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

BACKEND_DIR: Final = Path(__file__).resolve().parents[1] / "backend"
if str(BACKEND_DIR) not in sys.path:
    sys.path.append(str(BACKEND_DIR))

# After the path is set (E402): the backend is not a package of this repository's root.
from chat.config import DEFAULT_MAX_MESSAGE_CHARS  # noqa: E402
from chat.runtime import RUNTIME_ENV  # noqa: E402

from local_stack.dynamodb import INDEX_NAME, TABLE_SCHEMA, TTL_ATTRIBUTE  # noqa: E402

__all__ = [
    "DEFAULT_MAX_MESSAGE_CHARS",
    "DYNAMODB_ENDPOINT_VARIABLE",
    "ENDPOINT_VARIABLE",
    "INDEX_NAME",
    "MAX_CHARS_VARIABLE",
    "ORIGINS_VARIABLE",
    "TABLE_SCHEMA",
    "TABLE_VARIABLE",
    "TTL_ATTRIBUTE",
    "ContractError",
    "function_variable",
]


class ContractError(Exception):
    """A name the deployment checks read from the product is gone or renamed."""


def function_variable(name: str, read_by: tuple[str, ...] = RUNTIME_ENV) -> str:
    """``name``, after checking the function still reads it (``chat.runtime.RUNTIME_ENV``)."""
    if name not in read_by:
        raise ContractError(
            f"the rehearsal checks the function's environment variable {name}, but "
            f"chat.runtime.RUNTIME_ENV no longer lists it ({', '.join(read_by)}): update "
            "deployment/product.py and the Contracts section of docs/internals.md"
        )
    return name


TABLE_VARIABLE: Final = function_variable("TABLE_NAME")
ENDPOINT_VARIABLE: Final = function_variable("CONNECTIONS_ENDPOINT")
ORIGINS_VARIABLE: Final = function_variable("ALLOWED_ORIGINS")
MAX_CHARS_VARIABLE: Final = function_variable("MAX_MESSAGE_CHARS")
DYNAMODB_ENDPOINT_VARIABLE: Final = function_variable("AWS_ENDPOINT_URL_DYNAMODB")
