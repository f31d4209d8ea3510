"""Shell services: `shell:` and `exec:` (raw, stderr merged) and `shell,v2,...:` (framed packets with an exit code).

A shell v2 packet is id (1 byte) + length (4 bytes LE) + data. Ids: 0 stdin, 1 stdout, 2 stderr, 3 exit,
4 close-stdin, 5 window-size change. Input is the shell's stdin (the `read` builtin takes it).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass

from emulator.sim.adb.stream import Stream

ID_STDIN = 0
ID_STDOUT = 1
ID_STDERR = 2
ID_EXIT = 3
ID_CLOSE_STDIN = 4
ID_WINDOW_SIZE_CHANGE = 5

PACKET_HEADER = struct.Struct("<BI")
MAX_STDIN = 1 << 20


@dataclass(frozen=True)
class ShellRequest:
    """A parsed shell service name."""

    command: str
    v2: bool
    pty: bool = False
    term: str | None = None


def parse_shell_service(service: str) -> ShellRequest | None:
    """`shell:cmd`, `exec:cmd`, `shell,v2,TERM=xterm,raw:cmd`; None if it is no shell service."""
    if service.startswith("exec:"):
        return ShellRequest(command=service[len("exec:") :], v2=False)
    if service.startswith("shell:"):
        return ShellRequest(command=service[len("shell:") :], v2=False, pty=True)
    if not service.startswith("shell,"):
        return None
    options_text, sep, command = service.partition(":")
    if not sep:
        return None
    options = options_text.split(",")[1:]
    term = next((opt[len("TERM=") :] for opt in options if opt.startswith("TERM=")), None)
    # adb's default: a pty for interactive shells, raw when a command is given.
    pty = "pty" in options or ("raw" not in options and not command)
    return ShellRequest(command=command, v2="v2" in options, pty=pty, term=term)


def encode_packet(packet_id: int, data: bytes) -> bytes:
    return PACKET_HEADER.pack(packet_id, len(data)) + data


class StreamShellIO:
    """ShellIO over one adb stream; writes after the client closed are dropped. What the client writes is the
    shell's stdin (`read` takes it line by line); it is buffered up to MAX_STDIN bytes, the rest dropped."""

    def __init__(self, stream: Stream, v2: bool) -> None:
        self._stream = stream
        self._v2 = v2
        self._stdin = bytearray()
        self._stdin_done = False
        self._stdin_cond = threading.Condition()

    def pump_stdin(self) -> None:
        """Read the client's input until the stream closes (run in a thread of its own)."""
        pending = b""
        try:
            while chunk := self._stream.read(65536):
                if not self._v2:
                    self._feed(chunk)
                    continue
                pending += chunk
                while len(pending) >= PACKET_HEADER.size:
                    packet_id, length = PACKET_HEADER.unpack_from(pending)
                    if len(pending) < PACKET_HEADER.size + length:
                        break
                    data = pending[PACKET_HEADER.size:PACKET_HEADER.size + length]
                    pending = pending[PACKET_HEADER.size + length:]
                    if packet_id == ID_STDIN:
                        self._feed(data)
                    elif packet_id == ID_CLOSE_STDIN:
                        self._feed(b"", done=True)
        finally:
            self._feed(b"", done=True)

    def _feed(self, data: bytes, done: bool = False) -> None:
        with self._stdin_cond:
            room = MAX_STDIN - len(self._stdin)
            self._stdin += data[:max(0, room)]
            self._stdin_done = self._stdin_done or done
            self._stdin_cond.notify_all()

    def read_line(self) -> str | None:
        """One line of stdin (without waiting past the end of input); None at the end."""
        with self._stdin_cond:
            while b"\n" not in self._stdin and not self._stdin_done:
                self._stdin_cond.wait(0.5)
            if not self._stdin:
                return None
            end = self._stdin.find(b"\n")
            end = len(self._stdin) if end < 0 else end + 1
            line = bytes(self._stdin[:end])
            del self._stdin[:end]
        return line.decode("utf-8", "replace")

    def write(self, data: bytes) -> None:
        self._send(ID_STDOUT, data)

    def write_err(self, data: bytes) -> None:
        self._send(ID_STDERR, data)

    @property
    def closed(self) -> bool:
        return self._stream.closed

    def wait_closed(self, timeout: float) -> bool:
        return self._stream.wait_closed(timeout)

    def send_exit(self, code: int) -> None:
        if self._v2:
            self._stream.write(encode_packet(ID_EXIT, bytes([code & 0xFF])))

    def _send(self, packet_id: int, data: bytes) -> None:
        if not data:
            return
        if not self._v2:
            self._stream.write(bytes(data))
            return
        # Keep each packet within one WRTE: clients read a v2 header, then its data.
        step = self._stream.max_payload - PACKET_HEADER.size
        for start in range(0, len(data), step):
            if not self._stream.write(encode_packet(packet_id, bytes(data[start : start + step]))):
                return
