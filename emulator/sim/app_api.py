"""The narrow interface between the simulated Android system and the apps that run on it.

The system (`emulator.sim.system`) is Android: processes with pids, the activity stack, runtime permissions with
Android 11+ semantics, the permission dialog, logcat, the virtual clock. An app (`emulator.zoo.runtime`) is one
running process of a zoo app model: its screens, its own dialogs (consent, rationale, ads), its timers and how it
reacts to a refusal. Neither reaches into the other: the system calls `AppRuntime`, the app calls `AppHost`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from emulator.sim.view import Window


@dataclass(frozen=True)
class SelfStart:
    """The app's process is started by the system while not in use (a broadcast receiver, a job, an alarm)."""

    every: float  # seconds of device time between starts while the process is dead
    reason: str = "broadcast"  # am_proc_start type: broadcast | service | provider | content provider ...
    component: str = ""  # e.g. "com.example/.PushReceiver"
    first_after: float = 0.0  # seconds after the app was last stopped before the first start


@dataclass(frozen=True)
class AppManifest:
    """What the package manager knows without running the app."""

    package: str
    label: str
    version_name: str = "1.0.0"
    version_code: int = 1
    permissions: tuple[str, ...] = ()  # runtime permissions it declares, e.g. "android.permission.CAMERA"
    launcher_activity: str = ".MainActivity"  # relative (".Main") or absolute class name
    target_sdk: int = 33
    self_starts: tuple[SelfStart, ...] = field(default_factory=tuple)
    # every activity the manifest declares (relative or absolute); empty = not known, any name starts
    activities: tuple[str, ...] = ()


class AppHost(Protocol):
    """What the system offers a running app process."""

    package: str

    def now(self) -> float:
        """Device time in seconds (virtual on the simulator)."""

    def locale(self) -> str:
        """'zh-CN' or 'en-US'."""

    def screen_size(self) -> tuple[int, int]:
        """(width, height) in pixels."""

    def schedule(self, delay: float, callback: Callable[[], None]) -> int:
        """Run `callback` when the clock passes now + delay. Timers die with the process. Returns a timer id."""

    def cancel(self, timer_id: int) -> None: ...

    def prefs(self) -> dict:
        """The app's private data (SharedPreferences): survives process death, wiped by `pm clear` and uninstall.
        The app mutates the returned dict in place; values must be JSON-like."""

    def permission_granted(self, permission: str) -> bool: ...

    def should_show_rationale(self, permission: str) -> bool:
        """Android's shouldShowRequestPermissionRationale: denied once (USER_SET) and not USER_FIXED."""

    def request_permissions(self, permissions: list[str], on_result: Callable[[dict[str, bool]], None]) -> None:
        """ActivityCompat.requestPermissions: shows the system dialog per permission group, one after another.
        Groups already granted are granted silently; USER_FIXED groups are denied silently (no dialog).
        `on_result` is called once with every requested permission -> granted."""

    def finish(self) -> None:
        """The app closes itself: its activities finish and its process exits (am_proc_died); launcher in front."""

    def move_to_back(self) -> None:
        """moveTaskToBack: the launcher comes to the front, the process stays alive."""

    def crash(self, message: str) -> None:
        """An uncaught exception: am_crash, the process dies, the system shows "<label> keeps stopping"."""

    def anr(self) -> None:
        """The main thread hangs: am_anr and the "isn't responding" system dialog."""

    def start_app(self, package: str, activity: str = "", uri: str = "") -> bool:
        """Start another app's launcher (or given) activity, in front. Logged as ActivityTaskManager START ... from
        uid <this app's uid>. False if no such package is installed."""

    def open_app_settings(self) -> None:
        """The 'go to settings' intent: Settings' app-info page for this package comes to the front."""

    def log(self, tag: str, message: str, level: str = "I") -> None:
        """A line in logcat's main buffer from this process."""

    def invalidate(self) -> None:
        """The app's windows changed outside a system callback (a timer fired); the system re-reads windows()."""


class AppRuntime(Protocol):
    """One running process of an app."""

    def on_start(self, reason: str) -> None:
        """The process started. reason 'activity' = launched into the foreground (launcher, monkey, am start);
        other reasons (broadcast, service) = started in the background with no UI."""

    def on_foreground(self, foreground: bool) -> None:
        """The app's task came to the front (True) or went behind another app or the launcher (False)."""

    def activity(self) -> str:
        """The resumed activity's class name (absolute), for dumpsys."""

    def windows(self) -> list[Window]:
        """The app's windows bottom to top (activity content first, its own dialogs above)."""

    def tap(self, key: str) -> None:
        """The user tapped the node with this `ViewNode.key`."""

    def long_tap(self, key: str) -> None: ...

    def set_text(self, key: str, text: str) -> None: ...

    def back(self) -> bool:
        """The back key. True if the app consumed it; False lets the system finish the activity (app exits)."""

    def swipe(self, direction: str) -> None:
        """'up' | 'down' | 'left' | 'right' over the app's content."""


class AppPackage(Protocol):
    """An installed app: its manifest, and a factory for its process."""

    manifest: AppManifest

    def create(self, host: AppHost) -> AppRuntime: ...
