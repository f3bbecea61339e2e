"""Terraform's defaults and the Lambda's environment are the backend's, read from the source.

``terraform/variables.tf`` repeats defaults that ``chat.config`` defines (HCL cannot import
Python), and ``lambda.tf`` sets the variables ``chat.config.EnvVar`` names: these tests fail when
either side changes alone. They parse the files and need no Terraform CLI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chat.config import (
    DEFAULT_CONNECT_RATE_LIMIT_PER_MINUTE,
    DEFAULT_CONNECTION_TTL_SECONDS,
    DEFAULT_FANOUT_CONCURRENCY,
    DEFAULT_LIVE_CONNECTIONS_PER_ROOM,
    DEFAULT_LIVE_CONNECTIONS_TOTAL,
    DEFAULT_MAX_MESSAGE_CHARS,
    DEFAULT_MESSAGE_RETENTION_DAYS,
    DEFAULT_METRICS_NAMESPACE,
    DEFAULT_PRESENCE_NOTICE_MAX_MEMBERS,
    DEFAULT_RATE_LIMIT_MESSAGE_BURST,
    DEFAULT_RATE_LIMIT_MESSAGES_PER_MINUTE,
    DEFAULT_RATE_LIMIT_READ_BURST,
    DEFAULT_RATE_LIMIT_READS_PER_MINUTE,
    DEFAULT_RATE_LIMIT_REFUSAL_BURST,
    DEFAULT_RATE_LIMIT_REFUSALS_PER_MINUTE,
    DEFAULT_RATE_LIMIT_ROOM_MESSAGE_BURST,
    DEFAULT_RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE,
    DEFAULT_RATE_LIMIT_SOURCE_FRAME_BURST,
    DEFAULT_RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE,
    DEFAULT_REACTIONS_MAX_DISTINCT,
    DEFAULT_REACTIONS_MAX_PER_PERSON,
    DEFAULT_REACTIONS_MAX_TOTAL,
    DEFAULT_ROOM_MAX_MEMBERS,
    DEFAULT_TYPING_NOTICE_MAX_MEMBERS,
    EnvVar,
)
from chat.jobs import (
    DEFAULT_DELIVERY_MAX_CONCURRENCY,
    DEFAULT_DELIVERY_POST_RATE,
    DEFAULT_DELIVERY_THRESHOLD,
)

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"

# Each Terraform variable whose default is a backend default, with the backend's constant.
MIRRORED_DEFAULTS = {
    "max_message_chars": DEFAULT_MAX_MESSAGE_CHARS,
    "fanout_concurrency": DEFAULT_FANOUT_CONCURRENCY,
    "connection_ttl_seconds": DEFAULT_CONNECTION_TTL_SECONDS,
    "message_retention_days": DEFAULT_MESSAGE_RETENTION_DAYS,
    "presence_notice_max_members": DEFAULT_PRESENCE_NOTICE_MAX_MEMBERS,
    "rate_limit_messages_per_minute": DEFAULT_RATE_LIMIT_MESSAGES_PER_MINUTE,
    "rate_limit_message_burst": DEFAULT_RATE_LIMIT_MESSAGE_BURST,
    "rate_limit_reads_per_minute": DEFAULT_RATE_LIMIT_READS_PER_MINUTE,
    "rate_limit_read_burst": DEFAULT_RATE_LIMIT_READ_BURST,
    "connect_rate_limit_per_minute": DEFAULT_CONNECT_RATE_LIMIT_PER_MINUTE,
    "room_max_members": DEFAULT_ROOM_MAX_MEMBERS,
    "rate_limit_room_messages_per_minute": DEFAULT_RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE,
    "rate_limit_room_message_burst": DEFAULT_RATE_LIMIT_ROOM_MESSAGE_BURST,
    "rate_limit_source_frames_per_minute": DEFAULT_RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE,
    "rate_limit_source_frame_burst": DEFAULT_RATE_LIMIT_SOURCE_FRAME_BURST,
    "rate_limit_refusals_per_minute": DEFAULT_RATE_LIMIT_REFUSALS_PER_MINUTE,
    "rate_limit_refusal_burst": DEFAULT_RATE_LIMIT_REFUSAL_BURST,
    "live_connections_per_room": DEFAULT_LIVE_CONNECTIONS_PER_ROOM,
    "live_connections_total": DEFAULT_LIVE_CONNECTIONS_TOTAL,
    "typing_notice_max_members": DEFAULT_TYPING_NOTICE_MAX_MEMBERS,
    "reactions_max_distinct": DEFAULT_REACTIONS_MAX_DISTINCT,
    "reactions_max_per_person": DEFAULT_REACTIONS_MAX_PER_PERSON,
    "reactions_max_total": DEFAULT_REACTIONS_MAX_TOTAL,
    "delivery_threshold": DEFAULT_DELIVERY_THRESHOLD,
    "delivery_post_rate": DEFAULT_DELIVERY_POST_RATE,
    "delivery_max_concurrency": DEFAULT_DELIVERY_MAX_CONCURRENCY,
}


def variable_default(name: str) -> str:
    """The literal ``default`` of ``variable "name"`` in ``variables.tf``."""
    text = (TERRAFORM / "variables.tf").read_text()
    block = re.search(rf'^variable "{name}" \{{\n(.*?)^\}}', text, re.MULTILINE | re.DOTALL)
    assert block is not None, f'variables.tf has no variable "{name}"'
    default = re.search(r"^  default\s*=\s*(\S+)\s*$", block.group(1), re.MULTILINE)
    assert default is not None, f'variable "{name}" has no default'
    return default.group(1)


def lambda_environment_names() -> set[str]:
    """The names in the ``environment { variables = { ... } }`` block of ``lambda.tf``."""
    text = (TERRAFORM / "lambda.tf").read_text()
    block = re.search(r"environment \{\s*variables = \{\n(.*?)\n\s*\}", text, re.DOTALL)
    assert block is not None, "lambda.tf sets no environment variables"
    return set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*=", block.group(1), re.MULTILINE))


@pytest.mark.parametrize(("variable", "backend_default"), sorted(MIRRORED_DEFAULTS.items()))
def test_variable_defaults_are_the_backends(variable: str, backend_default: int) -> None:
    """A variables.tf default equals the chat.config constant the function falls back to."""
    assert int(variable_default(variable)) == backend_default


def test_the_metrics_namespace_default_is_the_backends() -> None:
    """The namespace the dashboard and alarms read is the one the function writes by default."""
    assert variable_default("metrics_namespace") == f'"{DEFAULT_METRICS_NAMESPACE}"'


def test_lambda_sets_exactly_the_variables_the_backend_reads() -> None:
    """lambda.tf's environment names are chat.config.EnvVar's, no more and no fewer."""
    assert lambda_environment_names() == {name.value for name in EnvVar}
