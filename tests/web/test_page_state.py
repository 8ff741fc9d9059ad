"""Which templates read page state (preferences, organization menu): remote functions load it for those."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment

from app import create_app
from settings import Settings
from web.page_state import ON_RENDER, reads_page_state
from web.remote.declare import REGISTRY


def environment(**templates: str) -> Environment:
    env = Environment(loader=DictLoader(templates), autoescape=True)
    env.filters["localtime"] = str
    return env


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ("<p>{{ count }}</p>", False),
        ("{{ moment | localtime }}", True),
        ("{% filter localtime %}{{ moment }}{% endfilter %}", True),
        ("{% set prefs = user_preferences() %}{{ prefs.theme }}", True),
        ("{% if org_menu() %}menu{% endif %}", True),
        ('{% include "plain.html" %}', False),
        ('{% include "times.html" %}', True),
        ('{% include "via.html" %}', True),  # two includes down
        ('{% extends "times.html" %}', True),
        ('{% import "times.html" as t %}', True),
        ("{% include name %}", True),  # computed at render time: assumed to read it
        ('{% include "missing.html" %}', True),
        ('{% include "loop.html" %}', False),  # includes itself: followed once
    ],
)
def test_templates_that_read_page_state_are_found_through_their_references(source: str, reads: bool) -> None:
    env = environment(
        **{
            "t.html": source,
            "plain.html": "<b>{{ x }}</b>",
            "times.html": "{{ t | localtime }}",
            "via.html": '{% include "times.html" %}',
            "loop.html": '{% if deep %}{% include "loop.html" %}{% endif %}',
        }
    )
    assert reads_page_state(env, "t.html") is reads
    assert reads_page_state(env, "t.html") is reads  # the cached answer is the same


def test_the_apps_layout_and_time_showing_partials_read_page_state(tmp_path: object) -> None:
    app = create_app(Settings(app_env="development", data_dir=tmp_path).finalized())  # type: ignore[arg-type]
    engine = app.template_engine
    env = engine.engine  # type: ignore[union-attr]
    assert reads_page_state(env, "base.html")
    assert reads_page_state(env, "partials/account_sessions.html")
    assert not reads_page_state(env, "partials/field_errors.html")


def test_every_remote_function_route_defers_page_state_to_its_answer(tmp_path: object) -> None:
    app = create_app(Settings(app_env="development", data_dir=tmp_path).finalized())  # type: ignore[arg-type]
    names = {rf.name for rf in REGISTRY}
    handlers = [h for route in app.routes for h in getattr(route, "route_handlers", []) if h.name in names]
    assert handlers and all(h.opt.get(ON_RENDER) for h in handlers)
