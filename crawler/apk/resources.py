"""Strings from an APK's compiled resource table (resources.arsc), read on the host with no aapt.

Just enough of the ResTable format to turn a reference such as @string/app_name (0x7f0f001c) into the text Android
shows: the table's global string pool, each package's type chunks (one per configuration: locale, density...) and
their entries, whose Res_value is a string (an index into the global pool) or another reference (followed a few
times; a loop ends as "not found"). Complex entries (styles, arrays, plurals) are skipped.

resources.arsc is hostile input: every offset and count is checked against the buffer before it is used; a table
we cannot read is a BadApk with one line saying why. Strings are decoded only when asked for.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from crawler.apk.errors import BadApk

RES_STRING_POOL_TYPE = 0x0001
RES_TABLE_TYPE = 0x0002
RES_TABLE_PACKAGE_TYPE = 0x0200
RES_TABLE_TYPE_TYPE = 0x0201
UTF8_FLAG = 1 << 8
TYPE_REFERENCE = 0x01
TYPE_STRING = 0x03
TYPE_DYNAMIC_REFERENCE = 0x07
ENTRY_FLAG_COMPLEX = 0x0001
ENTRY_FLAG_COMPACT = 0x0008
TYPE_FLAG_SPARSE = 0x01
TYPE_FLAG_OFFSET16 = 0x02
NO_ENTRY = 0xFFFFFFFF
NO_ENTRY16 = 0xFFFF
MAX_REFERENCE_HOPS = 8  # an @string pointing at an @string...: real tables need one or two
MAX_STRING_BYTES = 64 << 10  # one decoded string; a label is a few words
DEFAULT_PREFERENCE = (("zh", "CN"), ("zh", ""))  # the locales our labs run in first, then the default config

CHUNK = struct.Struct("<HHI")


@dataclass(frozen=True)
class StringPool:
    """A ResStringPool over a buffer: strings are decoded on demand, every offset bounds-checked."""

    data: bytes
    offsets_at: int
    count: int
    strings_at: int
    end: int
    utf8: bool

    @classmethod
    def parse(cls, data: bytes, start: int) -> StringPool:
        end = _chunk_end(data, start)
        kind, header_size, _ = CHUNK.unpack_from(data, start)
        if kind != RES_STRING_POOL_TYPE or header_size < 28:
            raise ValueError("not a string pool")
        count, _styles, flags, strings_start = struct.unpack_from("<IIII", data, start + 8)
        offsets_at = start + header_size
        if count > (end - offsets_at) // 4:  # a huge count cannot fit the chunk
            raise ValueError(f"string pool claims {count} strings")
        strings_at = start + strings_start
        if not offsets_at <= strings_at <= end and count:
            raise ValueError("string pool data out of range")
        return cls(data, offsets_at, count, strings_at, end, bool(flags & UTF8_FLAG))

    def get(self, index: int) -> str:
        if not 0 <= index < self.count:
            raise ValueError(f"string index {index} out of range")
        at = self.strings_at + struct.unpack_from("<I", self.data, self.offsets_at + 4 * index)[0]
        return self._utf8(at) if self.utf8 else self._utf16(at)

    def _byte(self, at: int) -> int:
        if not self.strings_at <= at < self.end:
            raise ValueError("string out of range")
        return self.data[at]

    def _slice(self, at: int, length: int) -> bytes:
        if length > MAX_STRING_BYTES or at + length > self.end:
            raise ValueError("string out of range")
        return self.data[at:at + length]

    def _utf8(self, at: int) -> str:
        at += 2 if self._byte(at) & 0x80 else 1  # the length in UTF-16 units, not needed
        length = self._byte(at)
        if length & 0x80:
            length = ((length & 0x7F) << 8) | self._byte(at + 1)
            at += 1
        return self._slice(at + 1, length).decode("utf-8", "replace")

    def _utf16(self, at: int) -> str:
        length = self._byte(at) | self._byte(at + 1) << 8
        at += 2
        if length & 0x8000:
            length = ((length & 0x7FFF) << 16) | self._byte(at) | self._byte(at + 1) << 8
            at += 2
        return self._slice(at, 2 * length).decode("utf-16-le", "replace")


@dataclass(frozen=True)
class TypeChunk:
    """One configuration's entries of one resource type (e.g. the strings of values-zh-rCN)."""

    start: int
    flags: int
    entry_count: int
    offsets_at: int
    entries_at: int
    end: int
    language: str
    country: str


