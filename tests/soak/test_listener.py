"""The steady load's fixed-size record of deliveries (soak.listener.Deliveries)."""

from __future__ import annotations

import math

import pytest

from soak.listener import BUCKETS, Deliveries, steady_text


def _sent(count: int) -> Deliveries:
    deliveries = Deliveries()
    for n in range(count):
        deliveries.sent(n, 1000.0 + n)
    return deliveries


def test_first_arrivals_are_counted_and_repeats_are_duplicates() -> None:
    deliveries = _sent(3)
    deliveries.arrived("a", steady_text(0), 1000.010)
    deliveries.arrived("b", steady_text(0), 1000.020)
    deliveries.arrived("a", steady_text(0), 1000.500)  # a again: shown once, counted as a dup
    deliveries.arrived("a", steady_text(2), 1002.030)
    assert (deliveries.arrivals, deliveries.duplicates, deliveries.unknown) == (3, 1, 0)
    assert deliveries.missing(members=2) == 3  # a: message 1; b: messages 1 and 2


def test_quantiles_come_from_first_arrivals_to_the_millisecond() -> None:
    deliveries = _sent(100)
    for n in range(100):
        # n + 1.5 ms late: bucket n + 1, clear of rounding at the bucket edges
        deliveries.arrived("a", steady_text(n), 1000.0 + n + (n + 1.5) / 1000)
    deliveries.arrived("a", steady_text(99), 1099.0 + 5.0)  # a late duplicate: not a latency
    assert deliveries.quantile_ms(0.5) == 51.0
    assert deliveries.quantile_ms(0.99) == 100.0
    assert deliveries.slowest_s == pytest.approx(0.1005)


def test_a_delay_beyond_the_histogram_lands_in_its_last_bucket_and_keeps_its_maximum() -> None:
    deliveries = _sent(1)
    deliveries.arrived("a", steady_text(0), 1000.0 + 90.0)
    assert deliveries.quantile_ms(0.5) == BUCKETS - 1
    assert deliveries.slowest_s == pytest.approx(90.0)


def test_texts_that_were_not_sent_are_unknown_not_deliveries() -> None:
    deliveries = _sent(1)
    for text in ("hello", steady_text(1), "steady x", None, 7):
        deliveries.arrived("a", text, 1000.0)
    assert (deliveries.arrivals, deliveries.unknown) == (0, 5)
    assert math.isnan(deliveries.quantile_ms(0.5))


def test_messages_must_be_recorded_in_the_order_they_are_sent() -> None:
    deliveries = _sent(2)
    with pytest.raises(ValueError, match="out of order"):
        deliveries.sent(5, 1005.0)
