"""The local stack's arrangement: moto server issues the tokens and serves the pool's key set
at ``/{pool id}/.well-known/jwks.json``, which ``AUTH_JWKS_URL`` points the authorizer at."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from authorizer.config import COGNITO_NAME_CLAIM, EnvVar
from authorizer.handler import UNAUTHORIZED, handler
from moto.server import ThreadedMotoServer

from tests.backend.authorizer.conftest import Pool, create_pool, offering
from tests.backend.conftest import REGION
from tests.backend.fakes import FakeContext


@pytest.fixture
def served_pool() -> Iterator[tuple[Pool, str]]:
    """A user pool in a moto server on 127.0.0.1 (port 0), and the server's base URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        client = boto3.client(
            "cognito-idp",
            region_name=REGION,
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield create_pool(client), url
    finally:
        server.stop()


def test_moto_servers_tokens_and_keys_pass_the_authorizer(
    served_pool: tuple[Pool, str], monkeypatch: pytest.MonkeyPatch, clean_auth_env: None
) -> None:
    """A valid ID token is allowed with the pool's keys fetched from moto server; its access
    token is refused."""
    pool, url = served_pool
    monkeypatch.setenv(EnvVar.AUTH_ISSUER, pool.issuer)
    monkeypatch.setenv(EnvVar.AUTH_AUDIENCE, pool.client_id)
    monkeypatch.setenv(EnvVar.AUTH_JWKS_URL, f"{url}/{pool.pool_id}/.well-known/jwks.json")
    monkeypatch.setenv(EnvVar.AUTH_NAME_CLAIM, COGNITO_NAME_CLAIM)
    monkeypatch.setenv(EnvVar.AUTH_NAME_UNIQUE, "true")
    tokens = pool.sign_in()
    answer = handler(offering(tokens["IdToken"]), FakeContext())
    assert answer["context"] == {"userId": pool.sub(), "name": "alice", "moderator": "false"}
    with pytest.raises(Exception, match=f"^{UNAUTHORIZED}$"):
        handler(offering(tokens["AccessToken"]), FakeContext())