@dataclass
class ResourceTable:
    data: bytes
    strings: StringPool
    types: dict[tuple[int, int], list[TypeChunk]] = field(default_factory=dict)  # (package id, type id) -> chunks

    @classmethod
    def parse(cls, data: bytes, name: str = "resources.arsc") -> ResourceTable:
        """Raises BadApk naming `name` when the table is not one we can read."""
        try:
            return cls._parse(data)
        except (struct.error, ValueError) as exc:
            raise BadApk(f"{name}: unreadable resource table ({exc})") from None

    @classmethod
    def _parse(cls, data: bytes) -> ResourceTable:
        if len(data) < 12 or CHUNK.unpack_from(data, 0)[0] != RES_TABLE_TYPE:
            raise ValueError("not a resource table")
        end = _chunk_end(data, 0)
        strings, packages = None, []
        for at, kind in _children(data, 0, end):
            if kind == RES_STRING_POOL_TYPE and strings is None:
                strings = StringPool.parse(data, at)
            elif kind == RES_TABLE_PACKAGE_TYPE:
                packages.append(at)
        if strings is None:
            raise ValueError("no global string pool")
        table = cls(data, strings)
        for at in packages:
            table._add_package(at)
        return table

    def _add_package(self, start: int) -> None:
        package_id = struct.unpack_from("<I", self.data, start + 8)[0] & 0xFF
        for at, kind in _children(self.data, start, _chunk_end(self.data, start)):
            if kind == RES_TABLE_TYPE_TYPE:
                chunk = _type_chunk(self.data, at)
                type_id = self.data[at + 8]
                self.types.setdefault((package_id, type_id), []).append(chunk)

    def string(self, res_id: int, prefer: tuple[tuple[str, str], ...] = DEFAULT_PREFERENCE) -> str | None:
        """The string `res_id` names, in the first preferred locale that has it, else the default config, else any.
        None when the table has no string there (missing, complex, a loop of references)."""
        try:
            return self._string(res_id, prefer, MAX_REFERENCE_HOPS)
        except (struct.error, ValueError):
            return None

    def _string(self, res_id: int, prefer: tuple[tuple[str, str], ...], hops: int) -> str | None:
        values = self._values(res_id)
        for want in (*prefer, ("", "")):
            chosen = [v for lang, country, v in values if (lang, country) == want]
            if chosen:
                break
        else:
            chosen = [v for _, _, v in values]
        for value_type, value in chosen[:1]:
            if value_type == TYPE_STRING:
                return self.strings.get(value)
            if value_type in (TYPE_REFERENCE, TYPE_DYNAMIC_REFERENCE) and hops > 0 and value:
                return self._string(value, prefer, hops - 1)
        return None

    def _values(self, res_id: int) -> list[tuple[str, str, tuple[int, int]]]:
        """(language, country, (value type, data)) of every config holding a simple entry for `res_id`."""
        package_id, type_id, index = res_id >> 24, (res_id >> 16) & 0xFF, res_id & 0xFFFF
        found = []
        for chunk in self.types.get((package_id, type_id), []):
            value = _entry_value(self.data, chunk, index)
            if value is not None:
                found.append((chunk.language, chunk.country, value))
        return found


def _chunk_end(data: bytes, start: int) -> int:
    _, header_size, size = CHUNK.unpack_from(data, start)
    if header_size < 8 or size < header_size or start + size > len(data):
        raise ValueError(f"chunk at {start} out of range")
    return start + size


