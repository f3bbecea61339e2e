"""Sign-in for the local stack: a Cognito user pool in moto, and its public endpoint for the page.

``StackOptions(auth=CognitoAuth())`` runs the chat as ``auth = "cognito"`` deploys it: moto's
Cognito issues real RS256-signed ID tokens and serves the pool's key set at
``{moto}/{pool_id}/.well-known/jwks.json``; the real authorizer (``backend/authorizer``) runs
in the emulator as API Gateway's REQUEST authorizer on ``Sec-WebSocket-Protocol``, with
``AUTH_JWKS_URL`` at moto's key set and users named by their user name (``AUTH_NAME_CLAIM``
``cognito:username``, unique in the pool); the chat runs with ``AUTH_MODE=cognito``. As
Terraform's, the page's app client lets users write their e-mail address and nothing else
(moto does not enforce it: a user may still sign up with any ``name``, which no one is
shown).

The page calls Cognito from the browser. Real Cognito answers any origin's CORS preflight; moto's
server has CORS turned off (``moto_server``: other sites' pages must not reach it), so the stack
serves Cognito's public operations itself, on its own origin (``COGNITO_PATH``), forwarding
only the unauthenticated calls a sign-in page makes, for the pool's own app client, to moto.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import boto3
from aiohttp import web
from authorizer.config import COGNITO_NAME_CLAIM
from authorizer.config import EnvVar as AuthorizerEnv

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.lambda_runtime import FunctionSettings

AUTHORIZER_HANDLER: Final = "authorizer.handler.handler"
PROTOCOL_IDENTITY_SOURCE: Final = "route.request.header.Sec-WebSocket-Protocol"
"""The authorizer's identity source: the page offers ``["awsome-chat", idToken]``."""
COGNITO_PATH: Final = "/cognito-idp/"
"""Where the stack serves Cognito's public operations (the page's ``auth_endpoint``)."""
_TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
PUBLIC_OPERATIONS: Final = frozenset(
    {"InitiateAuth", "RespondToAuthChallenge", "SignUp", "ConfirmSignUp", "RevokeToken"}
)
"""The operations a sign-in page calls without AWS credentials (with the app client's id):
``RespondToAuthChallenge`` sets an admin-created user's own password, ``RevokeToken`` (which
``local_stack.moto_server`` adds to moto) ends a session at sign-out."""
_READ_ATTRIBUTES: Final = ["name", "preferred_username", "email"]
_WRITE_ATTRIBUTES: Final = ["email"]
"""As Terraform's client: nothing a name could be built from (issue 25)."""
_FORWARD_TIMEOUT: Final = aiohttp.ClientTimeout(total=10.0)  # moto answers in milliseconds


def default_authorizer() -> FunctionSettings:
    """The REQUEST authorizer of every local sign-in mode: ``backend/authorizer``."""
    return FunctionSettings(
        handler=AUTHORIZER_HANDLER,
        function_name="awsome-chat-local-authorizer",
        timeout_s=10.0,
    )


def check_handler_code(function: FunctionSettings) -> None:
    """Fail loudly when the function's top-level package is not in its code directory."""
    package = function.handler.split(".", 1)[0]
    root = function.code_dir / package
    if not (root.is_dir() or root.with_suffix(".py").is_file()):
        raise EmulatorConfigError(
            f"sign-in needs the authorizer's code: {function.handler!r} is not in "
            f"{function.code_dir} (expected {root}/, the REQUEST authorizer of issue #17)"
        )


# The moderators' group, as Terraform's default ``moderator_group`` names it, and the ID
# token's claim that lists a user's groups.
MODERATOR_GROUP: Final = "moderators"
COGNITO_GROUPS_CLAIM: Final = "cognito:groups"


@dataclass(frozen=True)
class CognitoAuth:
    """``StackOptions.auth``: run the stack with sign-in against a local Cognito user pool."""

    authorizer: FunctionSettings = field(default_factory=default_authorizer)
    """The REQUEST authorizer: ``backend/authorizer`` by default; its environment is merged
    over the pool's (``AUTH_ISSUER``, ``AUTH_AUDIENCE``, ``AUTH_JWKS_URL``)."""
    sign_up: bool = True
    """Whether the page offers sign-up (``auth_sign_up``; moto confirms any code)."""
    pool_name: str = "awsome-chat-local"

    def __post_init__(self) -> None:
        check_handler_code(self.authorizer)


