"""screencap, uiautomator dump, and app_process (the uiautomator2 agent's long-lived launch line)."""

from __future__ import annotations

from emulator.sim.shell.interpreter import CommandSpec, DevicePathError, ShellContext

DEFAULT_DUMP = "/sdcard/window_dump.xml"


def screencap(ctx: ShellContext, args: list[str]) -> int:
    from emulator.sim.render_png import render_png  # the renderer helper's module

    files = [a for a in args if not a.startswith("-")]
    with ctx.lock:
        screen = ctx.system.display().screen
    png = render_png(screen)
    fault = getattr(ctx.device, "take_fault", lambda name: None)("screenshot")
    if fault:
        from emulator.sim.render_png import damaged_png

        png = damaged_png(png, fault)
    if files:
        try:
            target = ctx.resolve(files[0])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)
        except (OSError, DevicePathError):
            ctx.err.write(f"Error opening file: {files[0]} (No such file or directory)\n")
            return 1
        return 0
    ctx.out.write(png)
    return 0


def uiautomator(ctx: ShellContext, args: list[str]) -> int:
    from emulator.sim.render_xml import render_xml  # the renderer helper's module

    if not args or args[0] != "dump":
        ctx.err.write("Usage: uiautomator <subcommand> [options]\n\nAvailable subcommands:\n\n"
                      "help: displays help message\n\ndump: creates an XML dump of current UI hierarchy\n")
        return 1
    files = [a for a in args[1:] if not a.startswith("-")]
    target_name = files[0] if files else DEFAULT_DUMP
    if target_name == "/dev/tty":
        with ctx.lock:
            xml = render_xml(ctx.system.display().screen)
        ctx.out.write(xml + "UI hierchary dumped to: /dev/tty\n")
        return 0
    with ctx.lock:
        xml = render_xml(ctx.system.display().screen)
    try:
        target = ctx.resolve(target_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(xml, encoding="utf-8")
    except (OSError, DevicePathError):
        ctx.err.write(f"ERROR: could not write {target_name}\n")
        return 1
    ctx.out.write(f"UI hierchary dumped to: {target_name}\n")
    return 0


def app_process(ctx: ShellContext, args: list[str]) -> int:
    """Runs until the client closes the stream, like the real uiautomator2 server process."""
    is_u2 = any("uia2" in a or "uiautomator" in a for a in args)
    if is_u2:
        ctx.device.set_u2_agent_running(True)
    try:
        while not ctx.io.closed:
            ctx.io.wait_closed(0.5)
    finally:
        if is_u2:
            ctx.device.set_u2_agent_running(False)
    return 0


COMMANDS = {
    "screencap": CommandSpec(screencap, locked=False),
    "uiautomator": CommandSpec(uiautomator, locked=False),
    "app_process": CommandSpec(app_process, streaming=True),
}