def _children(data: bytes, start: int, end: int):
    """(offset, type) of the chunks inside the chunk at `start`, each checked to lie inside it."""
    at = start + CHUNK.unpack_from(data, start)[1]
    while at + 8 <= end:
        kind = CHUNK.unpack_from(data, at)[0]
        child_end = _chunk_end(data, at)
        if child_end > end:
            raise ValueError(f"chunk at {at} overruns its parent")
        yield at, kind
        at = child_end


def _type_chunk(data: bytes, start: int) -> TypeChunk:
    end = _chunk_end(data, start)
    header_size = CHUNK.unpack_from(data, start)[1]
    flags = data[start + 9]
    entry_count, entries_start = struct.unpack_from("<II", data, start + 12)
    config_size = struct.unpack_from("<I", data, start + 20)[0]
    if header_size < 24 or config_size < 4 or start + 20 + config_size > start + header_size:
        raise ValueError(f"type chunk at {start}: bad header")
    offsets_at = start + header_size
    width = 2 if flags & TYPE_FLAG_OFFSET16 and not flags & TYPE_FLAG_SPARSE else 4
    if entry_count > (end - offsets_at) // width:
        raise ValueError(f"type chunk at {start} claims {entry_count} entries")
    language, country = ("", "")
    if config_size >= 12:
        language, country = _locale(data[start + 28:start + 30]), _locale(data[start + 30:start + 32])
    return TypeChunk(start, flags, entry_count, offsets_at, start + entries_start, end, language, country)


def _locale(two: bytes) -> str:
    """A config's language or country: two ASCII letters, a packed three-letter code, or '' (any)."""
    if two[0] & 0x80:
        letters = (two[1] & 0x1F, ((two[1] & 0xE0) >> 5) | ((two[0] & 0x03) << 3), (two[0] & 0x7C) >> 2)
        return "".join(chr(ord("a") + c) for c in letters)
    return "".join(chr(b) for b in two if b).strip() if all(b < 0x80 for b in two) else ""


def _entry_offset(data: bytes, chunk: TypeChunk, index: int) -> int | None:
    if chunk.flags & TYPE_FLAG_SPARSE:  # (entry index u16, offset / 4 u16) pairs sorted by index
        lo, hi = 0, chunk.entry_count
        while lo < hi:
            mid = (lo + hi) // 2
            idx, offset = struct.unpack_from("<HH", data, chunk.offsets_at + 4 * mid)
            if idx == index:
                return offset * 4
            lo, hi = (mid + 1, hi) if idx < index else (lo, mid)
        return None
    if index >= chunk.entry_count:
        return None
    if chunk.flags & TYPE_FLAG_OFFSET16:
        offset = struct.unpack_from("<H", data, chunk.offsets_at + 2 * index)[0]
        return None if offset == NO_ENTRY16 else offset * 4
    offset = struct.unpack_from("<I", data, chunk.offsets_at + 4 * index)[0]
    return None if offset == NO_ENTRY else offset


def _entry_value(data: bytes, chunk: TypeChunk, index: int) -> tuple[int, int] | None:
    """(Res_value type, data) of a simple entry; None for no entry or a complex one (a bag)."""
    offset = _entry_offset(data, chunk, index)
    if offset is None:
        return None
    at = chunk.entries_at + offset
    if not chunk.offsets_at <= at or at + 8 > chunk.end:
        raise ValueError("entry out of range")
    size, flags = struct.unpack_from("<HH", data, at)
    if flags & ENTRY_FLAG_COMPACT:  # key in `size`, value type in the flags' high byte, data in the next word
        return flags >> 8, struct.unpack_from("<I", data, at + 4)[0]
    if flags & ENTRY_FLAG_COMPLEX:
        return None
    if size < 8 or at + size + 8 > chunk.end:
        raise ValueError("entry value out of range")
    _vsize, _res0, value_type, value = struct.unpack_from("<HBBI", data, at + size)
    return value_type, value
