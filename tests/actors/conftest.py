"""Actor test fixtures: a private embedded Redis, the external one when TEST_REDIS_URL is set."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis as sync_redis

from actors.connection import RedisClient, create_redis
from actors.embedded import EmbeddedRedis, find_redis_server


def short_tmpdir() -> Path:
    # Unix socket paths must stay under ~100 bytes; pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="ra-", dir="/tmp"))


def free_port() -> int:
    """A free loopback port whose cluster bus port (+10000) is free too."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


def version_of(binary: str) -> tuple[int, int]:
    """A server binary's major.minor (`v=8.1.8` from valkey-server --version); Valkey 8 is Redis 7.2+."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"v=(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def wait_until(condition: Callable[[], bool], timeout: float, message: str) -> None:
    """Poll `condition()` until true; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def actor_server() -> Iterator[EmbeddedRedis]:
    """One embedded redis-server for the actor tests (AOF, appendfsync always)."""
    directory = short_tmpdir()
    server = EmbeddedRedis(directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def fresh_server() -> Iterator[EmbeddedRedis]:
    """An embedded redis-server of this test's own, on a TCP port too (for kill/restart tests)."""
    directory = short_tmpdir()
    server = EmbeddedRedis(directory, port=free_port())
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def cluster_ok(ports: list[int]) -> bool:
    for port in ports:
        client = sync_redis.Redis(port=port, socket_timeout=1)
        try:
            info = client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" not in text or "cluster_known_nodes:3" not in text:
                return False
        finally:
            client.close()
    return True


@pytest.fixture(scope="module")
def cluster_ports() -> Iterator[list[int]]:
    """A 3-node Redis Cluster of this module's own (bundled server, cluster-enabled)."""
    directory = short_tmpdir()
    nodes = [
        EmbeddedRedis(
            directory / f"n{n}",
            port=free_port(),
            extra_args=("--cluster-enabled", "yes", "--cluster-node-timeout", "5000"),
        )
        for n in range(3)
    ]
    try:
        for node in nodes:
            node.start()
        ports = [node.port for node in nodes]
        server_bin = find_redis_server()  # valkey-server or redis-server; its cli lies beside it
        redis_cli = server_bin.with_name(server_bin.name.replace("-server", "-cli"))
        subprocess.run(
            [str(redis_cli), "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        wait_until(lambda: cluster_ok(ports), 20, "cluster_state:ok on all 3 nodes")
        yield ports
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(directory, ignore_errors=True)


def cluster_url(ports: list[int]) -> str:
    """The cluster's REDIS_URL, naming two of its nodes (the client finds the third)."""
    return f"redis+cluster://127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"


# For tests that must hold on the 3-node cluster too; the `backend_url` default is the other two.
on_every_backend = pytest.mark.parametrize("backend_url", ["embedded", "external", "cluster"], indirect=True)


@pytest.fixture(params=["embedded", "external"])
def backend_url(request: pytest.FixtureRequest, actor_server: EmbeddedRedis) -> str:
    if request.param == "embedded":
        return actor_server.url
    if request.param == "cluster":
        return cluster_url(request.getfixturevalue("cluster_ports"))
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: no external Redis to run this against")
    return url


@pytest.fixture
def uid() -> str:
    """A unique id prefix: tests on the shared external Redis touch only keys with it."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(backend_url: str, uid: str) -> AsyncIterator[RedisClient]:
    client = create_redis(backend_url)
    yield client
    await delete_test_keys(client, uid)
    await client.aclose()


async def delete_test_keys(client: RedisClient, uid: str) -> None:
    """Delete only the keys this test created (their ids start with `uid`, inside the hash tag)."""
    batch: list[bytes] = []
    async for key in client.scan_iter(match=f"actor:*{{{uid}*", count=1000):
        batch.append(key)
    # One pipelined round trip per 1,000 keys (a counter test leaves ~10,000 request records).
    for start in range(0, len(batch), 1000):
        pipe = client.pipeline(transaction=False)
        for key in batch[start : start + 1000]:
            pipe.execute_command("UNLINK", key)  # a cluster pipeline's unlink() is a coroutine
        await pipe.execute()
