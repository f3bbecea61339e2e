"""The fan-out plot: broadcast time against room size, with the sequential baseline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt


def fanout_plot(data: dict[str, Any], path: Path) -> Path:
    """Draw ``data`` (the fan-out results) into ``path`` (PNG) and return it."""
    sizes = [row["recipients"] for row in data["rows"]]
    rows = (data.get("share") or {}).get("rows") or []
    if rows:
        figure, (axes, shares) = plt.subplots(1, 2, figsize=(14, 5.2), dpi=100)
        _share_panel(shares, data, rows)
    else:
        figure, axes = plt.subplots(figsize=(7.5, 4.6), dpi=100)
    axes.plot(
        sizes,
        [row["wall_s"] for row in data["rows"]],
        "o-",
        color="tab:blue",
        label=f"backend broadcast (signed HTTP, concurrency {data['concurrency']})",
    )
    if data["boto3_reference"]:
        axes.plot(
            [row["recipients"] for row in data["boto3_reference"]],
            [row["wall_s"] for row in data["boto3_reference"]],
            "s--",
            color="tab:orange",
            label="same broadcast(), boto3 post_to_connection (before)",
        )
    axes.plot(
        sizes,
        [data["floor_s"][str(size)] for size in sizes],
        ":",
        color="gray",
        label=f"floor: ceil(n / {data['concurrency']}) x {data['delay_ms']:g} ms",
    )
    measured = [r for r in data["rows"] if r["sequential"]["how"] == "measured"]
    guessed = [
        r
        for r in data["rows"]
        if r["sequential"]["how"] != "measured" and not math.isnan(r["sequential"]["wall_s"])
    ]
    axes.plot(
        sizes,
        [row["sequential"]["wall_s"] for row in data["rows"]],
        "-",
        color="tab:red",
        alpha=0.5,
    )
    axes.plot(
        [r["recipients"] for r in measured],
        [r["sequential"]["wall_s"] for r in measured],
        "o",
        color="tab:red",
        label="sequential loop (AWS example), measured",
    )
    if guessed:
        axes.plot(
            [r["recipients"] for r in guessed],
            [r["sequential"]["wall_s"] for r in guessed],
            "o",
            markerfacecolor="white",
            color="tab:red",
            label="sequential loop, extrapolated",
        )
    axes.plot([1000], [1.0], "*", color="black", markersize=11, label="target: 1,000 in 1 s")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("recipients in the room")
    axes.set_ylabel("wall time of one broadcast (s)")
    axes.set_title(
        f"Fan-out through the local stack, {data['delay_ms']:g} ms per @connections call"
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return _save(figure, path)


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _share_panel(axes: Any, data: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Wall time against recipients under each memory size's CPU share, one line per
    (memory, concurrency)."""
    colours = ["tab:purple", "tab:green", "tab:blue", "tab:orange", "tab:brown"]
    styles = ["-", "--", ":", "-."]
    memories = sorted({row["memory_mb"] for row in rows})
    concurrencies = sorted({row["concurrency"] for row in rows})
    for m, memory in enumerate(memories):
        for c, concurrency in enumerate(concurrencies):
            line = sorted(
                (row["recipients"], row["wall_s"])
                for row in rows
                if row["memory_mb"] == memory and row["concurrency"] == concurrency
            )
            axes.plot(
                [x for x, _ in line],
                [y for _, y in line],
                "o" + styles[c % len(styles)],
                color=colours[m % len(colours)],
                label=f"{memory} MB ({memory / 1769:.2f} vCPU), concurrency {concurrency}",
            )
    axes.plot([1000], [1.0], "*", color="black", markersize=11, label="target: 1,000 in 1 s")
    axes.axhline(29.0, color="gray", linestyle=":", label="API Gateway's 29 s timeout")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("recipients in the room")
    axes.set_ylabel("wall time of one warm broadcast (s)")
    axes.set_title(
        f"Under Lambda's CPU share per memory size ({data['share']['protocol'].upper()}, "
        f"{data['delay_ms']:g} ms per call)"
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
