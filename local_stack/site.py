"""The static site: ``frontend/`` published the way Terraform publishes it (docs/internals.md).

Files ending in ``.tpl`` are rendered and published without the suffix; every other file is
published as it is. Templates may use only ``${name}`` placeholders (what both Terraform's
``templatefile`` and this renderer fill); an unknown name, or any other ``${`` or ``%{``
(Terraform template syntax this renderer does not implement), is a ``SiteTemplateError``, so
a template that would render differently in the two places fails here first.

Files are read on every request, so edits to ``frontend/`` show up on reload in ``make dev``.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from chat.config import DEFAULT_MAX_MESSAGE_CHARS

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
FRONTEND_DIR: Final = REPO_ROOT / "frontend"
TEMPLATE_SUFFIX: Final = ".tpl"

_PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_DIRECTIVE: Final = re.compile(r"[$%]\{")
_ESCAPE: Final = re.compile(r"\$\$\{|%%\{")

# Types that mimetypes gets wrong or leaves out on minimal systems.
_CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}


class SiteTemplateError(ValueError):
    """A template cannot be rendered the same way Terraform would render it."""


AUTH_MODES: Final = ("none", "cognito", "oidc")
"""The page's sign-in modes (Terraform's ``auth`` variable)."""


def origin_of(url: str) -> str:
    """The scheme and host of ``url`` (``wss://abc.example/prod`` -> ``wss://abc.example``)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def site_variables(
    websocket_url: str,
    max_message_chars: int | str = DEFAULT_MAX_MESSAGE_CHARS,
    *,
    auth_mode: str = "none",
    auth_endpoint: str = "",
    auth_client_id: str = "",
    auth_sign_up: bool = False,
    auth_issuer: str = "",
    auth_authorization_endpoint: str = "",
    auth_token_endpoint: str = "",
    auth_offline_access: bool = False,
    auth_name_claim: str = "",
    auth_name_unique: bool = False,
    moderation_secret: bool = False,
) -> dict[str, str]:
    """The template variables of docs/internals.md for one WebSocket URL (and sign-in setup).

    With ``auth_mode`` "none" (the open chat) the auth variables are empty and the flags
    "false", as Terraform renders them. ``auth_origin`` is what the CSP's ``connect-src``
    must add for sign-in: the origin of ``auth_endpoint`` (Cognito); with "oidc", the origins
    of the issuer (the discovery document) and of the token endpoint, space-separated.
    """
    if auth_mode not in AUTH_MODES:
        raise SiteTemplateError(f"auth_mode {auth_mode!r} is not one of {AUTH_MODES}")
    called = [auth_endpoint]
    if auth_mode == "oidc":
        called += [auth_issuer, auth_token_endpoint]
    origins = dict.fromkeys(origin_of(url) for url in called if url)
    return {
        "websocket_url": websocket_url,
        "websocket_origin": origin_of(websocket_url),
        "max_message_chars": str(max_message_chars),
        "auth_mode": auth_mode,
        "auth_endpoint": auth_endpoint,
        "auth_client_id": auth_client_id,
        "auth_sign_up": "true" if auth_sign_up else "false",
        "auth_origin": " ".join(origins),
        "auth_issuer": auth_issuer,
        "auth_authorization_endpoint": auth_authorization_endpoint,
        "auth_token_endpoint": auth_token_endpoint,
        "auth_offline_access": "true" if auth_offline_access else "false",
        "auth_name_claim": auth_name_claim,
        "auth_name_unique": "true" if auth_name_unique else "false",
        "moderation_secret": "true" if moderation_secret and auth_mode == "none" else "false",
    }


def render_template(text: str, variables: Mapping[str, str], *, name: str = "template") -> str:
    """Fill every ``${name}``; raise ``SiteTemplateError`` for anything else."""
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(variables))
    if unknown:
        raise SiteTemplateError(
            f"{name}: unknown template variable(s) {unknown}; known: {sorted(variables)}"
        )
    # Terraform reads $${ and %%{ as escapes; this renderer would not, so refuse them too.
    leftover = _ESCAPE.search(text) or _ANY_DIRECTIVE.search(_PLACEHOLDER.sub("", text))
    if leftover is not None:
        raise SiteTemplateError(
            f"{name}: only ${{name}} placeholders are allowed in templates, found "
            f"{leftover.group(0)!r} (docs/internals.md, Site templates)"
        )
    return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], text)


def content_type(path: PurePosixPath | str) -> str:
    """The Content-Type to publish a file with."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(str(path))
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class SiteFile:
    """One published file."""

    path: PurePosixPath
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Site:
    """A site directory and the variables its templates get."""

    root: Path
    variables: Mapping[str, str]

    def lookup(self, url_path: str) -> SiteFile | None:
        """The file published at ``url_path`` (``/`` is ``index.html``), or None."""
        stripped = url_path.lstrip("/")
        if stripped == "" or stripped.endswith("/"):
            stripped += "index.html"
        relative = PurePosixPath(stripped)
        if ".." in relative.parts:
            return None
        if relative.suffix == TEMPLATE_SUFFIX:
            return None  # templates are published rendered, under their own name
        root = self.root.resolve()
        plain = (root / relative).resolve()
        if not plain.is_relative_to(root):
            return None
        if plain.is_file():
            return SiteFile(relative, plain.read_bytes(), content_type(relative))
        template = plain.with_name(plain.name + TEMPLATE_SUFFIX)
        if template.is_file():
            text = render_template(
                template.read_text(encoding="utf-8"), self.variables, name=str(relative)
            )
            return SiteFile(relative, text.encode(), content_type(relative))
        return None

    def render_all(self) -> dict[PurePosixPath, SiteFile]:
        """Every published file, keyed by its published path (renders every template)."""
        published: dict[PurePosixPath, SiteFile] = {}
        for source in sorted(p for p in self.root.rglob("*") if p.is_file()):
            relative = PurePosixPath(source.relative_to(self.root).as_posix())
            if relative.suffix == TEMPLATE_SUFFIX:
                relative = relative.with_suffix("")
            found = self.lookup(str(relative))
            if found is not None:
                published[relative] = found
        return published
