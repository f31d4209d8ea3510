"""logcat: the main and events ring buffers, and the line formats of the real `logcat` (liblog's logprint.cpp)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

BUFFERS = ("main", "system", "crash", "events")
RING_SIZE = 4000  # entries kept per buffer; the oldest fall off, as on a device
DEVICE_TZ = timezone(timedelta(hours=8))  # persist.sys.timezone=Asia/Shanghai


@dataclass(frozen=True)
class LogEntry:
    seq: int
    time: float  # epoch seconds
    pid: int
    tid: int
    uid: int
    level: str  # V D I W E F
    tag: str
    message: str
    buffer: str


class LogBuffers:
    """All log buffers of one device. `changed` is notified on every new line (for streaming readers)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._rings: dict[str, deque[LogEntry]] = {name: deque(maxlen=RING_SIZE) for name in BUFFERS}
        self._seq = 0
        self.changed = threading.Condition(lock)

    def write(self, buffer: str, time: float, pid: int, uid: int, level: str, tag: str, message: str,
              tid: int | None = None) -> None:
        self._seq += 1
        # App messages are hostile data: bound them so one app cannot fill memory.
        entry = LogEntry(self._seq, time, pid, pid if tid is None else tid, uid, level, tag[:64], message[:4000],
                         buffer)
        self._rings[buffer].append(entry)
        self.changed.notify_all()

    def clear(self, buffers: list[str]) -> None:
        for name in buffers:
            self._rings[name].clear()

    def last_seq(self) -> int:
        return self._seq

    def entries(self, buffers: list[str], after_seq: int = 0) -> list[LogEntry]:
        """Entries of the named buffers with seq > after_seq, in logging order."""
        found = [e for name in buffers for e in self._rings[name] if e.seq > after_seq]
        found.sort(key=lambda e: e.seq)
        return found


def format_time(t: float, epoch: bool) -> str:
    sec = int(t // 1)
    millis = round((t - sec) * 1000)
    if millis >= 1000:
        sec, millis = sec + 1, millis - 1000
    if epoch:
        return f"{sec:19d}.{millis:03d}"
    return datetime.fromtimestamp(sec, DEVICE_TZ).strftime("%m-%d %H:%M:%S") + f".{millis:03d}"


def format_entry(entry: LogEntry, fmt: str = "threadtime", epoch: bool = False) -> str:
    """One entry as logcat prints it; a multi-line message gets the prefix on every line."""
    if fmt == "brief":
        prefix = f"{entry.level}/{entry.tag:<8}({entry.pid:5d}): "
    elif fmt == "tag":
        prefix = f"{entry.level}/{entry.tag:<8}: "
    elif fmt == "raw":
        prefix = ""
    elif fmt == "time":
        prefix = f"{format_time(entry.time, epoch)} {entry.level}/{entry.tag:<8}({entry.pid:5d}): "
    else:
        prefix = f"{format_time(entry.time, epoch)} {entry.pid:5d} {entry.tid:5d} {entry.level} {entry.tag:<8}: "
    return "".join(f"{prefix}{line}\n" for line in entry.message.split("\n"))
