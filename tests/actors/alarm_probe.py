"""A test actor with an alarm() handler whose payload says how it behaves (for tests/actors/test_alarms*)."""

from __future__ import annotations

import asyncio
import os

from actors.runtime import Actor, Operation, Payload, current_firing


class AlarmProbeActor(Actor):
    """Counts its alarm runs in Redis: `runs` on every call, `count` once per firing's request id.

    Payload `{"fail_until": n}` raises on runs 1..n; `{"hang_first": true}` records the first run,
    then hangs (the test kills the worker).
    """

    kind = "alarmprobe"
    _record = Operation("alarmprobe_record.lua", keys=("times",))

    async def alarm(self, actor_id: str, payload: Payload) -> None:
        firing = current_firing()
        runs = int(await self.call(self._record, actor_id, (os.getpid(),), request_id=firing.request_id))
        options = payload if isinstance(payload, dict) else {}
        fail_until = options.get("fail_until", 0)
        if isinstance(fail_until, int) and runs <= fail_until:
            raise RuntimeError(f"probe failure on run {runs}")
        if options.get("hang_first") and runs == 1:
            await asyncio.Event().wait()
