"""Helpers the benchmark scripts share: percentiles, timing, tables, the machine.

Only presentation and statistics live here; what a benchmark measures stays
in its own script. Import it from a script in this folder as ``import common``
(running ``python benchmarks/x.py`` puts this folder first on ``sys.path``).
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank.

    >>> pct([1.0, 2.0, 3.0, 4.0, 5.0], 50)
    3.0
    >>> pct([1.0, 2.0, 3.0, 4.0, 5.0], 95)
    5.0
    """
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    """The median (the usual p50)."""
    return statistics.median(values)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per call over ``runs`` calls of ``fn``."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def machine() -> dict[str, str]:
    """What a reader needs to compare figures: cores, CPU, Python, SQLite, OS, date."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # Other work on the machine colours every figure: say how busy it was.
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def fmt(value: float | None, digits: int = 2) -> str:
    """A figure for a table: thousands separators for big numbers, ``-`` when missing.

    >>> fmt(123456.7), fmt(1.2345), fmt(None)
    ('123,457', '1.23', '-')
    """
    if value is None or value != value:  # None or NaN: not measured
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table for a terminal (first column left, the others right)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [
            str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
            for i, c in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out.extend("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows)
    return "\n".join(out)
