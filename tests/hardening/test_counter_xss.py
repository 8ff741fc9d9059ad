"""XSS through the counter demo's id: in its path, pages, partials and error answers."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given

from tests.hardening.test_xss import CALLERS, FUZZ, Client, assert_inert, fuzz_client, post, views
from tests.hardening.xss import payloads

__all__ = ["fuzz_client"]  # the fixture, shared with test_xss.py


@FUZZ
@given(counter_id=payloads(max_size=64))
def test_xss_counter_id_in_path_pages_partials_and_errors(fuzz_client: Client, counter_id: str) -> None:
    for path in (f"/counter/{quote(counter_id, safe='')}", f"/counter/{quote(counter_id, safe='/')}"):
        views(fuzz_client, (path,), counter_id)
        for caller in CALLERS:
            assert_inert(post(fuzz_client, path, {}, caller), counter_id)
    # Unknown pages: the error page must not reflect the path as markup.
    views(fuzz_client, (f"/{quote(counter_id, safe='/')}",), counter_id)
