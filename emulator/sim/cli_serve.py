"""`naysayer sim serve`: simulated devices with zoo apps, visible to the adb server, until interrupted.

Prints one serial per line on stdout as soon as the devices are up (scripts read them), everything else on stderr.
Also runnable as `python -m emulator.sim.cli_serve` (the demo starts it as a child process).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def serve(devices: int = 1, apps: list[str] | None = None, skin: str = "aosp-13", locale: str = "zh-CN",
          adb_port: int | None = None, stop: threading.Event | None = None) -> int:
    from emulator.sim.adb_server import ensure_adb_server
    from emulator.sim.serve import start_devices, stop_devices
    from emulator.sim.skins import load_skin
    from emulator.zoo import load_zoo

    if devices < 1:
        raise ValueError(f"--devices {devices}: need at least one device")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.sim.cli_serve", description=__doc__)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--apps", nargs="*")
    parser.add_argument("--skin", default="aosp-13", help="a skin, or a comma list cycled over the devices")
    parser.add_argument("--locale", default="zh-CN", choices=["zh-CN", "en-US"])
    parser.add_argument("--adb-port", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        return serve(args.devices, args.apps, args.skin, args.locale, args.adb_port)
    except Exception as exc:
        if type(exc).__name__ in ("ZooError", "UnknownSkin", "SkinError", "AdbServerError", "ValueError"):
            print(f"naysayer: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
