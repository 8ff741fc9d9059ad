"""The garbage collector's policy in a server worker: long-lived objects kept out of its scans.

CPython's collector scans every tracked object of a generation when it collects it. A worker's
start-up heap (modules, routes, compiled templates, pools) and the state of its open SSE streams
(each a task, coroutines, a subscription, a queue) live for minutes to hours, so scanning them
frees nothing. With 10,000 streams open, two kinds of scan paused the worker:

- A change wakes every stream at once, and while they take turns writing it each holds a few new
  objects (its message event, the coroutines of the send): tens of thousands of young objects,
  so the youngest generation filled up mid-way and was scanned, 25-50 ms, once or more per change.
  The young threshold therefore grows with the streams open (`YOUNG_PER_STREAM` each): a fan-out
  fits in it, and what it held is freed by reference counting before the next collection.
- Full collections scanned every stream's state (~90 objects each). `gc.freeze()` moves every
  object alive at that moment to a generation the collector never scans; streams are frozen each
  time `FREEZE_EVERY` more are open than at the last freeze.

With 10,000 streams on one worker, collections of 25-50 ms came about once per change before, none
above a few milliseconds after (bench/RESULTS.md). Frozen objects are still freed by reference
counting when the last reference goes; only garbage in reference cycles among them waits until
they are thawed (`gc.unfreeze()`). Requests leave no such cycles (tests/web/test_request_garbage.py),
and once half the streams open at the last freeze have ended, the policy thaws, collects once
(finding whatever they left) and freezes what is still alive again.

Only served workers use it (`app.asgi()`): tests build and drop hundreds of apps in one process.
"""

from __future__ import annotations

import gc

# Collections of the youngest generation start after this many new container objects (CPython's
# default is 700). A request leaves no reference cycles behind (see app.py's HTMXPlugin note), so
# collecting less often frees nothing later; it only stops pausing requests in flight.
GC_YOUNG_THRESHOLD = 10_000
# Streams freeze when this many more are open than at the last freeze (`gc.freeze()` is constant-time).
FREEZE_EVERY = 64
# Young objects allowed per open stream before a collection: a change's fan-out fits (~5 each).
YOUNG_PER_STREAM = 20


def settle_heap() -> None:
    """After start-up in a server worker: keep the start-up heap out of every later collection.

    Measured with `make bench` here: the signed-in POST's p99 went from ~65 ms to ~20 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    STREAMS.enabled = True


class LongLivedStreams:
    """Freezes established SSE streams as their number grows; thaws when half of them have ended."""

    def __init__(self, freeze_every: int = FREEZE_EVERY) -> None:
        self.freeze_every = freeze_every
        self.enabled = False
        # Streams established and not yet ended. Counted here, one at a time, rather than taken from
        # the caller: streams opening together would otherwise all report the same level and skip batches.
        self.open = 0
        # Streams open at the last freeze (or thaw): the level the next freeze and thaw count from.
        self.frozen_at = 0
        self.freezes = 0
        self.thaws = 0

    def established(self) -> None:
        """A stream is set up (subscribed, its first message out): its state will live on."""
        self.open += 1
        if not self.enabled:
            return
        self._fit_young(self.open)
        # Only many streams at once are worth it: a worker with a few never freezes or thaws.
        if self.open >= self.frozen_at + self.freeze_every:
            self.frozen_at = self.open
            self.freezes += 1
            gc.freeze()

    def ended(self) -> None:
        """An established stream ended: once half of those open at the last freeze have, collect."""
        self.open -= 1
        if not self.enabled:
            return
        self._fit_young(self.open)
        if self.frozen_at >= self.freeze_every and self.open <= self.frozen_at // 2:
            self.frozen_at = self.open
            self.thaws += 1
            # One full collection finds their cycles; what is still alive (the start-up heap, the
            # streams still open) goes back out of the scans, as `settle_heap` left it.
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    def _fit_young(self, open_now: int) -> None:
        wanted = max(GC_YOUNG_THRESHOLD, YOUNG_PER_STREAM * open_now)
        young, *older = gc.get_threshold()
        if wanted != young:
            gc.set_threshold(wanted, *older)


STREAMS = LongLivedStreams()
