"""The smoke's order of checks, and ``python -m deployment.smoke``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import boto3
from botocore.config import Config

from deployment.smoke import chat, site
from deployment.smoke.report import FAIL, SKIP, Check, Printer, Run, failed, summary
from deployment.smoke.sign_in import ID_TOKEN_ENV, signed_in
from deployment.smoke.target import SmokeError, SmokeTarget, terraform_outputs
from deployment.terraform.workspace import TERRAFORM_DIR

# CloudFront serves a new distribution only once it has reached the edges (minutes: Terraform
# does not wait for it, terraform/website_cloudfront.tf).
DEFAULT_PAGE_WAIT_S: Final = 900.0
PAGE: Final = "page"
CONFIG_JS: Final = "config.js"
BUCKET: Final = "site bucket"
CSP_HEADER: Final = "CSP header"
# What a caller may skip (--skip), saying why: what depends on how the site is hosted, which
# an emulator may not reproduce (the rehearsal has no CloudFront response headers policy).
SKIPPABLE: Final = (BUCKET, CSP_HEADER)
_AWS_CONFIG: Final = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})


def run_smoke(
    target: SmokeTarget,
    *,
    session: boto3.session.Session | None = None,
    page_wait_s: float = DEFAULT_PAGE_WAIT_S,
    id_token: str | None = None,
    skips: Mapping[str, str] | None = None,
    out: Printer = print,
) -> list[Check]:
    """Every check against ``target``, one line each to ``out``; the checks, in order.
    ``skips``: check name -> why it cannot be made here (recorded as skipped, never run)."""
    run = Run(out, dict(skips or {}))
    session = session or boto3.session.Session(region_name=target.region)
    _site_checks(run, target, session, page_wait_s)
    cognito = session.client("cognito-idp", region_name=target.region, config=_AWS_CONFIG)
    with signed_in(target, cognito, run, id_token) as identity:
        asyncio.run(chat.chat_checks(target, session, run, identity))
    return run.checks


def _site_checks(
    run: Run, target: SmokeTarget, session: boto3.session.Session, page_wait_s: float
) -> None:
    pages: list[site.Page] = []

    def page() -> str:
        pages.append(site.wait_for_page(target, page_wait_s))
        return site.check_page(target, pages[0])

    run.attempt(PAGE, page)
    run.attempt(CONFIG_JS, lambda: site.check_config_js(target))
    buckets: list[site.Bucket] = []

    def bucket() -> str:
        s3 = session.client("s3", region_name=target.region, config=_AWS_CONFIG)
        buckets.append(site.read_bucket(s3, target.site_bucket))
        return site.check_bucket(buckets[0])

    run.attempt(BUCKET, bucket)
    _csp_header(run, target, pages[0] if pages else None, buckets[0] if buckets else None)


def _csp_header(
    run: Run, target: SmokeTarget, page: site.Page | None, bucket: site.Bucket | None
) -> None:
    """The header, checked when it is sent; when it is not, the hosting mode (the bucket's
    website configuration) says whether it could be: only CloudFront sends headers."""
    header = None if page is None else page.headers.get(site.CSP_HEADER)
    if CSP_HEADER in run.skips:
        run.attempt(CSP_HEADER, lambda: "")  # recorded as skipped, with the caller's reason
    elif page is None:
        run.record(CSP_HEADER, SKIP, f"no page ({PAGE} failed)")
    elif header:
        run.attempt(
            CSP_HEADER, lambda: site.check_csp_header(header, page.body, target.websocket_url)
        )
    elif bucket is not None and bucket.website:
        run.record(
            CSP_HEADER,
            SKIP,
            'hosting_mode = "s3-website": the S3 website endpoint cannot send response '
            "headers, so the page has only its <meta> policy (checked by page)",
        )
    elif bucket is not None:
        run.record(
            CSP_HEADER,
            FAIL,
            "the page is served without a Content-Security-Policy header: CloudFront's "
            "response headers policy is missing (terraform/website_cloudfront.tf)",
        )
    else:
        run.record(
            CSP_HEADER,
            FAIL,
            "the page is served without a Content-Security-Policy header, and the bucket "
            f"could not be read to tell whether it is the S3 website endpoint (see {BUCKET})",
        )


def _skips(values: Sequence[str]) -> dict[str, str]:
    skips = {}
    for value in values:
        name, sep, why = value.partition("=")
        if not sep or not why.strip() or name not in SKIPPABLE:
            raise SmokeError(
                f"--skip {value!r}: give CHECK=WHY, CHECK one of {', '.join(SKIPPABLE)}"
            )
        skips[name] = why.strip()
    return skips


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m deployment.smoke``: exit status 0 when no check failed, else 1."""
    parser = argparse.ArgumentParser(
        prog="python -m deployment.smoke",
        description="Check a deployment made with `make deploy`, as its Terraform outputs name it.",
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        help="a file of `terraform output -json` (default: run it in --terraform-dir)",
    )
    parser.add_argument("--terraform-dir", type=Path, default=TERRAFORM_DIR)
    parser.add_argument(
        "--page-wait",
        type=float,
        default=DEFAULT_PAGE_WAIT_S,
        help="seconds to wait for the page to be served (a new CloudFront distribution takes "
        f"minutes; default {DEFAULT_PAGE_WAIT_S:.0f})",
    )
    parser.add_argument(
        "--id-token",
        default=os.environ.get(ID_TOKEN_ENV) or None,
        help='with auth = "oidc": an ID token of your issuer for the deployment\'s client, to '
        f"connect with (default ${ID_TOKEN_ENV}); without one the signed-in checks are skipped",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="CHECK=WHY",
        help=f"record CHECK ({' or '.join(SKIPPABLE)}) as skipped, saying WHY, instead of "
        "running it (the rehearsal skips the CSP header, which its emulator cannot serve)",
    )
    args = parser.parse_args(argv)
    try:
        skips = _skips(args.skip)
        outputs = (
            json.loads(args.outputs.read_text(encoding="utf-8"))
            if args.outputs
            else terraform_outputs(args.terraform_dir)
        )
        target = SmokeTarget.from_outputs(outputs)
    except (SmokeError, OSError, ValueError) as error:
        print(f"smoke: {error}", file=sys.stderr)
        return 1
    print(f"Smoke test of {target.website_url} ({target.region}, auth = {target.auth.value})")
    checks = run_smoke(target, page_wait_s=args.page_wait, id_token=args.id_token, skips=skips)
    print(summary(checks))
    return 1 if failed(checks) else 0
