"""Lambda's CPU share: the backend's broadcast with this process under each memory size's share
(``bench.cpushare``), priced in GB-seconds and dollars; the cheapest fit setting."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bench.cpushare import (
    ARM64_USD_PER_GB_S,
    CpuShareUnavailable,
    check_available,
    cpu_share,
    gb_seconds,
    lambda_share,
    measured_share,
    usd,
)
from bench.fanout.config import FanoutConfig
from bench.fanout.rig import Rig, compare, fresh_contenders
from bench.measure import median


def under_lambda_shares(
    config: FanoutConfig, rig: Rig, say: Callable[[str], None]
) -> dict[str, Any]:
    """The backend's broadcast over HTTPS (HTTP without TLS) with this process under each
    memory size's CPU share; ``{"skipped": why}`` where no cgroup can be made."""
    if not config.share_memory:
        return {"skipped": "not asked for"}
    try:
        check_available()
    except CpuShareUnavailable as error:
        say(f"fan-out: SKIPPED the Lambda CPU share runs: {error}")
        return {"skipped": str(error)}
    protocol = "https" if config.tls and rig.tls_endpoint is not None else "http"
    rows: list[dict[str, Any]] = []
    sizes = [size for size in config.share_sizes if size <= len(rig.ids)]
    largest = max(sizes, default=0)
    for memory in config.share_memory:
        share = lambda_share(memory)
        try:
            with cpu_share(share):
                before = measured_share()
                for concurrency in config.share_concurrency:
                    for size in sizes:
                        contender = fresh_contenders(
                            rig, concurrency, reference=False, previous=False, tls=config.tls
                        )[-1]
                        # One broadcast more than asked: the first opens the connections
                        # (TLS handshakes), the figure is the warm ones', as in a warm Lambda.
                        repeats = 1 + (1 if size == largest else config.share_repeats)
                        row = compare(
                            rig,
                            rig.ids[:size],
                            [contender],
                            concurrency=concurrency,
                            repeats=repeats,
                        )[0]
                        rows.append(_priced(row, memory, share))
                after = measured_share()
        except CpuShareUnavailable as error:
            say(f"fan-out: SKIPPED the Lambda CPU share runs: {error}")
            return {"skipped": str(error), "rows": rows}
        for row in rows:
            if row["memory_mb"] == memory:
                row["measured_share"] = [before, after]
        say(
            f"fan-out: {memory} MB share {share:.3f} vCPU (measured {before:.3f}, {after:.3f}) done"
        )
    return {
        "protocol": protocol,
        "rows": rows,
        "usd_per_gb_s": ARM64_USD_PER_GB_S,
        "cheapest": cheapest_setting(rows, config.reference_size, config.share_target_s),
        "target_size": config.reference_size,
        "target_s": config.share_target_s,
    }


def _priced(row: dict[str, Any], memory: int, share: float) -> dict[str, Any]:
    warm = median(row["wall_s_runs"][1:]) if len(row["wall_s_runs"]) > 1 else row["wall_s"]
    warm_cpu = median([run["cpu_s"] for run in row["runs"][1:]]) if len(row["runs"]) > 1 else None
    return {
        **row,
        "wall_s": warm,
        "cpu_ms_per_recipient": row["cpu_ms_per_recipient"]
        if warm_cpu is None
        else warm_cpu / row["recipients"] * 1000,
        "memory_mb": memory,
        "share": share,
        "gb_s": gb_seconds(memory, warm),
        "usd": usd(memory, warm),
    }


def cheapest_setting(
    rows: Sequence[dict[str, Any]], size: int, target_s: float
) -> dict[str, Any] | None:
    """The row of ``size`` recipients within ``target_s`` that costs the least per broadcast
    (ties: the smaller memory, then the smaller concurrency), or ``None`` if none fits."""
    fit = [row for row in rows if row["recipients"] == size and row["wall_s"] <= target_s]
    if not fit:
        return None
    best = min(fit, key=lambda row: (row["gb_s"], row["memory_mb"], row["concurrency"]))
    return {key: best[key] for key in ("memory_mb", "concurrency", "wall_s", "gb_s", "usd")}
