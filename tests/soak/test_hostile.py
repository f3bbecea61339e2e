"""The soak's oracle and tallies: what each hostile frame should bring, and what counts as a
server error."""

from __future__ import annotations

import json

from soak.hostile import Expected, Oracle, Tally, is_server_error


def test_the_oracle_expects_one_answer_per_frame_and_broadcasts_only_valid_messages() -> None:
    """Errors and reads answer the sender alone; a valid message reaches the room once per
    clientId (a reused clientId is answered to the sender alone); a valid join is left out."""
    oracle = Oracle()
    assert oracle.expected("not json") == Expected(1, 0)
    assert oracle.expected('{"action": "ping"}') == Expected(1, 0)
    send = json.dumps({"action": "sendmessage", "text": "hi", "clientId": "a"})
    assert oracle.expected(send) == Expected(1, 1)
    assert oracle.expected(send) == Expected(1, 0)
    assert oracle.expected('{"action": "sendmessage", "text": "hi"}') == Expected(1, 1)
    assert oracle.expected('{"action": "join"}') is None
    assert oracle.expected('{"action": "join", "limit": 0}') == Expected(1, 0)


def test_server_errors_are_gateway_failures_and_internal_errors_only() -> None:
    """A client's own mistake is not a server error; API Gateway's failure frames and the
    chat's internal_error are."""
    assert not is_server_error('{"type": "error", "code": "invalid_json", "message": "x"}')
    assert is_server_error('{"type": "error", "code": "internal_error", "message": "x"}')
    assert is_server_error('{"message": "Internal server error", "connectionId":"c"}')
    assert is_server_error('{"message": "Endpoint request timed out", "connectionId":"c"}')
    assert is_server_error("not json")


def test_a_tally_counts_missing_extra_and_unexplained_frames() -> None:
    """Unanswered, extra answers and frames seen by others are the differences that matter."""
    tally = Tally(frames=3, expected_answers=3, answers=2, expected_broadcasts=1, observed=2)
    assert (tally.unanswered, tally.extra_answers, tally.seen_by_others) == (1, 0, 1)
    tally.add(Tally(frames=1, expected_answers=1, answers=2))
    assert (tally.frames, tally.unanswered, tally.extra_answers) == (4, 0, 0)
