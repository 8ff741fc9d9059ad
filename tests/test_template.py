"""The repository as a Copier template: make projects from its committed HEAD, run them, update them.

Projects are made from a `git clone` of this checkout, so they hold exactly the committed HEAD
(what a user cloning the repository gets; in CI the tree is clean anyway). Copying the working
tree itself would also take uncommitted edits, which Copier allows with a warning; here they
would be other people's work in progress.

The generated projects' whole suites (each as long as this one) run in
tests/test_template_suites.py, which `make test-template` (and CI) runs; the tests here check what
the answers change and that a generated app serves.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from settings import APP_NAME
from tests.support.server import free_port, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("copier") is None, reason="copier is not installed"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]

ROOT = Path(__file__).resolve().parents[1]
CUSTOM_ANSWERS = {
    "project_name": "Acme Board",
    "description": 'Boards for "Acme" teams, with a back\\slash and a résumé',
    "oauth_providers": '["github"]',
    "counter_demo": "false",
}
COUNTER_DEMO_FILES = (
    "actors/counter.py",
    "actors/counter_increment.lua",
    "web/functions/counter.py",
    "web/templates/pages/counter.html",
    "web/templates/partials/counter.html",
    "web/templates/partials/counter_live.html",
    "web/templates/partials/counter_value.html",
    "tests/web/test_remote_counter.py",
    "bench/counter_actors.py",
)
# "Names the demo": `counter` at the start of a word, any case (`CounterActor`, `counter_id`,
# `/counter/`), except where the word means something else: the `Counter` classes of `collections`
# and `prometheus_client`, pyotp's `counter_offset`, vendored code, and the question `counter_demo`
# where Copier records the answer and docs/template.md names it.
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


# Environment for child processes: a fixed git identity, and no TEST_DATABASE_URL/TEST_REDIS_URL, so a
# generated suite runs on its own embedded stack instead of sharing CI's PostgreSQL and Redis.
CHILD_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS_URL", "DATABASE_URL"))},
    "GIT_AUTHOR_NAME": "Template Test",
    "GIT_AUTHOR_EMAIL": "template-test@example.invalid",
    "GIT_COMMITTER_NAME": "Template Test",
    "GIT_COMMITTER_EMAIL": "template-test@example.invalid",
}


def run(cwd: Path, *args: str, timeout: float = 120) -> str:
    """Run a command; on failure the assertion shows its output."""
    result = subprocess.run(
        args, cwd=cwd, env=CHILD_ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def copier(cwd: Path, *args: str) -> str:
    return run(cwd, sys.executable, "-m", "copier", *args, "--quiet")


def clone_template(into: Path) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the template is copied from the committed HEAD")
    run(into.parent, "git", "clone", "--quiet", str(ROOT), str(into))
    return into


def generate(template: Path, destination: Path, answers: dict[str, str]) -> Path:
    data = [f"--data={key}={value}" for key, value in answers.items()]
    copier(destination.parent, "copy", "--vcs-ref=HEAD", "--defaults", *data, str(template), str(destination))
    return destination


def env_file(project: Path) -> dict[str, str]:
    lines = (project / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clone_template(tmp_path_factory.mktemp("template") / "remote-stack")


@pytest.fixture(scope="module")
def custom_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(template, tmp_path_factory.mktemp("custom") / "acme-board", CUSTOM_ANSWERS)


@pytest.fixture(scope="module")
def default_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(template, tmp_path_factory.mktemp("default") / "my-app", {})


def test_template_custom_answers_rename_the_project(custom_project: Path) -> None:
    pyproject = tomllib.loads((custom_project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "acme-board"
    assert pyproject["project"]["description"] == CUSTOM_ANSWERS["description"]
    readme = (custom_project / "README.md").read_text()
    assert readme.startswith(f"# Acme Board\n\n{CUSTOM_ANSWERS['description']}\n")
    assert "## Start a new app" not in readme
    assert "copier update --defaults" in readme
    base = (custom_project / "web/templates/base.html").read_text()
    assert APP_NAME not in base
    assert "}}Acme Board</a>" in base  # the home link, after its logo mark
    assert ">Acme Board</h1>" in (custom_project / "web/templates/pages/home.html").read_text()
    assert "image: acme-board:latest" in (custom_project / "compose.yaml").read_text()
    assert 'APP_NAME = "Acme Board"' in (custom_project / "settings.py").read_text()


def test_template_custom_answers_pick_providers_and_drop_counter_demo(custom_project: Path) -> None:
    env = env_file(custom_project)
    assert {"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"} <= env.keys()
    assert not any(key.startswith("GOOGLE_") for key in env)
    for path in COUNTER_DEMO_FILES:
        assert not (custom_project / path).exists(), path
    assert (custom_project / "tests/support/tally.py").exists()  # the tests' own actor stays
    answers = (custom_project / ".copier-answers.yml").read_text()
    assert "counter_demo: false" in answers
    assert "- github" in answers
    assert re.search(r"(?m)^_commit: \S+$", answers)


def test_template_without_the_demo_names_it_nowhere(custom_project: Path) -> None:
    assert "counter_demo: false" in (custom_project / ".copier-answers.yml").read_text()
    assert mentions(custom_project) == []


def test_template_leaves_template_files_out(custom_project: Path, default_project: Path) -> None:
    for project in (custom_project, default_project):
        assert not (project / "copier.yml").exists()
        assert not (project / "tests/test_template.py").exists()
        assert not list(project.rglob("*.jinja"))


def test_template_auth_secret_is_fresh_random_hex(custom_project: Path, default_project: Path) -> None:
    secrets = [env_file(project)["AUTH_SECRET"] for project in (custom_project, default_project)]
    for secret in secrets:
        assert re.fullmatch(r"[0-9a-f]{64}", secret)
        # One draw per digit: a constant-folded filter would repeat a single character.
        assert len(set(secret)) >= 8
    assert secrets[0] != secrets[1]


def test_template_defaults_keep_counter_demo_and_all_providers(default_project: Path) -> None:
    for path in COUNTER_DEMO_FILES:
        assert (default_project / path).exists(), path
    env = env_file(default_project)
    assert {"GOOGLE_CLIENT_ID", "GITHUB_CLIENT_ID"} <= env.keys()
    assert tomllib.loads((default_project / "pyproject.toml").read_text())["project"]["name"] == "my-app"


def test_template_defaults_dev_server_serves_healthz(default_project: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**CHILD_ENV, "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    # What `make dev` runs, with this interpreter instead of the project's own .venv.
    process = subprocess.Popen(
        [sys.executable, "app.py", "dev", "--port", str(port)],
        cwd=default_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, f"app exited with {process.returncode}"
        try:
            return httpx.get(base_url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, 60, "the generated app answered /healthz")
        home = httpx.get(base_url + "/", timeout=5)
        assert home.status_code == 200
        assert "My App" in home.text
    finally:
        # The reloader runs the server in a child: stop the whole session.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


@pytest.fixture
def fresh_template(tmp_path: Path) -> Iterator[Path]:
    yield clone_template(tmp_path / "template")


def test_template_update_applies_a_new_template_commit(fresh_template: Path, tmp_path: Path) -> None:
    project = generate(fresh_template, tmp_path / "my-app", {"project_name": "Updated App"})
    secret = env_file(project)["AUTH_SECRET"]
    run(project, "git", "init", "--quiet")
    run(project, "git", "add", "-A")
    run(project, "git", "commit", "--quiet", "-m", "Start from the template")
    (project / "NOTES.md").write_text("our own notes\n")
    run(project, "git", "add", "NOTES.md")
    run(project, "git", "commit", "--quiet", "-m", "Our notes")

    # A new template version: a new file, and a change to a templated one.
    (fresh_template / "CHANGELOG.md").write_text("# Changes\n\n- a newer starter\n")
    env_template = fresh_template / ".env.jinja"
    env_template.write_text(env_template.read_text() + "NEW_SETTING=1\n")
    run(fresh_template, "git", "add", "CHANGELOG.md", ".env.jinja")
    run(fresh_template, "git", "commit", "--quiet", "-m", "A newer starter")
    new_commit = run(fresh_template, "git", "describe", "--tags", "--always").strip()

    copier(project, "update", "--defaults", "--vcs-ref=HEAD")  # as the generated README says

    assert (project / "CHANGELOG.md").read_text() == "# Changes\n\n- a newer starter\n"
    assert (project / "NOTES.md").read_text() == "our own notes\n"
    answers = (project / ".copier-answers.yml").read_text()
    # YAML quotes a hash that reads as a number (all digits, or digits with one "e"): '9774478'.
    assert re.search(rf"(?m)^_commit: (['\"]?){re.escape(new_commit)}\1$", answers), answers
    assert "project_name: Updated App" in answers
    # .env is the developer's: kept as it was, secret included.
    assert env_file(project)["AUTH_SECRET"] == secret
    assert "NEW_SETTING" not in env_file(project)
