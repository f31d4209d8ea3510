"""A simulated Android SDK on disk, so the real emulator code path (emulator/avd.py) runs with no SDK installed.

    DIR/sdk/emulator/emulator     a shell script that execs this Python on emulator.sim.emulator_main
    DIR/avd/NAME.ini              the AVD's pointer file (path=, path.rel=, target=)
    DIR/avd/NAME.avd/config.ini   the AVD's config, with naysayer.* keys for the simulated device

Use it with ANDROID_HOME=DIR/sdk and ANDROID_AVD_HOME=DIR/avd (`naysayer emulator fake-sdk DIR` prints the exports).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FakeAvd:
    name: str
    api: int = 33
    skin: str = ""  # default: the emulator picks aosp-<version> from the API level
    locale: str = "zh-CN"
    apps: str = "zoo"
    boot_seconds: float = 2.0
    wedge_boots: int = 0

    def config(self) -> dict[str, str]:
        values = {
            "avd.ini.encoding": "UTF-8",
            "AvdId": self.name,
            "avd.ini.displayname": self.name.replace("_", " "),
            "abi.type": "x86_64",
            "hw.cpu.arch": "x86_64",
            "image.sysdir.1": f"system-images/android-{self.api}/google_apis/x86_64/",
            "tag.id": "google_apis",
            "hw.lcd.width": "720",
            "hw.lcd.height": "1600",
            "hw.lcd.density": "320",
            "naysayer.locale": self.locale,
            "naysayer.apps": self.apps,
            "naysayer.boot_seconds": f"{self.boot_seconds:g}",
            "naysayer.wedge_boots": str(self.wedge_boots),
        }
        if self.skin:
            values["naysayer.skin"] = self.skin
        return values


def write_ini(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")


def emulator_script(python: str = sys.executable) -> str:
    # PYTHONPATH makes it work from a plain checkout too; the venv's editable install would find the package anyway.
    return ("#!/bin/sh\n# naysayer's simulated Android emulator (emulator/sim/emulator_main.py)\n"
            f"PYTHONPATH={shlex.quote(str(REPO_ROOT))}${{PYTHONPATH:+:$PYTHONPATH}}\nexport PYTHONPATH\n"
            f"exec {shlex.quote(python)} -m emulator.sim.emulator_main \"$@\"\n")


def add_avd(avd_home: Path, avd: FakeAvd) -> Path:
    folder = avd_home / f"{avd.name}.avd"
    folder.mkdir(parents=True, exist_ok=True)
    write_ini(folder / "config.ini", avd.config())
    write_ini(avd_home / f"{avd.name}.ini", {"avd.ini.encoding": "UTF-8", "path": str(folder.resolve()),
                                             "path.rel": f"avd/{avd.name}.avd", "target": f"android-{avd.api}"})
    return folder


def make_fake_sdk(root: Path, avds: list[FakeAvd] | None = None) -> tuple[Path, Path]:
    """Create DIR/sdk and DIR/avd (default AVD: Pixel_6_API_33); returns (ANDROID_HOME, ANDROID_AVD_HOME)."""
    sdk = root / "sdk"
    avd_home = root / "avd"
    (sdk / "emulator").mkdir(parents=True, exist_ok=True)
    (sdk / "platform-tools").mkdir(exist_ok=True)
    script = sdk / "emulator" / "emulator"
    script.write_text(emulator_script(), encoding="utf-8")
    script.chmod(0o755)
    avd_home.mkdir(parents=True, exist_ok=True)
    for avd in avds or [FakeAvd("Pixel_6_API_33")]:
        add_avd(avd_home, avd)
    return sdk, avd_home
