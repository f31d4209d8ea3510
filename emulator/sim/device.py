"""SimDevice: one simulated phone. It is the DeviceBackend the adb transport serves and the UiDevice the
uiautomator2 agent drives; both views share one Android system behind one device-wide lock."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.sim.apk_files import store_apk
from emulator.sim.app_api import AppPackage
from emulator.sim.shell.commands import registry
from emulator.sim.shell.interpreter import Shell
from emulator.sim.system.android import AndroidSystem, DialogBuilder
from emulator.sim.view import Screen

U2_PORT = 9008
FEATURES = "shell_v2,cmd,stat_v2"
# Directories every device has (the rest of the tree is created on demand by push, redirects, mkdir).
DEVICE_DIRS = ("data/local/tmp", "sdcard/Download", "sdcard/DCIM", "sdcard/Pictures", "sdcard/Android/data",
               "system/bin", "storage/emulated")


@dataclass
class ShellResult:
    """A shell command run in-process (tests, tools): exit status and the two streams."""

    status: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


class CapturedIO:
    """A ShellIO that collects output; `close()` ends streaming commands (logcat, app_process)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.err = bytearray()
        self._closed = threading.Event()
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self.out += data

    def write_err(self, data: bytes) -> None:
        with self._lock:
            self.err += data

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float) -> bool:
        return self._closed.wait(timeout)

    def close(self) -> None:
        self._closed.set()


