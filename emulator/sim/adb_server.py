"""Start, use and stop a real adb server for simulated devices.

`IsolatedAdbServer` runs the real adb binary (ADBUTILS_ADB_PATH, else `adb` on PATH, else the one bundled in the
adbutils wheel: adbutils' own order) as `adb -P <port> nodaemon server` with its own HOME (adbkey), TMPDIR (log) and
port, and with USB, mDNS and the emulator port scan off, so it sees only the devices we register and never touches
the user's server on 5037.

Pointing clients at a server on another port:
- `adbutils.AdbClient(host="127.0.0.1", port=server.port)` (what `IsolatedAdbServer.client` returns).
- `adbutils.adb`, the module-level client uiautomator2 uses for `u2.connect("<serial>")`, reads
  ANDROID_ADB_SERVER_PORT once, when adbutils is imported. Either set that variable before the first import of
  adbutils, or hand uiautomator2 a device from the right client: `u2.connect(server.client.device(serial))`
  (u2 then uses that device's client for everything).
- When adbutils cannot connect to its server it runs `adb start-server` itself, which starts a server on
  ANDROID_ADB_SERVER_PORT (default 5037) with the caller's HOME; never poll a server that is not up yet with adbutils.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import adbutils

from crawler.errors import UserError
from emulator.sim.adb import AdbDeviceServer
from emulator.sim.device_api import DeviceBackend

DEFAULT_ADB_PORT = 5037
START_TIMEOUT = 15.0
# Variables that would let a child adb reach other devices, keys or servers than the ones we chose.
SCRUBBED_ENV = (
    "ADB_VENDOR_KEYS",
    "ANDROID_SERIAL",
    "ADB_SERVER_SOCKET",
    "ANDROID_ADB_SERVER_ADDRESS",
    "ANDROID_ADB_SERVER_HOST",
    "ANDROID_SDK_HOME",
    "ANDROID_USER_HOME",
    "ADB_LOCAL_TRANSPORT_MAX_PORT",
)


class AdbServerError(UserError):
    """The adb server could not be started, or a device did not come online in time."""


def adb_binary() -> str:
    try:
        return adbutils.adb_path()
    except adbutils.AdbError as exc:
        raise AdbServerError(f"no adb binary found: {exc}") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def server_is_listening(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """A bare TCP probe: unlike adbutils, never starts a server as a side effect."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def register_emulator(client: adbutils.AdbClient, device_port: int) -> str:
    """Tell the adb server that an emulator's adbd listens on 127.0.0.1:device_port; its serial is emulator-<port-1>.

    The server answers nothing to host:emulator:<port>; it connects to the device and runs the handshake itself.
    """
    with client.make_connection(timeout=5.0) as conn:
        conn.send_command(f"host:emulator:{device_port}")
    return f"emulator-{device_port - 1}"


def device_state(client: adbutils.AdbClient, serial: str) -> str | None:
    for info in client.list():
        if info.serial == serial:
            return info.state
    return None


