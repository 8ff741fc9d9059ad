"""XSS payloads and the check that a rendered HTML answer carries them only as inert text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import strategies as st

# Every payload names "xss", so an injected handler, URL or script is recognisable after parsing.
PAYLOADS = (
    "<script>alert('xss')</script>",
    "\"><img src=x onerror=alert('xss')>",
    "'><svg onload=alert('xss')>",
    '" hx-get="/xss" hx-trigger="load',
    "' hx-post='/xss' hx-trigger='load",
    '<div hx-get="/xss" hx-trigger="load">x</div>',
    "<a href=\"javascript:alert('xss')\">x</a>",
    "</textarea></title><script>alert('xss')</script>",
    "<iframe srcdoc=\"<script>alert('xss')</script>\"></iframe>",
    "javascript:alert('xss')",
    "{{7*7}}xss{% raw %}",
    "\" autofocus onfocus=\"alert('xss')",
    "<img/src=x/onerror=alert('xss')>",
    "\"/hx-on:load=\"alert('xss')",
)
DANGEROUS = set("<>\"'")
# An app path whose first segment is the app's own (not the payload's): e.g. `/things/<encoded id>`.
OWN_PATH = re.compile(r"/(?!xss)[a-z0-9_-]+/")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcdoc", "data", "hx-get", "hx-post", "hx-put"}


def payloads(max_size: int = 100, spaces: bool = True) -> st.SearchStrategy[str]:
    """A payload with a little random text around it (no spaces when the field refuses them)."""
    alphabet = "ab<>\"'=/&;" + (" " if spaces else "")
    noise = st.text(alphabet=alphabet, max_size=4)
    return st.builds(lambda pre, p, post: pre + p + post, noise, st.sampled_from(PAYLOADS), noise).map(
        lambda value: (value if spaces else value.replace(" ", "/"))[:max_size]
    )


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, raw in attrs:
            value = (raw or "").strip().lower()
            if name.startswith(("on", "hx-on")):
                self.problems.append(f"<{tag} {name}=...>: an event handler attribute")
            if name in URL_ATTRIBUTES and (value.startswith("javascript:") or value.startswith("/xss")):
                self.problems.append(f"<{tag} {name}={raw!r}>: an injected URL")
            # A path under one of the app's own prefixes holds the payload in a later, encoded segment.
            if name.startswith("hx-") and "xss" in value and not OWN_PATH.match(value):
                self.problems.append(f"<{tag} {name}={raw!r}>: an injected htmx attribute")
        if tag in {"iframe", "svg", "textarea"} and any("xss" in (v or "") for _, v in attrs):
            self.problems.append(f"<{tag}> built from the payload")
        if tag == "img" and any(n == "src" and not (v or "").startswith("http") for n, v in attrs):
            self.problems.append(f"<img> with a non-http src: {attrs!r}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "xss" in data:
            self.problems.append(f"an inline script with the payload: {data[:80]!r}")


def problems_in(body: str, sent: str) -> list[str]:
    """Why `body` (an HTML answer to a request that carried `sent`) is unsafe; empty when it is not."""
    found: list[str] = []
    lowered = body.lower()
    # The app may trim, collapse spaces or lowercase a value before storing it; escaping survives those.
    variants = {sent, " ".join(sent.split()), sent.strip()}
    for variant in variants:
        # Markup characters at the payload's edges may touch the page's own tags (`<strong>` + `>x`).
        core = variant.strip("".join(DANGEROUS))
        if DANGEROUS & set(core) and core.lower() in lowered:
            found.append(f"the payload appears unescaped: {variant!r}")
    if "49xss" in lowered:
        found.append("a template expression in the payload was evaluated")
    parser = _Elements()
    parser.feed(body)
    parser.close()
    return found + parser.problems
