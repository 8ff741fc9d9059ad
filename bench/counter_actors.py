"""Actor increments/s and latency from one process (50 callers) next to redis-benchmark on the same script.

Run: `python bench/counter_actors.py` (about 30-40 s). `run()` returns the rows for bench/run.py's table.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from actors.connection import create_redis  # noqa: E402
from actors.counter import CounterActor  # noqa: E402
from actors.embedded import EmbeddedRedis  # noqa: E402
from actors.keys import actor_channel, actor_key  # noqa: E402
from actors.runtime import AUTO_REQUEST_TTL_MS  # noqa: E402
from actors.scripts import ScriptRunner  # noqa: E402
from bench import common  # noqa: E402
from bench.common import run_on_app_loop  # noqa: E402

Row = dict[str, Any]


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def _python_load(url: str, counter_id: str, callers: int, duration: float, coalesce: bool) -> Row:
    client = create_redis(url)
    counter = CounterActor(client, runner=ScriptRunner(client, coalesce=coalesce))
    await counter.increment(counter_id)  # loads the script
    latencies: list[float] = []
    stop_at = time.perf_counter() + duration

    async def caller() -> None:
        clock = time.perf_counter
        while (started := clock()) < stop_at:
            await counter.increment(counter_id)
            latencies.append(clock() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    elapsed = time.perf_counter() - started
    await client.aclose()
    latencies.sort()
    return {
        "ops_per_s": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "ops": len(latencies),
    }


def _redis_benchmark(socket_path: Path, counter_id: str, sha: str, callers: int, requests: int) -> Row:
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise RuntimeError("redis-benchmark is not on PATH (apt-get install redis-tools)")
    key = actor_key("counter", counter_id)
    # The same EVALSHA the actor sends: a fresh request id per call (__rand_int__), same TTL.
    command = [
        "EVALSHA", sha, "2", key, f"{key}:rq:increment:b__rand_int__",
        "counter", counter_id, actor_channel("counter", counter_id), str(AUTO_REQUEST_TTL_MS), "1",
    ]  # fmt: skip
    out = subprocess.run(
        [binary, "-s", str(socket_path), "-c", str(callers), "-n", str(requests),
         "-r", "1000000000", "--csv", *command],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    header, values = (line for line in out.strip().splitlines()[-2:])
    row = dict(
        zip(
            (h.strip('"') for h in header.split(",")), (v.strip('"') for v in values.split(",")), strict=False
        )
    )
    return {
        "ops_per_s": float(row["rps"]),
        "p50_ms": float(row.get("p50_latency_ms", "nan")),
        "p99_ms": float(row.get("p99_latency_ms", "nan")),
        "ops": requests,
    }


SECTION = (1, "actors")  # a section of `make bench` (bench/run.py)


def run(duration: float = 1.5, callers: int = 50, repeats: int = 5) -> list[Row]:
    """Measure both sides in one run per fsync mode, interleaved; each figure is the median of `repeats`.

    Both talk to the same embedded redis-server over its unix socket.
    """
    directory = Path(tempfile.mkdtemp(prefix="rb-", dir="/tmp"))
    server = EmbeddedRedis(directory)
    rows: list[Row] = []
    try:
        server.start()
        script = CounterActor._increment.script
        assert script is not None
        sha, sock = script.sha, server.socket_path
        import redis as sync_redis

        admin = sync_redis.Redis(unix_socket_path=str(sock))
        admin.script_load(script.source)
        for fsync in ("always", "no"):
            admin.config_set("appendfsync", fsync)
            # Size redis-benchmark's run to about `duration` seconds with a short calibration.
            calibration = _redis_benchmark(sock, "calibrate", sha, callers, 5000)
            requests = max(10_000, int(calibration["ops_per_s"] * duration))
            samples: dict[str, list[Row]] = {"redis-benchmark": [], "actors": []}
            for _ in range(repeats):
                samples["redis-benchmark"].append(_redis_benchmark(sock, "b", sha, callers, requests))
                samples["actors"].append(
                    run_on_app_loop(_python_load(server.url, "p", callers, duration, True))
                )
            if fsync == "always":
                samples["actors, uncoalesced"] = [
                    run_on_app_loop(_python_load(server.url, "u", callers, duration, False))
                ]
            medians = {name: _median(results) for name, results in samples.items()}
            baseline = medians["redis-benchmark"]["ops_per_s"]
            for name, result in medians.items():
                rows.append(
                    {
                        "row": f"{name} ({callers} callers, appendfsync {fsync})",
                        "ops_per_s": round(result["ops_per_s"]),
                        "p50_ms": round(result["p50_ms"], 2),
                        "p99_ms": round(result["p99_ms"], 2),
                        "ratio": round(result["ops_per_s"] / baseline, 2),
                        "target": ">= 1.0" if name == "actors" and fsync == "always" else "",
                    }
                )
        admin.close()
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return rows


def _median(results: list[Row]) -> Row:
    return sorted(results, key=lambda r: float(r["ops_per_s"]))[len(results) // 2]


def rows() -> list[common.Row]:
    """bench/counter_actors.py figures as table rows: actor calls ÷ redis-benchmark, same script and fsync."""
    table: list[common.Row] = []
    for raw in run():
        target = str(raw.get("target") or "")
        ratio = float(raw["ratio"])
        baseline_name = "redis-benchmark" in str(raw["row"])
        table.append(
            common.Row(
                name=f"actor increments: {raw['row']}",
                measured=f"{raw['ops_per_s']:,} ops/s p50 {raw['p50_ms']} ms p99 {raw['p99_ms']} ms",
                baseline="(this is the baseline)" if baseline_name else "redis-benchmark -c 50, same script",
                ratio=ratio,
                target=target or "-",
                ok=(ratio >= 1.0) if target else None,
            )
        )
    return table


def main() -> None:
    started = time.perf_counter()
    rows = run()
    print(f"{'':<50} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'÷ redis-benchmark':>18}")
    for row in rows:
        print(
            f"{row['row']:<50} {row['ops_per_s']:>9} {row['p50_ms']:>8} {row['p99_ms']:>8} {row['ratio']:>18}"
        )
    print(f"(EVALSHA counter_increment, one embedded redis-server, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
