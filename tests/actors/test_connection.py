"""create_redis() against real servers: unix socket, TCP, TLS and Sentinel URLs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis

from actors.connection import create_redis
from actors.embedded import EmbeddedRedis, find_redis_server
from tests.support.tally import TallyActor

from .conftest import free_port, short_tmpdir, wait_until


async def increments_work(url: str) -> None:
    client = create_redis(url)
    try:
        tally = TallyActor(client)
        before = (await tally.get("conn")).count
        assert (await tally.increment("conn")).count == before + 1
    finally:
        await client.aclose()


async def test_create_redis_unix_socket(fresh_server: EmbeddedRedis) -> None:
    await increments_work(fresh_server.url)


async def test_create_redis_tcp(fresh_server: EmbeddedRedis) -> None:
    await increments_work(f"redis://127.0.0.1:{fresh_server.port}/0")


@pytest.mark.parametrize(
    "url", ["http://localhost", "redis+cluster", "memcached://x:1", "redis+sentinel://127.0.0.1:1"]
)
def test_create_redis_rejects_unsupported_urls(url: str) -> None:
    with pytest.raises(ValueError):
        create_redis(url)


@pytest.fixture
def tls_server() -> Iterator[tuple[int, Path]]:
    """Debian's redis-server 7.0 (built with TLS) on a TLS port, with a throwaway CA from openssl."""
    server_bin, openssl = shutil.which("redis-server"), shutil.which("openssl")
    if server_bin is None or openssl is None:
        pytest.skip("needs redis-server with TLS and openssl on PATH")
    directory = short_tmpdir()
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem"))

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(key), "-out", str(csr))  # fmt: skip
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "1", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [server_bin, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
         "--tls-auth-clients", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def answers() -> bool:
        assert proc.poll() is None, "TLS redis-server exited (built without TLS?)"
        client = sync_redis.Redis(
            host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(ca), socket_timeout=1
        )
        try:
            return bool(client.ping())
        except sync_redis.RedisError:
            return False
        finally:
            client.close()

    try:
        wait_until(answers, 10, "TLS redis-server answers")
        yield port, ca
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


async def test_create_redis_tls(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    await increments_work(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}")


@pytest.fixture
def sentinel_port(fresh_server: EmbeddedRedis) -> Iterator[int]:
    """A real Sentinel (the bundled redis-server in sentinel mode) watching `fresh_server`."""
    directory = short_tmpdir()
    port = free_port()
    conf = directory / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
        f"sentinel monitor mymaster 127.0.0.1 {fresh_server.port} 1\n"
    )
    proc = subprocess.Popen(
        [str(find_redis_server()), str(conf), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def knows_master() -> bool:
        client = sync_redis.Redis(port=port, socket_timeout=1)
        try:
            reply = client.execute_command("SENTINEL", "get-master-addr-by-name", "mymaster")  # type: ignore[no-untyped-call]
            return reply is not None
        except sync_redis.RedisError:
            return False
        finally:
            client.close()

    try:
        wait_until(knows_master, 10, "sentinel knows mymaster")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


async def test_create_redis_sentinel(sentinel_port: int) -> None:
    await increments_work(f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0")
