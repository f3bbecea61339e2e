"""The authorizer end to end in process: tokens from moto's Cognito, keys from a key server on
127.0.0.1, the REQUEST event of a $connect; every refusal raises ``Exception("Unauthorized")``
(API Gateway's 401) and logs why, never the token."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from authorizer.config import COGNITO_NAME_CLAIM, AuthSettings, EnvVar
from authorizer.errors import AuthorizerError, KeySetUnavailable
from authorizer.handler import UNAUTHORIZED, Authorizer, handle, handler
from authorizer.jwks import KeySet
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.backend.authorizer.conftest import (
    MOTO_KID,
    AuthLogs,
    KeyServer,
    Pool,
    authorizer_event,
    moto_key_set,
    offering,
    signed_by_the_pool,
)
from tests.backend.fakes import FakeContext

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/$connect"


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_authorizer(
    pool: Pool, key_server: KeyServer, *, audience: str | None = None, clock: Clock | None = None
) -> Authorizer:
    """The authorizer for ``pool`` with its keys on ``key_server``, naming users as Terraform
    configures it for Cognito (by their unique user name)."""
    settings = AuthSettings(
        issuer=pool.issuer,
        audience=audience or pool.client_id,
        jwks_url=key_server.url("/jwks.json"),
        name_claim=COGNITO_NAME_CLAIM,
        name_unique=True,
    )
    keys = KeySet(settings.issuer, settings.jwks_url, clock=clock or Clock())
    return Authorizer(settings=settings, keys=keys)


def refusal(event: dict[str, Any], authorizer: Authorizer, logs: AuthLogs) -> str:
    """Run ``event``: it must be refused with 401; return the logged reason."""
    with pytest.raises(Exception) as raised:
        handle(event, FakeContext(), lambda: authorizer)
    assert type(raised.value) is Exception
    assert str(raised.value) == UNAUTHORIZED
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    line = logs.records[-1]
    assert line["message"] == "authorization"
    assert line["outcome"] == "unauthorized"
    return str(line["reason"])


def assert_no_token(logs: AuthLogs, *tokens: str) -> None:
    """No line holds any part of a token (its signature is the part that must never leak)."""
    for token in tokens:
        for part in token.split("."):
            assert all(part not in line for line in logs.lines if len(part) > 8)


def forged(token: str) -> str:
    """``token``'s header and claims, signed by a key that is not the issuer's."""
    claims = jwt.decode(token, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": MOTO_KID})


def test_a_valid_id_token_is_allowed_exactly_this_connect(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs
) -> None:
    """An ID token of the pool's app client: Allow on the methodArn, context userId and the
    user's unique user name (not the ``name`` attribute the token also carries)."""
    token = pool.id_token()
    sub = pool.sub()
    answer = handle(offering(token), FakeContext(), lambda: make_authorizer(pool, key_server))
    assert answer == {
        "principalId": sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}
            ],
        },
        "context": {"userId": sub, "name": "alice", "moderator": "false"},
    }
    [line] = auth_logs.records
    assert line["outcome"] == "allowed"
    assert line["userId"] == sub
    assert line["connectionId"] == "Cq3VbdUxjoECH0A="
    assert_no_token(auth_logs, token)
    assert not any("alice" in text.lower() or "example.com" in text for text in auth_logs.lines)


def test_the_token_may_come_first_or_alone(pool: Pool, key_server: KeyServer) -> None:
    """Order does not matter, and a client that offers only the token is judged by it."""
    authorizer = make_authorizer(pool, key_server)
    token = pool.id_token()
    for protocol in (f"{token}, awsome-chat", token, f"awsome-chat,{token}"):
        answer = handle(authorizer_event(protocol), FakeContext(), lambda: authorizer)
        assert answer["principalId"] == pool.sub()


@pytest.mark.parametrize(
    ("protocol", "reason"),
    [
        (None, "no_token"),
        ("awsome-chat", "no_token"),
        ("awsome-chat, ", "no_token"),
        ("awsome-chat, a.b.c, d.e.f", "several_tokens"),
        ("awsome-chat, not-a-jwt", "malformed"),
        ("awsome-chat, a.b.c", "malformed"),
    ],
)
def test_no_token_or_a_malformed_one_is_refused(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs, protocol: str | None, reason: str
) -> None:
    """Without exactly one well-formed token there is nothing to judge: 401."""
    event = authorizer_event(protocol)
    assert refusal(event, make_authorizer(pool, key_server), auth_logs) == reason
    assert key_server.hits == []  # nothing was worth fetching keys for


def test_a_token_signed_by_another_key_is_refused(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs
) -> None:
    """The pool's claims and key id, another private key: bad signature."""
    token = forged(pool.id_token())
    assert refusal(offering(token), make_authorizer(pool, key_server), auth_logs) == (
        "bad_signature"
    )
    assert_no_token(auth_logs, token)


def test_an_id_token_for_another_app_client_is_refused(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs
) -> None:
    """The same pool, another client's token (aud): wrong audience."""
    token = pool.id_token(client_id=pool.add_client())
    assert refusal(offering(token), make_authorizer(pool, key_server), auth_logs) == (
        "wrong_audience"
    )


