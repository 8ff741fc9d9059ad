"""The repository as a Copier template: make projects from its committed HEAD, run them, update them.

Projects are made from a `git clone` of this checkout, so they hold exactly the committed HEAD
(what a user cloning the repository gets; in CI the tree is clean anyway). Copying the working
tree itself would also take uncommitted edits, which Copier allows with a warning; here they
would be other people's work in progress.

A generated project's `make test` first builds its own .venv (a locked install with uv), so
its suite runs here with this interpreter instead: `python -m pytest` from inside the project
puts the project first on `sys.path` (checked), and the packages are the ones its pyproject
names. Its `tests/actors` and `tests/test_app_process.py` are left out to stay within time:
the template copies `actors/` and those tests unchanged (checked byte for byte), the whole
suite runs them here, and the served process is checked by the /healthz test below.
"""

from __future__ import annotations

import filecmp
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
from tests.browser.support import CHROMIUM
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


def test_template_custom_project_passes_its_own_tests(template: Path, custom_project: Path) -> None:
    demo = [path.name for path in (template / "actors").glob("counter*")] + ["test_counter.py"]
    for unchanged in ("actors", "tests/actors"):
        comparison = filecmp.dircmp(
            template / unchanged, custom_project / unchanged, ignore=["__pycache__", *demo]
        )
        assert not (comparison.diff_files or comparison.left_only or comparison.right_only), unchanged
    python = sys.executable
    imported = run(custom_project, python, "-c", "import app, web.functions; print(app.__file__)")
    assert Path(imported.strip()).parent == custom_project
    args = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not browser and not slow"]
    # Run the suites whose subject the answers change: names in pages and mail, the providers
    # offered, the counter demo kept or dropped, settings. The remote-function
    # mechanism, security, process, production, hardening and CLI suites run on byte-identical
    # code in this repository and would double CI time here; the project's own `make test`
    # runs them all.
    touched = [
        "tests/test_settings.py",
        "tests/web/test_pages.py",
        "tests/web/test_health.py",
        "tests/web/test_auth_flows.py",
        "tests/web/test_oauth.py",
        "tests/web/test_remote_counter.py",
    ]
    present = [path for path in touched if (custom_project / path).exists()]
    output = run(custom_project, python, *args, *present, timeout=600)
    assert re.search(r"\d+ passed", output)


@pytest.mark.browser
def test_template_renamed_project_passes_its_browser_tests(default_project: Path) -> None:
    """A project named otherwise ("My App") drives its own pages in Chromium, counter demo included.

    The subset that reads names, headings and demo text off the pages: the live counter, auth, and
    the layout's menu and dark mode. The admin, OAuth and axe suites run the same markup here.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    assert APP_NAME not in (default_project / "web/templates/base.html").read_text()
    args = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "browser"]
    # -k matches module names too: all of the live and auth suites, the layout's menu and dark mode.
    subset = ["-k", "test_counter_live_browser or test_auth_browser or menu or dark", "tests/browser"]
    output = run(default_project, sys.executable, *args, *subset, timeout=600)
    assert re.search(r"\d+ passed", output) and " skipped" not in output, output


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
