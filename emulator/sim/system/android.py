"""AndroidSystem: the clock, packages, processes, activity stack, permission dialogs and logcat of one device.

Every method expects the caller to hold `lock` (SimDevice takes it); app callbacks run under it too.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.sim.app_api import AppPackage, SelfStart
from emulator.sim.system import system_ui
from emulator.sim.system.activities import ActivityStack, Task
from emulator.sim.system.clock import VirtualClock
from emulator.sim.system.keys import keycode
from emulator.sim.system.logcat import DEVICE_TZ, LogBuffers
from emulator.sim.system.packages import InstalledPackage, PackageManager, absolute_activity, short_component
from emulator.sim.system.permissions import group_of
from emulator.sim.system.processes import Process, ProcessTable
from emulator.sim.system.props import build_properties
from emulator.sim.view import Screen, ViewNode, Window

log = logging.getLogger(__name__)

SYSTEM_SERVER_PID = 871
SHELL_UID = 2000
LAUNCHER_UID = 10045
SETTINGS_UID = 1000
ALLOW_KEYS = {"allow", "allow_foreground", "allow_once", "allow_always"}
DENY_KEYS = {"deny", "deny_dont_ask"}
CRASH_FLAGS = 952745540  # ApplicationInfo flags of a typical release app, as am_crash prints them
# (oom_adj, proc_state) am_proc_died prints for a foreground and a cached process
FOREGROUND_DEATH = (0, 2)
BACKGROUND_DEATH = (900, 19)

DEFAULT_IME = "com.android.inputmethod.latin/.LatinIME"
UIAUTOMATOR_IME = "com.github.uiautomator/.AdbKeyboard"
KNOWN_IMES = {"com.github.uiautomator": UIAUTOMATOR_IME}  # packages whose APK declares an input method
DEFAULT_SETTINGS = {  # what `settings get` answers on a fresh device
    ("secure", "default_input_method"): DEFAULT_IME,
    ("secure", "enabled_input_methods"): DEFAULT_IME,
    ("system", "screen_brightness"): "102",
    ("system", "screen_brightness_mode"): "0",
    ("system", "screen_off_timeout"): "60000",
    ("global", "airplane_mode_on"): "0",
    ("global", "wifi_on"): "1",
    ("global", "adb_enabled"): "1",
}
DialogBuilder = Callable[..., Window]  # permission_dialog(skin, locale, app_label, group, request_index, size)
Handler = tuple[str, Any]  # who owns a window on screen: ("app", pkg) | ("perm", pkg) | ("error", dialog) | ...


@dataclass
class PermissionRequest:
    package: str
    pending: list[tuple[str, list[str]]]  # (group, permissions) still to ask, in order
    results: dict[str, bool]
    on_result: Callable[[dict[str, bool]], None]
    window: Window | None = None
    group: str = ""


@dataclass
class ErrorDialog:
    kind: str  # crash | anr
    package: str
    window: Window


@dataclass
class DisplayedScreen:
    screen: Screen
    handlers: list[Handler] = field(default_factory=list)  # parallel to screen.windows


class AppHostImpl:
    """The AppHost one running process gets. Calls after the process died are ignored (late timers, stale refs)."""

    def __init__(self, system: AndroidSystem, process: Process) -> None:
        self._system = system
        self._process = process
        self.package = process.package

    def _alive(self) -> bool:
        return self._process.alive

    def now(self) -> float:
        return self._system.clock.now()

    def locale(self) -> str:
        return self._system.locale

    def screen_size(self) -> tuple[int, int]:
        return self._system.width, self._system.height

    def schedule(self, delay: float, callback: Callable[[], None]) -> int:
        if not self._alive():
            return 0

        def fire() -> None:
            if self._alive():
                self._system.run_app_code(self.package, callback)

        return self._system.clock.schedule(delay, fire, owner=self)

    def cancel(self, timer_id: int) -> None:
        self._system.clock.cancel(timer_id)

    def prefs(self) -> dict:
        return self._system.packages.get(self.package).prefs

    def permission_granted(self, permission: str) -> bool:
        return self._system.packages.get(self.package).permissions.granted(permission)

    def should_show_rationale(self, permission: str) -> bool:
        return self._system.packages.get(self.package).permissions.should_show_rationale(permission)

    def request_permissions(self, permissions: list[str], on_result: Callable[[dict[str, bool]], None]) -> None:
        if self._alive():
            self._system.request_permissions(self.package, list(permissions), on_result)

    def finish(self) -> None:
        if self._alive():
            self._system.finish_app(self.package)

    def move_to_back(self) -> None:
        if self._alive():
            self._system.move_to_back(self.package)

    def crash(self, message: str) -> None:
        if self._alive():
            self._system.crash(self.package, message)

    def anr(self) -> None:
        if self._alive():
            self._system.anr(self.package)

    def start_app(self, package: str, activity: str = "", uri: str = "") -> bool:
        if not self._alive():
            return False
        uid = self._process.uid
        return self._system.launch(package, activity or None, caller_uid=uid, flags="0x10000000",
                                   action="android.intent.action.VIEW" if uri else "android.intent.action.MAIN",
                                   category="" if uri else "android.intent.category.LAUNCHER", data=uri)

    def open_app_settings(self) -> None:
        if self._alive():
            self._system.open_app_info(self.package, caller_uid=self._process.uid)

    def log(self, tag: str, message: str, level: str = "I") -> None:
        if self._alive():
            lvl = level if level in ("V", "D", "I", "W", "E", "F") else "I"
            self._system.log.write("main", self.now(), self._process.pid, self._process.uid, lvl, tag, message)

    def invalidate(self) -> None:
        """Windows are re-read on every screen() call, so there is nothing to refresh."""

    def toast(self, text: str) -> None:
        """The app shows a toast: accessibility services (the uiautomator2 server) see its text."""
        if self._alive():
            self._system.last_toast = str(text)


class AndroidSystem:
    def __init__(self, skin: Any, locale: str = "zh-CN", width: int = 720, height: int = 1600, density: int = 320,
                 serial: str = "emulator-5554", dialog_builder: DialogBuilder | None = None,
                 lock: threading.RLock | None = None) -> None:
        self.skin = skin
        self.locale = locale
        self.width, self.height, self.density = width, height, density
        self.serial = serial
        self.lock = lock or threading.RLock()
        self.clock = VirtualClock()
        self.log = LogBuffers(self.lock)
        self.packages = PackageManager(skin.package, locale)
        self.processes = ProcessTable()
        launcher = self.packages.get(system_ui.LAUNCHER)
        self.stack = ActivityStack(system_ui.LAUNCHER, launcher.manifest.launcher_activity)
        self.settings: dict[tuple[str, str], str] = dict(DEFAULT_SETTINGS)
        self.properties = build_properties(getattr(skin, "rom", "aosp"), int(getattr(skin, "sdk", 33)),
                                           str(getattr(skin, "android_version", "13")), locale, serial, density,
                                           dict(getattr(skin, "props", {}) or {}))
        self._dialog_builder = dialog_builder
        self._requests: dict[str, list[PermissionRequest]] = {}
        self._errors: list[ErrorDialog] = []
        self._self_start_tokens: dict[str, object] = {}
        self.u2_agent_running = False
        self.last_toast: str | None = None  # the last toast's text, as an accessibility service saw it

    # ---- logging -------------------------------------------------------------------------------------------
    def event(self, tag: str, body: str, pid: int = SYSTEM_SERVER_PID, uid: int = 1000) -> None:
        self.log.write("events", self.clock.now(), pid, uid, "I", tag, body)

    def main(self, tag: str, message: str, level: str = "I", pid: int = SYSTEM_SERVER_PID, uid: int = 1000) -> None:
        self.log.write("main", self.clock.now(), pid, uid, level, tag, message)

    # ---- packages ------------------------------------------------------------------------------------------
    def install(self, app: AppPackage) -> InstalledPackage:
        pkg = self.packages.install(app, self.clock.now())
        if self.processes.get(pkg.package):
            self._kill(pkg.package, "install")
        self.main("PackageManager", f"Package {pkg.package} codePath changed; installed as uid {pkg.uid}")
        self._arm_self_starts(pkg.package)
        return pkg

    def uninstall(self, package: str) -> None:
        self.packages.get(package)  # raises PackageError when missing
        self.force_stop(package, "uninstall pkg")
        self.stack.remove(package)
        self._cancel_self_starts(package)
        self.packages.uninstall(package)

    def clear_data(self, package: str) -> None:
        pkg = self.packages.get(package)
        self.force_stop(package, "clear data")
        pkg.prefs.clear()
        pkg.permissions.reset()

    def label(self, package: str) -> str:
        pkg = self.packages.find(package)
        return pkg.manifest.label if pkg else package

    # ---- processes -----------------------------------------------------------------------------------------
    def _start_process(self, pkg: InstalledPackage, reason: str, component: str) -> Process:
        proc = self.processes.start(pkg.package, pkg.uid, self.clock.uptime(), reason)
        self._cancel_self_starts(pkg.package)
        self.event("am_proc_start", f"[0,{proc.pid},{pkg.uid},{pkg.package},{reason},{{{component}}}]")
        self.main("ActivityManager", f"Start proc {proc.pid}:{pkg.package}/u0a{pkg.uid - 10000} for {reason} "
                                     f"{{{component}}}")
        host = AppHostImpl(self, proc)
        proc.host = host
        if pkg.app is not None:
            try:
                proc.runtime = pkg.app.create(host)
            except Exception as exc:  # a broken app model must not take the device down
                log.exception("app %s failed to start", pkg.package)
                self.crash(pkg.package, f"{type(exc).__name__}: {exc}")
        return proc

    def run_app_code(self, package: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Call into an app runtime; an exception in the app is an app crash, as on Android."""
        try:
            return fn(*args)
        except Exception as exc:
            log.exception("app %s raised", package)
            if self.processes.get(package):
                self.crash(package, f"{type(exc).__name__}: {exc}")
            return None

    def _kill(self, package: str, how: str, foreground: bool | None = None) -> Process | None:
        """Remove the process. how: died | force | crash | anr | install | kill."""
        proc = self.processes.get(package)
        if proc is None:
            return None
        top = self.stack.top().package == package if foreground is None else foreground
        self.processes.remove(package)
        self.clock.cancel_owner(proc.host)
        self._requests.pop(package, None)
        if how in ("died", "crash", "anr"):
            adj, state = FOREGROUND_DEATH if top else BACKGROUND_DEATH
            self.event("am_proc_died", f"[0,{proc.pid},{package},{adj},{state}]")
            self.main("ActivityManager", f"Process {package} (pid {proc.pid}) has died: {'fg  TOP' if top else 'cch EMPTY'}")
        self._arm_self_starts(package)
        return proc

    def force_stop(self, package: str, reason: str = "from pid 0", caller_pid: int = 0) -> None:
        pkg = self.packages.get(package)
        why = f"from pid {caller_pid}" if reason == "from pid 0" else reason
        self.main("ActivityManager", f"Force stopping {package} appid={pkg.uid} user=0: {why}")
        proc = self.processes.get(package)
        if proc is not None:
            adj = 0 if self.stack.top().package == package else 900
            self.main("ActivityManager", f"Killing {proc.pid}:{package}/u0a{pkg.uid - 10000} (adj {adj}): "
                                         f"stop {package} due to {why}")
            self.event("am_kill", f"[0,{proc.pid},{package},{adj},stop {package} due to {why}]")
        self._errors = [e for e in self._errors if e.package != package]
        old = self._top_package()
        self.stack.remove(package)
        self._kill(package, "force")
        self._after_stack_change(old)

    def kill_background(self, package: str) -> None:
        """am kill: only a process that is not in the foreground."""
        proc = self.processes.get(package)
        if proc is None or self.stack.top().package == package:
            return
        self.event("am_kill", f"[0,{proc.pid},{package},900,kill background]")
        self._kill(package, "kill")

    # ---- self-starts ---------------------------------------------------------------------------------------
    def _cancel_self_starts(self, package: str) -> None:
        token = self._self_start_tokens.pop(package, None)
        if token is not None:
            self.clock.cancel_owner(token)

    def _arm_self_starts(self, package: str) -> None:
        pkg = self.packages.find(package)
        if pkg is None or pkg.system or not pkg.manifest.self_starts or self.processes.get(package):
            return
        self._cancel_self_starts(package)
        token = object()
        self._self_start_tokens[package] = token
        for spec in pkg.manifest.self_starts:
            delay = spec.first_after if spec.first_after > 0 else spec.every
            self.clock.schedule(delay, lambda s=spec: self._self_start(package, s), owner=token)

    def _self_start(self, package: str, spec: SelfStart) -> None:
        pkg = self.packages.find(package)
        if pkg is None or self.processes.get(package):
            return
        component = spec.component or short_component(package, pkg.launcher_activity)
        proc = self._start_process(pkg, spec.reason, component)
        if proc.runtime is not None:
            self.run_app_code(package, proc.runtime.on_start, spec.reason)

    # ---- activities ----------------------------------------------------------------------------------------
    def _top_package(self) -> str:
        return self.stack.top().package

    def _notify_foreground(self, package: str, foreground: bool) -> None:
        proc = self.processes.get(package)
        if proc is not None and proc.runtime is not None:
            self.run_app_code(package, proc.runtime.on_foreground, foreground)

    def _after_stack_change(self, old_top: str) -> None:
        new_top = self._top_package()
        if new_top != old_top:
            self._notify_foreground(old_top, False)
            if self._top_package() == new_top:
                self._notify_foreground(new_top, True)

    def launch(self, package: str, activity: str | None = None, caller_uid: int = SHELL_UID,
               flags: str = "0x10200000", action: str = "android.intent.action.MAIN",
               category: str = "android.intent.category.LAUNCHER", data: str = "") -> bool:
        """Start an activity of `package` in front (monkey, am start, the launcher, an app's startActivity)."""
        pkg = self.packages.find(package)
        if pkg is None:
            return False
        if package == system_ui.LAUNCHER:
            self.go_home()
            return True
        act = activity or pkg.launcher_activity
        if act.startswith("."):
            act = package + act
        if not act or not self.declares_activity(pkg, act):
            return False
        parts = [f"act={action}"] if action else []
        if category:
            parts.append(f"cat=[{category}]")
        if data:
            parts.append(f"dat={data[:200]}")
        parts += [f"flg={flags}", f"cmp={short_component(package, act)}"]
        self.main("ActivityTaskManager", f"START u0 {{{' '.join(parts)}}} from uid {caller_uid}")
        old = self._top_package()
        if pkg.app is None:  # a system package without a UI of its own: Settings opens its app list page
            if package == system_ui.SETTINGS:
                self.stack.open(package, system_ui.APP_INFO_ACTIVITY, target="")
                self._after_stack_change(old)
            return True
        proc = self.processes.get(package)
        if proc is None:
            proc = self._start_process(pkg, "activity", short_component(package, act))
        _task, created = self.stack.open(package, act)
        if activity and act != pkg.launcher_activity and proc.runtime is not None and hasattr(proc.runtime, "open_activity"):
            # an explicit component (am start -n pkg/.Some): that activity starts, on top of the task if one exists
            self.run_app_code(package, proc.runtime.open_activity, act)
        if created and proc.runtime is not None:
            self.run_app_code(package, proc.runtime.on_start, "activity")
        self._after_stack_change(old)
        return True

    @staticmethod
    def declares_activity(pkg: InstalledPackage, activity: str) -> bool:
        declared = pkg.manifest.activities
        if not declared:
            return True
        return activity in {absolute_activity(pkg.package, a) for a in declared}

    def go_home(self) -> None:
        old = self._top_package()
        self.stack.go_home()
        self._after_stack_change(old)

    def move_to_back(self, package: str) -> None:
        old = self._top_package()
        self.stack.move_to_back(package)
        self._after_stack_change(old)

    def finish_app(self, package: str) -> None:
        old = self._top_package()
        self.stack.remove(package)
        self._kill(package, "died", foreground=old == package)
        self._after_stack_change(old)

    def open_app_info(self, package: str, caller_uid: int) -> None:
        self.main("ActivityTaskManager", "START u0 {act=android.settings.APPLICATION_DETAILS_SETTINGS "
                                         f"dat=package:{package} flg=0x10000000 "
                                         f"cmp={short_component(system_ui.SETTINGS, system_ui.APP_INFO_ACTIVITY)}}} "
                                         f"from uid {caller_uid}")
        old = self._top_package()
        self.stack.open(system_ui.SETTINGS, system_ui.APP_INFO_ACTIVITY, target=package)
        self._after_stack_change(old)

    # ---- crashes and ANRs ----------------------------------------------------------------------------------
    def crash(self, package: str, message: str) -> None:
        proc = self.processes.get(package)
        if proc is None:
            return
        message = " ".join(str(message).split())[:300]
        exc, _, msg = message.partition(": ") if ": " in message else ("java.lang.RuntimeException", "", message)
        if "." not in exc:
            exc = "java.lang.RuntimeException"
            msg = message
        for line in ("FATAL EXCEPTION: main", f"Process: {package}, PID: {proc.pid}", f"{exc}: {msg}",
                     f"\tat {package}.MainActivity.onCreate(MainActivity.java:42)"):
            self.log.write("main", self.clock.now(), proc.pid, proc.uid, "E", "AndroidRuntime", line)
        self.event("am_crash", f"[{proc.pid},0,{package},{CRASH_FLAGS},{exc},{msg},MainActivity.java,42,0]")
        self.main("ActivityManager", f"Showing crash dialog for package {package} u0", level="W")
        old = self._top_package()
        self.stack.remove(package)
        self._kill(package, "crash", foreground=old == package)
        self._errors.append(ErrorDialog("crash", package, system_ui.error_dialog(
            "crash", self.label(package), package, self.width, self.height, self.locale)))
        self._after_stack_change(old)

    def anr(self, package: str) -> None:
        proc = self.processes.get(package)
        if proc is None:
            return
        reason = "Input dispatching timed out (Waiting to send non-key event because the touched window has not " \
                 "finished processing certain input events that were delivered to it over 500.0ms ago.)"
        self.event("am_anr", f"[0,{proc.pid},{package},{CRASH_FLAGS},{reason}]")
        task = self.stack.find(package)
        where = f" ({short_component(package, self._activity_of(task))})" if task else ""
        self.main("ActivityManager", f"ANR in {package}{where}", level="E")
        self.main("ActivityManager", f"PID: {proc.pid}", level="E")
        self.main("ActivityManager", f"Reason: {reason}", level="E")
        self._errors.append(ErrorDialog("anr", package, system_ui.error_dialog(
            "anr", self.label(package), package, self.width, self.height, self.locale)))

    # ---- permissions ---------------------------------------------------------------------------------------
    def request_permissions(self, package: str, permissions: list[str],
                            on_result: Callable[[dict[str, bool]], None]) -> None:
        pkg = self.packages.get(package)
        proc = self.processes.get(package)
        perms = pkg.permissions
        # As on Android, every requestPermissions() starts GrantPermissionsActivity, even when the system then
        # answers without a dialog (granted already, or USER_FIXED): this START line is what a tool can see.
        comp = short_component(self.skin.package, self.skin.activity)
        self.main("ActivityTaskManager", "START u0 {act=android.content.pm.action.REQUEST_PERMISSIONS "
                                         f"pkg={self.skin.package} cmp={comp}}} from uid {pkg.uid}")
        results: dict[str, bool] = {}
        groups: dict[str, list[str]] = {}
        for perm in permissions:
            group = group_of(perm)
            if group is None:  # a normal (install-time) permission, or one this system does not know
                results[perm] = True
                continue
            groups.setdefault(group, []).append(perm)
        pending: list[tuple[str, list[str]]] = []
        for group, members in groups.items():
            siblings = [p for p, st in perms.states.items() if group_of(p) == group and st.granted]
            if all(perms.granted(p) for p in members) or siblings:
                for p in members:
                    perms.grant(p)
                    results[p] = True
            elif perms.group_fixed(group):
                for p in members:
                    perms.deny(p, fixed=True)
                    results[p] = False
                self.main("GrantPermissionsViewModel",
                          f"Auto-denied {','.join(members)} for {package} (uid {pkg.uid}, pid "
                          f"{proc.pid if proc else 0}): group {group} is USER_FIXED, no dialog shown")
            else:
                pending.append((group, members))
        if not pending:
            self.run_app_code(package, on_result, results)
            return
        request = PermissionRequest(package, pending, results, on_result)
        queue = self._requests.setdefault(package, [])
        queue.append(request)
        if len(queue) == 1:
            self._show_next_group(request)

    def _build_dialog(self, package: str, group: str) -> Window:
        pkg = self.packages.get(package)
        index = pkg.permissions.dialogs_shown.get(group, 0) + 1
        pkg.permissions.dialogs_shown[group] = index
        builder = self._dialog_builder
        if builder is None:
            from emulator.sim.skins import permission_dialog as builder  # the skins helper's module
        return builder(self.skin, self.locale, pkg.manifest.label, group, index, (self.width, self.height))

    def _show_next_group(self, request: PermissionRequest) -> None:
        group, members = request.pending[0]
        request.group = group
        request.window = self._build_dialog(request.package, group)
        self.main("GrantPermissionsViewModel", f"Showing {group} dialog for {request.package}: {','.join(members)}")

    def current_request(self, package: str) -> PermissionRequest | None:
        queue = self._requests.get(package)
        return queue[0] if queue else None

    def answer_permission(self, package: str, key: str) -> None:
        """The user acted on the permission dialog of `package`: an allow/deny key, the checkbox, or 'back'."""
        request = self.current_request(package)
        if request is None or request.window is None:
            return
        pkg = self.packages.get(package)
        group, members = request.pending[0]
        if key == "dont_ask_checkbox":
            for node in request.window.root.walk():
                if node.key == "dont_ask_checkbox":
                    node.checked = not node.checked
            return
        if key in ALLOW_KEYS:
            for p in members:
                pkg.permissions.grant(p)
                request.results[p] = True
            verdict = "GRANTED"
        elif key in DENY_KEYS or key == "back":
            # What the dialog offered decides: "deny & don't ask" fixes; with a "don't ask again" checkbox
            # (Android 6-9 style) its state decides; otherwise a second denial fixes (Android 11+).
            boxes = [n for n in request.window.root.walk() if n.key == "dont_ask_checkbox"]
            if key == "deny_dont_ask":
                fixed = True
            elif boxes:
                fixed = any(n.checked for n in boxes)
            else:
                fixed = pkg.permissions.group_user_set(group)
            for p in members:
                pkg.permissions.deny(p, fixed=fixed)
                request.results[p] = False
            verdict = "DENIED_DO_NOT_ASK_AGAIN" if fixed else "DENIED"
        else:
            return
        self.main("GrantPermissionsViewModel", f"{package} {group} result={verdict} by {key}: {','.join(members)}")
        request.pending.pop(0)
        if request.pending:
            self._show_next_group(request)
            return
        queue = self._requests.get(package, [])
        if queue and queue[0] is request:
            queue.pop(0)
        self.run_app_code(package, request.on_result, request.results)
        nxt = self.current_request(package)
        if nxt is not None and nxt.window is None:
            self._show_next_group(nxt)

    # ---- what is on screen ---------------------------------------------------------------------------------
    def _activity_of(self, task: Task | None) -> str:
        if task is None:
            return ""
        proc = self.processes.get(task.package)
        if proc is not None and proc.runtime is not None and task.package not in (system_ui.LAUNCHER,
                                                                                   system_ui.SETTINGS):
            activity = self.run_app_code(task.package, proc.runtime.activity)
            if activity:
                return activity if not activity.startswith(".") else task.package + activity
        return task.activity

    def resumed(self) -> tuple[str, str, Task]:
        """(package, activity, task) of the resumed activity: the permission dialog counts, as on Android."""
        task = self.stack.top()
        if self.current_request(task.package) is not None:
            return self.skin.package, self.skin.activity, task
        return task.package, self._activity_of(task), task

    def focused_window(self) -> str:
        """What `dumpsys window` prints inside Window{...} for mCurrentFocus."""
        if self._errors:
            return self._errors[-1].window.title
        package, activity, _ = self.resumed()
        return f"{package}/{activity}"

    def display(self) -> DisplayedScreen:
        task = self.stack.top()
        windows: list[Window] = []
        handlers: list[Handler] = []
        if task is self.stack.home:
            icons = [system_ui.LauncherIcon(p.package, p.manifest.label) for p in self.packages.apps()]
            windows.append(system_ui.launcher_window(icons, self.width, self.height, self.locale))
            handlers.append(("launcher", None))
        elif task.package == system_ui.SETTINGS:
            windows.append(self._settings_window(task))
            handlers.append(("settings", task.target))
        else:
            proc = self.processes.get(task.package)
            if proc is not None and proc.runtime is not None:
                app_windows = self.run_app_code(task.package, proc.runtime.windows) or []
                for w in app_windows:
                    windows.append(w)
                    handlers.append(("app", task.package))
        request = self.current_request(task.package)
        if request is not None and request.window is not None and self.processes.get(task.package):
            windows.append(request.window)
            handlers.append(("perm", task.package))
        for dialog in self._errors:
            windows.append(dialog.window)
            handlers.append(("error", dialog))
        clock = datetime.fromtimestamp(self.clock.now(), DEVICE_TZ).strftime("%H:%M")
        screen = Screen(self.width, self.height, windows, status_bar_height=system_ui.STATUS_BAR, clock_text=clock)
        return DisplayedScreen(screen, handlers)

    def _settings_window(self, task: Task) -> Window:
        target = self.packages.find(task.target) if task.target else None
        if target is None:
            return system_ui.app_info_window(self.label(system_ui.SETTINGS), system_ui.SETTINGS, "13", [],
                                             self.width, self.height, self.locale)
        allowed = sorted({g for p, st in target.permissions.states.items() if st.granted and (g := group_of(p))})
        return system_ui.app_info_window(target.manifest.label, target.package, target.manifest.version_name,
                                         allowed, self.width, self.height, self.locale)

    # ---- input ---------------------------------------------------------------------------------------------
    def tap(self, x: float, y: float, long: bool = False) -> None:
        shown = self.display()
        hit = shown.screen.hit(x, y)
        if hit is None:
            return
        window, node = hit
        kind, owner = shown.handlers[shown.screen.windows.index(window)]
        self._route_tap(kind, owner, node, long)

    def _route_tap(self, kind: str, owner: Any, node: ViewNode, long: bool) -> None:
        key = node.key
        if kind == "app":
            proc = self.processes.get(owner)
            if proc is not None and proc.runtime is not None:
                self.run_app_code(owner, proc.runtime.long_tap if long else proc.runtime.tap, key)
        elif kind == "perm":
            self.answer_permission(owner, key)
        elif kind == "launcher" and key.startswith("launch:"):
            self.launch(key.split(":", 1)[1], caller_uid=LAUNCHER_UID)
        elif kind == "settings":
            self._settings_tap(owner, key)
        elif kind == "error":
            self._error_tap(owner, key)

    def _settings_tap(self, target: str, key: str) -> None:
        if key == "back":
            self.back()
        elif key == "force_stop" and target and self.packages.find(target):
            self.force_stop(target, "from pid 0", caller_pid=0)
        elif key == "open" and target:
            self.launch(target, caller_uid=SETTINGS_UID)

    def _error_tap(self, dialog: ErrorDialog, key: str) -> None:
        if dialog not in self._errors:
            return
        if key in ("close", "app_info", "wait"):
            self._errors.remove(dialog)
        if key == "close" and dialog.kind == "anr":
            proc = self.processes.get(dialog.package)
            if proc is not None:
                self.event("am_kill", f"[0,{proc.pid},{dialog.package},0,anr]")
                old = self._top_package()
                self.stack.remove(dialog.package)
                self._kill(dialog.package, "anr")
                self._after_stack_change(old)
        elif key == "app_info" and self.packages.find(dialog.package):
            self.open_app_info(dialog.package, caller_uid=1000)

    def back(self) -> None:
        if self._errors:
            self._errors.pop()
            return
        task = self.stack.top()
        if self.current_request(task.package) is not None and self.processes.get(task.package):
            self.answer_permission(task.package, "back")
            return
        if task is self.stack.home:
            return
        if task.package != system_ui.SETTINGS:
            proc = self.processes.get(task.package)
            if proc is not None and proc.runtime is not None and self.run_app_code(task.package, proc.runtime.back):
                return
        # The root activity finishes: the task goes away, the process stays cached (as on Android).
        old = self._top_package()
        self.stack.remove(task.package)
        self._after_stack_change(old)

    def set_text(self, x: float, y: float, text: str) -> bool:
        shown = self.display()
        for window, (kind, owner) in reversed(list(zip(shown.screen.windows, shown.handlers))):
            for node in reversed(list(window.root.walk())):
                if "EditText" in node.cls and node.contains(x, y) and node.enabled:
                    if kind != "app":
                        return False
                    proc = self.processes.get(owner)
                    if proc is None or proc.runtime is None:
                        return False
                    self.run_app_code(owner, proc.runtime.set_text, node.key, text)
                    return True
            if window.modal:
                return False
        return False

    def focused_edit(self) -> tuple[str, ViewNode] | None:
        """(package, node) of the focused EditText of the top app window, where typed text goes; None if none."""
        shown = self.display()
        for window, (kind, owner) in reversed(list(zip(shown.screen.windows, shown.handlers))):
            if kind == "app" and window.title != "Toast":
                node = next((n for n in window.root.walk() if "EditText" in n.cls and n.enabled and n.focused), None)
                if node is not None:
                    return owner, node
            if window.modal:
                return None
        return None

    def type_text(self, text: str, replace: bool = False) -> bool:
        """`input text`, an IME's commitText: into the focused EditText (nothing focused: the text goes nowhere)."""
        found = self.focused_edit()
        if found is None:
            return False
        package, node = found
        proc = self.processes.get(package)
        if proc is None or proc.runtime is None:
            return False
        if hasattr(proc.runtime, "type_into"):
            return bool(self.run_app_code(package, proc.runtime.type_into, node.key, text, replace))
        self.run_app_code(package, proc.runtime.set_text, node.key, text if replace else node.text + text)
        return True

    # ---- input methods ---------------------------------------------------------------------------------------
    def input_methods(self) -> list[str]:
        """The IME ids installed: the system keyboard, and the IMEs of installed packages that declare one."""
        found = [DEFAULT_IME]
        for package, ime in KNOWN_IMES.items():
            if self.packages.find(package) is not None:
                found.append(ime)
        return found

    def current_ime(self) -> str:
        return self.settings.get(("secure", "default_input_method"), DEFAULT_IME)

    def ime_broadcast(self, action: str, extras: dict[str, str]) -> tuple[int, str] | None:
        """An ADB_KEYBOARD_* broadcast to uiautomator2's AdbKeyboard: (result code, data), or None when no
        receiver takes it (not installed, or not the current input method)."""
        if UIAUTOMATOR_IME not in self.input_methods() or self.current_ime() != UIAUTOMATOR_IME:
            return None
        if action == "ADB_KEYBOARD_INPUT_TEXT":
            try:
                text = base64.b64decode(extras.get("text", ""), validate=False).decode("utf-8", "replace")
            except (ValueError, binascii.Error):
                return 0, "bad base64"
            return (-1, "success") if self.type_text(text) else (0, "no focused input")
        if action in ("ADB_KEYBOARD_SET_TEXT",):
            try:
                text = base64.b64decode(extras.get("text", ""), validate=False).decode("utf-8", "replace")
            except (ValueError, binascii.Error):
                return 0, "bad base64"
            return (-1, "success") if self.type_text(text, replace=True) else (0, "no focused input")
        if action == "ADB_KEYBOARD_CLEAR_TEXT":
            return (-1, "success") if self.type_text("", replace=True) else (0, "no focused input")
        if action in ("ADB_KEYBOARD_HIDE", "ADB_KEYBOARD_SHOW", "ADB_KEYBOARD_EDITOR_CODE",
                      "ADB_KEYBOARD_SMART_ENTER", "ADB_KEYBOARD_INPUT_KEYCODE"):
            return -1, "success"
        return None

    def swipe(self, x1: float, y1: float, x2: float, y2: float) -> None:
        """A finger swipe: 'up' means the finger moved up (the content scrolls towards its end)."""
        dx, dy = x2 - x1, y2 - y1
        if abs(dx) < 10 and abs(dy) < 10:
            self.tap(x1, y1)
            return
        direction = ("left" if dx < 0 else "right") if abs(dx) > abs(dy) else ("up" if dy < 0 else "down")
        shown = self.display()
        if not shown.handlers or shown.handlers[-1][0] != "app":
            return
        package = shown.handlers[-1][1]
        proc = self.processes.get(package)
        if proc is None or proc.runtime is None:
            return
        scroller = self.scroller_at(x1, y1, shown) if abs(dy) > abs(dx) else None
        if scroller is not None and hasattr(proc.runtime, "scroll"):
            # The content follows the finger: a swipe up moves it up, towards its end.
            self.run_app_code(package, proc.runtime.scroll, scroller.key, -dy)
            return
        self.run_app_code(package, proc.runtime.swipe, direction)

    def pinch(self, start1, start2, end1, end2) -> None:
        """A two-finger gesture: the app view under the fingers' starting midpoint scales by end / start distance."""
        mx, my = (start1[0] + start2[0]) / 2, (start1[1] + start2[1]) / 2
        before = math.dist(start1, start2)
        if before < 1:
            return
        shown = self.display()
        if not shown.handlers or shown.handlers[-1][0] != "app":
            return
        package = shown.handlers[-1][1]
        proc = self.processes.get(package)
        if proc is None or proc.runtime is None or not hasattr(proc.runtime, "pinch"):
            return
        target = None
        for node in shown.screen.windows[-1].root.walk():
            if node.key and node.contains(mx, my):
                target = node
        if target is not None:
            self.run_app_code(package, proc.runtime.pinch, target.key, math.dist(end1, end2) / before)

    def scroller_at(self, x: float, y: float, shown: DisplayedScreen | None = None) -> ViewNode | None:
        """The innermost scrollable node of an app window under (x, y), as a touch there would reach it."""
        shown = shown or self.display()
        for window, (kind, _owner) in reversed(list(zip(shown.screen.windows, shown.handlers))):
            found = None
            for node in window.root.walk():
                if node.scrollable and node.key and node.contains(x, y):
                    found = node
            if found is not None:
                return found if kind == "app" else None
            if window.modal:
                return None
        return None

    def scroll_node(self, node: ViewNode, dy: float) -> int:
        """Scroll a scrollable node of the top app by dy px (positive: towards the end); the px it moved."""
        shown = self.display()
        if not shown.handlers or shown.handlers[-1][0] != "app":
            return 0
        package = shown.handlers[-1][1]
        proc = self.processes.get(package)
        if proc is None or proc.runtime is None or not hasattr(proc.runtime, "scroll"):
            return 0
        return int(self.run_app_code(package, proc.runtime.scroll, node.key, dy) or 0)

    def key(self, key: str | int) -> bool:
        """A key press. Home and back act; keys with no effect on the simulated screens are accepted and ignored."""
        code = keycode(key)
        if code is None:
            return False
        if code == 3:
            self.go_home()
        elif code == 4:
            self.back()
        elif code == 111 and self._errors:
            self._errors.pop()
        return True

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def foreground_package(self) -> str:
        return self.resumed()[0]
