"""A local OpenID Connect issuer for ``make dev AUTH=oidc`` and the tests: what a real issuer
(Auth0, Okta, Keycloak, ...) does for a public single-page client, and nothing more.

    issuer = OidcIssuer(OidcClient("awsome-chat-local-page", ("http://127.0.0.1:8080/",)))
    url = await issuer.start("127.0.0.1", 0)        # or issuer.listen(...) then issuer.serve()
    issuer.sign_in("Ada Lovelace")                   # the whole code flow over HTTP: the tokens
    await issuer.stop()

Endpoints (OpenID Connect Core 1.0, Discovery 1.0; OAuth 2.0 with PKCE, RFC 7636):

- ``GET /.well-known/openid-configuration``: the discovery document; ``GET /jwks``: the key set.
- ``GET /authorize``: the Authorization Code flow's front door. An unknown ``client_id`` or a
  ``redirect_uri`` not registered for it is refused here with a 400 page, never redirected to
  (RFC 6749 4.1.2.1); other faults (no PKCE, ``response_type`` not ``code``, no ``openid``
  scope) go back to the redirect URI as ``?error=...&state=...``. A valid request shows a tiny
  form to pick a user name (there are no passwords: anyone may be anyone, locally);
  ``POST /authorize`` redirects with ``?code=...&state=...``, or ``error=access_denied`` when
  the user cancels.
- ``POST /token``: ``authorization_code`` (single use, a minute, PKCE ``S256`` checked, the
  same client and redirect URI) and ``refresh_token`` (refresh tokens only when the scope asked
  for ``offline_access``, as most issuers do). Public client: no secret. Answers carry CORS
  headers for the registered redirect URIs' origins, as SPA-capable issuers send.
- ``POST /revoke``: the ``revocation_endpoint`` (RFC 7009): a public client's refresh token
  stops working; 200 for any token, known or not (2.2), ``invalid_client`` for another client.
- ``GET /logout``: the ``end_session_endpoint`` (RP-Initiated Logout 1.0): revokes the user's
  refresh tokens, then redirects to ``post_logout_redirect_uri`` if it is registered.

ID tokens are RS256, signed with a key made at start (``cryptography``), carrying ``iss``,
``aud``, ``sub``, ``name``, ``nonce`` (at sign-in, not on refresh), ``iat``, ``exp``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Final

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from local_stack.cognito import check_handler_code, default_authorizer
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.server import own_host_only

DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
SCOPE: Final = "openid profile email"
"""The scope the page asks for (``offline_access`` added when refresh tokens are wanted)."""
OFFLINE_ACCESS: Final = "offline_access"
CODE_LIFETIME_S: Final = 60.0
_MAX_NAME_CHARS: Final = 64
_CODE_CHALLENGE: Final = "S256"


@dataclass(frozen=True)
class OidcAuth:
    """``StackOptions.auth``: run the stack with sign-in against a local OpenID Connect issuer
    (``OidcIssuer``, on its own port, so its own origin, as a real issuer)."""

    authorizer: FunctionSettings = field(default_factory=default_authorizer)
    """The REQUEST authorizer: ``backend/authorizer`` by default; its environment is merged
    over the issuer's (``AUTH_ISSUER``, ``AUTH_AUDIENCE``; the keys found by discovery, as a
    deployment without ``oidc_jwks_url`` finds them)."""
    client_id: str = "awsome-chat-local-page"
    offline_access: bool = True
    """Whether the page asks for ``offline_access`` (and so gets a refresh token)."""
    discovery: bool = True
    """Whether the page finds the endpoints by discovery; False gives it both endpoints, as
    Terraform's ``oidc_authorization_endpoint`` and ``oidc_token_endpoint`` do."""
    token_lifetime_s: int = 3600
    """How long the issuer's ID tokens are valid."""

    def __post_init__(self) -> None:
        check_handler_code(self.authorizer)


class IssuerError(Exception):
    """The issuer refused a request of ``sign_in`` (its OAuth ``error`` code is the message)."""


