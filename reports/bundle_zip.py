"""The evidence bundle's zip, canonical: the one byte layout `export` writes and `verify` rebuilds and compares.

Every member is stored (no compression: every byte of a member is the member, hashed into the manifest), in the
bundle's order, each as a local header and its bytes, back to back from byte 0; then the central directory, one
entry per member in the same order; then the end record, which ends the file. Every header field is fixed or
follows from the member's name, size and CRC-32:

    local header    PK\\3\\4, version needed 20, flags 0, method 0 (stored), time 0 and date 1980-01-01, CRC-32,
                    compressed size = size, size, name length, extra length 0, the name (ASCII)
    central entry   PK\\1\\2, made by 0x0314 (unix, 2.0), version needed 20, flags 0, method 0, time, date, CRC-32,
                    sizes, name length, extra 0, comment 0, disk 0, internal attributes 0, external attributes
                    0o100644 << 16 (a regular rw-r--r-- file), offset of its local header, the name
    end record      PK\\5\\6, disk 0, disk 0, entries, entries, directory size, directory offset, comment length 0

So there is no place for anything else: no extra field, comment, data descriptor, encryption, other version, flag,
method or timestamp, no gap, overlap, prepended or trailing byte, no zip64 (a bundle holds at most 65,535 members
and 4 GiB). `expected_problem` rebuilds these bytes from the manifest and the members' CRCs and names the first byte
that differs.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

LOCAL = struct.Struct("<IHHHHHIIIHH")
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
END = struct.Struct("<IHHHHIIH")
LOCAL_SIG, CENTRAL_SIG, END_SIG = 0x04034B50, 0x02014B50, 0x06054B50
VERSION = 20  # 2.0: what a stored file needs
MADE_BY = (3 << 8) | VERSION  # unix, so the external attributes carry the file mode
DOS_TIME, DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00, the earliest a zip can say
EXTERNAL = 0o100644 << 16  # a regular file, rw-r--r--
MAX_MEMBERS = 0xFFFF
MAX_OFFSET = 0xFFFFFFFF

LOCAL_FIELDS = ("signature", 4), ("version needed", 2), ("flags", 2), ("method", 2), ("time", 2), ("date", 2), \
    ("CRC-32", 4), ("compressed size", 4), ("size", 4), ("name length", 2), ("extra field length", 2)
CENTRAL_FIELDS = ("signature", 4), ("version made by", 2), ("version needed", 2), ("flags", 2), ("method", 2), \
    ("time", 2), ("date", 2), ("CRC-32", 4), ("compressed size", 4), ("size", 4), ("name length", 2), \
    ("extra field length", 2), ("comment length", 2), ("disk", 2), ("internal attributes", 2), \
    ("external attributes", 4), ("header offset", 4)
END_FIELDS = ("signature", 4), ("disk", 2), ("directory disk", 2), ("entries on disk", 2), ("entries", 2), \
    ("directory size", 4), ("directory offset", 4), ("comment length", 2)


class TooLarge(ValueError):
    """More members or bytes than a zip without zip64 holds."""


def local_header(name: bytes, crc: int, size: int) -> bytes:
    return LOCAL.pack(LOCAL_SIG, VERSION, 0, 0, DOS_TIME, DOS_DATE, crc, size, size, len(name), 0) + name


def central_entry(name: bytes, crc: int, size: int, offset: int) -> bytes:
    return CENTRAL.pack(CENTRAL_SIG, MADE_BY, VERSION, 0, 0, DOS_TIME, DOS_DATE, crc, size, size, len(name), 0, 0,
                        0, 0, EXTERNAL, offset) + name


def end_record(count: int, directory_size: int, directory_offset: int) -> bytes:
    return END.pack(END_SIG, 0, 0, count, count, directory_size, directory_offset, 0)


def encoded_name(name: str) -> bytes:
    data = name.encode("ascii")  # the bundle's names are ASCII; a UTF-8 name would need a flag
    if not data or len(data) > 0xFFFF:
        raise ValueError(f"{name[:80]!r}: not a member name")
    return data


class CanonicalZip:
    """Writes members in the order given, then `finish()` writes the directory and the end record."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.offset = 0
        self.entries: list[bytes] = []

    def add(self, name: str, data: bytes) -> None:
        if len(self.entries) >= MAX_MEMBERS:
            raise TooLarge(f"more than {MAX_MEMBERS} members")
        raw = encoded_name(name)
        header = local_header(raw, zlib.crc32(data), len(data))
        if self.offset + len(header) + len(data) > MAX_OFFSET:
            raise TooLarge(f"more than {MAX_OFFSET} bytes")
        self.entries.append(central_entry(raw, zlib.crc32(data), len(data), self.offset))
        self.handle.write(header)
        self.handle.write(data)
        self.offset += len(header) + len(data)

    def finish(self) -> None:
        directory = b"".join(self.entries)
        if self.offset + len(directory) > MAX_OFFSET:
            raise TooLarge(f"more than {MAX_OFFSET} bytes")
        self.handle.write(directory)
        self.handle.write(end_record(len(self.entries), len(directory), self.offset))


@dataclass(frozen=True)
class Member:
    """What the verifier knows of a member it expects: its name, and the size and CRC-32 of the bytes it read."""

    name: str
    size: int
    crc: int


def expected_problem(handle: BinaryIO, file_size: int, members: Iterable[Member]) -> str:
    """'' if the file is exactly the canonical zip of `members` (their contents are checked by the caller, by
    sha256, as they were read), else where the first byte differs and what the format puts there."""
    offset, entries = 0, []
    for member in members:
        try:
            raw = encoded_name(member.name)
        except (ValueError, UnicodeEncodeError):
            return f"{member.name[:80]!r} cannot be a member of a canonical bundle"
        header = local_header(raw, member.crc & 0xFFFFFFFF, member.size)
        problem = _compare(handle, offset, header, f"the local header of {member.name}", LOCAL_FIELDS, LOCAL.size)
        if problem:
            return problem
        entries.append(central_entry(raw, member.crc & 0xFFFFFFFF, member.size, offset))
        offset += len(header) + member.size
        if offset > file_size:
            return f"{member.name} runs past the end of the file"
    directory = b"".join(entries)
    position = offset
    for entry in entries:
        name = entry[CENTRAL.size:].decode("ascii")
        problem = _compare(handle, position, entry, f"the directory entry of {name}", CENTRAL_FIELDS, CENTRAL.size)
        if problem:
            return problem
        position += len(entry)
    end = end_record(len(entries), len(directory), offset)
    problem = _compare(handle, position, end, "the end record", END_FIELDS, END.size)
    if problem:
        return problem
    position += len(end)
    if file_size != position:
        return f"{file_size - position} bytes after the end record refused"
    return ""


def _compare(handle: BinaryIO, offset: int, expected: bytes, what: str, fields, fixed: int) -> str:
    handle.seek(offset)
    actual = handle.read(len(expected))
    if actual == expected:
        return ""
    at = next((i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b), len(actual))
    if at >= len(actual):
        return f"the file ends inside {what} (byte {offset + at})"
    place = "its name"
    if at < fixed:
        start = 0
        for field_name, width in fields:
            if at < start + width:
                place = field_name
                break
            start += width
    return (f"byte {offset + at} ({what}, {place}) is not what a canonical bundle holds there: "
            f"0x{actual[at]:02x}, expected 0x{expected[at]:02x}")