class SimDevice:
    """A simulated Android device.

    skin: a skin name for `emulator.sim.skins.load_skin`, or a loaded skin object (package, activity, sdk,
    android_version, rom, props). `permission_dialog` overrides the skins module's dialog builder (tests).
    `u2_requires_launch`: serve tcp:9008 only while the u2 agent's app_process line runs (default, as on a phone,
    where the uiautomator2 server is a process of its own); False: always serve it.
    """

    def __init__(self, serial: str, skin: Any = "aosp-13", locale: str = "zh-CN",
                 apps: Iterable[AppPackage] = (), storage_dir: Path | None = None, width: int = 720,
                 height: int = 1600, density: int = 320, unauthorized: bool = False,
                 permission_dialog: DialogBuilder | None = None, u2_requires_launch: bool = True) -> None:
        if isinstance(skin, str):
            from emulator.sim.skins import load_skin  # the skins helper's module

            skin = load_skin(skin)
        self.serial = serial
        self.unauthorized = unauthorized
        self.offline = False  # True: adbd hangs before the handshake, and the adb server lists the device 'offline'
        self._faults: dict[str, list[str]] = {}
        self.u2_requires_launch = u2_requires_launch
        self.lock = threading.RLock()
        self.system = AndroidSystem(skin, locale, width, height, density, serial, dialog_builder=permission_dialog,
                                    lock=self.lock)
        self._own_storage = storage_dir is None
        self._storage = Path(storage_dir) if storage_dir else Path(tempfile.mkdtemp(prefix="naysayer-sim-"))
        for sub in DEVICE_DIRS:
            (self._storage / sub).mkdir(parents=True, exist_ok=True)
        emulated0 = self._storage / "storage/emulated/0"
        if not emulated0.exists():
            emulated0.symlink_to(self._storage / "sdcard", target_is_directory=True)
        self._shell = Shell(self.system, self, registry())
        self._u2_running = 0
        self.reverse_forwards: dict[str, str] = {}  # adb reverse: device socket -> host socket
        # pid -> (name, kill switch, is the u2 agent) of each running process of the shell user
        self._shell_processes: dict[int, tuple[str, threading.Event, bool]] = {}
        with self.lock:
            for app in apps:
                store_apk(self._storage, self.system.install(app))

    # ---- DeviceBackend -------------------------------------------------------------------------------------
    def banner(self) -> str:
        p = self.system.properties
        return (f"device::ro.product.name={p.get('ro.product.name', '')};ro.product.model={p.get('ro.product.model', '')};"
                f"ro.product.device={p.get('ro.product.device', '')};features={FEATURES}")

    def requires_auth(self) -> bool:
        return self.unauthorized

    def shell(self, command: str, io: Any) -> int:
        return self._shell.run(command, io)

    def storage_root(self) -> Path:
        return self._storage

    def framebuffer(self) -> tuple[int, int, bytes]:
        """(width, height, RGBA bytes) of the screen, as adbd's framebuffer: service reads them."""
        import io as _io

        from PIL import Image

        from emulator.sim.render_png import render_png

        with self.lock:
            screen = self.system.display().screen
        image = Image.open(_io.BytesIO(render_png(screen))).convert("RGBA")
        return image.width, image.height, image.tobytes()

    def connect_port(self, port: int) -> socket.socket | None:
        if port != U2_PORT or (self.u2_requires_launch and not self._u2_running):
            return None
        from emulator.sim.u2agent import serve_connection  # the agent helper's module

        ours, theirs = socket.socketpair()

        def serve() -> None:
            try:
                serve_connection(theirs, self)
            finally:
                theirs.close()

        threading.Thread(target=serve, name=f"u2agent-{self.serial}", daemon=True).start()
        return ours

    def set_u2_agent_running(self, running: bool) -> None:
        with self.lock:
            self._u2_running += 1 if running else -1

    # ---- processes of the shell user (the u2 agent's app_process, background jobs) ------------------------------
    def start_process(self, name: str, u2_agent: bool = False) -> tuple[int, threading.Event]:
        """A process of the shell user started: its pid (ps lists it by `name`) and the event `kill` sets."""
        with self.lock:
            pid = self.system.processes.allocate_pid()
            event = threading.Event()
            self._shell_processes[pid] = (name, event, u2_agent)
            if u2_agent:
                self._u2_running += 1
            return pid, event

    def end_process(self, pid: int) -> None:
        with self.lock:
            entry = self._shell_processes.pop(pid, None)
            if entry is not None and entry[2]:
                self._u2_running -= 1

    def shell_processes(self) -> list[tuple[int, str]]:
        with self.lock:
            return sorted((pid, entry[0]) for pid, entry in self._shell_processes.items())

    def signal_process(self, pid: int) -> bool:
        """`kill [-SIG] <pid>` of a shell-user process: it ends (an agent's port 9008 closes with it)."""
        with self.lock:
            entry = self._shell_processes.get(pid)
            if entry is None:
                return False
            self.end_process(pid)
        entry[1].set()
        return True

    def u2_agent_started(self) -> tuple[int, threading.Event]:
        return self.start_process("app_process", u2_agent=True)

    def u2_agent_stopped(self, pid: int) -> None:
        self.end_process(pid)

    def u2_agent_pids(self) -> list[int]:
        with self.lock:
            return sorted(pid for pid, entry in self._shell_processes.items() if entry[2])

    def kill_u2_agent(self, pid: int) -> bool:
        return self.signal_process(pid)

    # ---- UiDevice ------------------------------------------------------------------------------------------
    def screen(self) -> Screen:
        with self.lock:
            return self.system.display().screen

    def device_info(self) -> dict:
        with self.lock:
            s = self.system
            return {
                "currentPackageName": s.foreground_package(),
                "displayWidth": s.width,
                "displayHeight": s.height,
                "displayRotation": 0,
                "displaySizeDpX": round(s.width * 160 / s.density),
                "displaySizeDpY": round(s.height * 160 / s.density),
                "productName": s.properties.get("ro.product.name", ""),
                "screenOn": True,
                "sdkInt": int(s.properties.get("ro.build.version.sdk", "33")),
                "naturalOrientation": True,
            }

    def tap(self, x: float, y: float, long: bool = False) -> None:
        with self.lock:
            self.system.tap(x, y, long)

    def key(self, key: str | int) -> bool:
        with self.lock:
            return self.system.key(key)

    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration: float) -> None:
        with self.lock:
            self.system.swipe(x1, y1, x2, y2)

    def set_text(self, x: float, y: float, text: str) -> bool:
        with self.lock:
            return self.system.set_text(x, y, text)

    def pinch(self, start1, start2, end1, end2) -> None:
        """Two fingers moving from start1/start2 to end1/end2 (points (x, y))."""
        with self.lock:
            self.system.pinch(start1, start2, end1, end2)

    def type_text(self, text: str, replace: bool = False) -> bool:
        """Text committed by an input method into the focused field (replace=True: instead of what it holds)."""
        with self.lock:
            return self.system.type_text(text, replace)

    def last_toast(self) -> str | None:
        with self.lock:
            return self.system.last_toast

    def set_last_toast(self, text: str | None) -> None:
        with self.lock:
            self.system.last_toast = text

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.system.advance(seconds)

    def now(self) -> float:
        with self.lock:
            return self.system.clock.now()

    # ---- conveniences for tools and tests ------------------------------------------------------------------
    def run(self, command: str) -> ShellResult:
        """Run a non-streaming command line in-process."""
        io = CapturedIO()
        status = self.shell(command, io)
        return ShellResult(status, bytes(io.out), bytes(io.err))

    def inject_fault(self, name: str, kind: str, times: int = 1) -> None:
        """Make the next `times` uses of `name` misbehave as real devices sometimes do, for robustness tests:
        ("hierarchy", "truncated" | "empty") = the uiautomator dump comes back cut off or empty;
        ("screenshot", "truncated" | "empty" | "corrupt" | "garbage" | "huge") = screencap returns a cut-off PNG,
        nothing, a PNG with damaged data, a text error instead of an image, or a PNG whose header claims 30000x30000
        pixels (see emulator.sim.render_png.damaged_png)."""
        with self.lock:
            self._faults.setdefault(name, []).extend([kind] * times)

    def take_fault(self, name: str) -> str | None:
        with self.lock:
            queue = self._faults.get(name)
            return queue.pop(0) if queue else None

    def set_serial(self, serial: str) -> None:
        """The serial adb gave the device (emulator-<port-1>) becomes its ro.serialno."""
        with self.lock:
            self.serial = serial
            self.system.serial = serial
            self.system.properties["ro.serialno"] = serial
            self.system.properties["ro.boot.serialno"] = serial

    def install(self, app: AppPackage) -> None:
        with self.lock:
            store_apk(self._storage, self.system.install(app))

    def close(self) -> None:
        """Remove the device's storage when the device created it."""
        if self._own_storage:
            shutil.rmtree(self._storage, ignore_errors=True)
