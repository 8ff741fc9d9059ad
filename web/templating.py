"""The Jinja environment pages and partials render with: compiled once, globals flattened per template."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from jinja2 import Template as JinjaTemplate
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template


class FlatGlobalsEnvironment(Environment):
    """A Jinja environment whose templates see a plain dict of globals, not a ChainMap.

    Jinja builds a context for every render and every `{% include %}` and copies the globals' keys
    into it; over a ChainMap that copy was about a quarter of a small partial's render time.
    A template takes a snapshot of the environment's globals when it is first loaded, so every
    global is registered at start-up (TemplateConfig's engine_callback), before anything renders.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def get_template(
        self,
        name: str | JinjaTemplate,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> JinjaTemplate:
        """A template loaded once by name when templates never reload: every render and `{% include %}`
        asks for its templates by name, and Jinja's cache answers that with a lock, a weakref and a reorder.
        """
        if self.auto_reload or globals is not None or not isinstance(name, str):
            return super().get_template(name, parent, globals)
        loaded: dict[str, JinjaTemplate] = self.__dict__.setdefault("_loaded_by_name", {})
        found = loaded.get(name)
        if found is None or found.environment is not self:  # an overlay shares this dict: not its own
            found = super().get_template(name, parent)
            if found.environment is self:
                loaded[name] = found
        return found


class TemplateEngine(JinjaTemplateEngine):
    """Litestar's Jinja engine over a FlatGlobalsEnvironment.

    `auto_reload=False` compiles each template once: `dev` restarts the process when a template
    changes, so checking every file's mtime on each render (Jinja's default) buys nothing.
    """

    def __init__(
        self, directory: Path | list[Path] | None = None, engine_instance: Environment | None = None
    ) -> None:
        if engine_instance is None:
            engine_instance = FlatGlobalsEnvironment(
                loader=FileSystemLoader(directory or []), autoescape=True, auto_reload=False
            )
        super().__init__(engine_instance=engine_instance)


class HTMLTemplate(Template):
    """Litestar's Template response for our `.html` pages and partials, declared `text/html`.

    Without a media type Litestar works it out from the file name on every response.
    """

    def __init__(self, template_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("media_type", MediaType.HTML)
        super().__init__(template_name, **kwargs)
