"""Device identity and time: getprop, settings, date, sleep, wm."""

from __future__ import annotations

from datetime import datetime

from emulator.sim.shell.interpreter import CommandSpec, ShellContext
from emulator.sim.system.logcat import DEVICE_TZ


def getprop(ctx: ShellContext, args: list[str]) -> int:
    props = ctx.system.properties
    if not args:
        for key, value in props.items():
            ctx.out.write(f"[{key}]: [{value}]\n")
        return 0
    ctx.out.write(props.get(args[0], args[1] if len(args) > 1 else "") + "\n")
    return 0


def setprop(ctx: ShellContext, args: list[str]) -> int:
    if len(args) != 2:
        ctx.err.write("setprop: need 2 arguments\n")
        return 1
    if args[0].startswith("ro."):
        ctx.err.write(f"Failed to set property '{args[0]}' to '{args[1]}'.\n")
        return 1
    ctx.system.properties[args[0]] = args[1]
    return 0


def settings(ctx: ShellContext, args: list[str]) -> int:
    if args[:1] == ["--user"]:
        args = args[2:]
    if len(args) < 2 or args[0] not in ("get", "put", "delete", "list") or args[1] not in ("system", "secure",
                                                                                            "global"):
        ctx.err.write("usage:  settings [--user <USER_ID> | current] get namespace key\n")
        return 1
    verb, ns = args[0], args[1]
    store = ctx.system.settings
    if verb == "list":
        for (space, key), value in sorted(store.items()):
            if space == ns:
                ctx.out.write(f"{key}={value}\n")
        return 0
    if len(args) < 3:
        ctx.err.write(f"settings: missing key for {verb}\n")
        return 1
    key = args[2]
    if verb == "get":
        ctx.out.write(store.get((ns, key), "null") + "\n")
    elif verb == "put":
        store[(ns, key)] = args[3] if len(args) > 3 else ""
    else:
        store.pop((ns, key), None)
        ctx.out.write("Deleted 1 rows\n")
    return 0


def date(ctx: ShellContext, args: list[str]) -> int:
    now = ctx.system.clock.now()
    fmt = next((a[1:] for a in args if a.startswith("+")), "%a %b %e %H:%M:%S %Z %Y")
    stamp = datetime.fromtimestamp(now, DEVICE_TZ)
    nanos = round((now - int(now)) * 1e9) % 1_000_000_000
    fmt = (fmt.replace("%s", str(int(now))).replace("%N", f"{nanos:09d}").replace("%Z", "CST")
           .replace("%e", f"{stamp.day:2d}"))
    ctx.out.write(stamp.strftime(fmt) + "\n")
    return 0


def sleep(ctx: ShellContext, args: list[str]) -> int:
    """The only shell command that moves the virtual clock; it returns at once."""
    total = 0.0
    for arg in args:
        text = arg.rstrip("smhd")
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(arg[-1:], 1)
        try:
            total += float(text) * unit
        except ValueError:
            ctx.err.write(f"sleep: invalid number '{arg}'\n")
            return 1
    if not args:
        ctx.err.write("sleep: Needs 1 argument\n")
        return 1
    ctx.system.advance(total)
    return 0


def wm(ctx: ShellContext, args: list[str]) -> int:
    sub = args[0] if args else ""
    if sub == "size":
        ctx.out.write(f"Physical size: {ctx.system.width}x{ctx.system.height}\n")
    elif sub == "density":
        ctx.out.write(f"Physical density: {ctx.system.density}\n")
    else:
        ctx.err.write("Error: unknown command\n" if sub else "usage: wm [size|density]\n")
        return 1 if sub else 0
    return 0


COMMANDS = {
    "getprop": CommandSpec(getprop),
    "setprop": CommandSpec(setprop),
    "settings": CommandSpec(settings),
    "date": CommandSpec(date),
    "sleep": CommandSpec(sleep),
    "wm": CommandSpec(wm),
}


def ime(ctx: ShellContext, args: list[str]) -> int:
    """ime list [-s] [-a] | enable ID | disable ID | set ID | reset: the input method manager's shell."""
    system = ctx.system
    sub, rest = (args[0], args[1:]) if args else ("", [])
    installed = system.input_methods()
    enabled_key = ("secure", "enabled_input_methods")
    enabled = [i for i in system.settings.get(enabled_key, "").split(":") if i in installed] or installed[:1]
    ids = [a for a in rest if not a.startswith("-")]
    if sub == "list":
        shown = installed if "-a" in rest else enabled
        for ime_id in shown:
            ctx.out.write(f"{ime_id}\n" if "-s" in rest else f"{ime_id}:\n  mId={ime_id}\n")
        return 0
    if sub in ("enable", "disable", "set") and ids:
        ime_id = ids[0]
        if ime_id not in installed:
            ctx.err.write(f"Unknown input method {ime_id} cannot be {sub}d for user #0\n" if sub != "set" else
                          f"Unknown input method {ime_id} cannot be selected for user #0\n")
            return 255
        if sub == "enable":
            enabled = enabled + [ime_id] if ime_id not in enabled else enabled
            ctx.out.write(f"Input method {ime_id}: now enabled for user #0\n")
        elif sub == "disable":
            enabled = [i for i in enabled if i != ime_id] or installed[:1]
            if system.current_ime() == ime_id:
                system.settings[("secure", "default_input_method")] = enabled[0]
            ctx.out.write(f"Input method {ime_id}: now disabled for user #0\n")
        else:
            enabled = enabled + [ime_id] if ime_id not in enabled else enabled
            system.settings[("secure", "default_input_method")] = ime_id
            ctx.out.write(f"Input method {ime_id} selected for user #0\n")
        system.settings[enabled_key] = ":".join(enabled)
        return 0
    if sub == "reset":
        system.settings[enabled_key] = installed[0]
        system.settings[("secure", "default_input_method")] = installed[0]
        ctx.out.write(f"Reset input method for user #0: {installed[0]}\n")
        return 0
    ctx.err.write("ime <command>:\n  list [-a] [-s]\n  enable [--user <USER_ID>] <ID>\n  disable [--user <USER_ID>] <ID>\n"
                  "  set [--user <USER_ID>] <ID>\n  reset [--user <USER_ID>]\n")
    return 255


COMMANDS["ime"] = CommandSpec(ime)
