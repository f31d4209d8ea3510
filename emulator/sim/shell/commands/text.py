"""Text and shell built-ins: echo, true, false, grep, head, tail, wc, which, id, whoami, uname."""

from __future__ import annotations

import re
from collections import deque

from emulator.sim.shell.interpreter import CommandSpec, ShellContext

_ID = ("uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),"
       "1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid) "
       "context=u:r:shell:s0")
_UNAME = {"-s": "Linux", "-n": "localhost", "-r": "5.10.157-android13-4-00001-g5c7ff5dc7aac-ab9381520",
          "-v": "#1 SMP PREEMPT Fri Jan 13 19:57:59 UTC 2023", "-m": "aarch64"}


def echo(ctx: ShellContext, args: list[str]) -> int:
    newline, escapes = True, False
    while args and args[0] in ("-n", "-e", "-ne", "-en", "-E"):
        flag = args.pop(0)
        newline = newline and "n" not in flag
        escapes = escapes or "e" in flag
    text = " ".join(args)
    if escapes:
        text = text.encode("utf-8", "surrogateescape").decode("unicode_escape", "replace")
    ctx.out.write(text + ("\n" if newline else ""))
    return 0


def true(ctx: ShellContext, args: list[str]) -> int:
    return 0


def false(ctx: ShellContext, args: list[str]) -> int:
    return 1


