"""The device side of the adb protocol over TCP, so the real adb server sees a simulated device as a real one."""

from emulator.sim.adb.transport import AdbDeviceServer

__all__ = ["AdbDeviceServer"]
