"""Processes: deterministic pids, the app processes' runtimes, and the fixed system processes `ps` lists."""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.sim.app_api import AppRuntime

FIRST_APP_PID = 2000

# (pid, ppid, user, vsz, rss, wchan, name): the processes a booted device always has.
SYSTEM_PROCESSES: list[tuple[int, int, str, int, int, str, str]] = [
    (1, 0, "root", 10932508, 11880, "do_epoll_wait", "init"),
    (2, 0, "root", 0, 0, "kthreadd", "[kthreadd]"),
    (312, 1, "logd", 10871264, 8648, "sigsuspend", "logd"),
    (330, 1, "system", 10879744, 7492, "do_epoll_wait", "servicemanager"),
    (512, 1, "root", 14859008, 121592, "do_sys_poll", "zygote64"),
    (540, 1, "system", 10912300, 28100, "do_epoll_wait", "surfaceflinger"),
    (566, 1, "shell", 10848892, 3300, "do_sys_poll", "adbd"),
    (871, 512, "system", 16700240, 301220, "do_epoll_wait", "system_server"),
    (1102, 512, "u0_a52", 15603420, 180944, "do_epoll_wait", "com.android.systemui"),
    (1310, 512, "u0_a45", 15377764, 150320, "do_epoll_wait", "com.android.launcher3"),
]


@dataclass
class Process:
    pid: int
    uid: int
    package: str
    start_uptime: float
    reason: str
    runtime: AppRuntime | None = None
    host: object = None  # the AppHost handed to the runtime; its timers are owned by it
    alive: bool = True
    children: list[int] = field(default_factory=list)


def user_name(uid: int) -> str:
    """u0_a123 for app uids, as ps prints them."""
    if uid >= 10000:
        return f"u0_a{uid - 10000}"
    return {1000: "system", 2000: "shell", 0: "root"}.get(uid, str(uid))


class ProcessTable:
    def __init__(self) -> None:
        self._next_pid = FIRST_APP_PID
        self._by_package: dict[str, Process] = {}

    def allocate_pid(self) -> int:
        pid = self._next_pid
        self._next_pid += 1
        return pid

    def start(self, package: str, uid: int, uptime: float, reason: str) -> Process:
        proc = Process(self.allocate_pid(), uid, package, uptime, reason)
        self._by_package[package] = proc
        return proc

    def get(self, package: str) -> Process | None:
        return self._by_package.get(package)

    def remove(self, package: str) -> Process | None:
        proc = self._by_package.pop(package, None)
        if proc is not None:
            proc.alive = False
        return proc

    def running(self) -> list[Process]:
        return sorted(self._by_package.values(), key=lambda p: p.pid)
