"""``make rehearse``: apply terraform/ to a local AWS emulator and run the chat on what it created.

    python -m deployment.rehearse [--hosting-mode cloudfront|s3-website] [--no-browser]
                                   [--terraform-dir DIR] [--site-dir DIR] [--lambda-zip ZIP]
                                   [--authorizer-zip ZIP] [--var NAME=VALUE ...]

Needs ``make build`` first (the Lambda packages), Terraform with the aws provider in a local
mirror, and Chromium for the browser check. ``--var auth=cognito`` rehearses sign-in: the
applied user pool's users sign in to the chat (issue #17). Prints each step as it runs and a
summary; exits 0 when every step passed, 1 with the problems otherwise, 2 on bad arguments.
Everything Terraform created is destroyed in every case. See deployment/rehearsal/__init__.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deployment.rehearsal import HOSTING_MODES, RehearsalOptions, rehearse
from deployment.terraform.workspace import AUTHORIZER_ZIP, LAMBDA_ZIP, SITE_DIR, TERRAFORM_DIR


def _variable(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    try:
        value: Any = json.loads(raw)  # numbers, booleans, lists: as Terraform reads tfvars JSON
    except ValueError:
        value = raw
    return name.strip(), value


def parse_arguments(argv: Sequence[str] | None = None) -> RehearsalOptions:
    """The options from the command line (argparse exits 2 on bad ones)."""
    parser = argparse.ArgumentParser(
        prog="python -m deployment.rehearse", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--hosting-mode", choices=HOSTING_MODES, default="cloudfront")
    parser.add_argument("--terraform-dir", type=Path, default=TERRAFORM_DIR)
    parser.add_argument("--site-dir", type=Path, default=SITE_DIR)
    parser.add_argument("--lambda-zip", type=Path, default=LAMBDA_ZIP)
    parser.add_argument(
        "--authorizer-zip",
        type=Path,
        default=AUTHORIZER_ZIP,
        help="the $connect authorizer's package (used with --var auth=cognito|oidc)",
    )
    parser.add_argument(
        "--var",
        type=_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Terraform variable (VALUE as JSON when it parses, else a string)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the browser check (no Chromium needed)"
    )
    args = parser.parse_args(argv)
    return RehearsalOptions(
        hosting_mode=args.hosting_mode,
        terraform_dir=args.terraform_dir,
        site_dir=args.site_dir,
        lambda_zip=args.lambda_zip,
        authorizer_zip=args.authorizer_zip,
        variables=dict(args.var),
        browser=not args.no_browser,
    )


def _print(line: str) -> None:
    print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rehearsal; 0 when it passed, 1 otherwise."""
    report = rehearse(parse_arguments(argv), out=_print)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
