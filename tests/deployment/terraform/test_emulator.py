"""The provider override and boto3 on the emulator."""

from __future__ import annotations

import re

import pytest

from deployment.terraform.emulator import (
    EMULATED_SERVICES,
    UNEMULATED_RESOURCE,
    boto3_client,
    emulator_override,
)
from local_stack.moto_server import MotoServer, MotoServerError


def test_override_points_every_service_at_the_emulator() -> None:
    """Every endpoint of the override is the emulator's, with its dummy keys."""
    text = emulator_override("http://127.0.0.1:5555")
    for service in EMULATED_SERVICES:
        assert f'{service} = "http://127.0.0.1:5555"' in text
    assert text.count("http") == len(EMULATED_SERVICES)
    assert 'access_key                  = "test"' in text


def test_override_leaves_out_only_what_the_emulator_cannot_create() -> None:
    """The response headers policy moto lacks gets count = 0; no other resource is touched;
    a configuration without it gets no resource override (Terraform would refuse one)."""
    assert "resource " not in emulator_override("http://127.0.0.1:5555")
    declared = f'resource "{UNEMULATED_RESOURCE}" "site" {{\n}}'
    text = emulator_override("http://127.0.0.1:5555", declared)
    assert re.findall(r'^resource "(\w+)" "(\w+)" \{\n  count = 0\n\}$', text, re.M) == [
        (UNEMULATED_RESOURCE, "site")
    ]
    assert text.count("resource ") == 1


def test_moto_server_serves_on_a_free_local_port() -> None:
    """The emulator starts on 127.0.0.1, answers boto3, and stops."""
    with MotoServer(quiet=True) as moto:
        assert moto.endpoint.startswith("http://127.0.0.1:")
        dynamodb = boto3_client("dynamodb", moto.endpoint, "eu-west-1")
        assert dynamodb.list_tables()["TableNames"] == []
    with pytest.raises(MotoServerError):
        _ = moto.endpoint
