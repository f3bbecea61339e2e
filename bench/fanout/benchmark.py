"""The fan-out benchmark run: the stack and the clients started in processes of their own, every
measurement in turn, the results as JSON-able data."""

from __future__ import annotations

import resource
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from bench.children import Child
from bench.fanout.baseline import sequential_estimate, sequential_loop
from bench.fanout.config import FanoutConfig
from bench.fanout.pricing import under_lambda_shares
from bench.fanout.rig import Rig, compare, fresh_contenders, payload
from bench.paths import use_backend
from bench.tls import Certificate

use_backend()

from chat.config import MAX_ROOM_MAX_MEMBERS, EnvVar  # noqa: E402
from chat.connections import ConnectionId  # noqa: E402

_SPARE_FILES: Final = 1024  # beyond one socket per connection: logs, pipes, HTTP pools


def ensure_open_files(needed: int) -> int:
    """Raise this process's soft open-file limit to ``needed`` if the hard limit allows.

    The stack and the clients (children, which inherit the limit) each hold one socket per
    connection. Returns the limit now in force; raises ``RuntimeError`` saying what to do.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(
            f"the fan-out needs {needed} open files per process but the hard limit is {hard}: "
            f"raise it (ulimit -Hn {needed}) or pass smaller --fanout-sizes"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


def run(config: FanoutConfig, logs: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the fan-out benchmark; return its JSON-able results."""
    largest = max((*config.sizes, config.sweep_size if config.sweep else 0))
    ensure_open_files(largest + _SPARE_FILES)
    say(f"fan-out: starting the local stack ({config.delay_s * 1000:g} ms per @connections call)")
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tls_dir:
        tls = ["--tls-dir", tls_dir] if config.tls else []
        with Child(
            "bench.stack_process",
            # Every client is one address, and an address holds at most a quarter of a room:
            # the room's cap at its maximum lets one address fill the benchmark's room.
            [
                "--delay",
                str(config.delay_s),
                "--environment",
                f"{EnvVar.ROOM_MAX_MEMBERS.value}={MAX_ROOM_MAX_MEMBERS}",
                *tls,
            ],
            log_path=logs / "fanout-stack.log",
        ) as stack:
            say(f"fan-out: opening {largest} WebSocket connections through $connect")
            with Child(
                "bench.clients_process",
                [str(stack.hello["ws_url"]), str(largest)],
                log_path=logs / "fanout-clients.log",
                start_timeout_s=max(120.0, largest / 20),
            ) as clients:
                ids = [ConnectionId(cid) for cid in stack.ask("ids")["ids"]]
                if len(ids) != largest:
                    raise RuntimeError(
                        f"expected {largest} open connections, the stack has {len(ids)}"
                    )
                rig = Rig(
                    stack,
                    clients,
                    str(stack.hello["management_endpoint"]),
                    ids,
                    payload(),
                    tls_endpoint=stack.hello.get("management_tls_endpoint"),
                    trust=Certificate.in_directory(Path(tls_dir)).trusting()
                    if config.tls
                    else None,
                )
                results = _run_all(config, rig, say)
                results["clients_open_s"] = clients.hello["seconds"]
                stack.stop()  # first: the stack closes sockets without a $disconnect storm
    return results


def _run_all(config: FanoutConfig, rig: Rig, say: Callable[[str], None]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    reference_rows: list[dict[str, Any]] = []
    transport: list[dict[str, Any]] = []
    for size in config.sizes:
        contenders = fresh_contenders(rig, config.concurrency, reference=config.reference)
        measured = compare(
            rig,
            rig.ids[:size],
            contenders,
            concurrency=config.concurrency,
            repeats=config.repeats,
        )
        rows.append(measured[0])
        reference_rows.extend(row for row in measured if row["sender"] == "boto3")
        transport.extend(row for row in measured if row["sender"] != "boto3")
        say(
            f"fan-out: {size} recipients: "
            + ", ".join(
                f"{row['sender']} ({row['protocol']}) {row['wall_s']:.3f} s, "
                f"{row['cpu_ms_per_recipient']:.3f} ms CPU per recipient"
                for row in measured
            )
        )

    sweep: list[dict[str, Any]] = []
    for concurrency in config.sweep:
        sweep += compare(
            rig,
            rig.ids[: config.sweep_size],
            fresh_contenders(
                rig, concurrency, reference=config.reference, previous=False, tls=False
            ),
            concurrency=concurrency,
            repeats=config.sweep_repeats,
        )
        say(f"fan-out: concurrency {concurrency} at {config.sweep_size} recipients done")

    share = under_lambda_shares(config, rig, say)

    sequential: dict[int, dict[str, Any]] = {}
    for size in sorted(config.sizes):
        if size <= config.sequential_full_max:
            say(f"fan-out: sequential baseline, {size} posts one after another")
            sequential[size] = sequential_loop(rig, rig.ids[:size])
    for row in rows:
        row["sequential"] = sequential_estimate(row["recipients"], sequential)
        row["speedup"] = row["sequential"]["wall_s"] / row["wall_s"]
    for row in reference_rows:
        row["speedup"] = (
            sequential_estimate(row["recipients"], sequential)["wall_s"] / row["wall_s"]
        )
    return {
        "delay_ms": config.delay_s * 1000,
        "concurrency": config.concurrency,
        "repeats": config.repeats,
        "sequential_full_max": config.sequential_full_max,
        "rows": rows,
        "boto3_reference": reference_rows,
        "transport": transport,
        "sweep": sweep,
        "sweep_size": config.sweep_size,
        "share": share,
        "floor_s": {
            str(size): _floor(size, config.concurrency, config.delay_s) for size in config.sizes
        },
    }


def _floor(size: int, concurrency: int, delay_s: float) -> float:
    """The wall time if posting cost nothing but the injected delay."""
    return -(-size // concurrency) * delay_s
