"""Deploy files: compose.yaml against the Compose schema, the Dockerfile, and the image's file set serving."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml  # type: ignore[import-untyped]

from tests.support.server import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
# The Compose Specification schema as shipped in docker-compose 1.29.2 (Apache-2.0); no Docker engine here.
COMPOSE_SCHEMA = Path(__file__).parent / "deploy_data" / "compose_spec.json"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().lstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule for our pattern forms: a pattern matches a path or any of its parent folders."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], pattern[3:]):
                return True
    return False


def build_context() -> list[str]:
    """Files `docker build .` would send (tracked and untracked, minus .dockerignore)."""
    patterns = dockerignore_patterns()
    files = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and not ignored(relative, patterns):
            files.append(relative)
    return files


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema_rs.validator_for(schema)
    errors = [str(error) for error in validator.iter_errors(compose())]
    assert errors == []


def test_compose_validates_with_docker_when_available() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode:
        pytest.skip("no `docker compose` here; the schema test covers the file")
    env = {**os.environ, "AUTH_SECRET": "x" * 40, "BASE_URL": "https://app.example"}
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr


def test_compose_runs_app_postgres_and_redis_with_healthchecks() -> None:
    services = compose()["services"]
    assert set(services) == {"app", "postgres", "redis"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        assert service.get("restart") == "unless-stopped", name
    app = services["app"]
    assert app["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert any("/healthz" in part for part in app["healthcheck"]["test"])


def test_compose_redis_keeps_every_acknowledged_write() -> None:
    redis = compose()["services"]["redis"]
    command = redis["command"]
    options = dict(zip(command[1::2], command[2::2], strict=False))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "always"
    assert options["--maxmemory-policy"] == "noeviction"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_compose_app_environment_points_at_the_other_services() -> None:
    env = compose()["services"]["app"]["environment"]
    assert "@postgres:5432/" in env["DATABASE_URL"] and env["DATABASE_URL"].startswith("postgresql://")
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    # Secrets and the public address must be given; compose refuses to start without them.
    assert env["AUTH_SECRET"].startswith("${AUTH_SECRET:?")
    assert env["BASE_URL"].startswith("${BASE_URL:?")
    assert env["APP_ENV"] == "${APP_ENV:-production}"


def test_dockerfile_is_multi_stage_slim_non_root_and_production() -> None:
    steps = dockerfile_instructions()
    froms = [args for keyword, args in steps if keyword == "FROM"]
    assert len(froms) == 2 and all(f.startswith("python:3.12-slim") for f in froms)
    runs = " ".join(args for keyword, args in steps if keyword == "RUN")
    assert "uv sync --locked" in runs and "--extra dev" not in runs  # uv.lock's versions, no dev tools
    # Bytecode compiled at build: the image sets PYTHONDONTWRITEBYTECODE and /app is read-only to it.
    assert "--compile-bytecode" in runs and "compileall -q -j0 /app" in runs
    envs = " ".join(args for keyword, args in steps if keyword == "ENV")
    assert "APP_ENV=production" in envs
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    keywords = [keyword for keyword, _ in steps]
    assert keywords.index("USER") < keywords.index("CMD")
    compiled = next(i for i, (keyword, args) in enumerate(steps) if keyword == "RUN" and "/app" in args)
    assert keywords.index("USER") > compiled  # compiled as root, into the files the app user reads
    (healthcheck,) = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    assert "http://127.0.0.1:8000/healthz" in healthcheck
    (cmd,) = [args for keyword, args in steps if keyword == "CMD"]
    assert json.loads(cmd)[:5] == ["python", "app.py", "serve", "--host", "0.0.0.0"]


def test_dockerignore_keeps_secrets_and_tooling_out_and_the_app_in() -> None:
    files = set(build_context())
    for excluded in (".env", ".git/HEAD", ".data/redis/redis.sock", "tests/conftest.py", "bench/run.py"):
        assert excluded not in files
    assert not any(f.startswith((".venv/", "node_modules/")) or "__pycache__" in f for f in files)
    top_level_modules = {p.name for p in ROOT.glob("*.py")}
    assert top_level_modules <= files
    for needed in ("pyproject.toml", "README.md", "web/templates/base.html", "actors/_prelude.lua"):
        assert needed in files
    assert any(f.startswith("web/static/vendor/htmx-") for f in files)
    assert any(f.startswith("piccolo_migrations/") for f in files)


def _copy_context(target: Path) -> None:
    for relative in build_context():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, destination)


@pytest.mark.slow
def test_image_file_set_serves_in_production(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    """The files the image gets, run as the image's CMD runs them, with production settings."""
    app_dir = tmp_path / "app"
    _copy_context(app_dir)
    steps = dict(dockerfile_instructions())
    port = free_port()
    cmd = json.loads(steps["CMD"])
    cmd = [sys.executable, *cmd[1:]]
    cmd[cmd.index("0.0.0.0")] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "APP_ENV": "production",
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
        "AUTH_SECRET": "e9sJXcEPqGcTAZxRS2jWwNbZ7bvh-lOdqGsq8rsd4Vk",
        "BASE_URL": "https://app.example",
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "1",
    }
    process = subprocess.Popen(
        cmd, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                out = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"exited {process.returncode}: {shlex.join(cmd)}\n{out}")
            try:
                return httpx.get(base + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, "the image's CMD answered /healthz")
        assert httpx.get(base + "/readyz", timeout=5).status_code == 200
        # Production: the public host is required for pages, and every page carries HSTS and a CSP.
        assert httpx.get(base + "/", timeout=5).status_code == 400
        page = httpx.get(base + "/", headers={"Host": "app.example"}, timeout=5)
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "script-src 'self'" in page.headers["content-security-policy"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
    assert process.returncode == 0
