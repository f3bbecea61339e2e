"""Settings come from the environment variables of docs/internals.md, validated."""

from __future__ import annotations

import pytest
from chat.config import AuthMode, EnvVar, Settings
from chat.errors import ConfigurationError


def test_defaults() -> None:
    """Only the two table names are required; everything else has the documented default."""
    settings = Settings.from_env({EnvVar.TABLE_NAME: "t", EnvVar.MESSAGES_TABLE_NAME: "m"})
    assert settings == Settings(
        table_name="t",
        messages_table_name="m",
        connections_endpoint=None,
        allowed_origins=frozenset(),
        max_message_chars=2000,
        fanout_concurrency=128,
        connection_ttl_seconds=10800,
        message_retention_days=7,
    )


def test_every_variable_is_read() -> None:
    """Each variable lands in its field; origins and the endpoint are normalised."""
    settings = Settings.from_env(
        {
            EnvVar.TABLE_NAME: " chat-connections ",
            EnvVar.MESSAGES_TABLE_NAME: " chat-messages ",
            EnvVar.MESSAGE_RETENTION_DAYS: "30",
            EnvVar.CONNECTIONS_ENDPOINT: "http://127.0.0.1:8080/local/",
            EnvVar.ALLOWED_ORIGINS: "https://Chat.Example.com/, http://127.0.0.1:8080,,",
            EnvVar.MAX_MESSAGE_CHARS: "500",
            EnvVar.FANOUT_CONCURRENCY: "8",
            EnvVar.CONNECTION_TTL_SECONDS: "7201",
        }
    )
    assert settings.table_name == "chat-connections"
    assert settings.messages_table_name == "chat-messages"
    assert settings.message_retention_days == 30
    assert settings.message_retention_s == 30 * 24 * 3600
    assert settings.connections_endpoint == "http://127.0.0.1:8080/local"
    assert settings.allowed_origins == {"https://chat.example.com", "http://127.0.0.1:8080"}
    assert (settings.max_message_chars, settings.fanout_concurrency) == (500, 8)
    assert settings.connection_ttl_seconds == 7201


@pytest.mark.parametrize(
    ("raw", "mode"),
    [
        ("", AuthMode.NONE),
        ("none", AuthMode.NONE),
        ("cognito", AuthMode.COGNITO),
        (" OIDC ", AuthMode.OIDC),
    ],
)
def test_auth_mode_is_read(raw: str, mode: AuthMode) -> None:
    """AUTH_MODE: none (the default, the open chat), cognito or oidc; both of the latter
    require the authorizer's context on $connect."""
    settings = Settings.from_env(
        {EnvVar.TABLE_NAME: "t", EnvVar.MESSAGES_TABLE_NAME: "m", EnvVar.AUTH_MODE: raw}
    )
    assert settings.auth_mode is mode
    assert settings.auth_mode.signed_in is (mode is not AuthMode.NONE)
    assert Settings(table_name="t", messages_table_name="m").auth_mode is AuthMode.NONE


