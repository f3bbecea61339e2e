"""The static site: template rendering as Terraform does it, and serving it from the stack."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

import pytest

from local_stack.site import FRONTEND_DIR, Site, SiteTemplateError, render_template, site_variables
from local_stack.stack import StackOptions, running_stack

VARIABLES = site_variables("ws://127.0.0.1:9999/local", 1234)


def fetch(url: str) -> tuple[int, str, bytes]:
    """Status, Content-Type and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 -- loopback
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def test_site_variables_derive_the_origin() -> None:
    """websocket_origin is the scheme and host of websocket_url, as the CSP needs."""
    assert site_variables("wss://abc.execute-api.eu-west-1.amazonaws.com/prod") == {
        "websocket_url": "wss://abc.execute-api.eu-west-1.amazonaws.com/prod",
        "websocket_origin": "wss://abc.execute-api.eu-west-1.amazonaws.com",
        "max_message_chars": "2000",
        "auth_mode": "none",
        "auth_endpoint": "",
        "auth_client_id": "",
        "auth_sign_up": "false",
        "auth_origin": "",
        "auth_issuer": "",
        "auth_authorization_endpoint": "",
        "auth_token_endpoint": "",
        "auth_offline_access": "false",
        "auth_name_claim": "",
        "auth_name_unique": "false",
        "moderation_secret": "false",
    }


def test_the_moderator_sign_in_is_offered_only_in_an_open_chat_with_a_secret() -> None:
    """``moderation_secret`` is true for the open chat with a secret, false with sign-in on
    (the role comes from the token) or without a secret."""
    url = "wss://abc.example/prod"
    assert site_variables(url, moderation_secret=True)["moderation_secret"] == "true"
    assert site_variables(url)["moderation_secret"] == "false"
    signed_in = site_variables(url, auth_mode="cognito", moderation_secret=True)
    assert signed_in["moderation_secret"] == "false"


def test_site_variables_for_sign_in_derive_the_auth_origin() -> None:
    """With sign-in on, auth_origin is the IdP endpoint's origin (the CSP's connect-src)."""
    variables = site_variables(
        "wss://abc.example/prod",
        auth_mode="cognito",
        auth_endpoint="https://cognito-idp.eu-west-1.amazonaws.com/",
        auth_client_id="client1",
        auth_sign_up=True,
        auth_name_claim="cognito:username",
        auth_name_unique=True,
    )
    assert {k: v for k, v in variables.items() if k.startswith("auth_")} == {
        "auth_mode": "cognito",
        "auth_endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/",
        "auth_client_id": "client1",
        "auth_sign_up": "true",
        "auth_origin": "https://cognito-idp.eu-west-1.amazonaws.com",
        "auth_issuer": "",
        "auth_authorization_endpoint": "",
        "auth_token_endpoint": "",
        "auth_offline_access": "false",
        "auth_name_claim": "cognito:username",
        "auth_name_unique": "true",
    }
    with pytest.raises(SiteTemplateError, match="auth_mode"):
        site_variables("wss://abc.example/prod", auth_mode="saml")


def test_site_variables_for_oidc_allow_the_issuer_and_the_token_endpoint() -> None:
    """With oidc, connect-src gets the issuer's origin (discovery) and the token endpoint's,
    each once; the endpoints and the offline_access flag are passed on."""
    variables = site_variables(
        "wss://abc.example/prod",
        auth_mode="oidc",
        auth_client_id="page",
        auth_issuer="https://login.example.com/tenant/",
        auth_token_endpoint="https://tokens.example.net/oauth/token",
        auth_offline_access=True,
    )
    assert variables["auth_origin"] == "https://login.example.com https://tokens.example.net"
    assert variables["auth_offline_access"] == "true"
    assert variables["auth_token_endpoint"] == "https://tokens.example.net/oauth/token"
    same = site_variables(
        "wss://abc.example/prod", auth_mode="oidc", auth_issuer="https://login.example.com"
    )
    assert same["auth_origin"] == "https://login.example.com"


