"""The benchmarks still run and report what they should (``--smoke``: tiny sizes, no timing
assertions), and their pure parts compute what DynamoDB and ``-X importtime`` define."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from chat.connections import TABLE_SCHEMA
from moto import mock_aws

from bench import cpushare
from bench.__main__ import _previous, main
from bench.capacity import TRANSACTIONAL, item_size, read_units, write_units
from bench.coldstart import parse_importtime
from bench.connectcost import UnitCounter
from bench.cpushare import (
    ARM64_USD_PER_GB_S,
    CpuShareUnavailable,
    cpu_share,
    gb_seconds,
    lambda_share,
    usd,
)
from bench.fanout.benchmark import ensure_open_files
from bench.fanout.pricing import cheapest_setting
from bench.measure import percentile
from bench.readcost import make_item
from bench.tables import table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One ``python -m bench --smoke`` run, shared by the tests that read its results."""
    out = tmp_path_factory.mktemp("bench-results")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_smoke_run_writes_json_table_and_plot(smoke: tuple[Path, dict[str, Any]]) -> None:
    """A smoke run writes results.json with every benchmark, results.txt and a PNG plot."""
    out, results = smoke
    assert results["mode"] == "smoke"
    assert results["errors"] == {}
    assert set(results["benchmarks"]) == {
        "fanout",
        "coldstart",
        "readcost",
        "historycost",
        "connectcost",
        "workers",
        "coldbroadcast",
        "throughput",
    }
    assert {"cores", "python", "packages", "commit"} <= set(results["machine"])
    text = (out / "results.txt").read_text(encoding="utf-8")
    for heading in (
        "Fan-out",
        "Cold start",
        "Read cost",
        "History cost",
        "$connect's DynamoDB units",
        "Big rooms through the delivery workers",
        "A cold container's first broadcast",
        "Local throughput",
        "Targets",
    ):
        assert heading in text
    assert (out / "fanout.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    benchmarks = {target["benchmark"] for target in results["targets"]}
    assert benchmarks == {
        "fanout", "coldstart", "readcost", "historycost", "connectcost", "workers",
        "coldbroadcast", "throughput",
    }  # fmt: skip
    assert all(isinstance(target["met"], bool) for target in results["targets"])


@pytest.mark.slow
def test_smoke_fanout_delivers_every_post_and_reports_its_figures(
    smoke: tuple[Path, dict[str, Any]],
) -> None:
    """Every broadcast reached every client; wall, CPU, TCP and the baseline are reported."""
    fanout = smoke[1]["benchmarks"]["fanout"]
    for row in fanout["rows"] + fanout["boto3_reference"] + fanout["sweep"]:
        size = row["recipients"]
        assert row["delivered"] == size
        assert row["frames_received_min"] == size
        assert row["failed"] == 0
        assert row["wall_s"] > 0
        assert row["cpu_ms_per_recipient"] > 0
        assert 1 <= row["tcp_opened_first_run"] <= min(size, row["concurrency"])
    hows = [row["sequential"]["how"] for row in fanout["rows"]]
    assert hows[0] == "measured"
    assert hows[-1].startswith("extrapolated from")
    assert all(row["speedup"] > 0 for row in fanout["rows"])


@pytest.mark.slow
def test_smoke_other_benchmarks_report_their_fields(smoke: tuple[Path, dict[str, Any]]) -> None:
    """Cold start, read cost and throughput report the fields docs/performance.md quotes."""
    benchmarks = smoke[1]["benchmarks"]
    cold = benchmarks["coldstart"]
    assert set(cold["variants"]) == {"floor", "floor_post", "ping", "connect", "ping_source"}
    assert cold["statuses"] == {"ping": [200], "connect": [200], "ping_source": [200]}
    assert cold["variants"]["ping"]["ratio_in_process"] > 0
    assert cold["importtime"]["chat_self_ms"] > 0
    read = benchmarks["readcost"]["rows"]
    assert [row["query"]["items_read"] for row in read] == [10, 10]
    assert [row["scan"]["items_read"] for row in read] == [40, 120]
    history = benchmarks["historycost"]["rows"]
    for row in history:
        assert {name: cost["items_read"] for name, cost in row["pages"].items()} == {
            "latest": 6,
            "before": 6,
            "after": 6,
        }
    assert [row["whole_room"]["items_read"] for row in history] == [30, 90]
    connect = benchmarks["connectcost"]
    assert connect["empty"]["write_units"] == connect["full"]["write_units"] > 0
    assert "query(1)" not in connect["full"]["requests"]
    for row in benchmarks["workers"]["rows"]:
        assert row["delivered"] == row["size"] and row["lost"] == 0
    for case in benchmarks["coldbroadcast"]["cases"].values():
        assert case["cold"]["delivered"] == case["warm"]["delivered"] == case["size"]
        assert 1 <= case["cold"]["opened"] <= benchmarks["coldbroadcast"]["concurrency"]
    modes = {row["mode"] for row in benchmarks["throughput"]["rows"]}
    assert modes == {"closed loop", "paced"}
    for row in benchmarks["throughput"]["rows"]:
        assert row["deliveries"] > 0
        assert row["error_frames"] == 0, row["error_kinds"]
        assert row["latency_ms_p50"] <= row["latency_ms_p99"]


def test_bad_sizes_are_refused_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed size list stops the command line with a usage error, not a traceback."""
    with pytest.raises(SystemExit) as stopped:
        main(["--fanout-sizes", "ten,20"])
    assert stopped.value.code == 2
    assert "not a comma-separated list of sizes" in capsys.readouterr().err


def test_read_units_follow_dynamodbs_rounding() -> None:
    """Item sizes and read units follow DynamoDB's rule: 4 KB steps, half for eventual reads."""
    item = make_item(7, 100)
    # connectionId 12+16, room 4+10, roomShard 9+12, name 4+10, connectedAt 11+(13 digits -> 8),
    # expiresAt 9+6
    assert item_size(item) == 111
    assert item_size(item, ("connectionId", "room", "expiresAt")) == 57
    assert item_size(make_item(99_999, 100)) == 111
    assert read_units(1) == 0.5
    assert read_units(4096) == 0.5
    assert read_units(4097) == 1.0
    assert read_units(100 * 57) == 1.0


def test_importtime_sums_the_chat_modules_self_time() -> None:
    """Only ``chat.*`` self times are the handler's own; the total is the top level's sum."""
    report = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |   chat",
            "import time:       200 |        900 |       boto3",
            "import time:        50 |         50 |     chattering",
            "import time:       300 |       1250 | chat.handler",
        ]
    )
    parsed = parse_importtime(report)
    assert parsed["chat_self_ms"] == 0.4
    assert parsed["boto3_cumulative_ms"] == 0.9
    assert parsed["total_ms"] == 1.25  # top level only: chat.handler includes the rest
    assert parsed["modules"] == 4


