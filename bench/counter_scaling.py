"""Worker scaling: the signed-in counter POST and `GET /` on 1, 2 and 4 granian workers, one run.

Each server gets its own data directory and embedded stack; the three take turns in every round
(interleaved, as the other HTTP rows), and each ratio is N workers' req/s over one worker's in that
round. wrk shares the machine's cores with the workers, so on a small machine the ratio shows how
much the extra workers get out of what is left, not the app's ceiling.
"""

from __future__ import annotations

import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path

from bench.common import Row, app_server, progress, wrk
from bench.counter_web_routes import WRK_POST, Rounds, ratio_row, sign_up_and_in

SECTION = (4, "scaling")  # a section of `make bench` (bench/run.py)
WORKERS = (1, 2, 4)


def rows() -> list[Row]:
    return run()


def run(rounds: int = 3, round_s: int = 3) -> list[Row]:
    progress(f"starting the app on {', '.join(map(str, WORKERS))} granian workers for the scaling rows")
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="rstack-wrk-") as folder:
        servers = {
            n: stack.enter_context(app_server(workers=n, env={"AUTH_ATTEMPTS_PER_MINUTE": "1000000"}))
            for n in WORKERS
        }
        script = Path(folder) / "post.lua"
        script.write_text(WRK_POST)
        runs: dict[tuple[str, int], tuple[str, dict[str, str] | None]] = {}
        for n, server in servers.items():
            user = sign_up_and_in(server)
            env = {
                "BENCH_COOKIE": user.cookie_header,
                "BENCH_CSRF": user.csrf_token,
                "BENCH_ORIGIN": server.base_url,
            }
            runs["post", n] = (server.base_url + f"/counter/scale-{uuid.uuid4().hex[:8]}", env)
            runs["home", n] = (server.base_url + "/", None)
        for url, lua_env in runs.values():  # warm every worker: templates, pools, caches
            wrk(url, connections=50, duration_s=1, script=script if lua_env else None, env=lua_env)
        measured = {key: Rounds([]) for key in runs}
        for n in range(1, rounds + 1):
            for key, (url, lua_env) in runs.items():
                lua = script if lua_env else None
                measured[key].results.append(
                    wrk(url, connections=50, duration_s=round_s, script=lua, env=lua_env)
                )
            progress(
                f"round {n}/{rounds}: "
                + ", ".join(
                    f"{what} x{w} {m.results[-1].requests_per_s:,.0f}" for (what, w), m in measured.items()
                )
                + " req/s"
            )
    names = {"post": "signed-in POST /counter/{id}", "home": "GET / page render"}
    return [
        ratio_row(
            f"{names[what]}, {n} granian workers vs 1",
            measured[what, n],
            measured[what, 1],
            None,
            note="scaling ratio; wrk shares the cores with the workers",
            baseline_name="1 worker",
        )
        for what in names
        for n in WORKERS[1:]
    ]
