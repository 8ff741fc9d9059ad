"""A project made with `counter_demo=false` names the demo nowhere and passes its whole suite.

"Nowhere": no file of the project mentions it (a case-insensitive match of `counter` at the start
of a word, so `CounterActor`, `counter_id` and `/counter/` count) except where the word means
something else: the `Counter` classes of `collections` and `prometheus_client`, pyotp's
`counter_offset`, vendored third-party code, and the template's question `counter_demo` where
Copier records the answer and docs/template.md names it. The whole suite is the project's own
`make test` (every test file, browser and slow ones included) with this interpreter, as
tests/test_template.py runs its subsets. One test, in a file of its own, so xdist runs it beside
the others: it takes minutes.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM
from tests.test_template import clone_template, generate, run

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MENTION = re.compile(r"(?i)(?<![a-z0-9_])counter(?!_offset)")
LIBRARY_COUNTER = re.compile(r"(?m)^\s*from (collections|prometheus_client) import .*\bCounter\b")
# Where Copier keeps the answers, and the page about the template's questions.
QUESTION_NAMED = {".copier-answers.yml", "docs/template.md"}
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", "test-artifacts", ".data", "vendor"}


def mentions(project: Path) -> list[str]:
    found = []
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if not path.is_file() or SKIPPED_DIRS & set(relative.parts):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # images, fonts
        if LIBRARY_COUNTER.search(text):
            text = re.sub(r"\bCounter\b", "", text)
        if relative.as_posix() in QUESTION_NAMED:
            text = text.replace("counter_demo", "")
        found += [
            f"{relative}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1)
            if MENTION.search(line)
        ]
        if MENTION.search(relative.as_posix()):
            found.append(f"{relative}: the file's name")
    return found


def test_project_without_the_demo_never_names_it_and_passes_its_whole_suite(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: the whole suite includes the browser tests")
    for place in ("template", "no-demo"):
        (tmp_path / place).mkdir()
    template = clone_template(tmp_path / "template" / "remote-stack")
    project = generate(template, tmp_path / "no-demo" / "plain-app", {"counter_demo": "false"})
    assert "counter_demo: false" in (project / ".copier-answers.yml").read_text()
    assert mentions(project) == []
    # As the message after `copier copy` says: the project is a git repository (tests/test_guide.py
    # copies it by `git ls-files`).
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Start from Remote Stack"]):
        run(project, "git", *command)
    workers = os.environ.get("TEST_WORKERS", "2")
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers]
    output = run(project, sys.executable, *args, "--dist", "loadfile", timeout=3600)
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "error" not in summary, output
