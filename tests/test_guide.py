"""README's "How to add a feature" works: its files, written into a copy of the project, serve live."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import ROOT, RunningApp, running_app
from tests.support.signin import browser, csrf_of, signed_in

pytestmark = pytest.mark.slow

# The files the guide shows, in the order its code blocks appear; none of them is a core file.
FILES = (
    "actors/claps.py",
    "actors/claps_get.lua",
    "actors/claps_add.lua",
    "web/functions/claps.py",
    "web/templates/partials/claps.html",
    "web/templates/pages/claps.html",
)
CORE = {"app.py", "web/services.py", "web/live.py", "web/routes.py", "web/live_views.py"}
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def guide_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## How to add a feature")
    end = readme.index("\n#", start + 3)
    return readme[start:end]


def guide_files() -> dict[str, str]:
    section = guide_section()
    blocks = [body for _lang, body in FENCE.findall(section)]
    assert len(blocks) == len(FILES), f"the guide has {len(blocks)} code blocks, {len(FILES)} files expected"
    for path in FILES:
        assert f"`{path}`" in section, f"the guide does not name {path}"
    return dict(zip(FILES, blocks, strict=True))


def test_the_guide_touches_no_core_file() -> None:
    files = guide_files()
    assert not CORE & set(files)
    assert all(not (ROOT / path).exists() for path in files), "the example must not already be in the project"


def project_copy(target: Path) -> Path:
    """The project's files as the working tree has them (tracked and new, not ignored), plus the guide's."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name, text in guide_files().items():
        (target / name).write_text(text)
    return target


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    root = project_copy(tmp_path_factory.mktemp("guide-project"))
    with running_app(tmp_path_factory.mktemp("guide-data"), root=root) as app:
        yield app


async def first_messages(
    app: RunningApp, path: str, count: int, then: object = None
) -> list[tuple[int, str]]:
    """The first `count` SSE messages (id, data) of `path`; `then()` runs once the first one arrived."""
    received: list[tuple[int, str]] = []
    async with (
        httpx.AsyncClient(base_url=app.base_url, timeout=10) as http,
        http.stream("GET", path) as response,
    ):
        assert response.status_code == 200
        ident, data = None, []
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                ident = int(line[4:])
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and ident is not None:
                received.append((ident, "\n".join(data)))
                ident, data = None, []
                if len(received) == 1 and then is not None:
                    await asyncio.to_thread(then)  # type: ignore[arg-type]
                if len(received) == count:
                    break
    return received


def test_the_guides_page_command_and_live_stream_work(server: RunningApp) -> None:
    page = server.get("/claps/hello", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'sse-connect="/claps/hello/events?since=0"' in page.text and "0 claps" in page.text
    visitor = browser(server.base_url)  # signed out: the command is guarded by default
    refused = visitor.post(
        "/claps/hello", headers={"Accept": "application/json", "x-csrftoken": csrf_of(visitor)}
    )
    visitor.close()
    assert refused.status_code == 401

    ada = signed_in(server.base_url, server.data_dir, "guide@example.com")

    def clap() -> None:
        assert server.get("/dev/live").json()["listeners_by_kind"]["claps"] == 1  # the stream is counted
        answer = ada.post("/claps/hello", headers={"Accept": "application/json", "x-csrftoken": csrf_of(ada)})
        assert answer.status_code == 200 and answer.json() == {"id": "hello", "count": 1, "version": 1}

    messages = asyncio.run(asyncio.wait_for(first_messages(server, "/claps/hello/events", 2, clap), 20))
    ada.close()
    assert messages[0][0] == 0 and "0 claps" in messages[0][1]
    assert messages[1][0] == 1
    assert '<p id="claps" hx-swap-oob="true" data-version="1">1 claps</p>' in messages[1][1]
