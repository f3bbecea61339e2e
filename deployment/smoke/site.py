"""The site: the page and its config.js as served, the Content-Security-Policy header it is
served with, and its bucket not public (S3 Block Public Access and the bucket policy's status).

The header comes from CloudFront's response headers policy (terraform/website_cloudfront.tf):
the page's ``<meta>`` policy plus what only a header can say (``frame-ancestors``). The S3
website endpoint (``hosting_mode = "s3-website"``) cannot send headers, and serves the site from
a bucket that is public by design; the bucket's website configuration tells the two apart.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from deployment.rehearsal.csp import csp_policies, page_allows, source_allows, url_origin
from deployment.rehearsal.site_checks import CONFIG_JS
from deployment.smoke.report import CheckFailed
from deployment.smoke.target import SmokeTarget

HTTP_TIMEOUT_S: Final = 10.0
CSP_HEADER: Final = "Content-Security-Policy"
# Sources a script policy must never allow: the page has no inline script (docs/protocol.md).
UNSAFE_SCRIPT_SOURCES: Final = frozenset({"'unsafe-inline'", "'unsafe-eval'", "*", "data:"})
_BLOCK_SETTINGS: Final = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)
# What s3-website mode keeps on: ACLs stay blocked, only the policy half is lifted.
_ACL_SETTINGS: Final = _BLOCK_SETTINGS[:2]


@dataclass(frozen=True)
class Page:
    """One answer of the site."""

    status: int
    body: str
    headers: Message


def fetch(url: str) -> Page:
    """GET ``url`` without caches; an HTTP error is an answer, not an exception."""
    request = urllib.request.Request(url, headers={"Cache-Control": "no-cache"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:  # noqa: S310
            body: bytes = answer.read()
            return Page(int(answer.status), body.decode("utf-8", errors="replace"), answer.headers)
    except urllib.error.HTTPError as error:
        return Page(int(error.code), "", error.headers)


def wait_for_page(target: SmokeTarget, wait_s: float) -> Page:
    """The page, once it is served (a new CloudFront distribution takes minutes to reach the
    edges) or ``wait_s`` has passed; ``CheckFailed`` when it never was."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            page = fetch(target.website_url)
        except (OSError, urllib.error.URLError) as error:
            page = Page(0, str(error), Message())
        if page.status == 200 or time.monotonic() >= deadline:
            break
        time.sleep(min(15.0, max(0.0, deadline - time.monotonic())))
    if page.status != 200:
        raise CheckFailed(f"{target.website_url} answered {page.status or page.body}")
    return page


def check_page(target: SmokeTarget, page: Page) -> str:
    """The page's ``<meta>`` Content-Security-Policy lets it reach the WebSocket API."""
    origin = url_origin(target.websocket_url)
    allowed, sources = page_allows(page.body, origin)
    if not allowed:
        raise CheckFailed(f"the page's connect-src ({' '.join(sources)}) does not allow {origin}")
    return f"{target.website_url} is served and its CSP allows {origin}"


def check_config_js(target: SmokeTarget) -> str:
    """config.js, next to the page, names the deployment's WebSocket URL."""
    url = target.website_url.rstrip("/") + "/" + CONFIG_JS
    try:
        page = fetch(url)
    except (OSError, urllib.error.URLError) as error:
        raise CheckFailed(f"{url}: {error}") from error
    if page.status != 200:
        raise CheckFailed(f"{url} answered {page.status}")
    if f'"{target.websocket_url}"' not in page.body:
        raise CheckFailed(f"{url} does not name {target.websocket_url}")
    return f"{url} points the page at {target.websocket_url}"


# --- the Content-Security-Policy header -------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    """A policy's directives, name -> sources (the first of a repeated directive counts)."""
    parsed: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        tokens = directive.split()
        if tokens:
            parsed.setdefault(tokens[0].lower(), tokens[1:])
    return parsed


