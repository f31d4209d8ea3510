"""The package name inside an APK, read on the host (no aapt, no device).

Two kinds of APK:
- a simulator APK (emulator/zoo build_sim_apk): a zip holding naysayer-app.yaml and a text AndroidManifest.txt;
- a real APK: a zip holding AndroidManifest.xml in Android's binary XML (AXML). We read just enough of it: the
  string pool and the first start tag (<manifest>), whose `package` attribute is a string.
Anything else (not a zip, no manifest, an AXML we cannot read) is a BadApk with one line saying why.
"""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path

from crawler.apk.errors import BadApk

SIM_MANIFEST = "AndroidManifest.txt"
SIM_APP = "naysayer-app.yaml"
REAL_MANIFEST = "AndroidManifest.xml"
MAX_MANIFEST_BYTES = 4 << 20  # a manifest is a few KB; a zip bomb is not read

RES_XML_TYPE = 0x0003
RES_STRING_POOL_TYPE = 0x0001
RES_XML_START_ELEMENT_TYPE = 0x0102
UTF8_FLAG = 1 << 8
TYPE_STRING = 0x03




def apk_package(path: Path) -> str:
    """The package name of the APK at `path`. Raises BadApk (one line naming the file)."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise BadApk(f"{path}: not an APK (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if SIM_MANIFEST in names:
                return _sim_package(_read(archive, SIM_MANIFEST, path).decode("utf-8", "replace"), path)
            if SIM_APP in names:
                return _sim_manifest(archive, path).package
            if REAL_MANIFEST in names:
                return axml_package(_read(archive, REAL_MANIFEST, path), path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadApk(f"{path}: not an APK (corrupt zip: {exc})") from None
    raise BadApk(f"{path}: not an APK (no AndroidManifest.xml)")


def _read(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    if archive.getinfo(name).file_size > MAX_MANIFEST_BYTES:
        raise BadApk(f"{path}: {name} is too large to be a manifest")
    return archive.read(name)


def _sim_package(text: str, path: Path) -> str:
    match = re.search(r"^package=(\S+)\s*$", text, re.MULTILINE)
    if not match:
        raise BadApk(f"{path}: {SIM_MANIFEST} names no package")
    return match.group(1)


def _sim_manifest(archive: zipfile.ZipFile, path: Path):
    """The app model a simulator APK carries (the zoo's loader reads the whole APK, as the simulated device does)."""
    from emulator.zoo import ZooError, load_app_bytes

    _read(archive, SIM_APP, path)  # bounded: a zip bomb is refused before the loader sees it
    try:
        return load_app_bytes(path.read_bytes(), path.name).manifest
    except (ZooError, ValueError) as exc:
        raise BadApk(f"{path}: unreadable app model ({' '.join(str(exc).split())[:150]})") from None


def apk_label(path: Path) -> str:
    """The app's name as the launcher shows it, where the host can read it: simulator APKs carry it; a real APK's
    label is a resource reference that needs the resource table, so it is '' there."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if SIM_APP in archive.namelist():
                return _sim_manifest(archive, path).label
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadApk(f"{path}: not an APK (corrupt zip: {exc})") from None
    return ""


def axml_package(data: bytes, path: Path | str = "AndroidManifest.xml") -> str:
    """The `package` attribute of the first element of a binary AndroidManifest.xml."""
    try:
        kind, header_size, _size = struct.unpack_from("<HHI", data, 0)
        if kind != RES_XML_TYPE:
            raise BadApk(f"{path}: AndroidManifest.xml is not binary XML")
        strings: list[str] = []
        offset = header_size
        while offset + 8 <= len(data):
            chunk_type, chunk_header, chunk_size = struct.unpack_from("<HHI", data, offset)
            if chunk_size < 8:
                break
            if chunk_type == RES_STRING_POOL_TYPE:
                strings = _string_pool(data, offset)
            elif chunk_type == RES_XML_START_ELEMENT_TYPE:
                return _package_attribute(data, offset, chunk_header, strings, path)
            offset += chunk_size
    except (struct.error, IndexError, UnicodeDecodeError):
        pass
    raise BadApk(f"{path}: unreadable AndroidManifest.xml (no package attribute found)")


def _string_pool(data: bytes, start: int) -> list[str]:
    _, header_size, _, count, _styles, flags, strings_start, _ = struct.unpack_from("<HHIIIIII", data, start)
    offsets = struct.unpack_from(f"<{count}I", data, start + header_size)
    base = start + strings_start
    utf8 = bool(flags & UTF8_FLAG)
    return [_pool_string(data, base + o, utf8) for o in offsets]


def _pool_string(data: bytes, at: int, utf8: bool) -> str:
    if utf8:
        at += 2 if data[at] & 0x80 else 1  # length in characters
        length = data[at]
        if length & 0x80:
            length = ((length & 0x7F) << 8) | data[at + 1]
            at += 1
        at += 1
        return data[at:at + length].decode("utf-8", "replace")
    length = struct.unpack_from("<H", data, at)[0]
    at += 2
    if length & 0x8000:
        length = ((length & 0x7FFF) << 16) | struct.unpack_from("<H", data, at)[0]
        at += 2
    return data[at:at + 2 * length].decode("utf-16-le", "replace")


def _package_attribute(data: bytes, start: int, header_size: int, strings: list[str], path) -> str:
    body = start + header_size
    _ns, name, attr_start, attr_size, attr_count = struct.unpack_from("<IIHHH", data, body)
    if strings[name] != "manifest":
        raise BadApk(f"{path}: AndroidManifest.xml does not start with <manifest>")
    for i in range(attr_count):
        at = body + attr_start + i * attr_size
        _ans, attr_name, raw, _vsize, _res0, vtype, vdata = struct.unpack_from("<IIIHBBI", data, at)
        if strings[attr_name] == "package":
            index = raw if raw != 0xFFFFFFFF else (vdata if vtype == TYPE_STRING else None)
            if index is not None:
                return strings[index]
    raise BadApk(f"{path}: AndroidManifest.xml has no package attribute")
