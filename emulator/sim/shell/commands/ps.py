"""Processes: ps (toybox columns), pidof, kill."""

from __future__ import annotations

from emulator.sim.shell.interpreter import CommandSpec, ShellContext
from emulator.sim.system.processes import SYSTEM_PROCESSES, user_name

HEADER = "USER            PID   PPID     VSZ    RSS WCHAN            ADDR S NAME                       \n"
_PERMISSION_CONTROLLER_PID = 1450
_SETTINGS_PID = 1604


def _rows(ctx: ShellContext) -> list[tuple[int, int, str, int, int, str, str]]:
    system = ctx.system
    rows = list(SYSTEM_PROCESSES)
    rows.append((_PERMISSION_CONTROLLER_PID, 512, "u0_a36", 15380240, 98412, "do_epoll_wait", system.skin.package))
    rows.append((_SETTINGS_PID, 512, "system", 15402112, 120532, "do_epoll_wait", "com.android.settings"))
    for proc in system.processes.running():
        rows.append((proc.pid, 512, user_name(proc.uid), 15512832, 141236, "do_epoll_wait", proc.package))
    # processes of the shell user: the uiautomator2 server (app_process), background jobs (screenrecord &)
    for pid, name in getattr(ctx.device, "shell_processes", list)():
        rows.append((pid, 1, "shell", 10863368, 98520, "do_epoll_wait", name))
    return sorted(rows)


def system_pid(ctx: ShellContext, package: str) -> int:
    return next((r[0] for r in _rows(ctx) if r[6] == package), 0)


def _line(row: tuple[int, int, str, int, int, str, str]) -> str:
    pid, ppid, user, vsz, rss, wchan, name = row
    return f"{user:<12} {pid:>5} {ppid:>6} {vsz:>8} {rss:>6} {wchan:<16} {0:>4} S {name}\n"


def ps(ctx: ShellContext, args: list[str]) -> int:
    ctx.out.write(HEADER)
    users: set[str] = set()
    rest: list[str] = []
    it = iter(args)
    for a in it:
        if a in ("-u", "-U"):
            users.update(next(it, "").split(","))
        else:
            rest.append(a)
    args = rest
    names = [a for a in args if not a.startswith("-")]
    if users:
        for row in _rows(ctx):
            if row[2] in users and (not names or row[6] in names or str(row[0]) in names):
                ctx.out.write(_line(row))
        return 0
    if not any(a in ("-A", "-e", "-ef", "-Af") for a in args) and not names:
        # plain `ps`: only this shell's own processes, as on Android 8+
        pid = ctx.system.processes.allocate_pid()
        ctx.out.write(_line((pid - 1 if pid > 1 else pid, 566, "shell", 10795532, 3312, "sigsuspend", "sh")))
        ctx.out.write(_line((pid, pid - 1, "shell", 10826364, 3740, "0", "ps")))
        return 0
    for row in _rows(ctx):
        if not names or row[6] in names or str(row[0]) in names:
            ctx.out.write(_line(row))
    return 0


def pidof(ctx: ShellContext, args: list[str]) -> int:
    names = [a for a in args if not a.startswith("-")]
    pids = [str(r[0]) for r in _rows(ctx) if r[6] in names]
    if not pids:
        return 1
    ctx.out.write(" ".join(pids) + "\n")
    return 0


def kill(ctx: ShellContext, args: list[str]) -> int:
    status = 0
    for arg in (a for a in args if not a.startswith("-") and a != "-l"):  # -INT, -2, -9, -s TERM...
        if arg.isupper() and arg.isalpha():
            continue  # the signal name after -s
        if arg.isdigit() and getattr(ctx.device, "signal_process", lambda pid: False)(int(arg)):
            continue  # a process of the shell user: ours to signal
        if not arg.isdigit() or not any(r[0] == int(arg) for r in _rows(ctx)):
            ctx.err.write(f"/system/bin/sh: kill: {arg}: No such process\n")
        else:
            ctx.err.write(f"/system/bin/sh: kill: {arg}: Operation not permitted\n")
        status = 1
    return status


COMMANDS = {
    "ps": CommandSpec(ps),
    "pidof": CommandSpec(pidof),
    "kill": CommandSpec(kill),
}
