"""The template engine: each template compiled once, globals registered at start-up visible to all."""

from __future__ import annotations

from pathlib import Path

from web.templating import HTMLTemplate, TemplateEngine


def test_a_template_is_compiled_once_and_not_reread_from_disk(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("first {{ word }}")
    engine = TemplateEngine(directory=tmp_path)
    assert engine.get_template("page.html").render(word="render") == "first render"
    (tmp_path / "page.html").write_text("second {{ word }}")
    # `dev` restarts the process on template changes; a running server never stats the file again.
    assert engine.get_template("page.html").render(word="render") == "first render"


def test_globals_registered_before_the_first_render_reach_every_template_and_include(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text('{{ greet() }} {% include "part.html" %}')
    (tmp_path / "part.html").write_text("{{ greet() }} {{ name }}")
    engine = TemplateEngine(directory=tmp_path)
    engine.register_template_callable("greet", lambda context: "hello")
    engine.engine.globals["name"] = "ada"
    assert engine.get_template("page.html").render() == "hello hello ada"


def test_html_templates_declare_text_html() -> None:
    assert HTMLTemplate("pages/home.html").media_type == "text/html"
    assert HTMLTemplate("partials/x.html", media_type="text/plain").media_type == "text/plain"
