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