def test_an_id_token_whose_azp_names_another_client_is_refused(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs
) -> None:
    """``aud`` holds this client, but ``azp`` says another client asked for it: not ours (OpenID
    Connect Core 1.0, 3.1.3.7); the same token with ``azp`` ours passes."""
    token = pool.id_token()
    other = signed_by_the_pool(token, aud=[pool.client_id, "other-client"], azp="other-client")
    assert refusal(offering(other), make_authorizer(pool, key_server), auth_logs) == (
        "wrong_audience"
    )
    ours = signed_by_the_pool(token, aud=[pool.client_id, "other-client"], azp=pool.client_id)
    answer = handle(offering(ours), FakeContext(), lambda: make_authorizer(pool, key_server))
    assert answer["principalId"] == pool.sub()


def test_a_user_who_wrote_someone_elses_name_chats_under_their_own(
    pool: Pool, key_server: KeyServer
) -> None:
    """Issue 25: anyone may sign up with ``name`` and ``preferred_username`` of their choosing
    (moto lets them, whatever the client's write attributes); the token carries them, and the
    authorizer names the user by their user name all the same."""
    pool.sign_up("mallory", name="Alice Liddell", preferred_username="alice")
    token = pool.id_token("mallory")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["name"], claims["preferred_username"]) == ("Alice Liddell", "alice")
    authorizer = make_authorizer(pool, key_server)
    answer = handle(offering(token), FakeContext(), lambda: authorizer)
    assert answer["context"]["name"] == "mallory"
    alice = handle(offering(pool.id_token()), FakeContext(), lambda: authorizer)
    assert alice["context"]["name"] == "alice"


@pytest.mark.parametrize("form", ["https://cognito-idp", "https://issuer-cognito-idp"])
def test_both_issuer_forms_of_this_pool_are_accepted(
    pool: Pool, key_server: KeyServer, form: str
) -> None:
    """A pool's tokens say ``cognito-idp`` or, with its newer issuer setting,
    ``issuer-cognito-idp``: either passes, whichever form ``AUTH_ISSUER`` names."""
    iss = pool.issuer.replace("https://cognito-idp", form)
    token = signed_by_the_pool(pool.id_token(), iss=iss)
    keys = make_authorizer(pool, key_server).keys
    for configured in (pool.issuer, pool.issuer.replace("cognito-idp", "issuer-cognito-idp")):
        settings = AuthSettings(
            issuer=configured,
            audience=pool.client_id,
            jwks_url=key_server.url("/jwks.json"),
            name_claim=COGNITO_NAME_CLAIM,
            name_unique=True,
        )
        authorizer = Authorizer(settings, keys)
        answer = handle(offering(token), FakeContext(), lambda a=authorizer: a)
        assert answer["context"] == {"userId": pool.sub(), "name": "alice", "moderator": "false"}


@pytest.mark.parametrize(
    "issuer",
    [
        "https://cognito-idp.{region}.amazonaws.com/{region}_other",
        "https://issuer-cognito-idp.{region}.amazonaws.com/{region}_other",
        "https://issuer-cognito-idp.us-east-2.amazonaws.com/{pool}",
        "https://issuer.cognito-idp.{region}.amazonaws.com/{pool}",
    ],
    ids=["another-pool", "another-pool-new-form", "another-region", "another-host"],
)
def test_no_other_pools_issuer_is_accepted(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs, issuer: str
) -> None:
    """Either form of another pool's issuer (or this pool's id under another host) is refused."""
    region = pool.pool_id.split("_")[0]
    iss = issuer.format(region=region, pool=pool.pool_id)
    token = signed_by_the_pool(pool.id_token(), iss=iss)
    assert refusal(offering(token), make_authorizer(pool, key_server), auth_logs) == (
        "wrong_issuer"
    )


def test_an_expired_token_is_refused(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token moto issued two hours ago (valid for one, leeway a minute): expired."""
    real_time = time.time
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: real_time() - 2 * 60 * 60)
        token = pool.id_token()
    assert refusal(offering(token), make_authorizer(pool, key_server), auth_logs) == "expired"


def test_a_token_expired_within_the_leeway_is_allowed(
    pool: Pool, key_server: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clocks drift: a token expired 30 s ago (of the 60 s leeway) still passes."""
    real_time = time.time
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: real_time() - 60 * 60 - 30)
        token = pool.id_token()
    answer = handle(offering(token), FakeContext(), lambda: make_authorizer(pool, key_server))
    assert answer["principalId"] == pool.sub()


def test_an_access_token_is_refused(pool: Pool, key_server: KeyServer, auth_logs: AuthLogs) -> None:
    """Cognito's access token (token_use access, client_id instead of aud) is not an ID token."""
    token = pool.sign_in()["AccessToken"]
    assert refusal(offering(token), make_authorizer(pool, key_server), auth_logs) == (
        "not_id_token"
    )


