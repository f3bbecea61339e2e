"""Origins and Content-Security-Policy: which origins a page's ``<meta>`` CSP lets it connect to."""

from __future__ import annotations

import fnmatch
from html.parser import HTMLParser


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


class _CspMeta(HTMLParser):
    """Collects the content of every ``<meta http-equiv="Content-Security-Policy">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.policies: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = {name.lower(): value or "" for name, value in attrs}
        if values.get("http-equiv", "").lower() == "content-security-policy":
            self.policies.append(values.get("content", ""))


def csp_policies(html: str) -> list[str]:
    """The Content-Security-Policy texts a page declares in ``<meta>`` tags."""
    parser = _CspMeta()
    parser.feed(html)
    parser.close()
    return parser.policies


def connect_sources(policy: str) -> list[str] | None:
    """The sources ``connect-src`` (else ``default-src``) allows; None when neither is set."""
    directives: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        tokens = directive.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), tokens[1:])
    return directives.get("connect-src", directives.get("default-src"))


def source_allows(source: str, origin: str) -> bool:
    """Whether one CSP source expression allows connecting to ``origin`` (scheme://host)."""
    scheme, _, host = origin.partition("://")
    if source == "*" or source.lower() == f"{scheme}:":
        return True
    s_scheme, sep, s_host = source.partition("://")
    if not sep or s_scheme.lower() != scheme:
        return False
    return fnmatch.fnmatchcase(host.lower(), s_host.rstrip("/").lower())


def page_allows(html: str, origin: str) -> tuple[bool, list[str]]:
    """Whether every CSP of the page lets it connect to ``origin``; with the failing sources."""
    for policy in csp_policies(html):
        sources = connect_sources(policy)
        if sources is not None and not any(source_allows(s, origin) for s in sources):
            return False, sources
    return True, []