def test_placeholders_are_filled() -> None:
    """Every ${name} is replaced, however often it appears; other text is untouched."""
    text = "a=${websocket_url} b=${max_message_chars} a=${websocket_url} $ {x} $x"
    assert render_template(text, VARIABLES) == (
        "a=ws://127.0.0.1:9999/local b=1234 a=ws://127.0.0.1:9999/local $ {x} $x"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${unknown}", "unknown template variable"),
        ("%{ if true }x%{ endif }", "only"),
        ("${ websocket_url }", "only"),
        ("$${websocket_url}", "only"),
        ("${upper(websocket_url)}", "only"),
    ],
)
def test_anything_but_plain_placeholders_is_an_error(text: str, message: str) -> None:
    """Unknown names and other Terraform template syntax fail, naming the file."""
    with pytest.raises(SiteTemplateError, match=message) as caught:
        render_template(text, VARIABLES, name="config.js")
    assert "config.js" in str(caught.value)


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html.tpl").write_text("<p>${websocket_origin}</p>")
    (tmp_path / "js" / "app.js").write_text("export const x = '${not_a_template}';")
    (tmp_path / "style.css").write_text("p{}")
    (tmp_path / "logo.svg").write_text("<svg/>")
    (tmp_path / "bad.txt.tpl").write_text("${nope}")
    return tmp_path


def test_lookup_renders_templates_and_serves_other_files_as_they_are(site_dir: Path) -> None:
    """index.html comes from index.html.tpl; non-templates are byte for byte, ${} included."""
    site = Site(site_dir, VARIABLES)
    index = site.lookup("/")
    assert index is not None
    assert index.body == b"<p>ws://127.0.0.1:9999</p>"
    assert index.content_type.startswith("text/html")
    app = site.lookup("/js/app.js")
    assert app is not None
    assert app.body == b"export const x = '${not_a_template}';"
    assert app.content_type.startswith("text/javascript")
    assert site.lookup("/style.css").content_type.startswith("text/css")  # type: ignore[union-attr]
    assert site.lookup("/logo.svg").content_type == "image/svg+xml"  # type: ignore[union-attr]


def test_lookup_refuses_templates_traversal_and_missing_files(site_dir: Path) -> None:
    """Raw templates, paths out of the site and missing files are not found."""
    site = Site(site_dir / "js", VARIABLES)
    assert site.lookup("/../index.html.tpl") is None
    assert site.lookup("/../style.css") is None
    assert Site(site_dir, VARIABLES).lookup("/index.html.tpl") is None
    assert Site(site_dir, VARIABLES).lookup("/missing.js") is None
    with pytest.raises(SiteTemplateError):
        Site(site_dir, VARIABLES).lookup("/bad.txt")


def test_the_real_frontend_renders_completely() -> None:
    """Every frontend template renders with the documented variables and nothing is left over."""
    published = Site(FRONTEND_DIR, VARIABLES).render_all()
    assert PurePosixPath("index.html") in published
    assert PurePosixPath("config.js") in published
    assert not any(path.suffix == ".tpl" for path in published)
    for path in FRONTEND_DIR.rglob("*.tpl"):
        rendered = published[PurePosixPath(path.relative_to(FRONTEND_DIR).as_posix()[:-4])]
        assert not re.search(rb"[$%]\{", rendered.body), path


def test_stack_serves_the_frontend_pointing_at_itself() -> None:
    """The stack serves index.html at / and a config.js with its own WebSocket URL."""
    with running_stack(StackOptions(warm=False)) as stack:
        status, kind, body = fetch(stack.page_url)
        assert (status, kind) == (200, "text/html; charset=utf-8")
        assert f"connect-src ws://127.0.0.1:{stack.port}".encode() in body
        status, kind, body = fetch(stack.page_url + "config.js")
        assert status == 200
        assert kind.startswith("text/javascript")
        assert f'"{stack.ws_url}"'.encode() in body
        assert fetch(stack.page_url + "config.js.tpl")[0] == 404
        assert fetch(stack.page_url + "nowhere.js")[0] == 404


def test_stack_serves_another_site_with_overrides(site_dir: Path) -> None:
    """site_dir and site_variables let a caller serve other files (as the rehearsal does)."""
    options = StackOptions(
        site_dir=site_dir, site_variables={"websocket_origin": "wss://x.test"}, warm=False
    )
    with running_stack(options) as stack:
        assert fetch(stack.page_url)[2] == b"<p>wss://x.test</p>"
        status, _, body = fetch(stack.page_url + "bad.txt")
        assert status == 500
        assert b"nope" in body
