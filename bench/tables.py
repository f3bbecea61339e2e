"""Text and Markdown tables, and the cell formats every section of the report uses."""

from __future__ import annotations

import math
from collections.abc import Sequence


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


def fixed(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals; ``-`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def thousands(value: int | None) -> str:
    """``value`` with thousands separators; ``-`` for none."""
    return "-" if value is None else f"{value:,}"
