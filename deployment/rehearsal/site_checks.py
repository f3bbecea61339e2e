"""Judge the site Terraform uploaded: rendered, typed, pointing at this API, allowed by its CSP;
with sign-in on, pointing at the user pool's app client and allowed to reach Cognito."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final

from deployment.product import DEFAULT_MAX_MESSAGE_CHARS, MAX_CHARS_VARIABLE
from deployment.rehearsal.csp import page_allows, url_origin
from deployment.rehearsal.readback import SiteObject
from deployment.rehearsal.report import Problem
from local_stack.site import TEMPLATE_SUFFIX, content_type

CONFIG_JS: Final = "config.js"
INDEX_HTML: Final = "index.html"

SITE_AREA: Final = "site"

_WS_URL: Final = re.compile(r"""wss?://[^\s"'`<>]+""")
_MAX_CHARS: Final = re.compile(r"""maxMessageChars\s*:\s*(?:Number\(\s*)?["']?(\d+)""")
# Types whose wrong value breaks the page (module scripts need a JavaScript MIME type).
_STRICT_TYPES: Final = (".html", ".js", ".mjs", ".css")


@dataclass(frozen=True)
class SiteWiring:
    """The WebSocket URL Terraform rendered into config.js (None when none was found)."""

    rendered_url: str | None


def _check_objects(objects: Mapping[str, SiteObject]) -> list[Problem]:
    problems = []
    for key in sorted(objects):
        if key.endswith(TEMPLATE_SUFFIX):
            problems.append(
                Problem(
                    SITE_AREA,
                    f"{key} was uploaded as it is: templates must be rendered and published as "
                    f"{key.removesuffix(TEMPLATE_SUFFIX)}",
                )
            )
        if key.lower().endswith(_STRICT_TYPES):
            expected = content_type(PurePosixPath(key)).split(";")[0]
            found = objects[key].content_type.split(";")[0].strip().lower()
            if found != expected:
                problems.append(
                    Problem(
                        SITE_AREA,
                        f"{key} is published with Content-Type {objects[key].content_type!r}; "
                        f"browsers need {expected}",
                    )
                )
    if INDEX_HTML not in objects:
        problems.append(
            Problem(
                SITE_AREA, f"the bucket has no {INDEX_HTML}: the site's URL would answer 403 or 404"
            )
        )
    return problems


def _check_config_js(
    config: SiteObject | None, expected_url: str, max_message_chars: str | None
) -> tuple[str | None, list[Problem]]:
    """The one WebSocket URL config.js holds, and what is wrong with it."""
    if config is None:
        return None, [
            Problem(
                SITE_AREA,
                f"the bucket has no {CONFIG_JS}: the page would not know where to connect",
            )
        ]
    text = config.body.decode("utf-8", errors="replace")
    urls = sorted(set(_WS_URL.findall(text)))
    problems = [
        Problem(
            SITE_AREA,
            f"{CONFIG_JS} points the page at {url}, but the API's WebSocket endpoint is "
            f"{expected_url}",
        )
        for url in urls
        if url != expected_url
    ]
    if not urls:
        problems.append(
            Problem(SITE_AREA, f"{CONFIG_JS} holds no WebSocket URL (expected {expected_url})")
        )
    limit = _MAX_CHARS.search(text)
    expected_limit = (max_message_chars or str(DEFAULT_MAX_MESSAGE_CHARS)).strip()
    if limit is not None and limit.group(1) != expected_limit:
        problems.append(
            Problem(
                SITE_AREA,
                f"{CONFIG_JS} lets the page send {limit.group(1)} characters, but the function "
                f"refuses more than {expected_limit} ({MAX_CHARS_VARIABLE})",
            )
        )
    return (urls[0] if len(urls) == 1 else None), problems


def check_site(
    objects: Mapping[str, SiteObject], expected_url: str, max_message_chars: str | None
) -> tuple[SiteWiring, list[Problem]]:
    """The uploaded site must point at this API, allow it in its CSP and be typed right."""
    if not objects:
        return SiteWiring(None), [Problem(SITE_AREA, "the site's bucket is empty")]
    problems = _check_objects(objects)
    rendered, config_problems = _check_config_js(
        objects.get(CONFIG_JS), expected_url, max_message_chars
    )
    problems += config_problems
    origin = url_origin(expected_url)
    for key in sorted(k for k in objects if k.lower().endswith(".html")):
        allowed, sources = page_allows(objects[key].body.decode("utf-8", errors="replace"), origin)
        if not allowed:
            problems.append(
                Problem(
                    SITE_AREA,
                    f"the Content-Security-Policy of {key} lets it connect only to "
                    f"{' '.join(sources)}, not to {origin}: browsers would block the WebSocket",
                )
            )
    return SiteWiring(rendered if not problems else None), problems


_COMMENT_LINE: Final = re.compile(r"^\s*//.*$", re.MULTILINE)


def check_sign_in_site(
    objects: Mapping[str, SiteObject], *, mode: str, endpoint_origin: str, client_id: str
) -> list[Problem]:
    """With sign-in on, the page must know it (``auth_mode``), where to sign in
    (``auth_endpoint``, ``endpoint_origin`` and ``/``), with which app client
    (``auth_client_id``), and its CSP must let it reach ``endpoint_origin``
    (``auth_origin``): the template variables of docs/internals.md, "Site templates"."""
    config = objects.get(CONFIG_JS)
    if config is None:
        return []  # check_site reports the missing config.js
    # Comment lines left out: the template's comments name the modes too.
    text = _COMMENT_LINE.sub("", config.body.decode("utf-8", errors="replace"))
    problems = []
    wanted = {
        f"the sign-in mode {mode!r}": re.compile(rf"""["'`]{re.escape(mode)}["'`]"""),
        f"the sign-in endpoint {endpoint_origin}/": re.compile(
            rf"""["'`]{re.escape(endpoint_origin)}/?["'`]"""
        ),
        f"the app client id {client_id!r}": re.compile(rf"""["'`]{re.escape(client_id)}["'`]"""),
    }
    for what, pattern in wanted.items():
        if not pattern.search(text):
            problems.append(
                Problem(
                    SITE_AREA,
                    f"{CONFIG_JS} does not hold {what}: the page could not sign users in",
                )
            )
    for key in sorted(k for k in objects if k.lower().endswith(".html")):
        html = objects[key].body.decode("utf-8", errors="replace")
        allowed, sources = page_allows(html, endpoint_origin)
        if not allowed:
            problems.append(
                Problem(
                    SITE_AREA,
                    f"the Content-Security-Policy of {key} lets it connect only to "
                    f"{' '.join(sources)}, not to {endpoint_origin}: browsers would block "
                    "signing in",
                )
            )
    return problems
