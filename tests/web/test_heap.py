"""The collector policy of served workers: established streams frozen in batches, thawed as they end."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from web.heap import GC_YOUNG_THRESHOLD, YOUNG_PER_STREAM, LongLivedStreams


def open_to(streams: LongLivedStreams, level: int) -> None:
    """Streams establish or end one at a time until `level` are open, as a worker's would."""
    while streams.open < level:
        streams.established()
    while streams.open > level:
        streams.ended()


@pytest.fixture
def thawed() -> Iterator[None]:
    """Freezing and thresholds are process-wide: a test's are undone afterwards."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_policy_that_is_not_enabled_never_freezes(thawed: None) -> None:
    before = gc.get_threshold()
    streams = LongLivedStreams(freeze_every=2)
    for n in range(10):
        open_to(streams, n + 1)
    open_to(streams, 0)
    assert gc.get_freeze_count() == 0 and streams.freezes == 0 and streams.thaws == 0
    assert gc.get_threshold() == before


def test_streams_freeze_each_time_a_batch_more_are_open(thawed: None) -> None:
    streams = LongLivedStreams(freeze_every=3)
    streams.enabled = True
    state = [object() for _ in range(100)]  # what a stream holds, alive while it is open
    open_to(streams, 1)
    open_to(streams, 2)
    assert gc.get_freeze_count() == 0  # not yet a batch more than before
    open_to(streams, 3)
    assert streams.freezes == 1 and gc.get_freeze_count() > 0
    assert state  # still referenced: frozen objects stay alive and usable
    open_to(streams, 2)
    open_to(streams, 3)  # the same level again: nothing new to freeze
    assert streams.freezes == 1
    open_to(streams, 6)
    assert streams.freezes == 2


def test_a_worker_with_a_few_streams_at_a_time_never_freezes_or_thaws(thawed: None) -> None:
    streams = LongLivedStreams(freeze_every=3)
    streams.enabled = True
    for _ in range(50):  # page views: a stream opens, then ends, one or two at a time
        open_to(streams, 1)
        open_to(streams, 2)
        open_to(streams, 1)
        open_to(streams, 0)
    assert streams.freezes == 0 and streams.thaws == 0 and gc.get_freeze_count() == 0


def test_thawed_collected_and_frozen_again_once_half_the_frozen_streams_ended(thawed: None) -> None:
    streams = LongLivedStreams(freeze_every=3)
    streams.enabled = True
    for n in range(12):
        open_to(streams, n + 1)
    assert streams.freezes == 4 and gc.get_freeze_count() > 0
    for open_left in range(11, 6, -1):  # 5 of the 12 end: more than half still open
        open_to(streams, open_left)
    assert streams.thaws == 0
    open_to(streams, 6)  # half gone
    assert streams.thaws == 1 and streams.frozen_at == 6
    assert gc.get_freeze_count() > 0  # what is still alive is out of the scans again


def test_cyclic_garbage_frozen_with_a_stream_is_collected_at_the_thaw(thawed: None) -> None:
    streams = LongLivedStreams(freeze_every=1)
    streams.enabled = True

    class Node:
        peer: object = None

    a, b = Node(), Node()
    a.peer, b.peer = b, a
    alive = weakref.ref(a)
    open_to(streams, 1)  # frozen while the cycle is still referenced
    del a, b
    gc.collect()
    assert alive() is not None  # garbage now, but in a generation the collector does not scan
    open_to(streams, 0)  # every frozen stream ended: thawed and collected
    assert alive() is None


def test_the_young_generation_grows_with_the_streams_open_and_shrinks_as_they_end(thawed: None) -> None:
    streams = LongLivedStreams(freeze_every=1000)
    streams.enabled = True
    open_to(streams, 10)
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD  # a few streams: the worker's own threshold
    open_to(streams, 10_000)
    assert gc.get_threshold()[0] == YOUNG_PER_STREAM * 10_000  # a change's fan-out fits
    open_to(streams, 2_000)
    assert gc.get_threshold()[0] == YOUNG_PER_STREAM * 2_000
    open_to(streams, 3)
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