def test_a_token_of_another_issuer_is_refused(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs
) -> None:
    """Signed by a key we trust, but for another issuer (iss): wrong issuer."""
    authorizer = make_authorizer(pool, key_server)
    other = Authorizer(
        settings=AuthSettings(
            issuer=pool.issuer + "x",
            audience=pool.client_id,
            jwks_url=authorizer.settings.jwks_url,
        ),
        keys=authorizer.keys,
    )
    assert refusal(offering(pool.id_token()), other, auth_logs) == "wrong_issuer"


@pytest.mark.parametrize(
    "sign",
    [
        lambda claims: jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": MOTO_KID}),
        lambda claims: jwt.encode(claims, None, algorithm="none", headers={"kid": MOTO_KID}),
    ],
    ids=["HS256", "none"],
)
def test_an_algorithm_other_than_the_pinned_one_is_refused(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs, sign: Callable[[Any], str]
) -> None:
    """The pool's claims under HS256 or no signature at all: not RS256, refused unheard."""
    claims = jwt.decode(pool.id_token(), options={"verify_signature": False})
    token = sign(claims)
    assert refusal(offering(token), make_authorizer(pool, key_server), auth_logs) == (
        "algorithm_not_allowed"
    )
    assert key_server.hits == []


def test_the_keys_are_fetched_once_per_container(pool: Pool, key_server: KeyServer) -> None:
    """Many connects, one fetch of the key set."""
    authorizer = make_authorizer(pool, key_server)
    for _ in range(3):
        handle(offering(pool.id_token()), FakeContext(), lambda: authorizer)
    assert key_server.hits == ["/jwks.json"]


def test_an_unknown_key_id_refetches_the_keys_at_most_once_a_minute(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs
) -> None:
    """The issuer rotated its keys: a token naming a key we lack refetches the set, but a
    flood of such tokens fetches at most once per interval."""
    old_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old = {**RSAAlgorithm.to_jwk(old_key.public_key(), as_dict=True), "kid": "old", "use": "sig"}
    key_server.documents["/jwks.json"] = {"keys": [old]}
    clock = Clock()
    authorizer = make_authorizer(pool, key_server, clock=clock)
    token = pool.id_token()

    assert refusal(offering(token), authorizer, auth_logs) == "unknown_key"
    clock.now += 30
    assert refusal(offering(token), authorizer, auth_logs) == "unknown_key"
    assert key_server.hits == ["/jwks.json"]  # too soon to ask again

    key_server.documents["/jwks.json"] = {"keys": [old, *moto_key_set()["keys"]]}
    clock.now += 31
    answer = handle(offering(token), FakeContext(), lambda: authorizer)
    assert answer["principalId"] == pool.sub()
    handle(offering(token), FakeContext(), lambda: authorizer)
    assert key_server.hits == ["/jwks.json", "/jwks.json"]


def test_unreachable_keys_are_an_error_not_a_refusal(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs
) -> None:
    """No key set, no judgement: the invocation fails (API Gateway's 500), the token is not
    called invalid, and the log says why."""
    key_server.documents.clear()
    with pytest.raises(KeySetUnavailable):
        handle(offering(pool.id_token()), FakeContext(), lambda: make_authorizer(pool, key_server))
    [line] = auth_logs.records
    assert line["outcome"] == "error"
    assert line["reason"] == "KeySetUnavailable"
    assert line["level"] == "ERROR"


def test_the_handler_reads_its_settings_from_the_environment(
    pool: Pool,
    key_server: KeyServer,
    monkeypatch: pytest.MonkeyPatch,
    clean_auth_env: None,
) -> None:
    """``authorizer.handler.handler`` as Lambda calls it, configured by the contract's
    variables."""
    monkeypatch.setenv(EnvVar.AUTH_ISSUER, pool.issuer)
    monkeypatch.setenv(EnvVar.AUTH_AUDIENCE, pool.client_id)
    monkeypatch.setenv(EnvVar.AUTH_JWKS_URL, key_server.url("/jwks.json"))
    monkeypatch.setenv(EnvVar.AUTH_ALGORITHMS, "RS256")
    monkeypatch.setenv(EnvVar.AUTH_NAME_CLAIM, COGNITO_NAME_CLAIM)
    monkeypatch.setenv(EnvVar.AUTH_NAME_UNIQUE, "true")
    answer = handler(offering(pool.id_token()), FakeContext())
    assert answer["context"] == {"userId": pool.sub(), "name": "alice", "moderator": "false"}


@pytest.mark.parametrize("event", [None, [], {"headers": {}}, {"methodArn": 7}])
def test_an_event_that_is_not_an_authorizer_request_is_an_error(
    pool: Pool, key_server: KeyServer, auth_logs: AuthLogs, event: Any
) -> None:
    """No methodArn, nothing to allow: an error (500), logged, never an Allow."""
    with pytest.raises(AuthorizerError):
        handle(event, FakeContext(), lambda: make_authorizer(pool, key_server))
    [line] = auth_logs.records
    assert (line["outcome"], line["reason"]) == ("error", "AuthorizerError")