def test_percentile_interpolates_between_order_statistics() -> None:
    """p50 and p99 of 1..100 are 50.5 and 99.01, as linear interpolation gives."""
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([], 50) != percentile([], 50)  # NaN for no values


def test_table_pads_and_aligns_columns() -> None:
    """Text columns are left-aligned and numbers right-aligned under a rule."""
    rendered = table(["name", "n"], [["a", "1"], ["bbb", "22"]], align="lr")
    assert rendered.splitlines() == ["name   n", "----  --", "a      1", "bbb   22"]


def test_merge_keeps_the_other_benchmarks_and_refuses_another_mode(tmp_path: Path) -> None:
    """--merge keeps earlier benchmarks not being re-run and will not mix smoke with full."""
    earlier = {
        "mode": "full",
        "benchmarks": {"fanout": {"rows": []}, "coldstart": {"old": True}},
        "errors": {},
        "targets": [{"benchmark": "fanout", "met": False}, {"benchmark": "coldstart"}],
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(earlier), encoding="utf-8")
    fresh = {"mode": "full", "machine": {}, "benchmarks": {}, "errors": {}, "targets": []}
    merged = _previous(path, "full", ["coldstart"], fresh)
    assert merged["benchmarks"] == {"fanout": {"rows": []}}
    assert merged["targets"] == [{"benchmark": "fanout", "met": False}]
    with pytest.raises(SystemExit, match="holds a full run, not a smoke run"):
        _previous(path, "smoke", ["coldstart"], fresh)


