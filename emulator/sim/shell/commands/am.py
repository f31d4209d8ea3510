"""Activity manager commands: am, monkey, and `cmd activity|package|appops` aliases."""

from __future__ import annotations

from emulator.sim.shell.interpreter import CommandSpec, ShellContext
from emulator.sim.system.android import SHELL_UID
from emulator.sim.system.packages import short_component

_VALUE_OPTS = {"-a", "-c", "-d", "-t", "-n", "-f", "-e", "--es", "--ei", "--ez", "--el", "--user", "-p",
               "--receiver-permission", "--display", "--windowingMode", "--activityType", "--start-profiler",
               "--sampling", "-P", "-R", "--attach-agent", "--task"}
_PAIR_OPTS = {"--es", "--ei", "--ez", "--el", "--ef", "--eu", "--esa", "--eia", "-e"}


def _intent(args: list[str]) -> tuple[dict[str, str], set[str], list[str]]:
    opts: dict[str, str] = {}
    flags: set[str] = set()
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in _PAIR_OPTS:
            i += 3
            continue
        if a in _VALUE_OPTS and i + 1 < len(args):
            opts[a] = args[i + 1]
            i += 2
            continue
        if a.startswith("-"):
            flags.add(a)
        else:
            rest.append(a)
        i += 1
    return opts, flags, rest


def _extras(args: list[str]) -> dict[str, str]:
    """The --es/--ei/... key value pairs of an intent."""
    extras: dict[str, str] = {}
    i = 0
    while i < len(args):
        if args[i] in _PAIR_OPTS and i + 2 < len(args):
            extras[args[i + 1]] = args[i + 2]
            i += 3
        else:
            i += 2 if args[i] in _VALUE_OPTS else 1
    return extras


def _describe(opts: dict[str, str], component: str = "") -> str:
    parts = []
    if "-a" in opts:
        parts.append(f"act={opts['-a']}")
    if "-c" in opts:
        parts.append(f"cat=[{opts['-c']}]")
    if "-d" in opts:
        parts.append(f"dat={opts['-d']}")
    if "-f" in opts:
        parts.append(f"flg={opts['-f']}")
    if component:
        parts.append(f"cmp={component}")
    return "Intent { " + " ".join(parts) + " }"


def _split_component(component: str) -> tuple[str, str]:
    package, _, activity = component.partition("/")
    if activity.startswith("."):
        activity = package + activity
    return package, activity


def am_start(ctx: ShellContext, args: list[str]) -> int:
    system = ctx.system
    opts, flags, rest = _intent(args)
    component = opts.get("-n", "")
    if not component and rest and "/" in rest[-1]:
        component = rest[-1]
    package, activity = _split_component(component) if component else (opts.get("-p", ""), "")
    if not package or system.packages.find(package) is None:
        ctx.out.write(f"Starting: {_describe(opts, component)}\n")
        ctx.err.write(f"Error: Activity not started, unable to resolve {_describe(opts, component)}\n")
        return 1
    short = short_component(package, activity) if activity else component
    ctx.out.write(f"Starting: {_describe(opts, short)}\n")
    if "-S" in flags:
        system.force_stop(package, caller_pid=ctx.system.processes.allocate_pid())
    cold = system.processes.get(package) is None
    launched = system.launch(package, activity or None, caller_uid=SHELL_UID, flags=opts.get("-f", "0x10000000"),
                             action=opts.get("-a", "android.intent.action.MAIN" if not activity else ""),
                             category=opts.get("-c", ""), data=opts.get("-d", ""))
    if not launched:
        ctx.err.write(f"Error type 3\nError: Activity class {{{short}}} does not exist.\n")
        return 1
    if "-W" in flags:
        pkg, act, _ = system.resumed()
        ctx.out.write(f"Status: ok\nLaunchState: {'COLD' if cold else 'HOT'}\n"
                      f"Activity: {short_component(pkg, act)}\nTotalTime: 0\nWaitTime: 1\nComplete\n")
    return 0


