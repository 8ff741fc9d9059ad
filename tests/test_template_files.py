"""The template's own files, checked without running Copier: twins include only what they can."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def delimiters() -> list[str]:
    envops = re.search(r"(?ms)^_envops:\n(.*?)^\S", (ROOT / "copier.yml").read_text())
    assert envops
    return re.findall(r'(?m)^\s+\w+_string: "(.+)"$', envops.group(1))


def twins() -> list[Path]:
    """`*.jinja` files of the repository (not of hidden folders such as .venv, nor node_modules)."""
    found = []
    for path in ROOT.rglob("*.jinja"):
        folders = path.relative_to(ROOT).parts[:-1]
        if not any(part.startswith(".") or part == "node_modules" for part in folders):
            found.append(path)
    return found


def included_files() -> list[Path]:
    names = {name for twin in twins() for name in re.findall(r'include "([^"]+)"', twin.read_text())}
    return [ROOT / name for name in sorted(names)]


def test_template_copier_yml_sets_six_delimiters() -> None:
    assert len(delimiters()) == 6


def test_template_included_files_hold_no_template_delimiters() -> None:
    """A twin includes its live file as a template: Copier's delimiters there would break `copier copy`."""
    files = included_files()
    assert ROOT / "pyproject.toml" in files and ROOT / "README.md" in files
    for path in files:
        text = path.read_text()
        for delimiter in delimiters():
            assert delimiter not in text, f"{path.relative_to(ROOT)} contains {delimiter!r}"


def test_template_twins_sit_beside_their_live_file() -> None:
    for twin in twins():
        if twin.name.startswith("[[") or twin.name == ".env.jinja":
            continue  # the answers file and .env are new files, not twins
        assert twin.with_suffix("").is_file(), f"{twin.relative_to(ROOT)} replaces no file"
