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
    if not is_u2:
        while not ctx.io.closed:
            ctx.io.wait_closed(0.5)
        return 0
    pid, killed = ctx.device.u2_agent_started()
    try:
        ctx.out.write(b"[server] INFO: [UiAutomator2Server] Starting Server\n")
        while not ctx.io.closed and not killed.is_set():
            killed.wait(0.2)
    finally:
        ctx.device.u2_agent_stopped(pid)
    return 143 if killed.is_set() else 0  # SIGTERM from `kill`


COMMANDS = {
    "screencap": CommandSpec(screencap, locked=False),
    "uiautomator": CommandSpec(uiautomator, locked=False),
    "app_process": CommandSpec(app_process, streaming=True),
}


MAX_RECORD_SECONDS = 180  # screenrecord's own limit
RECORD_FPS = 2  # frames per second of device time written to the video


def screenrecord(ctx: ShellContext, args: list[str]) -> int:
    """screenrecord [--time-limit N] [--size WxH] [--bit-rate R] [--verbose] FILE.mp4: an MPEG-4 video of the
    screen. In the foreground it records for the time limit (device time: the virtual clock moves as for `sleep`);
    as a background job (`screenrecord f.mp4 &`) it records until `kill -INT` (real time passes), then writes."""
    limit = float(MAX_RECORD_SECONDS)
    size: tuple[int, int] | None = None
    files: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--time-limit":
            try:
                limit = float(next(it, ""))
            except ValueError:
                ctx.err.write("Invalid value for time limit\n")
                return 2
            if not 0 < limit <= MAX_RECORD_SECONDS:
                ctx.err.write(f"Time limit {limit:g}s out of range [1,{MAX_RECORD_SECONDS}]\n")
                return 2
        elif arg == "--size":
            w, _, h = next(it, "").partition("x")
            if not (w.isdigit() and h.isdigit()):
                ctx.err.write("Invalid size specified\n")
                return 2
            size = (int(w), int(h))
        elif arg in ("--bit-rate", "--display-id", "--output-format"):
            next(it, None)
        elif arg.startswith("-"):
            continue  # --verbose, --bugreport, --rotate
        else:
            files.append(arg)
    if len(files) != 1:
        ctx.err.write("Must specify output file (see --help).\n")
        return 2
    try:
        target = ctx.resolve(files[0])
        target.parent.mkdir(parents=True, exist_ok=True)
    except (OSError, DevicePathError):
        ctx.err.write(f"Unable to open '{files[0]}': No such file or directory\n")
        return 1
    try:
        _record(ctx, limit, target, size)
    except (OSError, RuntimeError) as exc:
        ctx.err.write(f"ERROR: unable to write {files[0]}: {exc}\n")
        return 1
    return 0


def _record(ctx: ShellContext, limit: float, target, size: tuple[int, int] | None) -> None:
    """Write frames at RECORD_FPS into an MPEG-4 file; a frame is rendered again only when the screen changed."""
    import io as _io

    import cv2
    import numpy as np
    from PIL import Image

    from emulator.sim.render_png import render_png
    from emulator.sim.render_xml import render_xml

    with ctx.lock:
        out_size = size or (ctx.system.width, ctx.system.height)
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), RECORD_FPS, out_size)
    if not writer.isOpened():
        raise RuntimeError("no MPEG-4 encoder")
    last_key, frame = None, None
    step = 1.0 / RECORD_FPS
    background = ctx.interrupted is not None
    elapsed = 0.0
    try:
        while True:
            with ctx.lock:
                screen = ctx.system.display().screen
                key = (render_xml(screen), screen.clock_text)
            if key != last_key:
                image = Image.open(_io.BytesIO(render_png(screen))).convert("RGB")
                if image.size != out_size:
                    image = image.resize(out_size)
                frame, last_key = np.asarray(image)[:, :, ::-1].copy(), key
            writer.write(frame)
            if elapsed >= limit or ctx.cancelled():
                return
            if background:
                ctx.interrupted.wait(step)  # real time: the client drives the phone meanwhile
            else:
                with ctx.lock:
                    ctx.system.advance(step)
            elapsed += step
    finally:
        writer.release()


def sh(ctx: ShellContext, args: list[str]) -> int:
    """sh -c 'LINE' [ARG0 ARGS...] | sh FILE [ARGS...]: a line or a script file, in a new shell."""
    if not args:
        ctx.err.write("sh: interactive shells are not simulated\n")
        return 2
    cwd = ctx.env.get("PWD", "/")
    if args[0] == "-c":
        if len(args) < 2:
            ctx.err.write("sh: -c: option requires an argument\n")
            return 2
        return ctx.shell.run(args[1], ctx.io, args[2] if len(args) > 2 else "sh", tuple(args[3:]), cwd)
    try:
        text = ctx.resolve(args[0]).read_text("utf-8", "replace")
    except (OSError, DevicePathError):
        ctx.err.write(f"sh: {args[0]}: No such file or directory\n")
        return 127
    return ctx.shell.run(text, ctx.io, args[0], tuple(args[1:]), cwd)


COMMANDS["screenrecord"] = CommandSpec(screenrecord, streaming=True)
COMMANDS["sh"] = CommandSpec(sh, streaming=True)
