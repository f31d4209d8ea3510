"""input tap/swipe/keyevent/text: what `adb shell input` injects, routed like a finger on the screen."""

from __future__ import annotations

from emulator.sim.shell.interpreter import CommandSpec, ShellContext

USAGE = "Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]\n"
_SOURCES = {"touchscreen", "touchpad", "keyboard", "mouse", "dpad", "gamepad", "stylus", "trackball", "joystick"}


def _numbers(ctx: ShellContext, args: list[str], count: int) -> list[float] | None:
    try:
        return [float(a) for a in args[:count]] if len(args) >= count else None
    except ValueError:
        return None


def input_(ctx: ShellContext, args: list[str]) -> int:
    args = list(args)
    if args and args[0] in _SOURCES:
        args.pop(0)
    if args[:1] == ["-d"]:
        args = args[2:]
    sub, rest = (args[0], args[1:]) if args else ("", [])
    system = ctx.system
    if sub == "tap":
        xy = _numbers(ctx, rest, 2)
        if xy is None:
            ctx.err.write(USAGE)
            return 1
        system.tap(*xy)
        return 0
    if sub in ("swipe", "draganddrop"):
        pts = _numbers(ctx, rest, 4)
        if pts is None:
            ctx.err.write(USAGE)
            return 1
        duration = float(rest[4]) / 1000 if len(rest) > 4 and rest[4].replace(".", "").isdigit() else 0.3
        if abs(pts[2] - pts[0]) < 10 and abs(pts[3] - pts[1]) < 10 and duration >= 0.5:
            system.tap(pts[0], pts[1], long=True)
        else:
            system.swipe(*pts)
        return 0
    if sub in ("keyevent", "press"):
        keys = [a for a in rest if not a.startswith("--")] or (["DPAD_CENTER"] if sub == "press" else [])
        for key in keys:
            if not system.key(key):
                ctx.err.write(f"Error: Unknown keycode: {key}\n")
                return 1
        return 0
    if sub == "text":
        if not rest:
            ctx.err.write(USAGE)
            return 1
        system.type_text(" ".join(rest).replace("%s", " "))
        return 0
    ctx.err.write(USAGE)
    return 1


COMMANDS = {"input": CommandSpec(input_)}
