"""The fan-out benchmark's section of the report: its sizes, transports and CPU shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from bench.tables import fixed, table, thousands


def fanout_section(data: dict[str, Any], markdown: bool) -> list[str]:
    tab = partial(table, markdown=markdown)
    rows = [
        [
            thousands(row["recipients"]),
            fixed(row["wall_s"]),
            fixed(row["cpu_ms_per_recipient"]),
            thousands(row["tcp_opened_first_run"]),
            thousands(row["tcp_opened_later_runs"]),
            thousands(row["tcp_accepted_kernel_first_run"]),
            fixed(data["floor_s"][str(row["recipients"])]),
            fixed(row["sequential"]["wall_s"], 2),
            row["sequential"]["how"],
            fixed(row["sequential"].get("cpu_ms_per_recipient")),
            f"{row['speedup']:.1f}x",
        ]
        for row in data["rows"]
    ]
    lines = [
        f"Fan-out: chat.broadcast.broadcast + the backend's sender (SenderPool.from_session) "
        f"against the local stack's @connections, {data['delay_ms']:g} ms per call, "
        f"FANOUT_CONCURRENCY={data['concurrency']}, median of {data['repeats']} broadcasts",
        tab(
            [
                "recipients",
                "wall s",
                "CPU ms/recip",
                "TCP opened (1st)",
                "(later)",
                "accepted (kernel)",
                "floor s",
                "sequential s",
                "sequential is",
                "seq CPU ms/recip",
                "speed-up",
            ],
            rows,
            align="rrrrrrrrlrr",
        ),
        "",
    ]
    if data["boto3_reference"]:
        lines += [
            "Reference, taking turns with the rows above: the same broadcast() with the boto3 "
            "sender (bench.boto3_sender.boto3_pool, one post_to_connection per recipient)",
            tab(
                ["recipients", "wall s", "CPU ms/recip", "TCP opened (1st)", "speed-up"],
                [
                    [
                        thousands(row["recipients"]),
                        fixed(row["wall_s"]),
                        fixed(row["cpu_ms_per_recipient"]),
                        thousands(row["tcp_opened_first_run"]),
                        f"{row['speedup']:.1f}x",
                    ]
                    for row in data["boto3_reference"]
                ],
            ),
            "",
        ]
    lines += _fanout_transport(data, tab) + _fanout_share(data, tab)
    if data["sweep"]:
        lines += [
            f"Concurrency at {data['sweep_size']:,} recipients (median of the runs)",
            tab(
                ["sender", "concurrency", "wall s", "CPU ms/recip", "TCP opened (1st)"],
                [
                    [
                        row["sender"],
                        str(row["concurrency"]),
                        fixed(row["wall_s"]),
                        fixed(row["cpu_ms_per_recipient"]),
                        thousands(row["tcp_opened_first_run"]),
                    ]
                    for row in data["sweep"]
                ],
                align="lrrrr",
            ),
            "",
        ]
    return lines


def _fanout_transport(data: dict[str, Any], tab: Callable[..., str]) -> list[str]:
    by_key = {(r["recipients"], r["protocol"], r["sender"]): r for r in data.get("transport", [])}
    keys = sorted({(size, protocol) for size, protocol, _ in by_key})
    rows = []
    for size, protocol in keys:
        ours, before = (
            by_key.get((size, protocol, "backend")),
            by_key.get((size, protocol, "previous")),
        )
        if ours is None or before is None:
            continue
        rows.append(
            [
                thousands(size),
                protocol.upper(),
                fixed(ours["wall_s"]),
                fixed(ours["cpu_ms_per_recipient"]),
                thousands(ours["tcp_opened_first_run"]),
                fixed(before["wall_s"]),
                fixed(before["cpu_ms_per_recipient"]),
                f"{ours['cpu_ms_per_recipient'] / before['cpu_ms_per_recipient']:.2f}x",
            ]
        )
    if not rows:
        return []
    return [
        "The backend's sender (one thread, posts multiplexed on a selector) and the previous one "
        "(bench.threaded_sender: http.client, a thread per post in flight), taking turns, over "
        "HTTP and HTTPS (the stack's TLS port, a certificate made at start), "
        f"FANOUT_CONCURRENCY={data['concurrency']}",
        tab(
            [
                "recipients",
                "protocol",
                "wall s",
                "CPU ms/recip",
                "TCP opened (1st)",
                "previous wall s",
                "previous CPU ms/recip",
                "CPU ratio",
            ],
            rows,
            align="rlrrrrrr",
        ),
        "",
    ]


def _fanout_share(data: dict[str, Any], tab: Callable[..., str]) -> list[str]:
    share = data.get("share") or {}
    if "skipped" in share:
        return [f"Lambda CPU share: SKIPPED ({share['skipped']})", ""]
    rows = share.get("rows") or []
    if not rows:
        return []
    cheapest = share.get("cheapest")
    goal = f"{share['target_size']:,} recipients within {share['target_s']:g} s"
    verdict = (
        f"no setting delivered {goal}"
        if cheapest is None
        else f"cheapest setting delivering {goal}: "
        f"{cheapest['memory_mb']} MB, FANOUT_CONCURRENCY={cheapest['concurrency']} "
        f"({cheapest['wall_s']:.3f} s, {cheapest['gb_s']:.4f} GB-s, "
        f"${cheapest['usd'] * 1e6:.2f} per million broadcasts)"
    )
    return [
        f"Under Lambda's CPU share (this process in a cgroup with cpu.cfs_quota_us / "
        f"cpu.cfs_period_us = memory / 1,769 MB), the backend's broadcast over "
        f"{share['protocol'].upper()}; wall time of the warm broadcasts (median; 'first' opens "
        f"the connections), cost at ${share['usd_per_gb_s']} per GB-s (arm64)",
        tab(
            [
                "memory MB",
                "share",
                "measured",
                "concurrency",
                "recipients",
                "wall s",
                "first s",
                "CPU ms/recip",
                "GB-s",
                "$ per 1M broadcasts",
                "lost",
            ],
            [
                [
                    str(row["memory_mb"]),
                    f"{row['share']:.3f}",
                    "/".join(f"{value:.2f}" for value in row.get("measured_share", [])),
                    str(row["concurrency"]),
                    thousands(row["recipients"]),
                    fixed(row["wall_s"]),
                    fixed(row["wall_s_first_run"]),
                    fixed(row["cpu_ms_per_recipient"]),
                    f"{row['gb_s']:.4f}",
                    f"{row['usd'] * 1e6:.2f}",
                    str(row["recipients"] - min(row["delivered"], row["frames_received_min"])),
                ]
                for row in rows
            ],
        ),
        verdict,
        "",
    ]
