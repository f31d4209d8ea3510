"""Start and stop simulated devices served over adb (`naysayer sim serve`, integration tests)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import adbutils

from emulator.sim.app_api import AppPackage
from emulator.sim.device import SimDevice


@dataclass
class RunningDevice:
    serial: str
    device: SimDevice
    registered: object  # emulator.sim.adb_server.RegisteredDevice
    storage: Path

    def stop(self) -> None:
        self.registered.stop()
        shutil.rmtree(self.storage, ignore_errors=True)


def start_devices(n: int, apps: Iterable[AppPackage], skin: str = "aosp-13", locale: str = "zh-CN",
                  adb: adbutils.AdbClient | None = None, unauthorized: bool = False) -> list[RunningDevice]:
    """Serve `n` devices with `apps` installed and register each with the adb server `adb` (default: the user's
    server, started if needed). Serials are emulator-<port-1>, as adb names them."""
    from emulator.sim.adb_server import ensure_adb_server, serve_backend

    client = adb or ensure_adb_server()
    apps = list(apps)
    running: list[RunningDevice] = []
    try:
        for index in range(n):
            storage = Path(tempfile.mkdtemp(prefix=f"naysayer-sim-{index}-"))
            device = SimDevice(f"sim-{index}", skin=skin, locale=locale, apps=apps, storage_dir=storage,
                               unauthorized=unauthorized)
            registered = serve_backend(client, device, states=("unauthorized",) if unauthorized else ("device",))
            device.set_serial(registered.serial)
            running.append(RunningDevice(registered.serial, device, registered, storage))
    except Exception:
        stop_devices(running)
        raise
    return running


def stop_devices(devices: Iterable[RunningDevice]) -> None:
    for running in devices:
        running.stop()
