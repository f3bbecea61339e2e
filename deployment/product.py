"""The product facts the deployment checks hold Terraform to, imported from where the product
defines them (one definition per fact; see docs/internals.md, "Contracts").

- the function's defaults: ``chat.config`` (``DEFAULT_MAX_MESSAGE_CHARS``);
- the environment variables the function reads: ``chat.runtime.RUNTIME_ENV``. The names the
  rehearsal sets or checks are looked up there when this module is imported, so a renamed
  variable fails loudly (``ContractError``) instead of being checked under its old name;
- the tables: ``chat.connections`` (``TABLE_SCHEMA``, ``TTL_ATTRIBUTE``,
  ``ROOM_INDEX``), ``chat.messages.TABLE_SCHEMA``;
- sign-in (issue #17): the chat's modes (``chat.config.AuthMode``) and subprotocol
  (``chat.events.SUBPROTOCOL``); the authorizer's variables (``authorizer.config.EnvVar``)
  and the display name it gives a token's user under its name claim and uniqueness
  (``authorizer.names.display_name``, through ``token_name``).

``chat`` lives in ``backend/``; the ``deployment`` package imports ``local_stack`` first, which
puts it on ``sys.path`` as pytest's ``pythonpath`` setting does for the tests, so ``python -m
deployment.rehearse`` works from the repository.
"""

from __future__ import annotations

from typing import Final

import jwt
from authorizer.config import AuthSettings as AuthorizerSettings
from authorizer.config import EnvVar as AuthorizerEnvVar
from authorizer.names import display_name
from chat.config import DEFAULT_MAX_MESSAGE_CHARS, AuthMode
from chat.connections import ROOM_INDEX, ROOM_SHARD_ATTRIBUTE, TABLE_SCHEMA, TTL_ATTRIBUTE
from chat.events import SUBPROTOCOL
from chat.messages import TABLE_SCHEMA as MESSAGES_TABLE_SCHEMA
from chat.room_shards import room_shards
from chat.runtime import RUNTIME_ENV

__all__ = [
    "AUTHORIZER_VARIABLES",
    "AUTH_AUDIENCE_VARIABLE",
    "AUTH_ISSUER_VARIABLE",
    "AUTH_JWKS_URL_VARIABLE",
    "AUTH_MODE_VARIABLE",
    "DEFAULT_MAX_MESSAGE_CHARS",
    "DYNAMODB_ENDPOINT_VARIABLE",
    "ENDPOINT_VARIABLE",
    "MAX_CHARS_VARIABLE",
    "MESSAGES_TABLE_SCHEMA",
    "MESSAGES_TABLE_VARIABLE",
    "ORIGINS_VARIABLE",
    "ROOM_INDEX",
    "ROOM_SHARD_ATTRIBUTE",
    "SUBPROTOCOL",
    "TABLE_SCHEMA",
    "TABLE_VARIABLE",
    "TTL_ATTRIBUTE",
    "AuthMode",
    "AuthorizerSettings",
    "ContractError",
    "function_variable",
    "room_shards",
    "token_name",
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
MESSAGES_TABLE_VARIABLE: Final = function_variable("MESSAGES_TABLE_NAME")
ENDPOINT_VARIABLE: Final = function_variable("CONNECTIONS_ENDPOINT")
ORIGINS_VARIABLE: Final = function_variable("ALLOWED_ORIGINS")
MAX_CHARS_VARIABLE: Final = function_variable("MAX_MESSAGE_CHARS")
DYNAMODB_ENDPOINT_VARIABLE: Final = function_variable("AWS_ENDPOINT_URL_DYNAMODB")
AUTH_MODE_VARIABLE: Final = function_variable("AUTH_MODE")

# The authorizer's environment (docs/internals.md, "The authorizer"): its own package, so its
# own names; every one the rehearsal sets or checks is one of them by construction.
AUTHORIZER_VARIABLES: Final = frozenset(name.value for name in AuthorizerEnvVar)
AUTH_ISSUER_VARIABLE: Final = AuthorizerEnvVar.AUTH_ISSUER.value
AUTH_AUDIENCE_VARIABLE: Final = AuthorizerEnvVar.AUTH_AUDIENCE.value
AUTH_JWKS_URL_VARIABLE: Final = AuthorizerEnvVar.AUTH_JWKS_URL.value


def token_name(id_token: str, claim: str, *, unique: bool) -> str:
    """The name the authorizer gives the user of ``id_token`` when it names users by ``claim``
    (``unique``: the issuer makes it unique). The claims are read unverified: the authorizer
    verifies; this only predicts what the chat will show."""
    claims = jwt.decode(id_token, options={"verify_signature": False})
    return display_name(claims, claim, unique=unique)
