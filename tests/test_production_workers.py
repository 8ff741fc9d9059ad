"""Worker processes forked from one parent must not share actor request ids (exactly-once depends on it)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue

from actors.runtime import new_request_id


def _mint(queue: Queue[str]) -> None:
    queue.put(new_request_id())


def test_forked_workers_mint_distinct_request_ids() -> None:
    # granian forks its workers after `python app.py serve` imported the actors in the parent.
    context = multiprocessing.get_context("fork")
    queue: Queue[str] = context.Queue()
    new_request_id()
    children = [context.Process(target=_mint, args=(queue,)) for _ in range(3)]
    for child in children:
        child.start()
    ids = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    ids.append(new_request_id())
    tags = {request_id.rsplit("-", 1)[0] for request_id in ids}
    assert len(tags) == 4, ids
