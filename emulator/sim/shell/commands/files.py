"""Filesystem commands over the device's storage root: cat, ls, rm, mkdir, chmod, touch, md5sum, toybox."""

from __future__ import annotations

import hashlib
import shutil

from emulator.sim.shell.interpreter import CommandSpec, DevicePathError, ShellContext


def _virtual_file(ctx: ShellContext, path: str) -> bytes | None:
    """Files the kernel makes up: /proc/uptime moves with the virtual clock."""
    if path == "/proc/uptime":
        with ctx.lock:
            up = ctx.system.clock.uptime()
        return f"{up:.2f} {up * 7.3:.2f}\n".encode()
    if path == "/proc/version":
        return b"Linux version 5.10.157-android13-4-00001-g5c7ff5dc7aac-ab9381520 (build-user@build-host) #1 SMP\n"
    if path == "/dev/null":
        return b""
    return None


def _read(ctx: ShellContext, command: str, name: str) -> bytes | None:
    """A file's bytes (a virtual /proc file or one in the device's storage), or None after the error line toybox
    prints for it."""
    data = _virtual_file(ctx, name)
    if data is not None:
        return data
    try:
        return ctx.resolve(name).read_bytes()
    except IsADirectoryError:
        ctx.err.write(f"{command}: {name}: Is a directory\n")
    except (OSError, DevicePathError):
        ctx.err.write(f"{command}: {name}: No such file or directory\n")
    return None


def cat(ctx: ShellContext, args: list[str]) -> int:
    files = [a for a in args if not a.startswith("-") or a == "-"]
    if not files:
        for chunk in ctx.stdin.chunks():
            ctx.out.write(chunk)
        return 0
    status = 0
    for name in files:
        data = _read(ctx, "cat", name)
        if data is None:
            status = 1
            continue
        ctx.out.write(data)
    return status


def ls(ctx: ShellContext, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args if a.startswith("-"))
    paths = [a for a in args if not a.startswith("-")] or ["."]
    status = 0
    for name in paths:
        try:
            host = ctx.resolve(name if name != "." else "/")
        except DevicePathError:
            host = None
        if host is None or not host.exists():
            ctx.err.write(f"ls: {name}: No such file or directory\n")
            status = 1
            continue
        entries = sorted(p.name for p in host.iterdir()) if host.is_dir() else [name]
        if "a" in flags:
            entries = [".", ".."] + entries
        if "l" in flags and host.is_dir():
            for entry in entries:
                child = host / entry
                kind = "d" if child.is_dir() else "-"
                size = child.stat().st_size if child.is_file() else 4096
                ctx.out.write(f"{kind}rw-rw---- 1 shell shell {size:>8} 2026-01-01 08:00 {entry}\n")
        else:
            for entry in entries:
                ctx.out.write(entry + "\n")
    return status


def rm(ctx: ShellContext, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args if a.startswith("-"))
    status = 0
    for name in (a for a in args if not a.startswith("-")):
        try:
            host = ctx.resolve(name)
        except DevicePathError:
            host = None
        if host is None or host == ctx.device.storage_root() or not host.exists():
            if "f" not in flags:
                ctx.err.write(f"rm: {name}: No such file or directory\n")
                status = 1
            continue
        if host.is_dir():
            if "r" not in flags and "R" not in flags:
                ctx.err.write(f"rm: {name}: Is a directory\n")
                status = 1
                continue
            shutil.rmtree(host)
        else:
            host.unlink()
    return status


def mkdir(ctx: ShellContext, args: list[str]) -> int:
    parents = "-p" in args
    status = 0
    for name in (a for a in args if not a.startswith("-")):
        try:
            host = ctx.resolve(name)
            host.mkdir(parents=parents, exist_ok=parents)
        except FileExistsError:
            ctx.err.write(f"mkdir: '{name}': File exists\n")
            status = 1
        except (OSError, DevicePathError):
            ctx.err.write(f"mkdir: '{name}': No such file or directory\n")
            status = 1
    return status


def chmod(ctx: ShellContext, args: list[str]) -> int:
    operands = [a for a in args if not a.startswith("-")]
    if len(operands) < 2:
        ctx.err.write("chmod: Needs 2 arguments\n")
        return 1
    status = 0
    for name in operands[1:]:
        try:
            if not ctx.resolve(name).exists():
                raise FileNotFoundError(name)
        except (OSError, DevicePathError):
            ctx.err.write(f"chmod: {name}: No such file or directory\n")
            status = 1
    return status


def touch(ctx: ShellContext, args: list[str]) -> int:
    for name in (a for a in args if not a.startswith("-")):
        try:
            host = ctx.resolve(name)
            host.parent.mkdir(parents=True, exist_ok=True)
            host.touch()
        except (OSError, DevicePathError):
            ctx.err.write(f"touch: '{name}': No such file or directory\n")
            return 1
    return 0


def md5sum(ctx: ShellContext, args: list[str]) -> int:
    files = [a for a in args if not a.startswith("-")]
    if not files:
        ctx.out.write(f"{hashlib.md5(ctx.stdin.read()).hexdigest()}  -\n")
        return 0
    status = 0
    for name in files:
        data = _read(ctx, "md5sum", name)
        if data is None:
            status = 1
            continue
        ctx.out.write(f"{hashlib.md5(data).hexdigest()}  {name}\n")
    return status


def toybox(ctx: ShellContext, args: list[str]) -> int:
    from emulator.sim.shell.commands import registry

    if not args:
        ctx.out.write(" ".join(sorted(registry())) + "\n")
        return 0
    spec = registry().get(args[0])
    if spec is None:
        ctx.err.write(f"toybox: Unknown command {args[0]}\n")
        return 1
    ctx.name = args[0]
    if spec.locked and not spec.streaming:
        with ctx.lock:
            return spec.fn(ctx, args[1:])
    return spec.fn(ctx, args[1:])


def pwd(ctx: ShellContext, args: list[str]) -> int:
    ctx.out.write(ctx.env.get("PWD", "/") + "\n")
    return 0


COMMANDS = {
    "pwd": CommandSpec(pwd, locked=False),
    "cat": CommandSpec(cat, locked=False),
    "ls": CommandSpec(ls, locked=False),
    "rm": CommandSpec(rm, locked=False),
    "mkdir": CommandSpec(mkdir, locked=False),
    "chmod": CommandSpec(chmod, locked=False),
    "touch": CommandSpec(touch, locked=False),
    "md5sum": CommandSpec(md5sum, locked=False),
    "toybox": CommandSpec(toybox, locked=False),
}
