"""Build a redis-py asyncio client from a REDIS_URL: single server, TLS, unix socket, cluster, sentinel."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError

RedisClient = aioredis.Redis | aioredis.RedisCluster

SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
HEALTH_CHECK_INTERVAL_S = 15.0
RETRIES = 3


def _retry() -> Retry:
    # Every actor mutation carries a request id the script deduplicates, so retrying a
    # write whose reply was lost is safe; without that this would risk double increments.
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), RETRIES, (ConnectionError, TimeoutError))


def _common_options() -> dict[str, Any]:
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "retry": _retry(),
        "decode_responses": False,
    }


_TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")


def _tls_options(query: dict[str, str], tls: bool) -> dict[str, Any]:
    """TLS query parameters (as redis-py takes them on rediss:// URLs) for cluster and sentinel URLs."""
    if not tls:
        return {}
    options: dict[str, Any] = {"ssl": True, **{k: query[k] for k in _TLS_OPTIONS if k in query}}
    if "ssl_check_hostname" in query:
        options["ssl_check_hostname"] = query["ssl_check_hostname"].lower() in ("1", "true", "yes")
    return options


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    hosts = []
    for part in netloc.rpartition("@")[2].split(","):
        host, _, port = part.strip().rpartition(":") if ":" in part else (part.strip(), "", "")
        hosts.append((host.strip("[]") or "localhost", int(port) if port else default_port))
    return hosts


def _credentials(netloc: str) -> tuple[str | None, str | None]:
    if "@" not in netloc:
        return None, None
    userinfo = netloc.rpartition("@")[0]
    user, _, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) or None)


def create_redis(url: str) -> RedisClient:
    """A client for `url`; responses are bytes (decode_responses=False) for every scheme.

    Schemes: redis://, rediss:// (TLS), unix:///path, redis+cluster://h:p[,h:p...]
    (rediss+cluster:// for TLS) and redis+sentinel://h:p[,h:p]/service[/db] (rediss+sentinel://).
    TLS URLs take redis-py's query options (`?ssl_ca_certs=/path/ca.pem`, `ssl_cert_reqs=none`, ...).
    """
    scheme, separator, _ = url.partition("://")
    if not separator:
        raise ValueError(f"not a Redis URL (no scheme://): {url!r}")
    scheme = scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        return aioredis.Redis.from_url(url, **_common_options())
    parts = urlsplit(url)
    user, password = _credentials(parts.netloc)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme in ("redis+cluster", "rediss+cluster"):
        nodes = [ClusterNode(host, port) for host, port in _hosts(parts.netloc, 6379)]
        return aioredis.RedisCluster(
            startup_nodes=nodes,
            username=user,
            password=password,
            **_tls_options(query, scheme == "rediss+cluster"),
            **_common_options(),
        )
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError(f"sentinel URL needs a service name: {scheme}://host:port/service_name[/db]")
        service, db = path[0], int(path[1]) if len(path) > 1 else 0
        sentinel_password = query.get("sentinel_password")
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            _hosts(parts.netloc, 26379),
            sentinel_kwargs={
                "socket_timeout": SOCKET_TIMEOUT_S,
                "socket_connect_timeout": CONNECT_TIMEOUT_S,
                "password": sentinel_password,
            },
        )
        client: aioredis.Redis = sentinel.master_for(
            service,
            db=db,
            username=user,
            password=password,
            **_tls_options(query, scheme == "rediss+sentinel"),
            **_common_options(),
        )
        return client
    raise ValueError(
        f"unsupported Redis URL scheme {scheme!r}: use redis://, rediss://, unix://, "
        "redis+cluster://, rediss+cluster:// or redis+sentinel://"
    )
