"""Projects made from the template pass their own whole suite: browser, slow and process tests included.

Two projects: one renamed, with one OAuth provider and without the counter demo; one with the
defaults (the demo kept) under the default name. Each suite runs as its `make test` would (pytest
with xdist, one file per worker) with this interpreter: `python -m pytest` from inside the project
puts the project first on `sys.path`, and the packages are the ones its pyproject names.

Each run is as long as this repository's own suite, so `make test` leaves them out and
`make test-template` runs them (CI runs both): set TEST_GENERATED_SUITES=1 to run them here.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM
from tests.test_template import CUSTOM_ANSWERS, clone_template, generate, run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        os.environ.get("TEST_GENERATED_SUITES") != "1",
        reason="generated projects' whole suites run with `make test-template` (TEST_GENERATED_SUITES=1)",
    ),
]

PROJECTS = {"renamed-without-demo": CUSTOM_ANSWERS, "defaults": {}}


@pytest.mark.parametrize("answers", PROJECTS.values(), ids=PROJECTS.keys())
def test_generated_project_passes_its_whole_suite(answers: dict[str, str], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: the whole suite includes the browser tests")
    (tmp_path / "template").mkdir()
    template = clone_template(tmp_path / "template" / "remote-stack")
    project = generate(template, tmp_path / "project", answers)
    # As the message after `copier copy` says: the project is a git repository (tests/test_guide.py
    # copies it by `git ls-files`).
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Start from the template"]):
        run(project, "git", *command)
    # As `make test` does first: its modules compiled once rather than by every process it starts.
    run(project, sys.executable, "-m", "compileall", "-q", "-j0", "-x", "/\\.|node_modules", ".")
    workers = os.environ.get("TEST_WORKERS", str((os.cpu_count() or 1) + 1))  # as the Makefile's default
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers, "--dist", "loadfile"]
    output = run(project, sys.executable, *args, timeout=3600)
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "error" not in summary, output
    # Only what needs a service this machine may lack is skipped (PostgreSQL, an external Redis, Node's
    # Tailwind CLI, docker compose), never a browser test.
    assert "Chromium not found" not in output, output
