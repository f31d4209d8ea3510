"""Shared fixtures: one private real adb server per test session, and simulated devices registered with it.

    def test_x(serve_device):
        sim = serve_device(MyBackend())      # -> RegisteredDevice: .serial, .device (adbutils.AdbDevice), .stop()
        sim.device.shell("echo hi")
        u2.connect(sim.serial)               # works too: adbutils.adb points at the private server (see below)

While the session server runs, ANDROID_ADB_SERVER_PORT names its port and `adbutils.adb` (the module-level client
that uiautomator2 uses for `u2.connect("<serial>")`) is that server's client. Nothing talks to the user's 5037.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import adbutils
import pytest

from emulator.sim.adb_server import IsolatedAdbServer, RegisteredDevice
from emulator.sim.device_api import DeviceBackend


@pytest.fixture(scope="session")
def adb_server() -> Iterator[IsolatedAdbServer]:
    """A real adb server (the adbutils binary) on its own port, HOME and TMPDIR: `.port`, `.client`, `.serve()`."""
    with IsolatedAdbServer() as server, pytest.MonkeyPatch.context() as patch:
        # adbutils reads the port once, at import: re-point its default client rather than rely on import order.
        patch.setenv("ANDROID_ADB_SERVER_PORT", str(server.port))
        patch.setattr(adbutils, "adb", server.client)
        yield server


@pytest.fixture
def serve_device(adb_server: IsolatedAdbServer) -> Iterator[Callable[..., RegisteredDevice]]:
    """Serve DeviceBackends as emulator-N on the session adb server; they are stopped after the test.

    `serve_device(backend, states=("unauthorized",))` waits for another state than 'device'.
    """
    served: list[RegisteredDevice] = []

    def serve(backend: DeviceBackend, states: tuple[str, ...] = ("device",)) -> RegisteredDevice:
        registered = adb_server.serve(backend, states=states)
        served.append(registered)
        return registered

    yield serve
    for registered in served:
        registered.stop()
