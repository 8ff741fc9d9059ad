"""Whether this project kept the counter demo: a project made from the template may leave it out."""

from __future__ import annotations

import importlib.util

import pytest

COUNTER_DEMO = importlib.util.find_spec("web.functions.counter") is not None

# For tests that use the counter's routes or pages but test something else (XSS, schemas, ...).
needs_counter_demo = pytest.mark.skipif(
    not COUNTER_DEMO, reason="made from the template without the counter demo"
)
