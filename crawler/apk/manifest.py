"""The package name inside an APK, read on the host (no aapt, no device).

Two kinds of APK:
- a simulator APK (emulator/zoo build_sim_apk): a zip holding naysayer-app.yaml and a text AndroidManifest.txt,
  read by crawler.apk.sim_manifest (package and label only; the crawler never imports the simulator);
- a real APK: a zip holding AndroidManifest.xml in Android's binary XML (AXML). We read just enough of it: the
  string pool and the first start tag (<manifest>), whose `package` attribute is a string; for the label, the
  <application> tag's android:label, resolved in resources.arsc (crawler.apk.resources) when it is a reference.
Anything else (not a zip, no manifest, an AXML we cannot read) is a BadApk with one line saying why.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Any

from crawler.apk.errors import BadApk
from crawler.apk.resources import DEFAULT_PREFERENCE, TYPE_DYNAMIC_REFERENCE, TYPE_REFERENCE, ResourceTable, StringPool
from crawler.apk.sim_manifest import SIM_APP, SIM_MANIFEST, SimManifest, sim_app_manifest, sim_manifest_package

REAL_MANIFEST = "AndroidManifest.xml"
MAX_MANIFEST_BYTES = 4 << 20  # a manifest is a few KB; a zip bomb is not read

RES_XML_TYPE = 0x0003
RES_STRING_POOL_TYPE = 0x0001
RES_XML_START_ELEMENT_TYPE = 0x0102
RES_XML_RESOURCE_MAP_TYPE = 0x0180
TYPE_STRING = 0x03
RESOURCES = "resources.arsc"
MAX_RESOURCES_BYTES = 64 << 20  # big apps ship tables of 10-20 MB
MAX_RESOURCE_MAP = 4096
LABEL_ATTRIBUTE_ID = 0x01010001  # android:label
NO_INDEX = 0xFFFFFFFF

def apk_package(path: Path) -> str:
    """The package name of the APK at `path`. Raises BadApk (one line naming the file)."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise BadApk(f"{path}: not an APK (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if SIM_MANIFEST in names:
                return sim_manifest_package(_read(archive, SIM_MANIFEST, path).decode("utf-8", "replace"), path)
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


def _sim_manifest(archive: zipfile.ZipFile, path: Path) -> SimManifest:
    """Package and label of a simulator APK, from its app model (bounded before it is parsed)."""
    return sim_app_manifest(_read(archive, SIM_APP, path), path)


def apk_label(path: Path, prefer: tuple[tuple[str, str], ...] = DEFAULT_PREFERENCE) -> str:
    """The app's name as the launcher shows it: a simulator APK carries it; a real APK's <application
    android:label> is a literal string or a reference resolved in resources.arsc (zh-CN, then zh, then the
    default config, then any). '' when the manifest has no label. Raises BadApk (one line naming the file)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if SIM_APP in names:
                return _sim_manifest(archive, path).label
            if REAL_MANIFEST not in names:
                return ""
            value_type, value = axml_label(_read(archive, REAL_MANIFEST, path), path)
            if value_type is None or value_type == TYPE_STRING:
                return value or ""
            if RESOURCES not in names:
                raise BadApk(f"{path}: the label is a resource (@0x{value:08x}) but there is no {RESOURCES}")
            if archive.getinfo(RESOURCES).file_size > MAX_RESOURCES_BYTES:
                raise BadApk(f"{path}: {RESOURCES} is too large to read")
            table = ResourceTable.parse(archive.read(RESOURCES), f"{path}: {RESOURCES}")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadApk(f"{path}: not an APK (corrupt zip: {exc})") from None
    label = table.string(value, prefer)
    if label is None:
        raise BadApk(f"{path}: the label @0x{value:08x} is not a string in {RESOURCES}")
    return label


def axml_label(data: bytes, path: Path | str = "AndroidManifest.xml") -> tuple[int | None, Any]:
    """The <application> element's android:label as (TYPE_STRING, text) or (TYPE_REFERENCE, resource id);
    (None, None) when there is no label. The attribute is found by its resource id (0x01010001, through the
    XML resource map), else by its name."""
    try:
        kind, offset, size = struct.unpack_from("<HHI", data, 0)
        if kind != RES_XML_TYPE:
            raise BadApk(f"{path}: AndroidManifest.xml is not binary XML")
        if size > len(data):
            raise ValueError(f"{size} bytes declared, {len(data)} present (truncated?)")
        strings, resource_ids = None, ()
        while offset + 8 <= len(data):
            chunk_type, chunk_header, chunk_size = struct.unpack_from("<HHI", data, offset)
            if chunk_size < 8 or offset + chunk_size > len(data):  # cut off: the label may be in what is missing
                raise ValueError(f"chunk at {offset} out of range (truncated?)")
            if chunk_type == RES_STRING_POOL_TYPE and strings is None:
                strings = StringPool.parse(data, offset)
            elif chunk_type == RES_XML_RESOURCE_MAP_TYPE:
                count = min((chunk_size - chunk_header) // 4, MAX_RESOURCE_MAP)
                resource_ids = struct.unpack_from(f"<{count}I", data, offset + chunk_header)
            elif chunk_type == RES_XML_START_ELEMENT_TYPE and strings is not None:
                label = _element_label(data, offset, chunk_header, chunk_size, strings, resource_ids)
                if label is not None:
                    return label
            offset += chunk_size
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, BadApk):
            raise
        raise BadApk(f"{path}: unreadable AndroidManifest.xml ({exc})") from None
    return None, None


def _element_label(data: bytes, start: int, header_size: int, size: int, strings: StringPool,
                   resource_ids: tuple[int, ...]) -> tuple[int, Any] | None:
    """(type, value) of the label of an <application> start tag; (None, None) for an <application> without one;
    None for any other element."""
    body = start + header_size
    _ns, name, attr_start, attr_size, attr_count = struct.unpack_from("<IIHHH", data, body)
    if strings.get(name) != "application":
        return None
    if attr_size < 20 or body + attr_start + attr_count * attr_size > start + size:
        raise ValueError("attributes out of range")
    for i in range(attr_count):
        at = body + attr_start + i * attr_size
        _ans, attr_name, raw, _vsize, _res0, vtype, vdata = struct.unpack_from("<IIIHBBI", data, at)
        by_id = attr_name < len(resource_ids) and resource_ids[attr_name] == LABEL_ATTRIBUTE_ID
        if not by_id and not (attr_name >= len(resource_ids) and strings.get(attr_name) == "label"):
            continue
        if vtype == TYPE_STRING:
            return TYPE_STRING, strings.get(raw if raw != NO_INDEX else vdata)
        if vtype in (TYPE_REFERENCE, TYPE_DYNAMIC_REFERENCE):
            return TYPE_REFERENCE, vdata
        return None, None
    return None, None


def axml_package(data: bytes, path: Path | str = "AndroidManifest.xml") -> str:
    """The `package` attribute of the first element of a binary AndroidManifest.xml."""
    try:
        kind, header_size, _size = struct.unpack_from("<HHI", data, 0)
        if kind != RES_XML_TYPE:
            raise BadApk(f"{path}: AndroidManifest.xml is not binary XML")
        strings = None
        offset = header_size
        while offset + 8 <= len(data):
            chunk_type, chunk_header, chunk_size = struct.unpack_from("<HHI", data, offset)
            if chunk_size < 8:
                break
            if chunk_type == RES_STRING_POOL_TYPE and strings is None:
                strings = StringPool.parse(data, offset)
            elif chunk_type == RES_XML_START_ELEMENT_TYPE and strings is not None:
                return _package_attribute(data, offset, chunk_header, strings, path)
            offset += chunk_size
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, BadApk):
            raise
    raise BadApk(f"{path}: unreadable AndroidManifest.xml (no package attribute found)")


def _package_attribute(data: bytes, start: int, header_size: int, strings: StringPool, path) -> str:
    body = start + header_size
    _ns, name, attr_start, attr_size, attr_count = struct.unpack_from("<IIHHH", data, body)
    if strings.get(name) != "manifest":
        raise BadApk(f"{path}: AndroidManifest.xml does not start with <manifest>")
    for i in range(attr_count):
        at = body + attr_start + i * attr_size
        _ans, attr_name, raw, _vsize, _res0, vtype, vdata = struct.unpack_from("<IIIHBBI", data, at)
        if strings.get(attr_name) == "package":
            index = raw if raw != NO_INDEX else (vdata if vtype == TYPE_STRING else None)
            if index is not None:
                return strings.get(index)
    raise BadApk(f"{path}: AndroidManifest.xml has no package attribute")
