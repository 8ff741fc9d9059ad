"""Pages served by the real app beside the feature modules' own: the live-stream status and the styles."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.server import ROOT

Client = TestClient[Litestar]
BROWSER = {"Accept": "text/html"}


def test_dev_live_reports_open_streams(client: Client) -> None:
    body = client.get("/dev/live").json()
    assert (body["open_streams"], body["listeners"]) == (0, 0)
    assert body["process_open_streams"] >= 0 and body["tasks"] > 0


def test_styles_are_served_compiled(client: Client) -> None:
    response = client.get("/static/app.css")
    assert response.status_code == 200
    # Utilities the templates use are in the build (make css regenerates it).
    for utility in (".text-5xl", ".bg-indigo-600", ".sr-only", ".md\\:grid-cols-5"):
        assert utility in response.text


def test_committed_styles_match_the_templates(tmp_path: Path) -> None:
    """web/static/app.css is what `make css` builds now (run it after changing classes)."""
    cli = ROOT / "node_modules" / ".bin" / "tailwindcss"
    if not cli.exists():
        pytest.skip("the Tailwind CLI is not installed (make css installs it; needs Node.js)")
    output = tmp_path / "app.css"
    subprocess.run(
        [str(cli), "-i", "web/styles/app.css", "-o", str(output), "--minify"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert output.read_text() == (ROOT / "web" / "static" / "app.css").read_text(), "run `make css`"
