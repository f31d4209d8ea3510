"""The bytes of installed apps' APKs in the device's storage, at the path `pm path` prints, so that `adb pull` of
that path (the sync service, confined to the storage root) gives the host the APK as on a phone.

`pm install` stores the very bytes it installed. An app installed when the device is made (or by
SimDevice.install) is packed from its zoo YAML exactly as `emulator.zoo.build_sim_apk` packs it (byte-identical,
checked by tests), without validating the app again: it was validated when loaded, and a device with the whole zoo
should not pay a second parse per app. An app with no file behind it (loaded from bytes) gets no APK file.
"""

from __future__ import annotations

import io
import logging
import shutil
import zipfile
from pathlib import Path
from typing import Any

from emulator.sim.system.packages import InstalledPackage

log = logging.getLogger(__name__)

APP_ENTRY = "naysayer-app.yaml"
MANIFEST_ENTRY = "AndroidManifest.txt"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, as build_sim_apk: the same app gives the same bytes


def sim_apk_bytes(app: Any) -> bytes | None:
    """The sim APK of a zoo app loaded from a YAML file (None when it has no file)."""
    path = getattr(app, "path", None)
    if path is None or Path(path).suffix.lower() not in (".yaml", ".yml"):
        return None
    try:
        text = Path(path).read_bytes()
    except OSError:
        return None
    m = app.manifest
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo(APP_ENTRY, date_time=ZIP_TIME)
        entry.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(entry, text)
        archive.writestr(zipfile.ZipInfo(MANIFEST_ENTRY, date_time=ZIP_TIME),
                         f"package={m.package}\nversionCode={m.version_code}\nversionName={m.version_name}\n")
    return out.getvalue()


def apk_host_path(storage_root: Path, pkg: InstalledPackage) -> Path:
    return Path(storage_root).joinpath(*[p for p in pkg.apk_path().split("/") if p])


def store_apk(storage_root: Path, pkg: InstalledPackage, data: bytes | None = None) -> None:
    """Write the APK of an installed (or updated) app where `pm path` says it is."""
    if pkg.system:
        return
    data = data if data is not None else sim_apk_bytes(pkg.app)
    if data is None:
        return
    target = apk_host_path(storage_root, pkg)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:  # the app is installed all the same; only `adb pull` of its APK will fail
        log.warning("sim: cannot store the APK of %s: %s", pkg.package, exc)


def remove_apk(storage_root: Path, pkg: InstalledPackage) -> None:
    """Remove an uninstalled app's code directory (/data/app/~~tag==), as the package manager does."""
    if pkg.system:
        return
    code_dir = apk_host_path(storage_root, pkg).parent.parent
    if code_dir.name.startswith("~~"):
        shutil.rmtree(code_dir, ignore_errors=True)
