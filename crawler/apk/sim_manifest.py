"""The package and label of a simulator APK, read as the host reads any APK: from the file, not through the simulator.

A simulator APK (what emulator/zoo `build_sim_apk` packs and the simulated device installs) is a zip holding
`naysayer-app.yaml`, the app model, and usually `AndroidManifest.txt` (`package=...` lines). The host needs only
`app.package` and `app.label` from the model, so it reads just those with a safe YAML load (no tags, no code), after
the manifest size bound; validating the rest of the model is the simulator's business when it installs the app, as
a phone's package manager, not the host, checks a real APK's code. The crawler never imports the simulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from crawler.apk.errors import BadApk

SIM_MANIFEST = "AndroidManifest.txt"
SIM_APP = "naysayer-app.yaml"
PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
MAX_PACKAGE = 200


@dataclass(frozen=True)
class SimManifest:
    package: str
    label: str


def sim_manifest_package(text: str, path: Path) -> str:
    """The `package=` line of a simulator APK's AndroidManifest.txt."""
    match = re.search(r"^package=(\S+)\s*$", text, re.MULTILINE)
    if not match:
        raise BadApk(f"{path}: {SIM_MANIFEST} names no package")
    return match.group(1)


def sim_app_manifest(data: bytes, path: Path) -> SimManifest:
    """Package and label from the bytes of a simulator APK's naysayer-app.yaml (already size-bounded)."""
    try:
        model = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise BadApk(f"{path}: unreadable app model ({_one_line(exc)})") from None
    app = model.get("app") if isinstance(model, dict) else None
    if not isinstance(app, dict):
        raise BadApk(f"{path}: unreadable app model (no app: mapping)")
    package, label = app.get("package"), app.get("label")
    if not isinstance(package, str) or len(package) > MAX_PACKAGE or not PACKAGE.match(package):
        raise BadApk(f"{path}: unreadable app model (app.package is not a package name)")
    if not isinstance(label, str) or not label:
        raise BadApk(f"{path}: unreadable app model (app.label is not a name)")
    return SimManifest(package=package, label=label)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "problem", None) or exc).split())[:150]
