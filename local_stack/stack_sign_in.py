"""The local stack's sign-in (``StackOptions.auth``), wired into its other parts.

With ``CognitoAuth`` (``local_stack.cognito``) a user pool in moto, with ``OidcAuth``
(``local_stack.oidc_issuer``) a local OpenID Connect issuer; for either, the authorizer guarding
``$connect`` in the emulator's settings, the chat's ``AUTH_MODE``, and the page's sign-in
variables. ``local_stack.stack.running_stack`` calls these in order; none is needed for the open
chat (``auth=None``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from typing import Any

from authorizer.config import COGNITO_NAME_CLAIM, DEFAULT_NAME_CLAIM
from authorizer.config import EnvVar as AuthorizerEnv
from chat.config import EnvVar

from local_stack.cognito import (
    COGNITO_PATH,
    PROTOCOL_IDENTITY_SOURCE,
    CognitoAuth,
    UserPool,
    create_user_pool,
)
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import AuthorizerSettings, EmulatorSettings
from local_stack.oidc_issuer import OidcAuth, OidcClient, OidcIssuer


def _with_authorizer(
    settings: EmulatorSettings,
    authorizer: FunctionSettings,
    region: str,
    environment: Mapping[str, str],
) -> EmulatorSettings:
    """The emulator's settings with ``authorizer`` guarding ``$connect``, its ``environment``
    (the issuer's: ``AUTH_ISSUER``, ...) under the function's own."""
    function = dataclasses.replace(
        authorizer, region=region, environment={**environment, **authorizer.environment}
    )
    return dataclasses.replace(
        settings, authorizer=AuthorizerSettings(function, (PROTOCOL_IDENTITY_SOURCE,))
    )


def oidc_page_variables(
    auth: CognitoAuth | OidcAuth | None, issuer: OidcIssuer | None
) -> dict[str, Any]:
    """The page's sign-in variables with the local issuer: its URL, and its endpoints unless
    the page is to find them by discovery."""
    if not isinstance(auth, OidcAuth) or issuer is None:
        return {}
    endpoints = {} if auth.discovery else issuer.discovery
    return {
        "auth_mode": "oidc",
        "auth_client_id": issuer.client.client_id,
        "auth_issuer": issuer.url,
        "auth_authorization_endpoint": endpoints.get("authorization_endpoint", ""),
        "auth_token_endpoint": endpoints.get("token_endpoint", ""),
        "auth_offline_access": auth.offline_access,
        # The authorizer's defaults: OIDC names are tagged (authorizer.names).
        "auth_name_claim": DEFAULT_NAME_CLAIM,
        "auth_name_unique": False,
    }


def _oidc_issuer(auth: OidcAuth, host: str, port: int) -> OidcIssuer:
    """The local issuer, listening (its URL known) but not serving yet; the page's own URL,
    under either loopback name, is its client's redirect URI."""
    pages = tuple(f"http://{name}:{port}/" for name in (host, "localhost"))
    issuer = OidcIssuer(OidcClient(auth.client_id, pages), token_lifetime_s=auth.token_lifetime_s)
    issuer.listen(host, 0)
    return issuer


def auth_mode(auth: CognitoAuth | OidcAuth | None) -> dict[str, str]:
    """The chat's ``AUTH_MODE`` for the stack's sign-in (nothing for the open chat)."""
    if auth is None:
        return {}
    return {EnvVar.AUTH_MODE.value: "cognito" if isinstance(auth, CognitoAuth) else "oidc"}


def cognito_page_variables(
    auth: CognitoAuth | OidcAuth | None, host: str, port: int, pool: UserPool | None
) -> dict[str, Any]:
    """The page's sign-in variables: Cognito's public operations on the stack's own origin."""
    if not isinstance(auth, CognitoAuth) or pool is None:
        return {}
    return {
        "auth_mode": "cognito",
        "auth_endpoint": f"http://{host}:{port}{COGNITO_PATH}",
        "auth_client_id": pool.client_id,
        "auth_sign_up": auth.sign_up,
        "auth_issuer": pool.issuer,  # as Terraform renders it (the page does not use it)
        "auth_name_claim": COGNITO_NAME_CLAIM,
        "auth_name_unique": True,
    }


def sign_in(
    auth: CognitoAuth | OidcAuth | None,
    settings: EmulatorSettings,
    *,
    endpoint: str,
    host: str,
    port: int,
    region: str,
    cleanup: contextlib.ExitStack,
) -> tuple[EmulatorSettings, UserPool | None, OidcIssuer | None]:
    """With ``auth``: the user pool in moto at ``endpoint`` or the local issuer (listening on
    ``host``, not yet serving), and the emulator's settings with the authorizer for it."""
    if isinstance(auth, CognitoAuth):
        pool = create_user_pool(endpoint, region, auth)
        environment = pool.authorizer_environment
        return _with_authorizer(settings, auth.authorizer, region, environment), pool, None
    if isinstance(auth, OidcAuth):
        issuer = _oidc_issuer(auth, host, port)
        cleanup.callback(issuer.close_socket)  # if the stack never got to serve it
        # No AUTH_JWKS_URL: the authorizer finds the keys by discovery, as a deployment
        # without oidc_jwks_url does.
        environment = {
            AuthorizerEnv.AUTH_ISSUER.value: issuer.url,
            AuthorizerEnv.AUTH_AUDIENCE.value: issuer.client.client_id,
        }
        return (
            _with_authorizer(settings, auth.authorizer, region, environment),
            None,
            issuer,
        )
    return settings, None, None