def _bre_to_python(pattern: str) -> str:
    """POSIX basic regex: \\| \\( \\) \\{ \\} \\+ \\? are operators, the bare characters are literals."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(nxt if nxt in "|(){}+?" else "\\" + nxt)
            i += 2
            continue
        out.append("\\" + ch if ch in "|(){}+?" else ch)
        i += 1
    return "".join(out)


def _options(args: list[str], known: str) -> tuple[set[str], list[str], dict[str, str]]:
    """Short flags (combined like -iv), values for flags followed by ':' in `known` (-e PATTERN), operands."""
    valued = {known[k - 1] for k in range(1, len(known)) if known[k] == ":"}
    flags: set[str] = set()
    operands: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            operands += args[i + 1 :]
            break
        if arg.startswith("-") and len(arg) > 1:
            for k, ch in enumerate(arg[1:]):
                if ch in valued:
                    rest = arg[k + 2 :]
                    if not rest and i + 1 < len(args):
                        i += 1
                        rest = args[i]
                    values[ch] = rest
                    break
                flags.add(ch)
        else:
            operands.append(arg)
        i += 1
    return flags, operands, values


def grep(ctx: ShellContext, args: list[str]) -> int:
    flags, operands, values = _options(args, "EFivcqwoe:A:B:C:")
    patterns = [values["e"]] if "e" in values else operands[:1]
    files = operands if "e" in values else operands[1:]
    if not patterns:
        ctx.err.write("usage: grep [-EFivcq] PATTERN [FILE...]\n")
        return 2
    raw = patterns[0]
    if "F" in flags:
        regex = re.escape(raw)
    elif "E" in flags:
        regex = raw
    else:
        regex = _bre_to_python(raw)
    if "w" in flags:
        regex = rf"\b(?:{regex})\b"
    try:
        compiled = re.compile(regex, re.IGNORECASE if "i" in flags else 0)
    except re.error:
        ctx.err.write(f"grep: bad regex '{raw}'\n")
        return 2
    sources = [ctx.stdin.lines()] if not files else []
    for name in files:
        try:
            sources.append(iter(ctx.resolve(name).read_bytes().splitlines(keepends=True)))
        except (OSError, ValueError):
            ctx.err.write(f"grep: {name}: No such file or directory\n")
    after_n = int(values.get("A", values.get("C", "0")) or 0)
    before_n = int(values.get("B", values.get("C", "0")) or 0)
    count = 0
    for source in sources:
        before: deque[bytes] = deque(maxlen=before_n or None) if before_n else deque(maxlen=0)
        after = 0
        for line in source:
            text = line.decode("utf-8", "replace").rstrip("\n")
            line = line if line.endswith(b"\n") else line + b"\n"
            if bool(compiled.search(text)) != ("v" in flags):
                count += 1
                if "q" in flags:
                    return 0
                if "c" not in flags:
                    ctx.out.write(b"".join(before) + line)
                before.clear()
                after = after_n
            elif after > 0 and "c" not in flags:
                ctx.out.write(line)
                after -= 1
            else:
                before.append(line)
            if ctx.cancelled():
                break
    if "c" in flags:
        ctx.out.write(f"{count}\n")
    return 0 if count else 1


def _count_arg(args: list[str], default: int = 10) -> tuple[int, list[str]]:
    n, rest, i = default, [], 0
    while i < len(args):
        a = args[i]
        if a == "-n" and i + 1 < len(args):
            n, i = int(args[i + 1].lstrip("+-") or default), i + 2
            continue
        if a.startswith("-") and a[1:].isdigit():
            n = int(a[1:])
        elif a.startswith("-n") and a[2:].isdigit():
            n = int(a[2:])
        else:
            rest.append(a)
        i += 1
    return n, rest


def _lines_of(ctx: ShellContext, files: list[str]):
    if not files:
        yield from ctx.stdin.lines()
        return
    for name in files:
        yield from ctx.resolve(name).read_bytes().splitlines(keepends=True)


def head(ctx: ShellContext, args: list[str]) -> int:
    try:
        n, files = _count_arg(args)
        for k, line in enumerate(_lines_of(ctx, files)):
            if k >= n:
                break
            ctx.out.write(line)
    except (OSError, ValueError) as exc:
        ctx.error(str(exc))
        return 1
    return 0


def tail(ctx: ShellContext, args: list[str]) -> int:
    try:
        n, files = _count_arg(args)
        lines = list(_lines_of(ctx, files))
    except (OSError, ValueError) as exc:
        ctx.error(str(exc))
        return 1
    for line in lines[-n:] if n else []:
        ctx.out.write(line)
    return 0


def wc(ctx: ShellContext, args: list[str]) -> int:
    flags = {a for a in args if a.startswith("-")}
    data = b"".join(_lines_of(ctx, [a for a in args if not a.startswith("-")]))
    counts = {"-l": data.count(b"\n"), "-w": len(data.split()), "-c": len(data)}
    chosen = [counts[f] for f in ("-l", "-w", "-c") if f in flags] or list(counts.values())
    ctx.out.write(" ".join(str(c) for c in chosen) + "\n")
    return 0


def which(ctx: ShellContext, args: list[str]) -> int:
    from emulator.sim.shell.commands import registry

    status = 0
    for name in args:
        if name in registry():
            ctx.out.write(f"/system/bin/{name}\n")
        else:
            status = 1
    return status


def id_(ctx: ShellContext, args: list[str]) -> int:
    ctx.out.write(("2000" if "-u" in args else _ID) + "\n")
    return 0


def whoami(ctx: ShellContext, args: list[str]) -> int:
    ctx.out.write("shell\n")
    return 0


def uname(ctx: ShellContext, args: list[str]) -> int:
    if "-a" in args:
        parts = [_UNAME[k] for k in ("-s", "-n", "-r", "-v", "-m")] + ["Toybox"]
    else:
        parts = [_UNAME[a] for a in args if a in _UNAME] or [_UNAME["-s"]]
    ctx.out.write(" ".join(parts) + "\n")
    return 0


COMMANDS = {
    "echo": CommandSpec(echo, locked=False),
    "true": CommandSpec(true, locked=False),
    "false": CommandSpec(false, locked=False),
    "grep": CommandSpec(grep, locked=False),
    "head": CommandSpec(head, locked=False),
    "tail": CommandSpec(tail, locked=False),
    "wc": CommandSpec(wc, locked=False),
    "which": CommandSpec(which, locked=False),
    "id": CommandSpec(id_, locked=False),
    "whoami": CommandSpec(whoami, locked=False),
    "uname": CommandSpec(uname, locked=False),
}
