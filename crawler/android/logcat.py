"""Reading the device's logcat: the system events that show what an app did (process starts and deaths, crashes,
ANRs, activity starts by another app). `parse_line` is a pure function; `LogcatReader` streams
`logcat -v epoch -b events -b main` in a background thread.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_LINE = re.compile(r"^\s*(\d{1,12}\.\d{1,9})\s+(\d+)\s+(\d+)\s+([VDIWEF])\s+([^:]{1,100}?)\s*:\s?(.*)$")
_START = re.compile(r"START u\d+ \{(.{0,2000})\} from uid (\d+)")
_CMP = re.compile(r"cmp=([A-Za-z0-9_.]{1,200})/([A-Za-z0-9_.$]{1,300})")
# requestPermissions() starts GrantPermissionsActivity with this action even when the system then denies silently
# (USER_FIXED): the START line is the device-side evidence that the app asked.
REQUEST_PERMISSIONS = "act=android.content.pm.action.REQUEST_PERMISSIONS"
RAW_LIMIT = 400


@dataclass
class LogEvent:
    t: float
    type: str  # proc_start | proc_died | kill | crash | anr | activity_start | permission_request
    package: str = ""
    pid: int | None = None
    uid: int | None = None
    reason: str = ""
    component: str = ""
    caller_uid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: str = ""

    def to_json(self) -> dict[str, Any]:
        data = {"type": self.type, "package": self.package, "pid": self.pid, "uid": self.uid, "reason": self.reason,
                "component": self.component, "caller_uid": self.caller_uid, "raw": self.raw, "source": "logcat"}
        data.update(self.extra)
        return data


def _fields(payload: str, count: int) -> list[str]:
    """The fields of an events-buffer list like `[0,1234,10087,com.x,activity,{com.x/.Main}]`."""
    body = payload.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    return [f.strip() for f in body.split(",", count - 1)]


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_line(line: str) -> LogEvent | None:
    """One `logcat -v epoch` line -> the event it records, or None if it is not one we use."""
    match = _LINE.match(line[:4000])
    if not match:
        return None
    t_text, _pid, _tid, _level, tag, msg = match.groups()
    t, raw = float(t_text), line.strip()[:RAW_LIMIT]
    tag = tag.strip()
    if tag == "am_proc_start":
        f = _fields(msg, 6)
        if len(f) >= 6:
            return LogEvent(t, "proc_start", package=f[3], pid=_int(f[1]), uid=_int(f[2]), reason=f[4],
                            component=f[5].strip("{}"), raw=raw)
    elif tag == "am_proc_died":
        f = _fields(msg, 5)
        if len(f) >= 3:
            return LogEvent(t, "proc_died", package=f[2], pid=_int(f[1]), raw=raw)
    elif tag == "am_kill":
        f = _fields(msg, 5)
        if len(f) >= 5:
            return LogEvent(t, "kill", package=f[2], pid=_int(f[1]), reason=f[4], raw=raw)
    elif tag == "am_crash":
        f = _fields(msg, 9)
        if len(f) >= 5:
            return LogEvent(t, "crash", package=f[2], pid=_int(f[0]), reason=f[4][:200], raw=raw)
    elif tag == "am_anr":
        f = _fields(msg, 5)
        if len(f) >= 3:
            return LogEvent(t, "anr", package=f[2], pid=_int(f[1]), reason=(f[4] if len(f) > 4 else "")[:200], raw=raw)
    elif tag in ("ActivityTaskManager", "ActivityManager") and msg.startswith("START "):
        start = _START.search(msg)
        if start:
            cmp = _CMP.search(start.group(1))
            package, activity = cmp.groups() if cmp else ("", "")
            component = f"{package}/{activity}" if cmp else ""
            kind = "permission_request" if REQUEST_PERMISSIONS in start.group(1) else "activity_start"
            return LogEvent(t, kind, package=package, component=component, caller_uid=_int(start.group(2)), raw=raw)
    return None


class LogcatReader:
    """Streams the device's logcat in a thread and keeps the parsed events until drained."""

    COMMAND = "logcat -v epoch -b events -b main"

    def __init__(self, open_stream: Callable[[str], Any]):
        self._open_stream = open_stream  # command -> adbutils AdbConnection (shell stream)
        self._events: list[LogEvent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conn = None
        self._thread: threading.Thread | None = None
        self._waiting: dict[str, threading.Event] = {}
        self._syncs = 0
        self.error: str | None = None

    def start(self) -> None:
        self._conn = self._open_stream(self.COMMAND)
        self._thread = threading.Thread(target=self._run, name="logcat-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buffer = b""
        sock = self._conn.conn
        sock.settimeout(0.5)
        while not self._stop.is_set():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    self.error = f"logcat stream failed: {exc}"
                return
            if not chunk:
                if not self._stop.is_set():
                    self.error = "logcat stream closed by the device"
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            if len(buffer) > 65536:  # a line without end: drop it rather than grow without bound
                buffer = b""
            texts = [raw.decode("utf-8", "replace") for raw in lines]
            parsed = [e for e in map(parse_line, texts) if e]
            with self._lock:
                self._events.extend(parsed)
                if self._waiting:
                    for text in texts:
                        for marker in [m for m in self._waiting if m in text]:
                            self._waiting.pop(marker).set()

    def sync(self, write_marker: Callable[[str], None], timeout: float = 3.0) -> bool:
        """Make the stream catch up with the device: write a marker line with `write_marker` (the `log` command)
        and wait until it comes through, so everything logged before it has been read. False on timeout."""
        self._syncs += 1
        marker = f"naysayer-sync-{id(self):x}-{self._syncs}"
        arrived = threading.Event()
        with self._lock:
            self._waiting[marker] = arrived
        write_marker(marker)
        if arrived.wait(timeout):
            return True
        with self._lock:
            self._waiting.pop(marker, None)
        return False

    def drain(self) -> list[LogEvent]:
        with self._lock:
            events, self._events = self._events, []
        return events

    def stop(self) -> None:
        self._stop.set()
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError as exc:  # the device may already be gone; closing is best effort
                log.debug("closing the logcat stream: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout=2)
