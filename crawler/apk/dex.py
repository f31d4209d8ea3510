"""Which third-party ad SDKs an APK embeds, read from the class names of its classes*.dex.

Regulators ask which SDKs an app carries; the class names are in every dex file's type_ids (descriptors such as
"Lcom/qq/e/ads/ADActivity;"). The APK is hostile input: members are bounded in number and size before they are
inflated, every offset is checked against the file, and a damaged dex is reported, never trusted.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from crawler.apk.errors import BadApk

MAX_DEX_FILES = 64
MAX_DEX_BYTES = 64 * 1024 * 1024  # one classes*.dex, inflated
MAX_TYPES = 1 << 16  # type indices are 16 bits in the dex format
MAX_DESCRIPTOR = 512
_DEX_NAME = re.compile(r"^classes\d{0,3}\.dex$")
_MAGIC = re.compile(rb"^dex\n0[0-9]{2}\x00$")
HEADER = 0x70


@dataclass(frozen=True)
class DexPackages:
    packages: frozenset[str]  # dotted Java package names of every class ("com.qq.e.ads")
    problem: str = ""  # why some dex could not be read (the others still count)


def _uleb128(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    for _ in range(5):
        if pos >= len(data):
            raise BadApk("dex: string length runs past the end of the file")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise BadApk("dex: malformed string length")


def dex_packages_of(data: bytes) -> set[str]:
    """The Java packages of the classes a dex file names in its type_ids. Raises BadApk on a damaged file."""
    if len(data) < HEADER or not _MAGIC.match(data[:8]):
        raise BadApk("dex: not a dex file (bad magic)")
    string_ids_size, string_ids_off, type_ids_size, type_ids_off = struct.unpack_from("<4I", data, 0x38)
    if type_ids_size > MAX_TYPES:
        raise BadApk(f"dex: {type_ids_size} type ids (the format allows {MAX_TYPES})")
    if string_ids_off + 4 * string_ids_size > len(data) or type_ids_off + 4 * type_ids_size > len(data):
        raise BadApk("dex: id tables run past the end of the file")
    packages: set[str] = set()
    for i in range(type_ids_size):
        (string_idx,) = struct.unpack_from("<I", data, type_ids_off + 4 * i)
        if string_idx >= string_ids_size:
            raise BadApk("dex: a type names a string that does not exist")
        (data_off,) = struct.unpack_from("<I", data, string_ids_off + 4 * string_idx)
        if data_off >= len(data):
            raise BadApk("dex: a string offset is past the end of the file")
        _, start = _uleb128(data, data_off)
        end = data.find(b"\x00", start, start + MAX_DESCRIPTOR + 1)
        if end < 0:
            continue  # longer than any class name we look for
        descriptor = data[start:end]
        if descriptor[:1] != b"L" or descriptor[-1:] != b";":
            continue  # primitives and arrays
        slash = descriptor.rfind(b"/")
        if slash > 1:
            packages.add(descriptor[1:slash].decode("utf-8", "replace").replace("/", "."))
    return packages


def apk_dex_packages(path: str | Path) -> DexPackages:
    """Every Java package the APK's classes*.dex name. Raises BadApk if the file is not a zip at all."""
    packages: set[str] = set()
    problems: list[str] = []
    try:
        with zipfile.ZipFile(path) as apk:
            members = [i for i in apk.infolist() if _DEX_NAME.match(i.filename)]
            if len(members) > MAX_DEX_FILES:
                problems.append(f"{len(members)} dex files, only the first {MAX_DEX_FILES} read")
                members = members[:MAX_DEX_FILES]
            for info in members:
                if info.file_size > MAX_DEX_BYTES:
                    problems.append(f"{info.filename}: {info.file_size} bytes inflated, over {MAX_DEX_BYTES}: not read")
                    continue
                try:
                    with apk.open(info) as handle:
                        data = handle.read(MAX_DEX_BYTES + 1)
                    if len(data) > MAX_DEX_BYTES:
                        raise BadApk(f"inflates past {MAX_DEX_BYTES} bytes")
                    packages |= dex_packages_of(data)
                except (BadApk, zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, struct.error) as exc:
                    problems.append(f"{info.filename}: {str(exc)[:120]}")
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadApk(f"{Path(path).name}: cannot read the APK as a zip: {str(exc)[:120]}") from None
    return DexPackages(frozenset(packages), "; ".join(problems)[:300])


def embedded_sdks(packages: frozenset[str] | set[str]) -> tuple[str, ...]:
    """Ids of the ad SDKs (crawler/lexicon/ad_sdks.yaml) whose packages appear among `packages`, sorted."""
    from crawler.perceive.ad_sdks import ad_sdk_registry

    registry = ad_sdk_registry()
    found = set()
    for package in packages:
        sdk = registry.by_class(package)
        if sdk is not None:
            found.add(sdk.id)
    return tuple(sorted(found))
