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
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
