"""adb transport messages: a 24-byte little-endian header and a bounded payload.

We answer CNXN with version 0x01000001, which tells the peer it may skip checksums; we always send 0 as checksum
and never verify the peer's.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453

KNOWN_COMMANDS = frozenset({A_SYNC, A_CNXN, A_AUTH, A_OPEN, A_OKAY, A_CLSE, A_WRTE, A_STLS})

A_VERSION_SKIP_CHECKSUM = 0x01000001
# What adbd advertises since 2016; the peer's own maxdata may lower it.
MAX_PAYLOAD = 1024 * 1024
# Never accept more than this from a peer whatever it claims (a little slack over MAX_PAYLOAD for old hosts).
MAX_INCOMING_PAYLOAD = MAX_PAYLOAD

AUTH_TOKEN = 1
AUTH_SIGNATURE = 2
AUTH_RSAPUBLICKEY = 3

HEADER = struct.Struct("<6I")


class ProtocolError(Exception):
    """The peer sent something that is not a valid adb message; its connection is dropped."""


@dataclass(frozen=True)
class Message:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return struct.pack("<I", self.command).decode("ascii", "replace")

    def encode(self) -> bytes:
        header = HEADER.pack(self.command, self.arg0, self.arg1, len(self.data), 0, self.command ^ 0xFFFFFFFF)
        return header + self.data


def read_exactly(sock: socket.socket, size: int) -> bytes:
    """Read `size` bytes; raise EOFError when the peer closes first."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 256 * 1024))
        if not chunk:
            raise EOFError("peer closed the connection")
        chunks += chunk
    return bytes(chunks)


def read_message(sock: socket.socket, max_payload: int = MAX_INCOMING_PAYLOAD) -> Message:
    """Read one message, validating the header before reading (and allocating) any payload."""
    command, arg0, arg1, length, _checksum, magic = HEADER.unpack(read_exactly(sock, HEADER.size))
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"bad magic 0x{magic:08x} for command 0x{command:08x}")
    if command not in KNOWN_COMMANDS:
        raise ProtocolError(f"unknown command 0x{command:08x}")
    if length > max_payload:
        raise ProtocolError(f"payload of {length} bytes exceeds the limit of {max_payload}")
    data = read_exactly(sock, length) if length else b""
    return Message(command, arg0, arg1, data)