def wait_for_state(
    client: adbutils.AdbClient, serial: str, states: tuple[str, ...] = ("device",), timeout: float = 10.0
) -> str:
    """Poll `adb devices` until `serial` is in one of `states`; returns the state."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = device_state(client, serial)
        if state in states:
            return state
        time.sleep(0.05)
    raise AdbServerError(f"device {serial}: state {state or 'absent'} after {timeout:.0f} s, wanted {'/'.join(states)}")


class IsolatedAdbServer:
    """A private real adb server. Use as a context manager, or call start() and stop()."""

    def __init__(self, port: int | None = None, adb: str | None = None, workdir: Path | None = None) -> None:
        self._own_port = port is None
        self.port = port or free_port()
        self.adb = adb or adb_binary()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="naysayer-adb-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.client = adbutils.AdbClient(host="127.0.0.1", port=self.port)

    @property
    def env(self) -> dict[str, str]:
        """The environment of this server's adb processes (also right for running `adb` by hand against it)."""
        home = self.workdir / "home"
        tmp = self.workdir / "tmp"
        home.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}
        env.update(
            HOME=str(home),
            TMPDIR=str(tmp),
            ANDROID_ADB_SERVER_PORT=str(self.port),
            ANDROID_ADB_LOG_PATH=str(self.workdir / "adb.log"),
            ADB_EMU="0",  # no scan of 5555..5585: other simulated devices on this machine stay invisible
            ADB_USB="0",
            ADB_MDNS="0",
        )
        return env

    def start(self, timeout: float = START_TIMEOUT) -> Self:
        if server_is_listening(self.port):
            if not self._own_port:
                raise AdbServerError(f"port {self.port}: something already listens there")
            self.port = free_port()  # lost the race for a port we picked ourselves
            self.client = adbutils.AdbClient(host="127.0.0.1", port=self.port)
        log_file = open(self.workdir / "server.out", "ab")  # noqa: SIM115  (owned by the child)
        try:
            self._process = subprocess.Popen(
                [self.adb, "-P", str(self.port), "nodaemon", "server"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal goes to us; we stop it ourselves
            )
        finally:
            log_file.close()
        deadline = time.monotonic() + timeout
        while not server_is_listening(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AdbServerError(f"adb server on port {self.port} did not start (see {self.workdir}/server.out)")
            time.sleep(0.05)
        return self

    def register(self, device_port: int, states: tuple[str, ...] = ("device",), timeout: float = 10.0) -> str:
        """Register a device listening on 127.0.0.1:device_port; wait until it shows in one of `states`."""
        serial = register_emulator(self.client, device_port)
        wait_for_state(self.client, serial, states, timeout)
        return serial

    def serve(self, backend: DeviceBackend, states: tuple[str, ...] = ("device",)) -> RegisteredDevice:
        """Serve `backend` on a free port and register it here; `.stop()` the result when done."""
        return serve_backend(self.client, backend, states=states)

    def wait_gone(self, serial: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if device_state(self.client, serial) is None:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            subprocess.run(
                [self.adb, "-P", str(self.port), "kill-server"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=False,
            )
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        if self._process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_adb_server(port: int | None = None, timeout: float = START_TIMEOUT) -> adbutils.AdbClient:
    """The user's adb server (ANDROID_ADB_SERVER_PORT, else 5037), started as a daemon if none runs.

    For `naysayer sim serve`: the devices registered there are visible to the user's own `adb devices`.
    """
    port = port or int(os.environ.get("ANDROID_ADB_SERVER_PORT", DEFAULT_ADB_PORT))
    if not server_is_listening(port):
        result = subprocess.run(
            [adb_binary(), "-P", str(port), "start-server"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0 or not server_is_listening(port, timeout=1.0):
            detail = (result.stderr or result.stdout).decode("utf-8", "replace").strip().splitlines()
            raise AdbServerError(f"adb server on port {port} did not start: {detail[-1] if detail else 'no output'}")
    return adbutils.AdbClient(host="127.0.0.1", port=port)


@dataclass
class RegisteredDevice:
    """A simulated device served over TCP and registered with an adb server."""

    serial: str
    server: AdbDeviceServer
    client: adbutils.AdbClient

    @property
    def device(self) -> adbutils.AdbDevice:
        return self.client.device(self.serial)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; the adb server drops the emulator transport once the socket closes."""
        self.server.stop()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and device_state(self.client, self.serial) is not None:
            time.sleep(0.05)


def serve_backend(
    client: adbutils.AdbClient,
    backend: DeviceBackend,
    port: int = 0,
    states: tuple[str, ...] = ("device",),
    timeout: float = 10.0,
) -> RegisteredDevice:
    """Serve `backend` on 127.0.0.1:port (0 = any free port) and register it as emulator-<port-1>."""
    server = AdbDeviceServer(backend, port=port)
    device_port = server.start()
    try:
        serial = register_emulator(client, device_port)
        wait_for_state(client, serial, states, timeout)
    except Exception:
        server.stop()
        raise
    return RegisteredDevice(serial=serial, server=server, client=client)
