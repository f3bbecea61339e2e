"""The results as a text table (``results.txt``): the machine, one section per benchmark, the
targets."""

from __future__ import annotations

from functools import partial
from typing import Any

from bench.fanout.report import fanout_section
from bench.tables import fixed, table, thousands


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
        "fanout": fanout_section,
        "coldstart": _coldstart,
        "readcost": _readcost,
        "historycost": _historycost,
        "connectcost": _connectcost,
        "workers": _workers,
        "coldbroadcast": _coldbroadcast,
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
            f"{load.get('after')}; CPU calibration loop {fixed(calibration.get('before'), 0)} ms "
            f"before, {fixed(calibration.get('after'), 0)} ms after)",
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
                fixed(variant["in_process_s"] * 1000, 1),
                fixed(variant["in_process_s_min"] * 1000, 1),
                f"{variant.get('ratio_in_process', 1.0):.2f}x",
                fixed(variant["process_s"] * 1000, 1),
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
            thousands(row["room_messages"]),
            thousands(row["page"]),
            *(
                f"{thousands(page['items_read'])} ({page['read_units']:g})"
                for page in (row["pages"][name] for name in ("latest", "before", "after"))
            ),
            f"{thousands(row['whole_room']['items_read'])} ({row['whole_room']['read_units']:g})",
            fixed(row["populate_s"], 1),
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
            thousands(row["table_items"]),
            thousands(row["room_size"]),
            thousands(row["query"]["items_read"]),
            f"{row['query']['read_units']:g}",
            thousands(row["scan"]["items_read"]),
            f"{row['scan']['read_units']:g}",
            f"{row['units_ratio']:.0f}x",
            fixed(row["populate_s"], 1),
        ]
        for row in data["rows"]
    ]
    return [
        f"Read cost per broadcast (eventually consistent read units by DynamoDB's rule; item "
        f"{data['item_bytes']} B, index entry {data['index_entry_bytes']} B; the sender's item "
        f"is read by the UpdateItem that spends its rate limit: a write unit, no read)",
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
            fixed(row["messages_per_s"], 1),
            fixed(row["deliveries_per_s"], 0),
            "-"
            if row.get("deliveries_vs_one_client") is None
            else f"{row['deliveries_vs_one_client']:.1f}x",
            fixed(row["latency_ms_p50"], 1),
            fixed(row["latency_ms_p99"], 1),
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


def _connectcost(data: dict[str, Any], markdown: bool) -> list[str]:
    rows = [
        [
            label,
            ", ".join(cost["requests"]),
            thousands(cost["write_units"]),
            f"{cost['read_units']:g}",
        ]
        for label, cost in (
            ("empty room", data["empty"]),
            (f"room of {thousands(data['members'])}", data["full"]),
        )
    ]
    return [
        f"$connect's DynamoDB units (DynamoDB's rules on the items each request touched, read "
        f"before and after it; a transaction's writes count twice; room cap "
        f"{thousands(data['room_cap'])}; the big room written in {fixed(data['fill_s'], 1)} s): "
        f"write units x{data['write_ratio']:.2f} in the big room",
        table(["$connect into", "requests (items)", "WCU", "RCU"], rows, "llrr", markdown=markdown),
        "",
    ]


def _workers(data: dict[str, Any], markdown: bool) -> list[str]:
    rows = [
        [
            thousands(r["size"]),
            fixed(r["to_last_delivery_s"], 2),
            fixed(r["floor_s"], 2),
            f"{r['to_last_delivery_s'] / r['floor_s']:.2f}x",
            fixed(r["sending_s"] * 1000, 0),
            thousands(r["delivered"]),
            thousands(r["lost"]),
            fixed(r["cpu_s_per_1000"]),
            fixed(r["gb_s_per_1000"]),
            f"{thousands(r['biggest_shard'])} / {fixed(r['pacing_s'], 2)}",
            fixed(r["start_lag_s"] * 1000, 0),
            fixed(r["overrun_s"] * 1000, 0),
        ]
        for r in data["rows"]
    ]
    quota = all(r["quota"] for r in data["rows"])
    return [
        f"Big rooms through the delivery workers (simulated @connections, "
        f"{data['delay_ms']:g} ms a post; 8 workers at {data['worker_rate']:g} posts a second "
        f"after a burst of {data['worker_burst']:g}, {data['post_rate']:,} in all; CPU quota for "
        f"{data['memory_mb']} MB {'applied' if quota else 'NOT applied'})",
        table(
            [
                "recipients",
                "last delivery s",
                "floor s",
                "ratio",
                "sending ms",
                "delivered",
                "lost",
                "CPU-s/1,000",
                "GB-s/1,000",
                "biggest shard / its pacing s",
                "last start ms",
                "beyond pacing ms",
            ],
            rows,
            markdown=markdown,
        ),
        "",
    ]


def _coldbroadcast(data: dict[str, Any], markdown: bool) -> list[str]:
    rows = [
        [
            f"{case}, {thousands(r['size'])}",
            fixed(r["cold"]["wall_s"], 2),
            fixed(r["warm"]["wall_s"], 2),
            fixed(r["cold"]["cpu_s"] * 1000, 0),
            fixed(r["warm"]["cpu_s"] * 1000, 0),
            thousands(r["cold"]["opened"]),
            fixed(r["handshake_cpu_ms"], 1),
            fixed(r["bound_s"], 2),
        ]
        for case, r in data["cases"].items()
    ]
    return [
        f"A cold container's first broadcast against its second (a fresh process under the CPU "
        f"share for {data['memory_mb']} MB; HTTPS endpoint on loopback, {data['delay_ms']:g} ms "
        f"a post; at most {data['concurrency']} connections: FANOUT_CONCURRENCY)",
        table(
            [
                "case",
                "first s",
                "second s",
                "first CPU ms",
                "second CPU ms",
                "opened",
                "CPU ms per connection",
                "function's handshakes, at most s",
            ],
            rows,
            markdown=markdown,
        ),
        "",
    ]
