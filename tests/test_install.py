"""`make install` leaves compiled bytecode, so no process compiles its imports again at start.

CI and containers often set PYTHONDONTWRITEBYTECODE, under which Python never writes the cache
itself: without bytecode from the install, every server process started would compile each import.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest


def test_make_install_compiles_the_dependencies_bytecode() -> None:
    if not (Path(sys.prefix) / ".installed-stamp").exists():
        pytest.skip("this environment was not made by `make install`")
    for name in ("litestar", "jinja2", "msgspec", "redis.asyncio.client", "piccolo.query.base"):
        source = importlib.import_module(name).__file__
        assert source is not None and source.endswith(".py"), name
        cached = Path(importlib.util.cache_from_source(source))
        assert cached.is_file(), f"{name}: no bytecode for {source}"
