"""Strings from resources.arsc (crawler.apk.resources): locale preference, references, and hostile tables."""

from __future__ import annotations

import random
import struct

import pytest

from crawler.apk import BadApk
from crawler.apk.resources import TYPE_REFERENCE, TYPE_STRING, ResourceTable

STRING_TYPE_ID = 2
APP_NAME = 0x7F020000  # package 0x7f, type 2, entry 0


def string_pool(strings: list[str], count: int | None = None) -> bytes:
    body, offsets = b"", []
    for text in strings:
        offsets.append(len(body))
        units = text.encode("utf-16-le")
        body += struct.pack("<H", len(units) // 2) + units + b"\0\0"
    body += b"\0" * (-len(body) % 4)
    header = 28
    offsets_blob = b"".join(struct.pack("<I", o) for o in offsets)
    size = header + len(offsets_blob) + len(body)
    claimed = len(strings) if count is None else count
    return struct.pack("<HHIIIIII", 0x0001, header, size, claimed, 0, 0, header + len(offsets_blob), 0) \
        + offsets_blob + body


def type_chunk(entries: list[tuple[int, int] | None], language: bytes = b"", country: bytes = b"",
               bad_offset: bool = False, complex_entry: bool = False) -> bytes:
    config = struct.pack("<IHH2s2s", 64, 0, 0, language.ljust(2, b"\0"), country.ljust(2, b"\0")).ljust(64, b"\0")
    header = 20 + len(config)
    offsets, data = [], b""
    for entry in entries:
        if entry is None:
            offsets.append(0xFFFFFFFF)
            continue
        offsets.append(len(data))
        flags = 0x0001 if complex_entry else 0
        data += struct.pack("<HHI", 8, flags, 0) + struct.pack("<HBBI", 8, 0, entry[0], entry[1])
    if bad_offset:
        offsets[0] = 0x7FFFFFF0
    offsets_blob = b"".join(struct.pack("<I", o) for o in offsets)
    entries_start = header + len(offsets_blob)
    size = entries_start + len(data)
    return struct.pack("<HHIBBHII", 0x0201, header, size, STRING_TYPE_ID, 0, 0, len(entries), entries_start) \
        + config + offsets_blob + data


def package(chunks: list[bytes]) -> bytes:
    header = 288
    body = b"".join(chunks)
    return struct.pack("<HHII", 0x0200, header, header + len(body), 0x7F) + b"\0" * 256 \
        + struct.pack("<IIIII", 0, 0, 0, 0, 0) + body


def table(strings: list[str], chunks: list[bytes], count: int | None = None) -> bytes:
    body = string_pool(strings, count) + package(chunks)
    return struct.pack("<HHII", 0x0002, 12, 12 + len(body), 1) + body


LOCALISED = table(["Weather", "晴天天气", "Weather UK"], [
    type_chunk([(TYPE_STRING, 0)]),
    type_chunk([(TYPE_STRING, 2)], b"en", b"GB"),
    type_chunk([(TYPE_STRING, 1)], b"zh", b"CN"),
])


def test_a_label_is_read_in_the_lab_locale_first_then_the_default_config_then_any():
    resources = ResourceTable.parse(LOCALISED)
    assert resources.string(APP_NAME) == "晴天天气"
    assert resources.string(APP_NAME, prefer=()) == "Weather"
    assert resources.string(APP_NAME, prefer=(("en", "GB"),)) == "Weather UK"
    only_british = ResourceTable.parse(table(["Weather UK"], [type_chunk([(TYPE_STRING, 0)], b"en", b"GB")]))
    assert only_british.string(APP_NAME) == "Weather UK"
    assert resources.string(APP_NAME + 1) is None and resources.string(0x7F030000) is None


def test_a_reference_to_a_reference_is_followed_and_a_loop_ends_as_not_found():
    chained = ResourceTable.parse(table(["Scanly"], [type_chunk([(TYPE_REFERENCE, APP_NAME + 1), (TYPE_STRING, 0)])]))
    assert chained.string(APP_NAME) == "Scanly"
    looped = ResourceTable.parse(table(["x"], [type_chunk([(TYPE_REFERENCE, APP_NAME + 1),
                                                         (TYPE_REFERENCE, APP_NAME)])]))
    assert looped.string(APP_NAME) is None


def test_complex_entries_missing_entries_and_offsets_out_of_range_are_not_strings():
    assert ResourceTable.parse(table(["x"], [type_chunk([(TYPE_STRING, 0)], complex_entry=True)])).string(APP_NAME) \
        is None
    assert ResourceTable.parse(table(["x"], [type_chunk([None, (TYPE_STRING, 0)])])).string(APP_NAME) is None
    assert ResourceTable.parse(table(["x"], [type_chunk([(TYPE_STRING, 0)], bad_offset=True)])).string(APP_NAME) \
        is None
    assert ResourceTable.parse(table(["x"], [type_chunk([(TYPE_STRING, 7)])])).string(APP_NAME) is None


def test_a_huge_string_count_is_refused_with_one_line():
    with pytest.raises(BadApk, match="resources.arsc: unreadable resource table .*4294967295 strings"):
        ResourceTable.parse(table(["x"], [type_chunk([(TYPE_STRING, 0)])], count=0xFFFFFFFF))


def test_truncated_and_damaged_tables_raise_bad_apk_or_find_nothing():
    for cut in range(0, len(LOCALISED), 7):
        with pytest.raises(BadApk):
            ResourceTable.parse(LOCALISED[:cut])
    rng = random.Random(5)
    for _ in range(300):
        damaged = bytearray(LOCALISED)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            label = ResourceTable.parse(bytes(damaged)).string(APP_NAME)
        except BadApk:
            continue
        assert label is None or isinstance(label, str) and len(label) < 70_000
