"""Runs parsed command lines: connectors, pipelines (one thread per stage), redirects, $? and variables."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from emulator.sim.device_api import ShellIO
from emulator.sim.shell.parser import Command, Pipeline, ShellSyntaxError, Step, parse

if TYPE_CHECKING:
    from emulator.sim.system.android import AndroidSystem

SHELL_NAME = "/system/bin/sh"
SHELL_PID = 6000  # what $$ expands to; the shell is not in the process table


class DevicePathError(ValueError):
    """A path that leaves the device filesystem."""


# ---- byte streams ---------------------------------------------------------------------------------------------
class Output:
    """Where a command writes. Subclasses: the client's stdout/stderr, a buffer, a file, a pipe."""

    def write(self, data: bytes | str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """End of this output (closes a pipe or file)."""

    @property
    def broken(self) -> bool:
        """Nobody reads any more (client gone, or the next pipeline stage exited)."""
        return False


def _bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data


class IOOut(Output):
    def __init__(self, io: ShellIO, err: bool = False) -> None:
        self.io, self.err = io, err

    def write(self, data: bytes | str) -> None:
        b = _bytes(data)
        if b and not self.io.closed:
            (self.io.write_err if self.err else self.io.write)(b)

    @property
    def broken(self) -> bool:
        return self.io.closed


class BufferOut(Output):
    """Collects output while a command holds the device lock; flushed to `target` after."""

    def __init__(self, target: Output) -> None:
        self.target = target
        self.chunks: list[bytes] = []

    def write(self, data: bytes | str) -> None:
        self.chunks.append(_bytes(data))

    def flush(self) -> None:
        data = b"".join(self.chunks)
        self.chunks.clear()
        if data:
            self.target.write(data)

    @property
    def broken(self) -> bool:
        return self.target.broken


class NullOut(Output):
    def write(self, data: bytes | str) -> None:
        pass


class FileOut(Output):
    def __init__(self, path: Path, append: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab" if append else "wb")  # noqa: SIM115  (closed by close())

    def write(self, data: bytes | str) -> None:
        self._file.write(_bytes(data))

    def close(self) -> None:
        self._file.close()


class Pipe(Output):
    """A pipe between two pipeline stages, read line by line so streams (logcat | grep) flow."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._write_closed = False
        self.reader_gone = False

    def write(self, data: bytes | str) -> None:
        b = _bytes(data)
        with self._cond:
            if b and not self.reader_gone:
                self._chunks.append(b)
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._write_closed = True
            self._cond.notify_all()

    def close_reader(self) -> None:
        with self._cond:
            self.reader_gone = True
            self._chunks.clear()
            self._cond.notify_all()

    @property
    def broken(self) -> bool:
        return self.reader_gone

    def next_chunk(self, cancelled: Callable[[], bool]) -> bytes | None:
        with self._cond:
            while not self._chunks:
                if self._write_closed or cancelled():
                    return None
                self._cond.wait(0.2)
            return self._chunks.popleft()


class Input:
    """A command's stdin: empty, bytes (a file), or the read end of a pipe."""

    def __init__(self, data: bytes = b"", pipe: Pipe | None = None,
                 cancelled: Callable[[], bool] = lambda: False) -> None:
        self._data, self._pipe, self._cancelled = data, pipe, cancelled

    def chunks(self) -> Iterator[bytes]:
        if self._pipe is None:
            if self._data:
                yield self._data
            return
        while (chunk := self._pipe.next_chunk(self._cancelled)) is not None:
            yield chunk

    def lines(self) -> Iterator[bytes]:
        """Lines with their newline, as they arrive."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line + b"\n"
        if pending:
            yield pending

    def read(self) -> bytes:
        return b"".join(self.chunks())


# ---- command context --------------------------------------------------------------------------------------------
@dataclass
class ShellContext:
    """What a command sees: the system, the device's files, its streams and the shell variables."""

    system: AndroidSystem
    device: Any  # SimDevice: storage root, u2 agent state
    io: ShellIO
    stdin: Input
    out: Output
    err: Output
    env: dict[str, str] = field(default_factory=dict)
    name: str = ""
    shell: Any = None  # the Shell running the command (`sh` runs scripts with it)
    interrupted: threading.Event | None = None  # set by `kill` when the command runs as a background job

    @property
    def lock(self) -> threading.RLock:
        return self.system.lock

    def cancelled(self) -> bool:
        """The client closed the stream, nobody reads our output, or the job was killed: a streaming command must
        return."""
        return self.io.closed or self.out.broken or (self.interrupted is not None and self.interrupted.is_set())

    def error(self, message: str) -> None:
        self.err.write(f"{self.name}: {message}\n" if self.name else message + "\n")

    def resolve(self, device_path: str) -> Path:
        return resolve_path(self.device.storage_root(), device_path, self.env.get("PWD", "/"))


def resolve_path(root: Path, device_path: str, cwd: str = "/") -> Path:
    """A device path (relative ones from `cwd`) -> the host file inside `root`. '..' cannot climb above '/'."""
    device_path = device_path.replace("\0", "")
    if not device_path.startswith("/"):
        device_path = cwd.rstrip("/") + "/" + device_path
    norm = os.path.normpath("/" + device_path)
    parts = PurePosixPath(norm).parts[1:]
    host = root.joinpath(*parts) if parts else root
    resolved = host.resolve()
    if resolved != root.resolve() and root.resolve() not in resolved.parents:
        raise DevicePathError(f"{device_path}: outside the device filesystem")
    return host


CommandFn = Callable[[ShellContext, list[str]], int]


@dataclass(frozen=True)
class CommandSpec:
    fn: CommandFn
    locked: bool = True  # run holding the device lock, output buffered and written after
    streaming: bool = False  # manages the lock itself and writes as it goes (logcat, app_process)


_job = threading.local()  # .interrupted: the kill switch of the background job this thread runs


# ---- the interpreter ----------------------------------------------------------------------------------------
class Shell:
    """One device's shell. Each `run` is a fresh `sh -c` with its own variables."""

    def __init__(self, system: AndroidSystem, device: Any, commands: dict[str, CommandSpec]) -> None:
        self.system = system
        self.device = device
        self.commands = commands

    def run(self, line: str, io: ShellIO, argv0: str = SHELL_NAME, args: tuple[str, ...] = (),
            cwd: str = "/") -> int:
        out, err = IOOut(io), IOOut(io, err=True)
        try:
            steps = parse(line)
        except ShellSyntaxError as exc:
            err.write(f"{SHELL_NAME}: syntax error: {exc}\n")
            return 2
        env = {"?": "0", "$": str(SHELL_PID), "#": str(len(args)), "0": argv0, "@": " ".join(args),
               "PATH": "/system/bin:/system/xbin", "HOME": "/", "USER": "shell", "ANDROID_DATA": "/data",
               "EXTERNAL_STORAGE": "/sdcard", "PWD": cwd}
        env.update({str(n): value for n, value in enumerate(args[:9], start=1)})
        jobs: list[threading.Thread] = []  # background jobs outlive the line, as orphans of an exited sh do
        status = 0
        for step in steps:
            if step.connector == "&&" and status != 0:
                continue
            if step.connector == "||" and status == 0:
                continue
            if step.background:
                env["!"] = str(self._start_job(step, io, out, err, env, jobs))
                status = 0
                continue
            first = step.pipeline.commands[0].words
            if len(step.pipeline.commands) == 1 and first and first[0].literal() == "wait":
                status = self._wait(jobs, io)
            else:
                status = self._pipeline(step.pipeline, io, out, err, env)
            env["?"] = str(status)
        return status

    def _start_job(self, step: Step, io: ShellIO, out: Output, err: Output, env: dict[str, str],
                   jobs: list[threading.Thread]) -> int:
        """`cmd &`: the pipeline runs in a thread as a process of the shell user (ps shows it, kill signals it)."""
        words = step.pipeline.commands[0].words
        name = words[0].expand(env).rsplit("/", 1)[-1] if words else "sh"
        register = getattr(self.device, "start_process", None)
        pid, interrupted = register(name) if register else (0, threading.Event())
        job_env = dict(env)

        def job() -> None:
            _job.interrupted = interrupted
            try:
                self._pipeline(step.pipeline, io, out, err, job_env)
            finally:
                _job.interrupted = None
                end = getattr(self.device, "end_process", None)
                if end:
                    end(pid)

        thread = threading.Thread(target=job, name=f"sim-shell-job-{name}", daemon=True)
        jobs.append(thread)
        thread.start()
        return pid

    @staticmethod
    def _wait(jobs: list[threading.Thread], io: ShellIO) -> int:
        for job in jobs:
            while job.is_alive() and not io.closed:
                job.join(timeout=0.2)
        return 0

    def _pipeline(self, pipeline: Pipeline, io: ShellIO, out: Output, err: Output, env: dict[str, str]) -> int:
        cmds = pipeline.commands
        if len(cmds) == 1:
            return self._command(cmds[0], io, Input(), out, err, env)
        pipes = [Pipe() for _ in cmds[:-1]]
        threads = []
        for k, cmd in enumerate(cmds[:-1]):
            stdin = Input(pipe=pipes[k - 1], cancelled=lambda: io.closed) if k else Input()

            def stage(c: Command = cmd, i: Input = stdin, p: Pipe = pipes[k], prev: int = k - 1) -> None:
                try:
                    self._command(c, io, i, p, err, dict(env))
                finally:
                    p.close()
                    if prev >= 0:
                        pipes[prev].close_reader()

            t = threading.Thread(target=stage, name="sim-shell-pipe", daemon=True)
            threads.append(t)
            t.start()
        last_in = Input(pipe=pipes[-1], cancelled=lambda: io.closed)
        try:
            status = self._command(cmds[-1], io, last_in, out, err, env)
        finally:
            pipes[-1].close_reader()
        for t in threads:
            t.join(timeout=5)
        return status

    def _command(self, cmd: Command, io: ShellIO, stdin: Input, out: Output, err: Output,
                 env: dict[str, str]) -> int:
        local_env = dict(env)
        for name, word in cmd.assignments:
            local_env[name] = word.expand(env)
        argv = []
        for word in cmd.words:
            value = word.expand(local_env)
            if value == "" and all(kind == "lit" for kind, _ in word.segments):
                continue  # an unquoted expansion to nothing is no word at all
            argv.append(value)
        opened: list[Output] = []
        try:
            for redirect in cmd.redirects:
                if redirect.op == ">&":
                    if redirect.fd == 2 and redirect.dup_fd == 1:
                        err = out
                    elif redirect.fd == 1 and redirect.dup_fd == 2:
                        out = err
                    continue
                target = redirect.target.expand(local_env) if redirect.target else ""
                if redirect.op == "<":
                    try:
                        stdin = Input(resolve_path(self.device.storage_root(), target,
                                                   local_env.get("PWD", "/")).read_bytes())
                    except (OSError, DevicePathError):
                        err.write(f"{SHELL_NAME}: can't open '{target}': No such file or directory\n")
                        return 1
                    continue
                if target == "/dev/null":
                    sink: Output = NullOut()
                else:
                    try:
                        sink = FileOut(resolve_path(self.device.storage_root(), target, local_env.get("PWD", "/")),
                                       redirect.op == ">>")
                    except (OSError, DevicePathError):
                        err.write(f"{SHELL_NAME}: can't create {target}: Permission denied\n")
                        return 1
                    opened.append(sink)
                if redirect.fd == 2:
                    err = sink
                else:
                    out = sink
            if not argv:
                env.update({k: v for k, v in local_env.items() if k not in "?$#0"})  # `VAR=x` alone sets it
                return 0
            if argv[0] == "cd":  # a builtin: it changes this shell's directory for the commands after it
                return self._cd(argv[1:], env, err)
            if argv[0] == "read":  # a builtin: one line of the shell's stdin into a variable
                return self._read(argv[1:], io, env)
            return self.execute(argv, io, stdin, out, err, local_env)
        finally:
            for sink in opened:
                sink.close()

    @staticmethod
    def _read(names: list[str], io: ShellIO, env: dict[str, str]) -> int:
        read_line = getattr(io, "read_line", None)
        line = read_line() if read_line else None
        if line is None:
            return 1  # end of input
        values = line.rstrip("\n").split(None, max(0, len(names) - 1)) if names else []
        for k, name in enumerate(names or ["REPLY"]):
            env[name] = values[k] if k < len(values) else ""
        return 0

    def _cd(self, args: list[str], env: dict[str, str], err: Output) -> int:
        target = args[0] if args else env.get("HOME", "/")
        cwd = env.get("PWD", "/")
        path = "/" + os.path.normpath(target if target.startswith("/") else cwd + "/" + target).lstrip("/")
        try:
            is_dir = resolve_path(self.device.storage_root(), path).is_dir()
        except DevicePathError:
            is_dir = False
        if not is_dir:
            err.write(f"{SHELL_NAME}: cd: {target}: No such file or directory\n")
            return 2
        env["PWD"] = path
        return 0

    def execute(self, argv: list[str], io: ShellIO, stdin: Input, out: Output, err: Output,
                env: dict[str, str]) -> int:
        name = argv[0]
        base = name.rsplit("/", 1)[-1] if name.startswith("/system/") else name
        spec = self.commands.get(base)
        if spec is None:
            err.write(f"{SHELL_NAME}: {name}: not found\n")
            return 127
        ctx = ShellContext(self.system, self.device, io, stdin, out, err, env, base, shell=self,
                      interrupted=getattr(_job, "interrupted", None))
        if spec.streaming or not spec.locked:
            return spec.fn(ctx, argv[1:])
        buf_out, buf_err = BufferOut(out), BufferOut(err)
        ctx.out, ctx.err = buf_out, buf_err
        try:
            with self.system.lock:
                status = spec.fn(ctx, argv[1:])
        finally:
            buf_err.flush()
            buf_out.flush()
        return status
