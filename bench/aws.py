"""boto3 sessions for the local stack: dummy credentials, no config files, no metadata service."""

from __future__ import annotations

import os
from typing import Any, Final

import boto3

REGION: Final = "us-east-1"
DUMMY_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Nothing of the user's AWS setup may reach a benchmark, and nothing may leave 127.0.0.1.
ISOLATION: Final = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def isolate_environment() -> None:
    """Point this process's AWS configuration at nothing (the children inherit it)."""
    os.environ.update(ISOLATION)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)


def local_session(region: str = REGION) -> Any:
    """A boto3 session with dummy credentials, for endpoints on 127.0.0.1."""
    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