def check_csp_header(header: str, page_html: str, websocket_url: str) -> str:
    """The header's policy: at least as strict as the page's ``<meta>`` one (every directive
    the same), no framing, no inline or evaluated script, and the API reachable."""
    policy = directives(header)
    wrong: list[str] = []
    for meta in csp_policies(page_html):
        for name, sources in directives(meta).items():
            sent = policy.get(name, [])
            if sorted(sent) != sorted(sources):
                wrong.append(
                    f"{name} is {' '.join(sent) or 'missing'} in the header, "
                    f"{' '.join(sources)} in the page's <meta>"
                )
    if policy.get("frame-ancestors") != ["'none'"]:
        wrong.append(
            f"frame-ancestors is {' '.join(policy.get('frame-ancestors', [])) or 'missing'}, "
            "not 'none' (any site could frame the page)"
        )
    scripts = policy.get("script-src", policy.get("default-src"))
    if scripts is None or UNSAFE_SCRIPT_SOURCES & set(scripts):
        wrong.append(f"script-src allows {' '.join(scripts or ['anything'])}")
    origin = url_origin(websocket_url)
    connect = policy.get("connect-src", policy.get("default-src", []))
    if not any(source_allows(source, origin) for source in connect):
        wrong.append(f"connect-src ({' '.join(connect)}) does not allow {origin}")
    if wrong:
        raise CheckFailed(f"the page's {CSP_HEADER} header: {'; '.join(wrong)}")
    return (
        f"the page is served with {CSP_HEADER}: the page's own policy, frame-ancestors 'none', "
        f"connect-src allows {origin}"
    )


# --- the bucket -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """What S3 says about the site's bucket."""

    name: str
    website: bool
    """It has a website configuration: ``hosting_mode = "s3-website"``, public by design."""
    block: dict[str, bool]
    """Its Block Public Access settings (all False when it has none)."""
    policy_public: bool
    """S3's own judgement of its bucket policy (GetBucketPolicyStatus); False without one."""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def read_bucket(s3: Any, name: str) -> Bucket:
    """The bucket's hosting, Block Public Access and policy status; ``CheckFailed`` when S3
    cannot answer (no such bucket, no permission...)."""
    try:
        try:
            s3.get_bucket_website(Bucket=name)
            website = True
        except ClientError as error:
            if _code(error) != "NoSuchWebsiteConfiguration":
                raise
            website = False
        try:
            config = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except ClientError as error:
            if _code(error) != "NoSuchPublicAccessBlockConfiguration":
                raise
            config = {}
        try:
            status = s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]
        except ClientError as error:
            if _code(error) != "NoSuchBucketPolicy":
                raise
            status = {}
    except (ClientError, BotoCoreError) as error:
        raise CheckFailed(f"S3 cannot tell about bucket {name}: {error}") from error
    return Bucket(
        name=name,
        website=website,
        block={setting: bool(config.get(setting)) for setting in _BLOCK_SETTINGS},
        policy_public=bool(status.get("IsPublic")),
    )


def check_bucket(bucket: Bucket) -> str:
    """Not public: Block Public Access fully on and a policy S3 does not judge public. In
    s3-website mode the policy is public by design, and ACLs must still be blocked."""
    wanted = _ACL_SETTINGS if bucket.website else _BLOCK_SETTINGS
    off = [setting for setting in wanted if not bucket.block[setting]]
    if off:
        raise CheckFailed(
            f"bucket {bucket.name}'s Block Public Access has {', '.join(off)} off: anyone could "
            "be given access to it (terraform/website_cloudfront.tf keeps them on)"
        )
    if bucket.website:
        return (
            f'bucket {bucket.name} serves the S3 website (hosting_mode = "s3-website"), so '
            "its policy is public by design; its ACLs are blocked (BlockPublicAcls, "
            "IgnorePublicAcls)"
        )
    if bucket.policy_public:
        raise CheckFailed(f"S3 judges bucket {bucket.name}'s policy public (GetBucketPolicyStatus)")
    return (
        f"bucket {bucket.name} is not public: Block Public Access is fully on and S3 judges its "
        "policy not public"
    )
