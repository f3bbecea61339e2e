"""The site checks: the CSP header against the page's own policy, and the bucket not public
(S3's Block Public Access and policy status, on moto in this process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deployment.product import DEFAULT_MAX_MESSAGE_CHARS
from deployment.rehearsal.csp import csp_policies
from deployment.smoke.report import CheckFailed
from deployment.smoke.site import check_bucket, check_csp_header, read_bucket
from local_stack.site import FRONTEND_DIR, Site, site_variables

WEBSOCKET_URL = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def page() -> str:
    """index.html as Terraform uploads it for WEBSOCKET_URL."""
    site = Site(FRONTEND_DIR, site_variables(WEBSOCKET_URL, DEFAULT_MAX_MESSAGE_CHARS))
    return {str(p): f for p, f in site.render_all().items()}["index.html"].body.decode("utf-8")


def header_like_terraforms(page: str) -> str:
    """The header terraform/website.tf builds: the page's <meta> policy plus frame-ancestors."""
    (meta,) = csp_policies(page)
    return f"{meta.rstrip('; ')}; frame-ancestors 'none'"


def test_the_header_terraform_sends_passes(page: str) -> None:
    """The page's policy plus frame-ancestors 'none': the API reachable, nothing else."""
    detail = check_csp_header(header_like_terraforms(page), page, WEBSOCKET_URL)
    assert "connect-src allows wss://abc123.execute-api.eu-west-1.amazonaws.com" in detail


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h.replace("; frame-ancestors 'none'", ""), "frame-ancestors is missing"),
        (
            lambda h: h.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"),
            "script-src allows 'self' 'unsafe-inline'",
        ),
        (lambda h: h.replace("wss://abc123", "wss://other"), "connect-src is "),
        (
            lambda h: h.replace("default-src 'none'", "default-src *"),
            "default-src is * in the header",
        ),
    ],
)
def test_a_header_weaker_than_the_page_fails(page: str, change: Any, message: str) -> None:
    """No framing ban, inline script, another API or a looser default: each named."""
    with pytest.raises(CheckFailed, match="the page's Content-Security-Policy header: ") as failed:
        check_csp_header(change(header_like_terraforms(page)), page, WEBSOCKET_URL)
    assert message in str(failed.value)


@pytest.fixture
def s3() -> Iterator[Any]:
    """An S3 client on moto's in-process backend."""
    with mock_aws():
        yield boto3.client("s3", region_name=REGION)


def bucket(s3: Any, name: str, *, block: bool, website: bool = False, public: bool = False) -> str:
    """A bucket like terraform/'s: Block Public Access on (or only its ACL half), maybe a
    website, maybe a public read policy."""
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": block,
            "RestrictPublicBuckets": block,
        },
    )
    if website:
        s3.put_bucket_website(
            Bucket=name, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
        )
    if public:
        statement = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*",
        }
        s3.put_bucket_policy(
            Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        )
    return name


def test_a_private_bucket_passes(s3: Any) -> None:
    """CloudFront mode: Block Public Access fully on, no public policy."""
    detail = check_bucket(read_bucket(s3, bucket(s3, "site", block=True)))
    assert detail == (
        "bucket site is not public: Block Public Access is fully on and S3 judges its policy "
        "not public"
    )


def test_a_bucket_with_block_public_access_lifted_fails(s3: Any) -> None:
    """Without a website, a lifted policy half is a finding, named setting by setting."""
    with pytest.raises(CheckFailed, match="has BlockPublicPolicy, RestrictPublicBuckets off"):
        check_bucket(read_bucket(s3, bucket(s3, "site", block=False)))


def test_a_public_policy_fails_even_under_block_public_access(s3: Any) -> None:
    """S3's own judgement of the policy counts, whatever the block settings say."""
    name = bucket(s3, "site", block=False, public=True)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
            True,
        ),
    )
    with pytest.raises(CheckFailed, match="S3 judges bucket site's policy public"):
        check_bucket(read_bucket(s3, name))


def test_the_s3_website_bucket_is_public_by_design_with_acls_blocked(s3: Any) -> None:
    """s3-website mode: the public policy is the design; the ACL half must stay on."""
    detail = check_bucket(
        read_bucket(s3, bucket(s3, "site", block=False, website=True, public=True))
    )
    assert "public by design; its ACLs are blocked" in detail
    s3.delete_public_access_block(Bucket="site")
    with pytest.raises(CheckFailed, match="has BlockPublicAcls, IgnorePublicAcls off"):
        check_bucket(read_bucket(s3, "site"))


def test_a_missing_bucket_fails_with_s3s_answer(s3: Any) -> None:
    """An unreadable bucket is a failed check, not a crash."""
    with pytest.raises(CheckFailed, match=r"S3 cannot tell about bucket gone: .*NoSuchBucket"):
        read_bucket(s3, "gone")
