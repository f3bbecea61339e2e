"""``python -m bench``: run the benchmarks, print the table, write ``bench/results/``.

    python -m bench                      # everything, default sizes (several minutes on 2 cores)
    python -m bench --smoke              # tiny sizes: proves the benchmarks work (seconds)
    python -m bench --only fanout --only readcost --large-table 20000
    python -m bench --only coldstart --merge   # measure one again, keep the others

Writes ``results.json`` (every figure, the machine, the targets), ``results.txt`` (the tables),
``results.md`` (the same as Markdown, for docs/performance.md) and ``fanout.png`` (when the
fan-out ran) into ``--out``. Missed targets are reported, not
errors; a benchmark that fails is recorded with its error and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from bench import (
    coldbroadcast,
    coldstart,
    connectcost,
    fanout,
    historycost,
    readcost,
    throughput,
    workers,
)
from bench.aws import isolate_environment
from bench.machine import load_average, machine
from bench.measure import Target, calibrate
from bench.paths import RESULTS
from bench.plot import fanout_plot
from bench.report import render

BENCHMARKS: Final = (
    "fanout",
    "coldstart",
    "readcost",
    "historycost",
    "connectcost",
    "workers",
    "coldbroadcast",
    "throughput",
)


@dataclass(frozen=True)
class Plan:
    """Every benchmark's configuration for one run."""

    fanout: fanout.FanoutConfig
    coldstart: coldstart.ColdStartConfig
    readcost: readcost.ReadCostConfig
    historycost: historycost.HistoryCostConfig
    connectcost: connectcost.ConnectCostConfig
    workers: workers.WorkersConfig
    coldbroadcast: coldbroadcast.ColdBroadcastConfig
    throughput: throughput.ThroughputConfig


FULL: Final = Plan(
    fanout.FanoutConfig(),
    coldstart.ColdStartConfig(),
    readcost.ReadCostConfig(),
    historycost.HistoryCostConfig(),
    connectcost.ConnectCostConfig(),
    workers.WorkersConfig(),
    coldbroadcast.ColdBroadcastConfig(),
    throughput.ThroughputConfig(),
)
SMOKE: Final = Plan(
    fanout.FanoutConfig(
        sizes=(4, 12),
        repeats=1,
        sequential_full_max=4,  # 12 is extrapolated: both paths run
        sweep=(4,),
        sweep_size=12,
        sweep_repeats=1,
        reference_size=4,
        large_size=12,
        share_memory=(1024,),
        share_sizes=(4, 12),
        share_concurrency=(4,),
        share_repeats=1,
    ),
    coldstart.ColdStartConfig(repeats=1, importtime_repeats=1),
    readcost.ReadCostConfig(small_table=40, large_table=120, room_size=10),
    historycost.HistoryCostConfig(small_room=30, large_room=90, page=5),
    connectcost.ConnectCostConfig(members=200),
    workers.WorkersConfig(sizes=(100, 1000)),
    coldbroadcast.ColdBroadcastConfig(direct=40, worker=60, concurrency=8),
    throughput.ThroughputConfig(
        clients=(1, 3), seconds=1.0, warmup_s=2.0, paced_clients=(3,), paced_room_rate=10.0
    ),
)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of sizes"
        ) from None
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError("sizes must be whole numbers of at least 2")
    return sizes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds in all")
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run this benchmark (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--fanout-sizes", type=_sizes, help="room sizes, e.g. 100,1000,5000")
    parser.add_argument(
        "--sequential-full-max",
        type=_positive,
        help="measure the sequential loop in full up to this size, extrapolate beyond",
    )
    parser.add_argument("--large-table", type=_positive, help="the read-cost large table's size")
    parser.add_argument("--coldstart-repeats", type=_positive, help="fresh processes per variant")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other benchmarks' results already in --out (re-run a noisy one alone)",
    )
    return parser.parse_args(argv)


