"""Ad SDKs embedded in an APK, read from its dex class names; damaged and hostile dex files are refused, bounded."""

import struct
import zipfile

import pytest

from crawler.apk import read_apk_facts
from crawler.apk.dex import apk_dex_packages, dex_packages_of, embedded_sdks
from crawler.apk.errors import BadApk


def dex(descriptors: list[str]) -> bytes:
    """A minimal dex: header, string_ids, type_ids, string data (enough for what the reader looks at)."""
    n = len(descriptors)
    string_ids_off = 0x70
    type_ids_off = string_ids_off + 4 * n
    data_off = type_ids_off + 4 * n
    blobs, offsets, pos = [], [], data_off
    for d in descriptors:
        raw = d.encode()
        blob = bytes([len(raw)]) + raw + b"\x00"
        offsets.append(pos)
        blobs.append(blob)
        pos += len(blob)
    header = bytearray(0x70)
    header[:8] = b"dex\n035\x00"
    struct.pack_into("<4I", header, 0x38, n, string_ids_off, n, type_ids_off)
    body = b"".join(struct.pack("<I", o) for o in offsets) + b"".join(struct.pack("<I", i) for i in range(n))
    return bytes(header) + body + b"".join(blobs)


CLASSES = ["Lcom/example/app/MainActivity;", "Lcom/qq/e/ads/PortraitADActivity;", "I", "[Ljava/lang/String;",
           "Lcom/bytedance/sdk/openadsdk/TTAdSdk;"]


def test_dex_packages_and_the_sdks_they_belong_to():
    packages = dex_packages_of(dex(CLASSES))
    assert packages == {"com.example.app", "com.qq.e.ads", "com.bytedance.sdk.openadsdk"}
    assert embedded_sdks(packages) == ("gdt", "pangle")
    assert embedded_sdks({"com.example.app", "com.qq.eat"}) == ()


@pytest.mark.parametrize("damage", ["magic", "types_past_end", "string_index", "string_offset", "too_many_types"])
def test_damaged_dex_is_refused(damage):
    data = bytearray(dex(CLASSES))
    if damage == "magic":
        data[:4] = b"PK\x03\x04"
    elif damage == "types_past_end":
        struct.pack_into("<I", data, 0x44, len(data) - 2)
    elif damage == "string_index":
        struct.pack_into("<I", data, 0x70 + 4 * len(CLASSES), 10_000)
    elif damage == "string_offset":
        struct.pack_into("<I", data, 0x70, 0xFFFFFFF0)
    else:
        struct.pack_into("<I", data, 0x40, 1 << 20)
    with pytest.raises(BadApk):
        dex_packages_of(bytes(data))


def test_apk_sdks_are_recorded_and_a_bad_dex_is_a_problem_not_a_failure(tmp_path):
    apk = tmp_path / "app.apk"
    with zipfile.ZipFile(apk, "w") as z:
        z.writestr("AndroidManifest.xml", b"\x03\x00\x08\x00")
        z.writestr("classes.dex", dex(CLASSES))
        z.writestr("classes2.dex", dex(["Lcom/kwad/sdk/api/KsAdSDK;"]))
        z.writestr("classes3.dex", b"not a dex at all")
    result = apk_dex_packages(apk)
    assert "com.kwad.sdk.api" in result.packages and "classes3.dex" in result.problem
    facts = read_apk_facts(apk)
    assert facts.sdks == ("gdt", "kuaishou", "pangle")
    assert facts.to_json()["sdks"] == ["gdt", "kuaishou", "pangle"]
    assert "classes3.dex" in facts.problem


def test_a_dex_that_inflates_past_the_cap_is_not_read(tmp_path, monkeypatch):
    import crawler.apk.dex as dexmod
    apk = tmp_path / "bomb.apk"
    with zipfile.ZipFile(apk, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("classes.dex", dex(CLASSES) + b"\x00" * 200_000)
    monkeypatch.setattr(dexmod, "MAX_DEX_BYTES", 100_000)
    result = apk_dex_packages(apk)
    assert result.packages == frozenset() and "not read" in result.problem


def test_not_a_zip_is_bad_apk(tmp_path):
    path = tmp_path / "x.apk"
    path.write_bytes(b"hello")
    with pytest.raises(BadApk):
        apk_dex_packages(path)
