"""One Android device, driven only through uiautomator2 and adbutils, exactly as a phone on a desk or in a farm.

The same code drives a real phone, an SDK emulator, a device farm's remote adb and the simulated devices of
`emulator/sim`. Time always comes from the device (`date +%s.%N`): wall time on a phone, virtual time on the
simulator, where `sleep` is what moves the clock. Every call goes through `crawler.wire.FastAdbClient`, which removes
the stock clients' per-call stalls (see that module).
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import adbutils

from crawler.android.dumpsys import Foreground, PackageState, package_state, resumed_activity, screen_size
from crawler.android.logcat import LogcatReader
from crawler.errors import UserError
from crawler.wire import FastAdbClient

log = logging.getLogger(__name__)

MAX_PULL_BYTES = 512 << 20  # the installed APK read for its facts; bigger ones are skipped, not half-read
PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROM_PROPS = (  # getprop key -> ROM name, first match wins
    ("ro.miui.ui.version.name", "MIUI"),
    ("ro.build.version.emui", "EMUI"),
    ("ro.build.version.opporom", "ColorOS"),
    ("ro.oplus.version", "ColorOS"),
    ("ro.build.version.oneui", "One UI"),
    ("ro.vivo.os.version", "OriginOS"),
)


class DeviceError(UserError):
    """A problem with the device the user named: one line, shown as is."""


class DeviceLost(DeviceError):
    """The device went away in the middle of the work (unplugged, emulator killed, adb server restarted)."""


@dataclass
class DeviceInfo:
    serial: str
    state: str
    model: str = ""
    manufacturer: str = ""
    android: str = ""
    sdk: int = 0
    rom: str = ""
    locale: str = ""
    fingerprint: str = ""  # ro.build.fingerprint: names the exact build, for evidence

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Snapshot:
    """What one observation read from the device, before perception."""

    t: float
    foreground: Foreground | None
    pid: int | None
    xml: str
    png: bytes | None


def adb_client(port: int | None = None) -> FastAdbClient:
    """The adb server client: ANDROID_ADB_SERVER_PORT (default 5037) unless a port is given."""
    return FastAdbClient(host="127.0.0.1", port=port) if port else FastAdbClient()


def check_package(package: str) -> str:
    if not PACKAGE_NAME.match(package or "") or len(package) > 200:
        raise DeviceError(f"{package!r}: not a valid Android package name")
    return package


def _device_states(client: adbutils.AdbClient) -> dict[str, str]:
    try:
        return {info.serial: info.state for info in client.list()}
    except (adbutils.AdbError, OSError) as exc:
        raise DeviceError(f"cannot reach the adb server on port {client.port}: {exc}") from exc


def list_devices(client: adbutils.AdbClient | None = None) -> list[DeviceInfo]:
    client = client or adb_client()
    infos = []
    for serial, state in sorted(_device_states(client).items()):
        if state == "device":
            try:
                infos.append(AndroidDevice(serial, client).info())
                continue
            except DeviceError:
                state = "offline"
        infos.append(DeviceInfo(serial=serial, state=state))
    return infos


class AndroidDevice:
    def __init__(self, serial: str, client: adbutils.AdbClient | None = None):
        self.client = client or adb_client()
        states = _device_states(self.client)
        state = states.get(serial)
        if state is None:
            known = ", ".join(sorted(states)) or "none"
            raise DeviceError(f"{serial}: no such device (devices: {known})")
        if state == "unauthorized":
            raise DeviceError(f"{serial}: device is unauthorized: accept the USB debugging prompt on the device")
        if state != "device":
            raise DeviceError(f"{serial}: device is {state}")
        self.serial = serial
        self.adb = self.client.device(serial)
        self._u2 = None
        self._info: DeviceInfo | None = None
        self._size: tuple[int, int] | None = None

    # -- plumbing ---------------------------------------------------------------------------------------------
    def shell(self, command: str, timeout: float = 60) -> str:
        try:
            return self.adb.shell(command, timeout=timeout)
        except (adbutils.AdbError, OSError) as exc:
            raise DeviceLost(f"{self.serial}: device lost during `{command[:40]}`: {exc}") from exc

    @property
    def u2(self):
        if self._u2 is None:
            import uiautomator2  # imported late: it is slow to import and not needed for `devices`

            try:
                self._u2 = uiautomator2.connect(self.adb)
            except Exception as exc:  # u2 raises many types (ConnectError, HTTPError, AdbError...)
                raise DeviceLost(f"{self.serial}: cannot start uiautomator2: {exc}") from exc
        return self._u2

    def _u2_call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except (adbutils.AdbError, OSError) as exc:
            raise DeviceLost(f"{self.serial}: device lost during {what}: {exc}") from exc
        except Exception as exc:  # uiautomator2's own errors (HTTPError, RPC errors)
            if self.serial not in _device_states(self.client) or _device_states(self.client)[self.serial] != "device":
                raise DeviceLost(f"{self.serial}: device lost during {what}: {exc}") from exc
            raise DeviceError(f"{self.serial}: {what} failed: {exc}") from exc

    def close(self) -> None:
        self._u2 = None

    # -- facts ------------------------------------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        if self._info is None:
            props = self.getprops()
            rom = next((name for key, name in ROM_PROPS if props.get(key)), "AOSP")
            self._info = DeviceInfo(
                serial=self.serial, state="device", model=props.get("ro.product.model", ""),
                manufacturer=props.get("ro.product.manufacturer", ""),
                android=props.get("ro.build.version.release", ""),
                sdk=int(props.get("ro.build.version.sdk", "0") or 0), rom=rom,
                locale=props.get("persist.sys.locale") or props.get("ro.product.locale", ""),
                fingerprint=props.get("ro.build.fingerprint", ""),
            )
        return self._info

    def getprops(self) -> dict[str, str]:
        props = {}
        for line in self.shell("getprop").splitlines():
            match = re.match(r"^\[([^\]]{1,200})\]: \[(.{0,500})\]$", line.strip())
            if match:
                props[match.group(1)] = match.group(2)
        return props

    def screen_size(self) -> tuple[int, int]:
        """(width, height) in pixels: `wm size`, the override size when one is set, as Android applies it."""
        if self._size is None:
            self._size = screen_size(self.shell("wm size"))
            if self._size is None:
                raise DeviceError(f"{self.serial}: unreadable screen size")
        return self._size

    def now(self) -> float:
        """Device time in seconds since the epoch."""
        out = self.shell("date +%s.%N").strip()
        try:
            return float(out)
        except ValueError as exc:
            raise DeviceError(f"{self.serial}: unreadable device time {out[:40]!r}") from exc

    def wait(self, seconds: float) -> None:
        """Let device time pass: a real sleep on a phone, the virtual clock on the simulator."""
        self.shell(f"sleep {max(0.0, seconds):.3f}", timeout=seconds + 60)

    # -- observe ----------------------------------------------------------------------------------------------
    def snapshot(self, package: str, screenshot: bool = True) -> Snapshot:
        """Time, foreground, the app's pid, the hierarchy and (optionally) a PNG screenshot."""
        check_package(package)
        out = self.shell(
            "date +%s.%N; echo ---; dumpsys activity activities | grep -E 'mResumedActivity|topResumedActivity';"
            f" echo ---; pidof {shlex.quote(package)}"
        )
        parts = out.split("---")
        t = float(parts[0].strip() or 0) if parts and re.match(r"^\s*[\d.]+\s*$", parts[0]) else self.now()
        foreground = resumed_activity(parts[1]) if len(parts) > 1 else None
        pid_text = parts[2].strip().split() if len(parts) > 2 else []
        pid = int(pid_text[0]) if pid_text and pid_text[0].isdigit() else None
        xml = self.hierarchy()
        png = self.screenshot() if screenshot else None
        return Snapshot(t=t, foreground=foreground, pid=pid, xml=xml, png=png)

    def hierarchy(self) -> str:
        return self._u2_call("dump hierarchy", lambda: self.u2.dump_hierarchy())

    def screenshot(self) -> bytes | None:
        """A lossless PNG (screencap), or None if the device returned something else."""
        try:
            data = self.adb.shell("screencap -p", encoding=None, timeout=60)
        except (adbutils.AdbError, OSError) as exc:
            raise DeviceLost(f"{self.serial}: device lost during screenshot: {exc}") from exc
        return data if data.startswith(PNG_MAGIC) else None

    def foreground(self) -> Foreground | None:
        return resumed_activity(self.shell("dumpsys activity activities"))

    def pid(self, package: str) -> int | None:
        out = self.shell(f"pidof {shlex.quote(check_package(package))}").strip().split()
        return int(out[0]) if out and out[0].isdigit() else None

    # -- act --------------------------------------------------------------------------------------------------
    def tap(self, x: int, y: int) -> None:
        self._u2_call("tap", lambda: self.u2.click(int(x), int(y)))

    def long_tap(self, x: int, y: int) -> None:
        self._u2_call("long tap", lambda: self.u2.long_click(int(x), int(y), 0.8))

    def back(self) -> None:
        self._u2_call("back", lambda: self.u2.press("back"))

    def home(self) -> None:
        self._u2_call("home", lambda: self.u2.press("home"))

    def swipe(self, x1: int, y1: int, x2: int, y2: int, duration: float = 0.2) -> None:
        self._u2_call("swipe", lambda: self.u2.swipe(x1, y1, x2, y2, duration))

    def text(self, text: str) -> None:
        """Type into the focused field with `input text` (uiautomator2's send_keys would install its own IME)."""
        safe = re.sub(r"[^A-Za-z0-9._@-]", "", text)[:200]  # what `input text` passes through every shell intact
        if safe:
            self.shell(f"input text {shlex.quote(safe)}")

    # -- app control ------------------------------------------------------------------------------------------
    def start(self, package: str) -> None:
        """Launch from the launcher, as a user would (monkey with the LAUNCHER category)."""
        out = self.shell(f"monkey -p {shlex.quote(check_package(package))} -c android.intent.category.LAUNCHER 1")
        if "No activities found" in out or "monkey aborted" in out:
            raise DeviceError(f"{package}: no launcher activity on {self.serial}")

    def force_stop(self, package: str) -> None:
        self.shell(f"am force-stop {shlex.quote(check_package(package))}")

    def clear_data(self, package: str) -> None:
        out = self.shell(f"pm clear {shlex.quote(check_package(package))}").strip()
        if "Success" not in out:
            raise DeviceError(f"{package}: pm clear failed on {self.serial}: {out[:200]}")

    def install(self, apk: Path) -> None:
        if not apk.is_file():
            raise DeviceError(f"{apk}: no such APK file")
        data = apk.read_bytes()
        if not data.startswith(b"PK"):
            raise DeviceError(f"{apk}: not an APK (not a zip archive)")
        remote = "/data/local/tmp/naysayer-install.apk"
        try:
            self.adb.sync.push(str(apk), remote)
        except (adbutils.AdbError, OSError) as exc:
            raise DeviceLost(f"{self.serial}: device lost while pushing {apk.name}: {exc}") from exc
        out = self.shell(f"pm install -r {remote}", timeout=300).strip()
        self.shell(f"rm -f {remote}")
        if "Success" not in out:
            raise DeviceError(f"{apk}: install failed on {self.serial}: {out.splitlines()[-1][:200] if out else 'no output'}")

    def uninstall(self, package: str) -> None:
        self.shell(f"pm uninstall {shlex.quote(check_package(package))}")

    def is_installed(self, package: str) -> bool:
        return self.shell(f"pm path {shlex.quote(check_package(package))}").strip().startswith("package:")

    def apk_path(self, package: str) -> str:
        """Where the installed APK lives (`pm path`): the base.apk of a split install, else the first path."""
        out = self.shell(f"pm path {shlex.quote(check_package(package))}")
        paths = [line.strip()[len("package:"):] for line in out.splitlines() if line.strip().startswith("package:")]
        if not paths:
            raise DeviceError(f"{package}: not installed on {self.serial} (pm path printed no APK)")
        return next((p for p in paths if p.endswith("/base.apk")), paths[0])

    def pull_apk(self, package: str, dest: Path, max_bytes: int = MAX_PULL_BYTES) -> Path | None:
        """Copy the installed APK of `package` to `dest` with adb sync. None (and one log line) when it is larger
        than `max_bytes`; DeviceError when it cannot be read."""
        remote = self.apk_path(package)
        try:
            size = self.adb.sync.stat(remote).size
            if size > max_bytes:
                log.warning("%s: %s's APK is %d MB, over the %d MB cap: not pulled (the run records no APK sha256)",
                            self.serial, package, size >> 20, max_bytes >> 20)
                return None
            written = 0
            with open(dest, "wb") as handle:
                for chunk in self.adb.sync.iter_content(remote):  # streamed: the stat size is 32 bits on the wire
                    written += len(chunk)
                    if written > max_bytes:
                        log.warning("%s: %s's APK grew over the %d MB cap while pulled: not read", self.serial,
                                    package, max_bytes >> 20)
                        return None
                    handle.write(chunk)
        except (adbutils.AdbError, OSError) as exc:
            raise DeviceError(f"{package}: cannot pull {remote} from {self.serial}: {exc}") from exc
        if written == 0:
            raise DeviceError(f"{package}: {remote} on {self.serial} is empty or unreadable")
        return Path(dest)

    def package_state(self, package: str) -> PackageState:
        return package_state(package, self.shell(f"dumpsys package {shlex.quote(check_package(package))}"))

    # -- logs -------------------------------------------------------------------------------------------------
    def logcat(self, clear: bool = True) -> LogcatReader:
        if clear:
            self.shell("logcat -b events -b main -c")  # plain -c leaves the events buffer alone
        reader = LogcatReader(lambda cmd: self.adb.shell(cmd, stream=True))
        try:
            reader.start()
        except (adbutils.AdbError, OSError) as exc:
            raise DeviceLost(f"{self.serial}: cannot read logcat: {exc}") from exc
        return reader
