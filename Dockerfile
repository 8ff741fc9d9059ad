# syntax=docker/dockerfile:1
# Production image: `docker build -t remote-stack .`, then run it with DATABASE_URL, REDIS_URL,
# AUTH_SECRET and BASE_URL set (README "Deploy"). Migrations run when the container starts.

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /venv
WORKDIR /src
COPY . .
# The versions in uv.lock, as `make install` gets them (without the dev extras). Every dependency
# ships a manylinux wheel for CPython 3.12, so no compiler is needed.
# Bytecode compiled here: PYTHONDONTWRITEBYTECODE (and a read-only /app) mean no process caches it,
# so without it every worker would compile each import again when it starts.
RUN /venv/bin/pip install uv==0.13.9 \
    && UV_PROJECT_ENVIRONMENT=/venv /venv/bin/uv sync --locked --no-editable --compile-bytecode --python /venv/bin/python

FROM python:3.12-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    DATA_DIR=/data
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /data && chown app:app /data
COPY --from=build /venv /venv
# The code stays owned by root: the app user can read it, not change it.
COPY --from=build /src /app
# Compiled where it runs, so tracebacks name /app's files.
RUN python -m compileall -q -j0 /app
WORKDIR /app
USER app
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# granian stops accepting on SIGTERM and lets in-flight requests finish before exiting.
STOPSIGNAL SIGTERM
CMD ["python", "app.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
