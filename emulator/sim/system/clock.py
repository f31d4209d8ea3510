"""The device's virtual clock: time moves only when someone waits, and timers fire in (time, seq) order."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

# 2026-01-01T08:00:00+08:00 (= 2026-01-01T00:00:00Z): every simulated device boots at this instant.
EPOCH_START = 1767225600.0
# The device booted this long before the clock starts (for /proc/uptime and process start times).
BOOT_UPTIME = 3600.0


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    owner: object = field(compare=False, default=None)
    cancelled: bool = field(compare=False, default=False)


class VirtualClock:
    """Seconds since the epoch, starting at `start`; `advance` is the only thing that moves it."""

    def __init__(self, start: float = EPOCH_START) -> None:
        self._start = start
        self._elapsed = 0.0
        self._heap: list[_Timer] = []
        self._by_id: dict[int, _Timer] = {}
        self._seq = 0

    def now(self) -> float:
        return self._start + self._elapsed

    def uptime(self) -> float:
        """Seconds since boot (/proc/uptime, SystemClock.uptimeMillis)."""
        return BOOT_UPTIME + self._elapsed

    def schedule(self, delay: float, callback: Callable[[], None], owner: object = None) -> int:
        """Run `callback` when the clock reaches now + delay. `owner` lets a dying process cancel its timers."""
        self._seq += 1
        timer = _Timer(self._elapsed + max(0.0, float(delay)), self._seq, callback, owner)
        heapq.heappush(self._heap, timer)
        self._by_id[timer.seq] = timer
        return timer.seq

    def cancel(self, timer_id: int) -> None:
        timer = self._by_id.pop(timer_id, None)
        if timer is not None:
            timer.cancelled = True

    def cancel_owner(self, owner: object) -> None:
        for timer_id, timer in list(self._by_id.items()):
            if timer.owner is owner:
                timer.cancelled = True
                del self._by_id[timer_id]

    def pending(self, owner: object = None) -> int:
        return sum(1 for t in self._by_id.values() if owner is None or t.owner is owner)

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass. Each due timer fires at its own time, in (time, seq) order, including timers that
        callbacks schedule inside the window."""
        target = self._elapsed + max(0.0, float(seconds))
        while self._heap and self._heap[0].when <= target:
            timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._by_id.pop(timer.seq, None)
            self._elapsed = max(self._elapsed, timer.when)
            timer.callback()
        self._elapsed = target
