"""``bench.tellcost``: what deciding between the direct path and the delivery workers reads."""

from __future__ import annotations

from chat.room_shards import ROOM_SHARDS

from bench.tellcost import measure

THRESHOLD = 16


def test_each_way_of_deciding_is_priced_and_only_the_bounded_ones_stay_bounded() -> None:
    """In a room within a threshold of 16, every way decides on the direct path; in a room of
    600, every way sends it to the jobs, the bounded read reading at most the threshold and
    the shards' rounding, the counters no index entry, and the old prefix read more (its
    shards' first pages); in the small room the counters come on top of the whole read."""
    costs = {(c.size, c.way): c for c in measure([THRESHOLD, 600], THRESHOLD)}
    assert not any(costs[THRESHOLD, way].jobs for way in ("prefix", "bounded", "counters"))
    assert all(costs[600, way].jobs for way in ("prefix", "bounded", "counters"))
    bounded, counters, prefix = (costs[600, w] for w in ("bounded", "counters", "prefix"))
    assert bounded.entries <= THRESHOLD + ROOM_SHARDS - 1
    assert (bounded.running, counters.running, counters.entries) == (0, 0, 0)
    assert counters.read_units == 0.5 * ROOM_SHARDS
    assert prefix.entries > bounded.entries
    small = costs[THRESHOLD, "counters"]  # the counters, then the same read as "bounded"
    assert (small.entries, costs[THRESHOLD, "bounded"].entries) == (THRESHOLD, THRESHOLD)
    assert small.requests >= ROOM_SHARDS + 1
