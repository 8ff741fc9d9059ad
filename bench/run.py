"""`make bench` (python -m bench.run): run every benchmark and print one table of same-run ratios."""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bench
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


def sections() -> list[tuple[str, Callable[[], list[Row]]]]:
    """Every bench module that declares `SECTION = (order, name)` and `rows()`, in order."""
    found = []
    for info in pkgutil.iter_modules(bench.__path__):
        module = importlib.import_module(f"bench.{info.name}")
        if hasattr(module, "SECTION"):
            found.append((*module.SECTION, module.rows))
    return [(name, rows) for _, name, rows in sorted(found, key=lambda section: section[0])]


def main() -> int:
    started = time.monotonic()
    rows: list[Row] = []
    print(f"Remote Stack benchmarks on {machine()}", flush=True)
    found = sections()
    if not found:
        print("No benchmark sections here: the starter's own measure its demo, left out of this project.")
    for name, section in found:
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
