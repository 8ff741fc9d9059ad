"""`make bench` (python -m bench.run): run every benchmark and print one table of same-run ratios."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

from bench import actors, sse, web_routes
from bench.common import Row, print_table


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    cores = os.cpu_count()
    python = platform.python_version()
    return f"{platform.system()} {platform.machine()}, {cores} cores, {cpu}, Python {python}"


def actor_rows() -> list[Row]:
    """bench/actors.py figures as table rows: actor calls ÷ redis-benchmark, same script and fsync."""
    rows: list[Row] = []
    for raw in actors.run():
        target = str(raw.get("target") or "")
        ratio = float(raw["ratio"])
        baseline_name = "redis-benchmark" in str(raw["row"])
        rows.append(
            Row(
                name=f"actor increments: {raw['row']}",
                measured=f"{raw['ops_per_s']:,} ops/s p50 {raw['p50_ms']} ms p99 {raw['p99_ms']} ms",
                baseline="(this is the baseline)" if baseline_name else "redis-benchmark -c 50, same script",
                ratio=ratio,
                target=target or "-",
                ok=(ratio >= 1.0) if target else None,
            )
        )
    return rows


def main() -> int:
    started = time.monotonic()
    rows: list[Row] = []
    print(f"Remote Stack benchmarks on {machine()}", flush=True)
    for name, section in (("actors", actor_rows), ("http", web_routes.run), ("sse", sse.run)):
        print(f"==> {name}", file=sys.stderr, flush=True)
        try:
            rows.extend(section())
        except Exception as exc:  # a broken section still lets the others report
            rows.append(Row(name, "failed", "-", None, "-", False, f"{type(exc).__name__}: {exc}"))
    print()
    print_table(rows)
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    missed = [row.name for row in rows if row.ok is False]
    if missed:
        print("targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
