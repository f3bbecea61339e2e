"""The issue's fan-out targets, evaluated on the results."""

from __future__ import annotations

from typing import Any

from bench.fanout.config import NAME, FanoutConfig
from bench.measure import Target


def targets(results: dict[str, Any], config: FanoutConfig) -> list[Target]:
    """The issue's fan-out targets, evaluated on ``results``."""
    by_size = {row["recipients"]: row for row in results["rows"]}
    reference = by_size.get(config.reference_size) or by_size[max(by_size)]
    size = reference["recipients"]
    found = [
        Target(
            NAME,
            f"wall time, {size} recipients",
            "<= 1.0 s",
            f"{reference['wall_s']:.3f} s",
            reference["wall_s"] <= 1.0,
        ),
        Target(
            NAME,
            f"speed-up over sequential, {size} recipients",
            ">= 20x",
            f"{reference['speedup']:.1f}x",
            reference["speedup"] >= 20,
        ),
        Target(
            NAME,
            f"CPU per recipient, {size} recipients",
            "<= 0.5 ms",
            f"{reference['cpu_ms_per_recipient']:.3f} ms",
            reference["cpu_ms_per_recipient"] <= 0.5,
        ),
    ]
    found += _transport_targets(results, size)
    found += _share_targets(results, config)
    large = by_size.get(config.large_size)
    if large is not None and large is not reference:
        growth = (large["wall_s"] / large["recipients"]) / (reference["wall_s"] / size)
        found.append(
            Target(
                NAME,
                f"growth {size} -> {large['recipients']} (time per recipient, ratio)",
                "about linear (<= 1.25)",
                f"{growth:.2f}",
                growth <= 1.25,
            )
        )
    return found


def _transport_targets(results: dict[str, Any], size: int) -> list[Target]:
    rows = {
        (row["sender"], row["protocol"]): row
        for row in results.get("transport", [])
        if row["recipients"] == size
    }
    backend, previous = rows.get(("backend", "https")), rows.get(("previous", "https"))
    if backend is None or previous is None:
        return []
    ratio = backend["cpu_ms_per_recipient"] / previous["cpu_ms_per_recipient"]
    return [
        Target(
            NAME,
            f"CPU per recipient over HTTPS, {size} recipients, vs the previous sender",
            "<= 0.5x",
            f"{ratio:.2f}x ({backend['cpu_ms_per_recipient']:.3f} vs "
            f"{previous['cpu_ms_per_recipient']:.3f} ms)",
            ratio <= 0.5,
        )
    ]


def _share_targets(results: dict[str, Any], config: FanoutConfig) -> list[Target]:
    share = results.get("share", {})
    rows = share.get("rows", [])
    if "skipped" in share or not rows:
        return []
    found: list[Target] = []
    at_1024 = [
        row
        for row in rows
        if row["memory_mb"] == 1024 and row["recipients"] == config.reference_size
    ]
    if at_1024:
        best = min(at_1024, key=lambda row: row["wall_s"])
        found.append(
            Target(
                NAME,
                f"{config.reference_size} recipients under the 1,024 MB share (best concurrency)",
                f"<= {config.share_target_s:g} s",
                f"{best['wall_s']:.3f} s at {best['concurrency']}",
                best["wall_s"] <= config.share_target_s,
            )
        )
    smallest = min(row["memory_mb"] for row in rows)
    large = [
        row
        for row in rows
        if row["memory_mb"] == smallest and row["recipients"] == config.large_size
    ]
    if large:
        best = min(large, key=lambda row: row["wall_s"])
        lost = best["recipients"] - min(best["delivered"], best["frames_received_min"])
        found.append(
            Target(
                NAME,
                f"{config.large_size} recipients under the {smallest} MB share, nothing lost",
                f"<= {config.integration_timeout_s:g} s, 0 lost",
                f"{best['wall_s']:.3f} s at {best['concurrency']}, {lost} lost",
                best["wall_s"] <= config.integration_timeout_s and lost == 0,
            )
        )
    return found
