"""emulator/avd.py's real code path end to end: a simulated SDK whose `emulator` is the simulator, the session's real
adb server, boot detection through adbutils, the console over TCP, and processes that really start and exit."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from emulator.avd import (
    EmulatorFailed,
    LaunchOptions,
    device_state,
    pick_ports,
    start_emulators,
    stop_emulator,
)
from emulator.console import ConsoleCommandError, EmulatorConsole
from emulator.sim.fake_sdk import FakeAvd, make_fake_sdk


def first_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return min(port // 2 * 2, 60000)


@pytest.fixture
def sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A simulated SDK with a plain AVD and one whose first boot wedges; HOME (console token) kept to the test."""
    make_fake_sdk(tmp_path, [FakeAvd("Pixel", apps="none", boot_seconds=0.5),
                             FakeAvd("Wedgy", apps="none", boot_seconds=0.3, wedge_boots=1),
                             FakeAvd("Brick", apps="none", boot_seconds=0.3, wedge_boots=99)])
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ANDROID_HOME", str(tmp_path / "sdk"))
    monkeypatch.setenv("ANDROID_AVD_HOME", str(tmp_path / "avd"))
    return tmp_path


def test_two_emulators_boot_answer_adb_and_console_and_stop_through_it(sdk, adb_server):
    client = adb_server.client
    emulators = start_emulators("Pixel", 2, client=client, first_port=first_port(), boot_timeout=30)
    try:
        assert len({e.serial for e in emulators}) == 2
        for emulator in emulators:
            assert device_state(client, emulator.serial) == "device"
            device = client.device(emulator.serial)
            assert device.shell("getprop sys.boot_completed").strip() == "1"
            assert device.shell("getprop ro.serialno").strip() == emulator.serial
            with EmulatorConsole(emulator.port) as console:
                assert console.command("avd name") == "Pixel"
                console.command("sensor set acceleration 0:9.81:0.5")
                assert console.command("sensor get acceleration") == "acceleration = 0:9.81:0.5"
                with pytest.raises(ConsoleCommandError, match='disabled because "-read-only"'):
                    console.command("avd snapshot load default_boot")  # as the real console answers
        first, second = emulators
        assert stop_emulator(first.serial, client=client) == "console"
        assert first.process.wait(timeout=10) == 0
        assert device_state(client, first.serial) is None
        assert device_state(client, second.serial) == "device"  # the other one is untouched
    finally:
        for emulator in emulators:
            if emulator.process.poll() is None:
                emulator.stop(client)


def test_a_snapshot_saved_on_a_writable_emulator_boots_the_next_one(sdk, adb_server):
    client = adb_server.client
    (writable,) = start_emulators("Pixel", client=client, first_port=first_port(), boot_timeout=30,
                                  options=LaunchOptions(read_only=False))
    try:
        with EmulatorConsole(writable.port) as console:
            console.command("avd snapshot save clean")
            console.command("avd snapshot load clean")
            assert console.command("avd snapshot get") == "clean"
    finally:
        assert writable.stop(client) == "console"
    assert writable.process.returncode == 0
    (restored,) = start_emulators("Pixel", client=client, first_port=first_port(), boot_timeout=30,
                                  options=LaunchOptions(snapshot="clean"))
    try:
        assert restored.command[restored.command.index("-snapshot") + 1] == "clean"
        with EmulatorConsole(restored.port) as console:
            assert console.command("avd snapshot get") == "clean"
    finally:
        restored.stop(client)


def test_a_wedged_emulator_is_restarted_and_boots(sdk, adb_server):
    client = adb_server.client
    (emulator,) = start_emulators("Wedgy", client=client, first_port=first_port(), boot_timeout=3, restarts=1)
    try:
        assert emulator.attempts == 2
        assert client.device(emulator.serial).shell("getprop sys.boot_completed").strip() == "1"
    finally:
        emulator.stop(client)


def test_an_emulator_that_never_boots_fails_after_its_restarts_and_leaves_nothing_running(sdk, adb_server):
    client = adb_server.client
    port = pick_ports(1, first=first_port())[0]
    with pytest.raises(EmulatorFailed, match=rf"emulator-{port} \(AVD Brick\) did not boot in 2 s, 2 attempt"):
        start_emulators("Brick", client=client, first_port=port, boot_timeout=2, restarts=1)
    assert device_state(client, f"emulator-{port}") is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
