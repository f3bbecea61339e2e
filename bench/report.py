"""The results as a text table (``results.txt``) and the machine they were measured on."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from bench.paths import ROOT

_PACKAGES: Final = ("boto3", "botocore", "urllib3", "aiohttp", "moto", "matplotlib")


def machine() -> dict[str, Any]:
    """Cores, CPU, Python, package versions, commit, time and load: what the numbers ran on."""
    versions: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": versions,
        "commit": _commit(),
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_start": load_average(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages: how busy the machine was (others' work too)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: str = "",
    *,
    markdown: bool = False,
) -> str:
    """A table, plain text or Markdown; ``align`` has one ``l`` or ``r`` per column
    (default: ``lrr...``)."""
    align = align or "l" + "r" * (len(headers) - 1)
    if markdown:
        rule = "|".join("---:" if side == "r" else "---" for side in align)
        lines = [headers, *rows]
        body = ["| " + " | ".join(str(cell) for cell in cells) + " |" for cells in lines]
        return "\n".join([body[0], f"|{rule}|", *body[1:]])
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if side == "l" else str(cell).rjust(width)
            for cell, width, side in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _s(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render(results: dict[str, Any], *, markdown: bool = False) -> str:
    """The whole report: the machine, one table per benchmark, then the targets.

    ``markdown`` renders Markdown tables, each block a paragraph, for docs/performance.md.
    """
    meta = results["machine"]
    out = [
        f"awsome-chat benchmarks ({results['mode']} run), {meta['date_utc']}, "
        f"commit {meta['commit']}",
        f"machine: {meta['cores']} cores, {meta['cpu']}, Python {meta['python']}, "
        + ", ".join(f"{k} {v}" for k, v in meta["packages"].items()),
        f"load average (1, 5, 15 min) at start {meta['load_average_start']}, "
        f"at end {meta.get('load_average_end')}",
        "",
    ]
    sections = {
        "fanout": _fanout,
        "coldstart": _coldstart,
        "readcost": _readcost,
        "historycost": _historycost,
        "throughput": _throughput,
    }
    for name, section in sections.items():
        data = results["benchmarks"].get(name)
        if data is None:
            continue
        lines = section(data, markdown)
        load = data.get("load_average", {})
        calibration = data.get("calibration_cpu_ms", {})
        lines.insert(
            -1,
            f"({data.get('seconds', 0):.0f} s from {data.get('started_utc', '?')}, commit "
            f"{data.get('commit', '?')}; load average before {load.get('before')}, after "
            f"{load.get('after')}; CPU calibration loop {_s(calibration.get('before'), 0)} ms "
            f"before, {_s(calibration.get('after'), 0)} ms after)",
        )
        out += lines
    out += [
        "Targets",
        table(
            markdown=markdown,
            headers=["benchmark", "target", "goal", "measured", "met"],
            rows=[
                [t["benchmark"], t["name"], t["goal"], t["value"], "yes" if t["met"] else "NO"]
                for t in results["targets"]
            ],
            align="lllll",
        ),
        "",
    ]
    if markdown:
        return "\n\n".join(block for block in out if block) + "\n"
    return "\n".join(out)


def _fanout(data: dict[str, Any], markdown: bool) -> list[str]:
    tab = partial(table, markdown=markdown)
    rows = [
        [
            _n(row["recipients"]),
            _s(row["wall_s"]),
            _s(row["cpu_ms_per_recipient"]),
            _n(row["tcp_opened_first_run"]),
            _n(row["tcp_opened_later_runs"]),
            _n(row["tcp_accepted_kernel_first_run"]),
            _s(data["floor_s"][str(row["recipients"])]),
            _s(row["sequential"]["wall_s"], 2),
            row["sequential"]["how"],
            _s(row["sequential"].get("cpu_ms_per_recipient")),
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
                        _n(row["recipients"]),
                        _s(row["wall_s"]),
                        _s(row["cpu_ms_per_recipient"]),
                        _n(row["tcp_opened_first_run"]),
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
                        _s(row["wall_s"]),
                        _s(row["cpu_ms_per_recipient"]),
                        _n(row["tcp_opened_first_run"]),
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
                _n(size),
                protocol.upper(),
                _s(ours["wall_s"]),
                _s(ours["cpu_ms_per_recipient"]),
                _n(ours["tcp_opened_first_run"]),
                _s(before["wall_s"]),
                _s(before["cpu_ms_per_recipient"]),
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
                    _n(row["recipients"]),
                    _s(row["wall_s"]),
                    _s(row["wall_s_first_run"]),
                    _s(row["cpu_ms_per_recipient"]),
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


def _coldstart(data: dict[str, Any], markdown: bool) -> list[str]:
    tab = partial(table, markdown=markdown)
    names = {
        "floor": "floor: import boto3 + DynamoDB and apigatewaymanagementapi clients",
        "floor_post": "floor + one post_to_connection",
        "ping": "chat.handler: import + first ping (runtime, one post)",
        "connect": "chat.handler: import + first $connect (PutItem)",
        "ping_source": "chat.handler, no bytecode (compiled at import): import + first ping",
    }
    rows = []
    for key, label in names.items():
        variant = data["variants"][key]
        rows.append(
            [
                label,
                _s(variant["in_process_s"] * 1000, 1),
                _s(variant["in_process_s_min"] * 1000, 1),
                f"{variant.get('ratio_in_process', 1.0):.2f}x",
                _s(variant["process_s"] * 1000, 1),
                f"{variant.get('ratio_process', 1.0):.2f}x",
                f"{variant.get('ratio_cpu', 1.0):.2f}x",
            ]
        )
    imports = data["importtime"]
    return [
        f"Cold start: median of {data['repeats']} fresh processes per variant, code from "
        f"{data['code']}",
        tab(
            [
                "variant",
                "in-process ms",
                "min ms",
                "vs floor",
                "whole process ms",
                "vs floor",
                "CPU vs floor",
            ],
            rows,
        ),
        f"python -X importtime, import chat.handler + first $connect (median): chat.* self "
        f"{imports['chat_self_ms']:.1f} ms (as deployed; "
        f"{data['importtime_source']['chat_self_ms']:.1f} ms with no bytecode), botocore.* self "
        f"{imports.get('botocore_self_ms', 0.0):.1f} ms, boto3 cumulative "
        f"{imports['boto3_cumulative_ms']:.1f} ms, all imports {imports['total_ms']:.1f} ms",
        "",
    ]


def _historycost(data: dict[str, Any], markdown: bool) -> list[str]:
    tab = partial(table, markdown=markdown)
    rows = [
        [
            _n(row["room_messages"]),
            _n(row["page"]),
            *(
                f"{_n(row['pages'][name]['items_read'])} ({row['pages'][name]['read_units']:g})"
                for name in ("latest", "before", "after")
            ),
            f"{_n(row['whole_room']['items_read'])} ({row['whole_room']['read_units']:g})",
            _s(row["populate_s"], 1),
        ]
        for row in data["rows"]
    ]
    return [
        f"History cost per page: items read (strongly consistent read units by DynamoDB's rule; "
        f"message item {data['item_bytes']} B), against reading the whole room",
        tab(
            [
                "room messages",
                "page",
                "newest page",
                "page before the middle",
                "page after the middle",
                "whole room",
                "fill s",
            ],
            rows,
        ),
        "",
    ]


def _readcost(data: dict[str, Any], markdown: bool) -> list[str]:
    tab = partial(table, markdown=markdown)
    rows = [
        [
            _n(row["table_items"]),
            _n(row["room_size"]),
            _n(row["query"]["items_read"]),
            f"{row['query']['read_units']:g}",
            _n(row["scan"]["items_read"]),
            f"{row['scan']['read_units']:g}",
            f"{row['units_ratio']:.0f}x",
            _s(row["populate_s"], 1),
        ]
        for row in data["rows"]
    ]
    return [
        f"Read cost per broadcast (eventually consistent read units by DynamoDB's rule; item "
        f"{data['item_bytes']} B, index entry {data['index_entry_bytes']} B; plus 1 RCU for the "
        f"sender's strongly consistent GetItem)",
        tab(
            [
                "table items",
                "room",
                "Query items read",
                "Query RCU",
                "Scan items read",
                "Scan RCU",
                "Scan/Query",
                "fill s",
            ],
            rows,
        ),
        "",
    ]


def _throughput(data: dict[str, Any], markdown: bool) -> list[str]:
    tab = partial(table, markdown=markdown)
    rows = [
        [
            str(row["clients"]),
            row.get("mode", "closed loop"),
            _s(row["messages_per_s"], 1),
            _s(row["deliveries_per_s"], 0),
            "-"
            if row.get("deliveries_vs_one_client") is None
            else f"{row['deliveries_vs_one_client']:.1f}x",
            _s(row["latency_ms_p50"], 1),
            _s(row["latency_ms_p99"], 1),
            str(row["error_frames"]),
        ]
        for row in data["rows"]
    ]
    return [
        "Local throughput: K clients in one room through the whole local stack; closed loop: "
        "each sends its next message when its previous one came back; paced: "
        f"{_paced_rate(data)} messages/s in all, evenly spread",
        tab(
            [
                "clients K",
                "mode",
                "messages/s",
                "deliveries/s",
                "vs 1 client",
                "latency p50 ms",
                "p99 ms",
                "errors",
            ],
            rows,
            align="rlrrrrrr",
        ),
        "",
    ]


def _paced_rate(data: dict[str, Any]) -> str:
    rates = {row["offered_messages_per_s"] for row in data["rows"] if row.get("mode") == "paced"}
    return ", ".join(f"{rate:g}" for rate in sorted(rates)) or "-"
