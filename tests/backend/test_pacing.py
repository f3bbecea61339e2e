"""The delivery workers' token bucket: a bounded burst, then the rate, on a fake clock."""

from __future__ import annotations

import pytest
from chat.pacing import TokenBucket


def test_a_full_bucket_gives_its_burst_at_once_then_its_rate() -> None:
    """Burst 3 at 10 a second: three posts now, the fourth in 0.1 s, refilled by the clock."""
    now = [0.0]
    bucket = TokenBucket(10, 3, clock=lambda: now[0])
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0, 0.1, 0.2])
    now[0] = 10.0  # refilled, but never past the burst
    assert [bucket.reserve() for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])


def test_ready_in_takes_nothing_until_take() -> None:
    """``ready_in`` only looks; ``take`` spends; an empty bucket answers the time to a token."""
    now = [0.0]
    bucket = TokenBucket(4, 1, clock=lambda: now[0])
    assert bucket.ready_in() == 0 and bucket.ready_in() == 0
    bucket.take()
    assert bucket.ready_in() == pytest.approx(0.25)
    now[0] = 0.25
    assert bucket.ready_in() == 0


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0.5)])
def test_a_bucket_that_could_never_pass_is_refused(rate: float, burst: float) -> None:
    """No rate or no whole token is a configuration mistake, said at once."""
    with pytest.raises(ValueError, match="token bucket"):
        TokenBucket(rate, burst)
