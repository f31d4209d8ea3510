"""The facts of an app already installed on the device (the crawl was given no APK): its APK is pulled to a
temporary file with adb sync, read like a given one, and deleted. Never fails the crawl: whatever goes wrong is
one `apk_problem` line and an empty sha256."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Protocol

from crawler.apk.facts import ApkFacts, read_apk_facts
from crawler.device import DeviceError

log = logging.getLogger(__name__)


class PullsApks(Protocol):
    """What is needed of the device (crawler.device.AndroidDevice)."""

    serial: str

    def pull_apk(self, package: str, dest: Path) -> Path | None: ...


def installed_apk_facts(device: PullsApks, package: str) -> ApkFacts:
    with tempfile.TemporaryDirectory(prefix="naysayer-apk-") as folder:
        try:
            pulled = device.pull_apk(package, Path(folder) / "base.apk")
        except DeviceError as exc:  # DeviceLost too: the crawl goes on (preflight checks the device next)
            log.warning("%s: the installed APK of %s was not read: %s", device.serial, package, exc)
            return ApkFacts("", problem=f"installed APK not read: {str(exc)[:250]}", source="installed")
        if pulled is None:
            return ApkFacts("", problem="installed APK over the size cap: not read", source="installed")
        return read_apk_facts(pulled, source="installed")
