"""A client for the Android emulator console: the telnet-style text protocol on localhost:<console port>.

Protocol, as the emulator implements it (android/console.cpp): on connect the console sends a banner ending in a line
`OK`; when ~/.emulator_console_auth_token holds a token the banner says "Android Console: Authentication required"
and only help, ping, `avd name`, auth and quit work until `auth <token>` succeeds. Every reply ends with a line `OK`
or with a line starting `KO:` (the error). Lines end with CRLF. `kill` answers "OK: killing emulator, bye bye" and
the emulator exits, often before the final OK is sent.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from crawler.errors import UserError

AUTH_REQUIRED = "Android Console: Authentication required"
KILL_REPLY = "OK: killing emulator, bye bye"
TOKEN_FILE_NAME = ".emulator_console_auth_token"
MAX_REPLY = 256 * 1024  # a console reply is a few lines; more is a confused peer
# What a command may contain: one line of printable text (a newline would smuggle a second command).
SAFE_COMMAND = re.compile(r"[\x20-\x7e]{1,1000}")


class ConsoleError(UserError):
    """The emulator console cannot be reached, refused us, or answered something that is not the protocol."""


class ConsoleAuthError(ConsoleError):
    """The console wants a token we do not have, or refused the one we sent."""


class ConsoleCommandError(ConsoleError):
    """A command was answered with KO: <reason>."""


def token_file() -> Path:
    """Where the emulator keeps the console token: ~/.emulator_console_auth_token (HOME, read at call time)."""
    return Path(os.environ.get("HOME") or Path.home()) / TOKEN_FILE_NAME


@dataclass
class EmulatorConsole:
    """One console session. `with EmulatorConsole(5554) as console: console.command("avd name")`."""

    port: int
    host: str = "127.0.0.1"
    timeout: float = 5.0
    token_path: Path | None = None
    banner: str = ""
    _sock: socket.socket | None = field(default=None, repr=False)
    _buffer: bytes = field(default=b"", repr=False)

    def connect(self) -> Self:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ConsoleError(f"emulator console on port {self.port}: cannot connect ({exc.strerror or exc})") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = self._read_reply()
        self.banner = "\n".join(lines)
        if lines and lines[0].startswith("KO:"):
            raise ConsoleError(f"emulator console on port {self.port}: {lines[0]}")
        if AUTH_REQUIRED in self.banner:
            self._authenticate()
        return self

    def _authenticate(self) -> None:
        path = self.token_path or token_file()
        try:
            token = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError as exc:
            raise ConsoleAuthError(f"emulator console on port {self.port} wants a token: cannot read {path} "
                                   f"({exc.strerror or exc})") from None
        if not SAFE_COMMAND.fullmatch(f"auth {token}"):
            raise ConsoleAuthError(f"{path}: not a console token (one line of printable text)")
        try:
            self.command(f"auth {token}")
        except ConsoleCommandError as exc:
            raise ConsoleAuthError(f"emulator console on port {self.port} refused the token in {path}: {exc}") from None

    def command(self, line: str) -> str:
        """Send one command; return the reply's text lines (without the final OK), or raise ConsoleCommandError."""
        if not SAFE_COMMAND.fullmatch(line):
            raise ConsoleError(f"{line[:60]!r}: a console command is one line of printable ASCII")
        self._send(line)
        lines = self._read_reply()
        if lines and lines[-1].startswith("KO:"):
            raise ConsoleCommandError(lines[-1][3:].strip())
        return "\n".join(lines[:-1])

    def kill(self) -> None:
        """Ask the emulator to exit. Returns once it has said goodbye (or closed the connection)."""
        self._send("kill")
        try:
            lines = self._read_reply(stop_at=KILL_REPLY)
        except ConsoleError:
            return  # the emulator exited before it finished answering: that is what we asked for
        if lines and lines[-1].startswith("KO:"):
            raise ConsoleCommandError(lines[-1][3:].strip())

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            sock.sendall(b"quit\n")
        except OSError:
            pass
        sock.close()

    def __enter__(self) -> Self:
        return self.connect() if self._sock is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- wire ------------------------------------------------------------------------------------------------------
    def _send(self, line: str) -> None:
        if self._sock is None:
            raise ConsoleError(f"emulator console on port {self.port}: not connected")
        try:
            self._sock.sendall(line.encode("ascii") + b"\n")
        except OSError as exc:
            raise ConsoleError(f"emulator console on port {self.port}: connection lost ({exc})") from None

    def _read_line(self) -> str:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_REPLY:
                raise ConsoleError(f"emulator console on port {self.port}: a reply line over {MAX_REPLY} bytes")
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                raise ConsoleError(f"emulator console on port {self.port}: no answer in {self.timeout:g} s") from None
            except OSError as exc:
                raise ConsoleError(f"emulator console on port {self.port}: connection lost ({exc})") from None
            if not chunk:
                raise ConsoleError(f"emulator console on port {self.port}: connection closed")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\n", 1)
        return raw.rstrip(b"\r").decode("utf-8", "replace")

    def _read_reply(self, stop_at: str | None = None) -> list[str]:
        """Lines up to and including the terminating `OK` or `KO: ...` line (or the line `stop_at`)."""
        lines: list[str] = []
        size = 0
        while True:
            line = self._read_line()
            lines.append(line)
            size += len(line)
            if line == "OK" or line.startswith("KO:") or line == stop_at:
                return lines
            if size > MAX_REPLY:
                raise ConsoleError(f"emulator console on port {self.port}: a reply over {MAX_REPLY} bytes")


def console_command(port: int, line: str, timeout: float = 5.0, token_path: Path | None = None) -> str:
    """Connect, authenticate, run one command, hang up."""
    with EmulatorConsole(port, timeout=timeout, token_path=token_path) as console:
        return console.command(line)


def kill_emulator(port: int, timeout: float = 5.0, token_path: Path | None = None) -> None:
    """The console way to stop an emulator (what `adb emu kill` does)."""
    console = EmulatorConsole(port, timeout=timeout, token_path=token_path).connect()
    try:
        console.kill()
    finally:
        console.close()
