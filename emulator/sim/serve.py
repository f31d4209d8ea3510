"""Start and stop simulated devices served over adb (`naysayer sim serve`, the demo's child process, integration
tests)."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
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


def serve_until_stopped(devices: int, apps: list[str] | None, skin: str, locale: str, adb_port: int | None,
                        stop: threading.Event | None = None) -> int:
    """`naysayer sim serve`: start `devices` devices wearing `skin` (a comma list is cycled over them), print one
    serial per line on stdout as each is up (scripts read them), everything else on stderr; serve until `stop` is set
    (SIGINT, SIGTERM)."""
    from emulator.sim.adb_server import ensure_adb_server
    from emulator.sim.skins import load_skin
    from emulator.zoo import load_zoo

    skins = [s.strip() for s in skin.split(",") if s.strip()]
    for name in skins:
        load_skin(name)  # an unknown skin fails here, with the list of valid ones
    zoo = load_zoo([Path(p) for p in apps] if apps else None)
    client = ensure_adb_server(adb_port)
    running = []
    stop = stop or threading.Event()
    try:
        for index in range(devices):
            running += start_devices(1, zoo, skin=skins[index % len(skins)], locale=locale, adb=client)
            print(running[-1].serial, flush=True)
        print(f"{devices} simulated device(s) with {len(zoo)} apps on adb port {client.port}; Ctrl-C to stop",
              file=sys.stderr, flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            if threading.current_thread() is threading.main_thread():
                signal.signal(sig, lambda *_: stop.set())
        stop.wait()
    finally:
        stop_devices(running)
    return 0