@dataclass(frozen=True)
class OidcClient:
    """A public client registered at the issuer: its id (the ID tokens' ``aud``) and the
    redirect URIs it may use, compared exactly (as real issuers do)."""

    client_id: str
    redirect_uris: tuple[str, ...]

    @property
    def origins(self) -> frozenset[str]:
        """The origins the token endpoint answers CORS requests from."""
        return frozenset(_origin(uri) for uri in self.redirect_uris)


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def pkce_challenge(verifier: str) -> str:
    """The ``S256`` code challenge of ``verifier``: base64url(SHA-256(verifier)), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class _Grant:
    """What an authorization code stands for until it is exchanged."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    name: str
    scope: str
    expires_at: float


@dataclass(frozen=True)
class _Session:
    """What a refresh token stands for."""

    client_id: str
    name: str
    scope: str


@dataclass
class OidcIssuer:
    """The issuer (see the module docstring). Its URL, and so ``iss``, is known once it
    listens."""

    client: OidcClient
    token_lifetime_s: int = 3600
    """How long an ID token is valid."""
    key_id: str = "local-1"
    _key: rsa.RSAPrivateKey = field(init=False, repr=False)
    _codes: dict[str, _Grant] = field(init=False, default_factory=dict, repr=False)
    _refresh: dict[str, _Session] = field(init=False, default_factory=dict, repr=False)
    _socket: socket.socket | None = field(init=False, default=None, repr=False)
    _runner: web.AppRunner | None = field(init=False, default=None, repr=False)
    url: str = field(init=False, default="")
    """The issuer's URL, exactly the tokens' ``iss`` (no trailing slash)."""

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    # ----------------------------------------------------------------------------- running

    def listen(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind the listening socket (port 0 picks a free one) and return the issuer's URL,
        before serving: the URL goes into the page and the authorizer first."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self._socket = sock
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        return self.url

    async def serve(self) -> None:
        """Serve on the socket bound by ``listen``."""
        if self._socket is None:
            raise RuntimeError("call listen() before serve()")
        self._runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """``listen`` and ``serve``; the issuer's URL."""
        url = self.listen(host, port)
        await self.serve()
        return url

    async def stop(self) -> None:
        """Stop serving and close the socket (again: nothing)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.close_socket()

    def close_socket(self) -> None:
        """Close the listening socket (for an issuer that ``listen``ed but never served)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def application(self) -> web.Application:
        """The issuer's aiohttp application; like the emulator, it answers only requests whose
        ``Host`` names it on the loopback (a DNS-rebinding page is refused)."""
        app = web.Application(middlewares=[own_host_only])
        app.router.add_get(DISCOVERY_PATH, self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize_form)
        app.router.add_post("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_route("OPTIONS", "/token", self._preflight)
        app.router.add_get("/logout", self._logout)
        app.router.add_post("/revoke", self._revoke)
        return app

    # ------------------------------------------------------------------------- documents

    @property
    def discovery(self) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0, section 3)."""
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "end_session_endpoint": f"{self.url}/logout",
            "revocation_endpoint": f"{self.url}/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": [_CODE_CHALLENGE],
            "scopes_supported": ["openid", "profile", "email", OFFLINE_ACCESS],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    @property
    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": "RS256"}]}

    def id_token(self, name: str, *, nonce: str | None = None, **overrides: Any) -> str:
        """An ID token for the user ``name``, signed with the issuer's key; ``overrides``
        replace claims (``aud``, ``exp``, ...) for tests of refusals."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": self.client.client_id,
            "sub": subject_of(name),
            "name": name,
            "iat": now,
            "exp": now + self.token_lifetime_s,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(overrides)
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    async def _discovery(self, request: web.Request) -> web.Response:
        return self._json(request, self.discovery)

    async def _jwks(self, request: web.Request) -> web.Response:
        return self._json(request, self.jwks)

    # ------------------------------------------------------------------------- authorize

    def _check_client(self, params: Any) -> str | None:
        """Why the request must not be redirected anywhere, or None."""
        if params.get("client_id") != self.client.client_id:
            return "unknown client_id"
        if params.get("redirect_uri") not in self.client.redirect_uris:
            return "redirect_uri is not registered for this client"
        return None

    @staticmethod
    def _request_problem(params: Any) -> tuple[str, str] | None:
        """An OAuth error and description for a request that may go back to the client."""
        if params.get("response_type") != "code":
            return "unsupported_response_type", "only the authorization code flow"
        if "openid" not in str(params.get("scope", "")).split():
            return "invalid_scope", "the scope must include openid"
        if params.get("code_challenge_method") != _CODE_CHALLENGE or not params.get(
            "code_challenge"
        ):
            return "invalid_request", "PKCE with S256 is required"
        return None

    async def _authorize_form(self, request: web.Request) -> web.Response:
        params = request.query
        refusal = self._check_client(params)
        if refusal is not None:
            return _page(f"Sign-in refused: {refusal}.", status=400)
        problem = self._request_problem(params)
        if problem is not None:
            raise _back(str(params["redirect_uri"]), params.get("state"), error=problem)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
            for key, value in params.items()
        )
        return _page(
            '<form method="post" action="/authorize">'
            f"{hidden}"
            '<label for="username">User name</label> '
            '<input id="username" name="username" autofocus required maxlength="64"> '
            '<button id="allow" type="submit" name="decision" value="allow">Sign in</button> '
            '<button id="deny" type="submit" name="decision" value="deny" formnovalidate>'
            "Cancel</button></form>",
            title="Local OpenID Connect issuer",
        )

    async def _authorize(self, request: web.Request) -> web.Response:
        params = await request.post()
        refusal = self._check_client(params)
        if refusal is not None:
            return _page(f"Sign-in refused: {refusal}.", status=400)
        redirect_uri, state = str(params["redirect_uri"]), params.get("state")
        problem = self._request_problem(params)
        if problem is not None:
            raise _back(redirect_uri, state, error=problem)
        if params.get("decision") != "allow":
            raise _back(redirect_uri, state, error=("access_denied", "the user cancelled"))
        name = " ".join(str(params.get("username", "")).split())[:_MAX_NAME_CHARS]
        if not name:
            raise _back(redirect_uri, state, error=("access_denied", "no user name"))
        code = secrets.token_urlsafe(24)
        nonce = params.get("nonce")
        self._codes[code] = _Grant(
            client_id=self.client.client_id,
            redirect_uri=redirect_uri,
            code_challenge=str(params["code_challenge"]),
            nonce=None if nonce is None else str(nonce),
            name=name,
            scope=str(params["scope"]),
            expires_at=time.monotonic() + CODE_LIFETIME_S,
        )
        raise _back(redirect_uri, state, code=code)

    # ----------------------------------------------------------------------------- token

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_id") != self.client.client_id:
            return self._json(request, {"error": "invalid_client"}, status=401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(request, form)
        if grant_type == "refresh_token":
            session = self._refresh.get(str(form.get("refresh_token", "")))
            if session is None or session.client_id != self.client.client_id:
                return self._json(request, {"error": "invalid_grant"}, status=400)
            return self._json(request, self._tokens(session.name, None, session.scope, None))
        return self._json(request, {"error": "unsupported_grant_type"}, status=400)

    def _exchange_code(self, request: web.Request, form: Any) -> web.Response:
        grant = self._codes.pop(str(form.get("code", "")), None)  # single use, right or wrong
        verifier = str(form.get("code_verifier", ""))
        if (
            grant is None
            or grant.expires_at < time.monotonic()
            or grant.redirect_uri != form.get("redirect_uri")
            or not secrets.compare_digest(pkce_challenge(verifier), grant.code_challenge)
        ):
            return self._json(request, {"error": "invalid_grant"}, status=400)
        refresh = secrets.token_urlsafe(32) if OFFLINE_ACCESS in grant.scope.split() else None
        if refresh is not None:
            self._refresh[refresh] = _Session(grant.client_id, grant.name, grant.scope)
        return self._json(request, self._tokens(grant.name, grant.nonce, grant.scope, refresh))

    def _tokens(
        self, name: str, nonce: str | None, scope: str, refresh: str | None
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": self.token_lifetime_s,
            "id_token": self.id_token(name, nonce=nonce),
            "scope": scope,
        }
        if refresh is not None:
            answer["refresh_token"] = refresh
        return answer

    async def _preflight(self, request: web.Request) -> web.Response:
        response = web.Response(status=204)
        self._cors(request, response)
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    # ---------------------------------------------------------------------------- revoke

    async def _revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_id") != self.client.client_id:
            return self._json(request, {"error": "invalid_client"}, status=401)
        session = self._refresh.get(str(form.get("token", "")))
        if session is not None and session.client_id == self.client.client_id:
            del self._refresh[str(form["token"])]
        return self._json(request, {})

    # ---------------------------------------------------------------------------- logout

    async def _logout(self, request: web.Request) -> web.Response:
        hint = request.query.get("id_token_hint")
        if hint:
            try:
                claims = jwt.decode(
                    hint,
                    self._key.public_key(),
                    algorithms=["RS256"],
                    audience=self.client.client_id,
                    options={"verify_exp": False},
                )
            except jwt.InvalidTokenError:
                claims = {}
            for token, session in list(self._refresh.items()):
                if subject_of(session.name) == claims.get("sub"):
                    del self._refresh[token]
        target = request.query.get("post_logout_redirect_uri")
        if target in self.client.redirect_uris:
            raise web.HTTPFound(str(target))
        return _page("You are signed out of the local issuer.")

    # ----------------------------------------------------------------------------- helpers

    def _cors(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin in self.client.origins:
            response.headers["Access-Control-Allow-Origin"] = str(origin)
            response.headers["Vary"] = "Origin"

    def _json(self, request: web.Request, body: dict[str, Any], status: int = 200) -> web.Response:
        response = web.json_response(body, status=status, headers={"Cache-Control": "no-store"})
        self._cors(request, response)
        return response

    # ------------------------------------------------------------------ a client, for tests

    def sign_in(self, name: str, *, scope: str = SCOPE, nonce: str | None = None) -> dict[str, Any]:
        """What the page does, over HTTP (blocking; the issuer must be served from another
        thread): authorize as ``name`` with PKCE, follow the redirect's code to the token
        endpoint; the token answer. Raises ``IssuerError`` on a refusal."""
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(16)
        redirect_uri = self.client.redirect_uris[0]
        form = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce or secrets.token_urlsafe(16),
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": _CODE_CHALLENGE,
            "username": name,
            "decision": "allow",
        }
        location = _post_no_redirect(f"{self.url}/authorize", form)
        returned = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if "code" not in returned or returned.get("state") != state:
            raise IssuerError(returned.get("error", f"no code in {location!r}"))
        return self.token_request(
            {
                "grant_type": "authorization_code",
                "code": returned["code"],
                "redirect_uri": redirect_uri,
                "client_id": self.client.client_id,
                "code_verifier": verifier,
            }
        )

    def token_request(self, form: dict[str, str]) -> dict[str, Any]:
        """POST ``form`` to the token endpoint (blocking); the answer, or ``IssuerError``."""
        request = urllib.request.Request(  # noqa: S310 -- the local issuer's http URL
            f"{self.url}/token", data=urllib.parse.urlencode(form).encode()
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                result: dict[str, Any] = json.loads(answer.read())
                return result
        except urllib.error.HTTPError as exc:
            raise IssuerError(json.loads(exc.read()).get("error", str(exc.code))) from exc


def subject_of(name: str) -> str:
    """The stable ``sub`` of the local user ``name`` (a local issuer has no user store)."""
    return "local-" + hashlib.sha256(name.encode()).hexdigest()[:24]


def _back(
    redirect_uri: str,
    state: Any,
    *,
    code: str | None = None,
    error: tuple[str, str] | None = None,
) -> web.HTTPFound:
    """The redirect back to the client with a code or an error, and the client's state."""
    params: dict[str, str] = {}
    if code is not None:
        params["code"] = code
    if error is not None:
        params["error"], params["error_description"] = error
    if state is not None:
        params["state"] = str(state)
    separator = "&" if "?" in redirect_uri else "?"
    return web.HTTPFound(f"{redirect_uri}{separator}{urllib.parse.urlencode(params)}")


def _page(
    body: str, *, title: str = "Local OpenID Connect issuer", status: int = 200
) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/html",
        text=(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
        ),
        headers={"Content-Security-Policy": "default-src 'none'"},
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _post_no_redirect(url: str, form: dict[str, str]) -> str:
    """POST ``form`` and return the redirect's Location (the client's redirect URI)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, data=urllib.parse.urlencode(form).encode(), timeout=5) as answer:
            raise IssuerError(f"no redirect from {url}: {answer.status}")
    except urllib.error.HTTPError as exc:
        if exc.code != 302:
            raise IssuerError(f"{url} answered {exc.code}") from exc
        return str(exc.headers["Location"])