@dataclass(frozen=True)
class UserPool:
    """A user pool and its public app client in moto."""

    endpoint: str
    """moto's URL (the Cognito API and the key set)."""
    region: str
    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        """The ``iss`` of the pool's tokens (moto writes Cognito's real issuer URL)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        """Where moto serves the pool's public keys."""
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"

    @property
    def authorizer_environment(self) -> dict[str, str]:
        """The authorizer's environment for this pool, as Terraform sets it for Cognito (but
        the keys at moto's URL)."""
        return {
            AuthorizerEnv.AUTH_ISSUER.value: self.issuer,
            AuthorizerEnv.AUTH_AUDIENCE.value: self.client_id,
            AuthorizerEnv.AUTH_JWKS_URL.value: self.jwks_url,
            AuthorizerEnv.AUTH_NAME_CLAIM.value: COGNITO_NAME_CLAIM,
            AuthorizerEnv.AUTH_NAME_UNIQUE.value: "true",
            # Moderators: the pool's group, read from the ID token as Terraform sets it.
            AuthorizerEnv.AUTH_MODERATOR_CLAIM.value: COGNITO_GROUPS_CLAIM,
            AuthorizerEnv.AUTH_MODERATOR_VALUE.value: MODERATOR_GROUP,
        }

    def client(self) -> Any:
        """A boto3 ``cognito-idp`` client on moto (dummy credentials)."""
        return boto3.client(
            "cognito-idp",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 -- moto's dummy credentials
        )

    def create_user(self, username: str, password: str, name: str | None = None) -> None:
        """A confirmed user with a permanent password (and a display ``name``, if given)."""
        client = self.client()
        attributes = [] if name is None else [{"Name": "name", "Value": name}]
        client.admin_create_user(
            UserPoolId=self.pool_id,
            Username=username,
            UserAttributes=attributes,
            MessageAction="SUPPRESS",
        )
        client.admin_set_user_password(
            UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
        )

    def make_moderator(self, username: str) -> None:
        """Add ``username`` to the moderators' group (``AdminAddUserToGroup``): their next ID
        token lists it in ``cognito:groups`` (docs/deploy.md, "Moderation")."""
        self.client().admin_add_user_to_group(
            UserPoolId=self.pool_id, Username=username, GroupName=MODERATOR_GROUP
        )

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """``InitiateAuth`` with ``USER_PASSWORD_AUTH``: the ``AuthenticationResult``
        (``IdToken``, ``AccessToken``, ``RefreshToken``, ``ExpiresIn``)."""
        answer = self.client().initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        result: dict[str, Any] = answer["AuthenticationResult"]
        return result


def create_user_pool(endpoint: str, region: str, auth: CognitoAuth) -> UserPool:
    """A user pool and a public app client (no secret; password and refresh-token sign-in;
    users write their e-mail address only), as Terraform creates them for
    ``auth = "cognito"``."""
    pool = UserPool(endpoint, region, "", "")
    client = pool.client()
    pool_id = client.create_user_pool(
        PoolName=auth.pool_name,
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": not auth.sign_up},
        Schema=[{"Name": "name", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{auth.pool_name}-page",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=_READ_ATTRIBUTES,
        WriteAttributes=_WRITE_ATTRIBUTES,
    )["UserPoolClient"]["ClientId"]
    client.create_group(GroupName=MODERATOR_GROUP, UserPoolId=pool_id)
    return UserPool(endpoint, region, pool_id, client_id)


def _refusal(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response({"__type": error_type, "message": message}, status=status)


def cognito_endpoint(pool: UserPool) -> Any:
    """An aiohttp handler for ``POST COGNITO_PATH``: Cognito's public operations, forwarded to
    moto for the pool's own app client only; anything else is refused as Cognito would."""

    async def forward(request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(_TARGET_PREFIX)
        if not target.startswith(_TARGET_PREFIX) or operation not in PUBLIC_OPERATIONS:
            return _refusal(400, "UnknownOperationException", f"not served here: {target!r}")
        body = await request.read()
        try:
            client_id = json.loads(body).get("ClientId")
        except (ValueError, AttributeError):
            return _refusal(400, "SerializationException", "the body is not a JSON object")
        if client_id != pool.client_id:
            return _refusal(400, "ResourceNotFoundException", "unknown app client")
        async with (
            aiohttp.ClientSession(timeout=_FORWARD_TIMEOUT) as session,
            session.post(
                f"{pool.endpoint}/",
                data=body,
                headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
            ) as answer,
        ):
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                content_type="application/x-amz-json-1.1",
            )

    return forward