def test_open_file_limit_is_checked_before_thousands_of_sockets() -> None:
    """A limit already high enough is kept; one beyond the hard limit is refused clearly."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert ensure_open_files(16) == soft
    if hard != resource.RLIM_INFINITY:
        with pytest.raises(RuntimeError, match="raise it"):
            ensure_open_files(hard + 1)


@pytest.mark.slow
def test_smoke_fanout_compares_both_senders_over_http_and_https_and_under_a_share(
    smoke: tuple[Path, dict[str, Any]],
) -> None:
    """The backend's and the previous sender each delivered every post over HTTP and HTTPS;
    the Lambda-share runs either report priced rows with the share they measured or say
    clearly why they were skipped."""
    fanout = smoke[1]["benchmarks"]["fanout"]
    seen = {(row["sender"], row["protocol"]) for row in fanout["transport"]}
    assert seen == {(s, p) for s in ("backend", "previous") for p in ("http", "https")}
    for row in fanout["transport"]:
        assert row["delivered"] == row["frames_received_min"] == row["recipients"]
    share = fanout["share"]
    if "skipped" in share:
        assert share["skipped"]
        assert "Lambda CPU share: SKIPPED" in (smoke[0] / "results.txt").read_text()
        return
    assert share["protocol"] == "https"
    for row in share["rows"]:
        assert row["delivered"] == row["frames_received_min"] == row["recipients"]
        assert row["gb_s"] > 0 and row["usd"] == pytest.approx(row["gb_s"] * ARM64_USD_PER_GB_S)
        assert all(0 < value <= 2 for value in row["measured_share"])


def test_lambda_share_and_price_follow_lambdas_rules() -> None:
    """One vCPU at 1,769 MB; GB-seconds are memory/1,024 times the duration rounded up to the
    millisecond; the cheapest fit row is the one with the fewest GB-seconds."""
    assert lambda_share(1769) == 1.0
    assert lambda_share(512) == pytest.approx(0.289, abs=0.001)
    assert gb_seconds(1024, 0.5001) == pytest.approx(0.501)
    assert usd(2048, 1.0) == pytest.approx(2 * ARM64_USD_PER_GB_S)
    rows = [
        {"recipients": 1000, "memory_mb": 512, "concurrency": 32, "wall_s": 1.2, "gb_s": 0.6},
        {"recipients": 1000, "memory_mb": 1024, "concurrency": 32, "wall_s": 0.9, "gb_s": 0.9},
        {"recipients": 1000, "memory_mb": 512, "concurrency": 128, "wall_s": 0.5, "gb_s": 0.25},
        {"recipients": 100, "memory_mb": 128, "concurrency": 8, "wall_s": 0.1, "gb_s": 0.01},
    ]
    for row in rows:
        row["usd"] = row["gb_s"] * ARM64_USD_PER_GB_S
    best = cheapest_setting(rows, 1000, 1.0)
    assert best is not None and (best["memory_mb"], best["concurrency"]) == (512, 128)
    assert cheapest_setting(rows, 1000, 0.1) is None


def test_a_cpu_share_that_cannot_be_applied_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a writable cgroup v1 cpu controller the share is refused with a reason (the
    benchmark then skips that part), never a crash."""
    monkeypatch.setattr(cpushare, "_ROOT", Path("/nonexistent/cgroup/cpu"))
    with (
        pytest.raises(CpuShareUnavailable, match="no cgroup v1 cpu controller"),
        cpu_share(0.5),
    ):
        pass


def test_the_read_cost_counts_no_get_item_of_the_sender() -> None:
    """The sender's item is read by the UpdateItem that spends its rate limit (the chat makes
    no GetItem on the connections table): the read-cost section does not add one."""
    from bench.report import render  # noqa: PLC0415

    row = {
        "table_items": 10,
        "room_size": 2,
        "populate_s": 0.1,
        "units_ratio": 1.0,
        "query": {"items_read": 2, "read_units": 0.5},
        "scan": {"items_read": 10, "read_units": 0.5},
    }
    results = {
        "mode": "smoke",
        "machine": {
            "date_utc": "-", "commit": "-", "cores": 2, "cpu": "-", "python": "-",
            "packages": {}, "load_average_start": None,
        },
        "benchmarks": {"readcost": {"item_bytes": 90, "index_entry_bytes": 90, "rows": [row]}},
        "targets": [],
    }  # fmt: skip
    text = render(results)
    assert "Read cost per broadcast" in text
    assert "GetItem" not in text


def test_write_units_follow_dynamodbs_rules() -> None:
    """1 KB steps, at least one unit, twice inside a transaction."""
    assert write_units(0) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(100, factor=TRANSACTIONAL) == 2


def test_a_connect_is_priced_from_the_items_it_touched() -> None:
    """Through ``UnitCounter``, a PutItem of a connection costs its unit and its index entry's;
    a transaction of two small items costs 2 units each; a consistent GetItem 1 read unit."""
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="eu-west-1")
        raw.create_table(TableName="units", **TABLE_SCHEMA)
        counter = UnitCounter(raw, "units")
        item = make_item(1, 10)
        counter.put_item(TableName="units", Item=item)
        counter.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "units", "Item": {"connectionId": {"S": f"k{i}"}}}}
                for i in range(2)
            ]
        )
        key = {"connectionId": item["connectionId"]}
        counter.get_item(TableName="units", Key=key, ConsistentRead=True)
    assert [r.get("write_units", r.get("read_units")) for r in counter.requests] == [2, 4, 1.0]