def test_missing_table_name_says_what_to_set() -> None:
    """Without TABLE_NAME the error names the variable."""
    with pytest.raises(ConfigurationError, match="TABLE_NAME is required"):
        Settings.from_env({})


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        (EnvVar.MAX_MESSAGE_CHARS, "lots", "MAX_MESSAGE_CHARS must be a whole number"),
        (EnvVar.MAX_MESSAGE_CHARS, "0", "MAX_MESSAGE_CHARS must be between 1 and"),
        (EnvVar.MAX_MESSAGE_CHARS, "100000", "MAX_MESSAGE_CHARS must be between 1 and"),
        (EnvVar.FANOUT_CONCURRENCY, "0", "FANOUT_CONCURRENCY must be between 1 and"),
        (EnvVar.FANOUT_CONCURRENCY, "2.5", "FANOUT_CONCURRENCY must be a whole number"),
        (EnvVar.CONNECTION_TTL_SECONDS, "7200", "must exceed API Gateway's 7200 s"),
        (EnvVar.CONNECTION_TTL_SECONDS, "604801", "be at most 604800 (a week)"),
        (EnvVar.MAX_MESSAGE_CHARS, "8001", "one frame of at most 32 KB"),
        (EnvVar.MESSAGE_RETENTION_DAYS, "0", "MESSAGE_RETENTION_DAYS must be between 1 and"),
        (
            EnvVar.MESSAGE_RETENTION_DAYS,
            "a week",
            "MESSAGE_RETENTION_DAYS must be a whole number",
        ),
        (
            EnvVar.CONNECTIONS_ENDPOINT,
            "abc.execute-api",
            "CONNECTIONS_ENDPOINT must be an https URL",
        ),
        (
            EnvVar.CONNECTIONS_ENDPOINT,
            "http://abc.execute-api.eu-west-1.amazonaws.com/prod",
            "http only on the loopback",
        ),
        (EnvVar.ROOM_MAX_MEMBERS, "0", "ROOM_MAX_MEMBERS must be between 1 and"),
        (EnvVar.AUTH_MODE, "jwt", "AUTH_MODE must be one of none, cognito, oidc"),
        (
            EnvVar.CONNECT_RATE_LIMIT_PER_MINUTE,
            "0",
            "CONNECT_RATE_LIMIT_PER_MINUTE must be between 1 and",
        ),
        (EnvVar.LIVE_CONNECTIONS_PER_ROOM, "0", "LIVE_CONNECTIONS_PER_ROOM must be between 1"),
        (EnvVar.LIVE_CONNECTIONS_TOTAL, "many", "LIVE_CONNECTIONS_TOTAL must be a whole number"),
    ],
)
def test_bad_values_are_refused_clearly(name: str, value: str, fragment: str) -> None:
    """A bad value is refused with a message naming the variable and the rule."""
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({EnvVar.TABLE_NAME: "t", EnvVar.MESSAGES_TABLE_NAME: "m", name: value})
    assert fragment in str(caught.value)


def test_live_connection_caps_are_read() -> None:
    """LIVE_CONNECTIONS_PER_ROOM and LIVE_CONNECTIONS_TOTAL reach the settings."""
    settings = Settings.from_env(
        {
            EnvVar.TABLE_NAME: "t",
            EnvVar.MESSAGES_TABLE_NAME: "m",
            EnvVar.LIVE_CONNECTIONS_PER_ROOM: "7",
            EnvVar.LIVE_CONNECTIONS_TOTAL: "70",
        }
    )
    assert (settings.live_connections_per_room, settings.live_connections_total) == (7, 70)


def test_all_problems_are_reported_at_once() -> None:
    """Several bad variables are reported together, not one per deployment."""
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({EnvVar.FANOUT_CONCURRENCY: "-1", EnvVar.CONNECTION_TTL_SECONDS: "60"})
    message = str(caught.value)
    assert EnvVar.TABLE_NAME in message
    assert EnvVar.FANOUT_CONCURRENCY in message
    assert EnvVar.CONNECTION_TTL_SECONDS in message


SHARED_BUDGETS = {
    EnvVar.RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE: "rate_limit_room_messages_per_minute",
    EnvVar.RATE_LIMIT_ROOM_MESSAGE_BURST: "rate_limit_room_message_burst",
    EnvVar.RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE: "rate_limit_source_frames_per_minute",
    EnvVar.RATE_LIMIT_SOURCE_FRAME_BURST: "rate_limit_source_frame_burst",
    EnvVar.RATE_LIMIT_REFUSALS_PER_MINUTE: "rate_limit_refusals_per_minute",
    EnvVar.RATE_LIMIT_REFUSAL_BURST: "rate_limit_refusal_burst",
}


@pytest.mark.parametrize(("name", "field"), SHARED_BUDGETS.items())
def test_room_source_and_refusal_budgets_are_read_and_bounded(name: EnvVar, field: str) -> None:
    """Each of the room's, the source's and the refusal budget's variables lands in its field,
    and 0 or a value past the ceiling is refused naming the variable."""
    base = {EnvVar.TABLE_NAME: "t", EnvVar.MESSAGES_TABLE_NAME: "m"}
    assert getattr(Settings.from_env({**base, name: "7"}), field) == 7
    for bad in ("0", "100000000", "many"):
        with pytest.raises(ConfigurationError, match=str(name)):
            Settings.from_env({**base, name: bad})