def _plan(args: argparse.Namespace) -> Plan:
    plan = SMOKE if args.smoke else FULL
    fan = plan.fanout
    if args.fanout_sizes:
        sizes = args.fanout_sizes
        fan = replace(fan, sizes=sizes, sweep_size=min(fan.sweep_size, max(sizes)))
    if args.sequential_full_max:
        fan = replace(fan, sequential_full_max=args.sequential_full_max)
    read = plan.readcost
    if args.large_table:
        if args.large_table <= read.small_table:
            raise SystemExit(f"--large-table must exceed the small table ({read.small_table})")
        read = replace(read, large_table=args.large_table)
    cold = plan.coldstart
    if args.coldstart_repeats:
        cold = replace(cold, repeats=args.coldstart_repeats)
    return replace(plan, fanout=fan, readcost=read, coldstart=cold)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(
    plan: Plan,
    selected: Sequence[str],
    out: Path,
    say: Callable[[str], None],
    *,
    mode: str,
    merge: bool = False,
) -> dict[str, Any]:
    """Run the ``selected`` benchmarks of ``plan``; write and return the results.

    With ``merge``, the other benchmarks' results already in ``out`` are kept (each benchmark
    carries its own baseline, so a noisy one can be measured again alone).
    """
    isolate_environment()
    logs = out / "logs"
    results: dict[str, Any] = {
        "mode": mode,
        "machine": machine(),
        "benchmarks": {},
        "errors": {},
        "targets": [],
    }
    if merge:
        results = _previous(out / "results.json", mode, selected, results)
    found: list[Target] = []
    for name in selected:
        started = time.perf_counter()
        before = {"load": load_average(), "cpu_ms": calibrate()}
        started_utc = _now()
        try:
            data, targets = _one(name, plan, logs, say)
        except Exception as error:  # recorded; the other benchmarks still run
            say(f"{name} FAILED: {type(error).__name__}: {error}")
            results["errors"][name] = traceback.format_exc()
            found.append(Target(name, "ran to the end", "no error", type(error).__name__, False))
            continue
        data["seconds"] = time.perf_counter() - started
        data["started_utc"] = started_utc
        data["commit"] = results["machine"]["commit"]
        data["load_average"] = {"before": before["load"], "after": load_average()}
        data["calibration_cpu_ms"] = {"before": before["cpu_ms"], "after": calibrate()}
        results["benchmarks"][name] = data
        found.extend(targets)
    results["targets"] += [target.as_json() for target in found]
    results["machine"]["load_average_end"] = load_average()
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "results.txt").write_text(render(results), encoding="utf-8")
    (out / "results.md").write_text(render(results, markdown=True), encoding="utf-8")
    if "fanout" in results["benchmarks"]:
        fanout_plot(results["benchmarks"]["fanout"], out / "fanout.png")
    return results


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _previous(
    path: Path, mode: str, selected: Sequence[str], fresh: dict[str, Any]
) -> dict[str, Any]:
    """The earlier results in ``path`` without the ``selected`` benchmarks, for ``--merge``."""
    try:
        earlier: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return fresh
    except (OSError, ValueError) as error:
        raise SystemExit(f"--merge: cannot read {path}: {error}") from None
    if earlier.get("mode") != mode:
        raise SystemExit(f"--merge: {path} holds a {earlier.get('mode')} run, not a {mode} run")
    keep = {k: v for k, v in earlier.get("benchmarks", {}).items() if k not in selected}
    return {
        **fresh,
        "benchmarks": keep,
        "errors": {k: v for k, v in earlier.get("errors", {}).items() if k not in selected},
        "targets": [t for t in earlier.get("targets", []) if t.get("benchmark") not in selected],
    }


def _one(
    name: str, plan: Plan, logs: Path, say: Callable[[str], None]
) -> tuple[dict[str, Any], list[Target]]:
    if name == "fanout":
        data = fanout.run(plan.fanout, logs, say)
        return data, fanout.targets(data, plan.fanout)
    if name == "throughput":
        data = throughput.run(plan.throughput, logs, say)
        return data, throughput.targets(data)
    # The others take their configuration and ``say``: run(config, say), targets(data).
    module = {
        "coldstart": coldstart,
        "readcost": readcost,
        "historycost": historycost,
        "connectcost": connectcost,
        "workers": workers,
        "coldbroadcast": coldbroadcast,
    }[name]
    data = module.run(getattr(plan, name), say)
    return data, module.targets(data)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; 0 when every selected benchmark ran (targets met or not)."""
    args = _arguments(argv)
    plan = _plan(args)
    selected = [name for name in BENCHMARKS if not args.only or name in args.only]
    mode = "smoke" if args.smoke else "full"
    results = run(plan, selected, args.out, _say, mode=mode, merge=args.merge)
    print()
    print((args.out / "results.txt").read_text(encoding="utf-8"))
    print(f"written: {args.out / 'results.json'}, {args.out / 'results.txt'}", end="")
    print(f", {args.out / 'fanout.png'}" if "fanout" in results["benchmarks"] else "")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
