"""Shared fixtures: one private real adb server per test session, and simulated devices registered with it; the OCR
engine (`ocr_engine`). Where the shared reference lives and how a test that needs it skips: tests/reference.py (a plain
module, so that bench/ can use it without importing this file, which points adb at a private server).

    def test_x(serve_device):
        sim = serve_device(MyBackend())      # -> RegisteredDevice: .serial, .device (adbutils.AdbDevice), .stop()
        sim.device.shell("echo hi")
        u2.connect(sim.serial)               # works too: adbutils.adb points at the private server (see below)

ANDROID_ADB_SERVER_PORT is set to the session server's port before adbutils is first imported, so `adbutils.adb`
(the module-level client uiautomator2 uses for `u2.connect("<serial>")`), `AdbClient()` and any `adb` child process
all reach the private server, and no test can reach the user's server on 5037 or their real phones.
"""

from __future__ import annotations

import os
import socket

# Before anything imports adbutils: it reads the port once, at import time.
with socket.socket() as _probe:
    _probe.bind(("127.0.0.1", 0))
    SESSION_ADB_PORT = _probe.getsockname()[1]
os.environ["ANDROID_ADB_SERVER_PORT"] = str(SESSION_ADB_PORT)

from collections.abc import Callable, Iterator

import adbutils
import pytest

from emulator.sim.adb_server import IsolatedAdbServer, RegisteredDevice
from emulator.sim.device_api import DeviceBackend


@pytest.fixture(scope="session")
def adb_server() -> Iterator[IsolatedAdbServer]:
    """A real adb server (the adbutils binary) on its own port, HOME and TMPDIR: `.port`, `.client`, `.serve()`."""
    with IsolatedAdbServer(port=SESSION_ADB_PORT) as server, pytest.MonkeyPatch.context() as patch:
        # In case adbutils was imported before this conftest (a plugin): re-point its default client.
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


@pytest.fixture(scope="session")
def ocr_engine():
    """The process-wide OCR engine (crawler.perceive.ocr.default_engine), models loaded once for the whole session;
    the test is skipped, with the one line saying what is missing, when the models cannot be loaded."""
    from crawler.perceive import ocr

    engine = ocr.default_engine()
    try:
        engine.load()
    except ocr.OcrUnavailable as error:
        pytest.skip(str(error))
    return engine

