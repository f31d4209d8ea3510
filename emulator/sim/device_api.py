"""The interface between the adb transport (`emulator.sim.adb`) and a simulated device (`emulator.sim.device`).

The transport knows the wire: CNXN/AUTH/OPEN/OKAY/WRTE/CLSE, shell v2 packets, sync. The device knows Android.
Each adb stream runs in its own thread, so a long-lived shell (logcat, the u2 agent's app_process) blocks only itself.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Protocol


class ShellIO(Protocol):
    """Where a shell command writes. For raw `shell:` and `exec:` stderr is merged into stdout."""

    def write(self, data: bytes) -> None: ...

    def write_err(self, data: bytes) -> None: ...

    @property
    def closed(self) -> bool:
        """The client closed the stream: a streaming command (logcat, app_process) should return."""

    def wait_closed(self, timeout: float) -> bool:
        """Block up to `timeout` seconds of real time for the client to close; True if it did."""


class DeviceBackend(Protocol):
    serial: str

    def banner(self) -> str:
        """The CNXN banner: 'device::ro.product.name=..;ro.product.model=..;ro.product.device=..;features=...'."""

    def requires_auth(self) -> bool:
        """True simulates an unauthorized device: the transport answers CNXN with AUTH and never accepts."""

    def shell(self, command: str, io: ShellIO) -> int:
        """Run one command line in the device's mini shell and return its exit code. May block (streaming)."""

    def storage_root(self) -> Path:
        """The device's own filesystem on the host. sync: paths resolve strictly inside it."""

    def connect_port(self, port: int) -> socket.socket | None:
        """tcp:<port>: a connected socket to a service on the device (9008 = the uiautomator2 agent), or None."""


class UiDevice(Protocol):
    """What the uiautomator2 agent (`emulator.sim.u2agent`) needs from the device it runs on.

    Every method takes the device lock itself; the agent never touches system internals.
    """

    def screen(self) -> Screen:
        """The current screen (windows bottom to top), as the renderers draw it."""

    def device_info(self) -> dict:
        """u2 deviceInfo: currentPackageName, displayWidth, displayHeight, displayRotation, displaySizeDpX,
        displaySizeDpY, productName, screenOn, sdkInt, naturalOrientation."""

    def tap(self, x: float, y: float, long: bool = False) -> None: ...

    def key(self, key: str | int) -> bool:
        """A key by u2 name (home, back, menu, enter, recent, power, volume_up, ...) or Android keycode."""

    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration: float) -> None: ...

    def set_text(self, x: float, y: float, text: str) -> bool:
        """Type into the editable node at (x, y); False if there is none."""

    def type_text(self, text: str, replace: bool = False) -> bool:
        """Text an input method commits into the focused field; False when no field has the focus."""

    def advance(self, seconds: float) -> None:
        """Let device time pass (timers fire). Waiting is the only thing that moves the virtual clock."""

    def now(self) -> float:
        """Device time, seconds since the epoch (virtual)."""


from emulator.sim.view import Screen