def am_stack_list(ctx: ShellContext) -> None:
    system = ctx.system
    w, h = system.width, system.height
    for task in reversed(system.stack.tasks):
        activity = system._activity_of(task)
        ctx.out.write(f"RootTask id={task.task_id} bounds=[0,0][{w},{h}] displayId=0 userId=0\n"
                      f" configuration={{1.0 ?mcc?mnc [{system.locale.replace('-', '_')}] ldltr sw360dp w360dp "
                      f"h800dp {system.density}dpi nrml long port finger -keyb/v/h -nav/h}}\n"
                      f"  taskId={task.task_id}: {task.package}/{activity} bounds=[0,0][{w},{h}] userId=0 "
                      f"visible={'true' if task is system.stack.top() else 'false'} "
                      f"topActivity=ComponentInfo{{{task.package}/{activity}}}\n")


def am(ctx: ShellContext, args: list[str]) -> int:
    system = ctx.system
    sub = args[0] if args else ""
    rest = args[1:]
    if sub in ("start", "start-activity"):
        return am_start(ctx, rest)
    if sub == "force-stop":
        packages = [a for a in rest if not a.startswith("-") and a not in ("all", "current")]
        for package in packages[-1:]:
            if system.packages.find(package):
                system.force_stop(package, caller_pid=system.processes.allocate_pid())
        return 0
    if sub == "kill":
        for package in (a for a in rest if not a.startswith("-")):
            system.kill_background(package)
        return 0
    if sub == "kill-all":
        for proc in system.processes.running():
            system.kill_background(proc.package)
        return 0
    if sub == "broadcast":
        opts, _, _ = _intent(rest)
        extras = _extras(rest)
        answer = system.ime_broadcast(opts.get("-a", ""), extras) if opts.get("-a", "").startswith("ADB_") else None
        described = _describe(dict(opts, **{"-f": "0x400000"}))
        if extras:
            described = described[:-2] + " (has extras) }"
        ctx.out.write(f"Broadcasting: {described}\n")
        if answer is None:
            ctx.out.write("Broadcast completed: result=0\n")
        else:
            ctx.out.write(f'Broadcast completed: result={answer[0]}, data="{answer[1]}"\n')
        return 0
    if sub in ("startservice", "start-service", "start-foreground-service"):
        opts, _, _ = _intent(rest)
        ctx.out.write(f"Starting service: {_describe(opts, opts.get('-n', ''))}\n")
        return 0
    if sub == "stack" and rest[:1] == ["list"]:
        am_stack_list(ctx)
        return 0
    if sub == "get-current-user":
        ctx.out.write("0\n")
        return 0
    if sub == "display-density" or not sub:
        ctx.out.write("Activity manager (activity) commands:\n  help\n  start [options] <INTENT>\n")
        return 0
    ctx.err.write(f"Unknown command: {sub}\n")
    return 255


def monkey(ctx: ShellContext, args: list[str]) -> int:
    """Only the launch form: monkey -p <pkg> -c android.intent.category.LAUNCHER 1."""
    system = ctx.system
    for arg in args:
        ctx.out.write(f"  bash arg: {arg}\n")
    packages = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-p"]
    pkg = system.packages.find(packages[0]) if packages else None
    if pkg is None or pkg.app is None:
        ctx.err.write("** No activities found to run, monkey aborted.\n")
        return 252
    system.launch(pkg.package, None, caller_uid=SHELL_UID, flags="0x10200000")
    ctx.out.write("Events injected: 1\n## Network stats: elapsed time=12ms (0ms mobile, 0ms wifi, 12ms not connected)\n")
    return 0


def cmd(ctx: ShellContext, args: list[str]) -> int:
    from emulator.sim.shell.commands.pm import appops, pm

    service, rest = (args[0], args[1:]) if args else ("", [])
    if service == "package":
        return pm(ctx, rest)
    if service == "activity":
        return am(ctx, rest)
    if service == "appops":
        return appops(ctx, rest)
    if service == "window":
        from emulator.sim.shell.commands.device_info import wm

        return wm(ctx, rest)
    ctx.err.write(f"cmd: Can't find service: {service}\n")
    return 20


COMMANDS = {
    "am": CommandSpec(am),
    "monkey": CommandSpec(monkey),
    "cmd": CommandSpec(cmd),
}
