"""logcat: -b -d -c -v -t -T -s, tag filters, and streaming until the client closes the stream."""

from __future__ import annotations

import re
import time
from datetime import datetime

from emulator.sim.shell.interpreter import CommandSpec, ShellContext
from emulator.sim.system.logcat import BUFFERS, DEVICE_TZ, LogEntry, format_entry

DEFAULT_BUFFERS = ["main", "system", "crash"]
SHELL_PID = 1900  # the adb shell's process, as seen by `log`
SYSTEM_SERVER_PID = 871
SYSTEM_NOISE_SECONDS = 1.0  # real seconds a follower of the system buffer waits at most for a line
LEVELS = "VDIWEFS"
_FORMATS = {"brief", "process", "tag", "thread", "raw", "time", "threadtime", "long"}


class LogcatUsage(ValueError):
    """A logcat option this logcat does not understand."""


def _parse_time(text: str, year: int) -> float:
    """-T/-t time: 'MM-DD hh:mm:ss.mmm', 'YYYY-MM-DD hh:mm:ss.mmm' or epoch 'sssss.mmm'."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    for fmt, prefix in (("%Y-%m-%d %H:%M:%S.%f", ""), ("%Y-%m-%d %H:%M:%S.%f", f"{year}-"),
                        ("%Y-%m-%d %H:%M:%S", f"{year}-")):
        try:
            return datetime.strptime(prefix + text, fmt).replace(tzinfo=DEVICE_TZ).timestamp()
        except ValueError:
            continue
    raise LogcatUsage(f"unknown time format '{text}'")


class _Options:
    def __init__(self, args: list[str], now: float) -> None:
        self.buffers: list[str] = []
        self.dump = False
        self.clear = False
        self.fmt = "threadtime"
        self.epoch = False
        self.tail_count: int | None = None
        self.since: float | None = None
        self.filters: dict[str, int] = {}
        self.default_level = 0
        self.pid: int | None = None
        self.regex: re.Pattern | None = None
        self.max_count: int | None = None
        year = datetime.fromtimestamp(now, DEVICE_TZ).year
        i = 0
        while i < len(args):
            a = args[i]
            value = args[i + 1] if i + 1 < len(args) else None
            if a.startswith(("-b", "--buffer")):
                raw = a[2:] if a.startswith("-b") and len(a) > 2 else (a.split("=", 1)[1] if "=" in a else value)
                if raw is None:
                    raise LogcatUsage("-b needs a buffer name")
                if not (a.startswith("-b") and len(a) > 2) and "=" not in a:
                    i += 1
                for name in raw.split(","):
                    if name == "all" or name == "default":
                        self.buffers += list(BUFFERS) if name == "all" else DEFAULT_BUFFERS
                    elif name in BUFFERS:
                        self.buffers.append(name)
                    elif name in ("radio", "kernel", "stats", "security"):
                        continue
                    else:
                        raise LogcatUsage(f"unknown buffer '{name}'")
            elif a in ("-d",):
                self.dump = True
            elif a in ("-c", "--clear"):
                self.clear = True
            elif a == "-v" or a.startswith("--format"):
                fmt = value if a == "-v" else a.split("=", 1)[-1]
                if a == "-v":
                    i += 1
                for word in (fmt or "").split(","):
                    if word == "epoch":
                        self.epoch = True
                    elif word in _FORMATS:
                        self.fmt = word
            elif a in ("-t", "-T"):
                i += 1
                if value is None:
                    raise LogcatUsage(f"{a} needs an argument")
                if value.isdigit():
                    self.tail_count = int(value)
                else:
                    self.since = _parse_time(value, year)
                self.dump = self.dump or a == "-t"
            elif a == "-s":
                self.default_level = LEVELS.index("S")
            elif a.startswith("--pid"):
                self.pid = int(a.split("=", 1)[1]) if "=" in a else int(value or 0)
                i += 0 if "=" in a else 1
            elif a in ("-e", "--regex"):
                self.regex = re.compile(value or "")
                i += 1
            elif a in ("-m", "--max-count"):
                self.max_count = int(value or 0)
                i += 1
            elif a in ("-g", "-G", "-S", "-L", "-P", "-f", "-n", "-r"):
                i += 0 if a in ("-g", "-S", "-L") else 1
            elif not a.startswith("-") and ":" in a:
                tag, _, level = a.rpartition(":")
                if level.upper() not in LEVELS:
                    raise LogcatUsage(f"invalid filter expression '{a}'")
                if tag == "*":
                    self.default_level = LEVELS.index(level.upper())
                else:
                    self.filters[tag] = LEVELS.index(level.upper())
            elif a.startswith("-"):
                raise LogcatUsage(f"unknown option {a}")
            i += 1
        if not self.buffers:
            self.buffers = list(DEFAULT_BUFFERS)
        self.buffers = list(dict.fromkeys(self.buffers))

    def accepts(self, entry: LogEntry) -> bool:
        level = LEVELS.index(entry.level) if entry.level in LEVELS else 2
        if level < self.filters.get(entry.tag, self.default_level):
            return False
        if self.pid is not None and entry.pid != self.pid:
            return False
        if self.since is not None and entry.time < self.since:
            return False
        return not (self.regex and not self.regex.search(entry.message))


def logcat(ctx: ShellContext, args: list[str]) -> int:
    system = ctx.system
    with ctx.lock:
        try:
            opts = _Options(args, system.clock.now())
        except (LogcatUsage, ValueError, re.error) as exc:
            ctx.err.write(f"logcat: {exc}\n")
            return 1
        if opts.clear:
            system.log.clear(opts.buffers)
            return 0
        entries = [e for e in system.log.entries(opts.buffers) if opts.accepts(e)]
        last = system.log.last_seq()
    if opts.tail_count is not None:
        entries = entries[-opts.tail_count :] if opts.tail_count else []
    seen: set[str] = set()
    printed = 0

    def emit(batch: list[LogEntry]) -> bool:
        nonlocal printed
        chunks = []
        for entry in batch:
            if entry.buffer not in seen:
                seen.add(entry.buffer)
                chunks.append(f"--------- beginning of {entry.buffer}\n")
            chunks.append(format_entry(entry, opts.fmt, opts.epoch))
            printed += 1
            if opts.max_count is not None and printed >= opts.max_count:
                ctx.out.write("".join(chunks))
                return False
        if chunks:
            ctx.out.write("".join(chunks))
        return True

    if not emit(entries) or opts.dump:
        return 0
    idle_since = time.monotonic()
    while not ctx.cancelled():
        with ctx.lock:
            if system.log.last_seq() == last:
                system.log.changed.wait(0.2)
            if "system" in opts.buffers and time.monotonic() - idle_since > SYSTEM_NOISE_SECONDS:
                # a phone's system buffer is never silent for long (GC, battery, connectivity): a follower that
                # reads it gets a line now and then, as `logcat` readers on a phone do
                system.log.write("system", system.clock.now(), SYSTEM_SERVER_PID, 1000, "I", "system_server",
                                 "Background concurrent copying GC freed 18731(1180KB) AllocSpace objects, 3(60KB) "
                                 "LOS objects, 49% free, 12MB/24MB, paused 41us total 102.113ms")
            batch = [e for e in system.log.entries(opts.buffers, after_seq=last) if opts.accepts(e)]
            last = system.log.last_seq()
        if batch:
            idle_since = time.monotonic()
            if not emit(batch):
                return 0
    return 0


def log(ctx: ShellContext, args: list[str]) -> int:
    """Android's `log [-p priority] [-t tag] message`: one line in the main buffer, from the shell (uid 2000)."""
    priority, tag = "I", "log"
    while args and args[0] in ("-p", "-t") and len(args) > 1:
        flag, value = args.pop(0), args.pop(0)
        if flag == "-p":
            priority = value[:1].upper() if value[:1].upper() in LEVELS else "I"
        else:
            tag = value[:64]
    ctx.system.main(tag, " ".join(args)[:4000], level=priority, pid=SHELL_PID, uid=2000)
    return 0


COMMANDS = {"logcat": CommandSpec(logcat, streaming=True), "log": CommandSpec(log)}
