"""The usage chart: server-rendered SVG bars for the last days, labelled, escaped, no script."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from actors.usage import UsageBucket
from web.templating import TemplateEngine

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
FIRST = datetime(2026, 11, 5, tzinfo=UTC)


def render(tmp_path: Path, days: list[UsageBucket], **options: object) -> str:
    (tmp_path / "chart.html").write_text(
        '{% from "partials/usage_chart.html" import usage_chart %}{{ usage_chart(days, **options) }}'
    )
    engine = TemplateEngine(directory=[tmp_path, TEMPLATES])
    return engine.get_template("chart.html").render(days=days, options=options)


def month(counts: list[dict[str, int]]) -> list[UsageBucket]:
    return [UsageBucket(start=FIRST + timedelta(days=n), counts=c) for n, c in enumerate(counts)]


def bars(svg: str) -> list[tuple[str, int, float, float]]:
    """(day, value, y, height) of each bar, in order."""
    found = re.findall(
        r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*'
        r'data-day="([\d-]+)" data-value="(\d+)"',
        svg,
    )
    return [(day, int(value), float(y), float(h)) for y, h, day, value in found]


def test_one_bar_per_day_scaled_to_the_busiest_day(tmp_path: Path) -> None:
    counts: list[dict[str, int]] = [{} for _ in range(30)]
    counts[0] = {"counter.increment": 10}
    counts[14] = {"counter.increment": 30, "counter.reset": 10}  # 40 in all: the peak
    counts[29] = {"counter.increment": 20}
    svg = render(tmp_path, month(counts))
    drawn = bars(svg)
    assert [day for day, *_ in drawn] == [(FIRST + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(30)]
    assert [(value, height) for _, value, _, height in drawn if value] == [
        (10, 30.0),
        (40, 120.0),
        (20, 60.0),
    ]
    assert all(height == 0.0 for _, value, _, height in drawn if not value)
    assert {y + h for _, _, y, h in drawn} == {136.0}  # every bar stands on the axis
    assert "<title>2026-11-19: 40</title>" in svg
    assert ">Nov 5</text>" in svg and ">Dec 4</text>" in svg  # the first and last day
    assert ">max 40</text>" in svg
    assert 'aria-label="Events per day: 70 in 30 days, at most 40 a day"' in svg
    assert "<script" not in svg


def test_one_event_only_when_named(tmp_path: Path) -> None:
    days = month([{"a.b": 2, "c": 5}, {"a.b": 4}])
    svg = render(tmp_path, days, event="a.b")
    assert [(value, height) for _, value, _, height in bars(svg)] == [(2, 60.0), (4, 120.0)]
    assert "(<code>a.b</code>): 6 in the last 2 days" in svg


def test_no_events_draws_empty_bars(tmp_path: Path) -> None:
    svg = render(tmp_path, month([{}] * 30))
    assert [h for *_, h in bars(svg)] == [0.0] * 30
    assert ">max 0</text>" in svg


def test_title_and_event_are_escaped(tmp_path: Path) -> None:
    svg = render(tmp_path, month([{"x": 1}]), title='<script>alert(1)</script>"', event='"><img src=x>')
    assert "<script>" not in svg and "<img" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in svg
    assert "&#34;&gt;&lt;img src=x&gt;" in svg
