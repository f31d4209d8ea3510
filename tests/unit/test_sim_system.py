"""The simulated Android system as a user of adb sees it: dumpsys/ps/getprop formats, permission semantics,
process lifecycle in logcat, the virtual clock, self-starts and determinism."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace

from emulator.sim.app_api import AppManifest, SelfStart
from emulator.sim.device import SimDevice
from emulator.sim.view import ViewNode, Window

PKG = "com.demo.app"
CAMERA = "android.permission.CAMERA"
FINE = "android.permission.ACCESS_FINE_LOCATION"
SKIN = SimpleNamespace(package="com.android.permissioncontroller",
                       activity="com.android.permissioncontroller.permission.ui.GrantPermissionsActivity",
                       sdk=33, android_version="13", rom="aosp", props={}, deny_dont_ask_on_second=False)
LAUNCH = f"monkey -p {PKG} -c android.intent.category.LAUNCHER 1"


def dialog_standin(skin, locale, label, group, index, size, checkbox_from: int | None = None) -> Window:
    """A permission dialog with the keys the skins module uses: allow/deny, plus a checkbox if asked."""
    keys = ["allow", "deny"] + (["dont_ask_checkbox"] if checkbox_from and index >= checkbox_from else [])
    nodes = [ViewNode(cls="android.widget.Button", bounds=(0, 600 + 100 * k, 720, 690 + 100 * k),
                      text=f"{key}:{group}:{index}", clickable=True, checkable=key.endswith("checkbox"), key=key)
             for k, key in enumerate(keys)]
    return Window(skin.package, skin.activity, ViewNode(bounds=(0, 500, 720, 1000), children=nodes), dim_behind=True,
                  modal=True)


class DemoRuntime:
    """Asks for the camera on tap 'ask'; optionally quits when refused; 'crash' and 'anr' buttons."""

    def __init__(self, host, quit_on_refusal: bool) -> None:
        self.host, self.quit_on_refusal = host, quit_on_refusal
        self.results: list[dict] = []
        self.fired: list[str] = []

    def on_start(self, reason: str) -> None:
        self.host.log("Demo", f"on_start {reason}")
        if reason != "activity":
            self.host.schedule(1, self.host.finish)

    def on_foreground(self, foreground: bool) -> None:
        pass

    def activity(self) -> str:
        return f"{PKG}.MainActivity"

    def windows(self) -> list[Window]:
        buttons = [ViewNode(cls="android.widget.Button", bounds=(0, 100 * k, 720, 100 * k + 90), text=key,
                            clickable=True, key=key) for k, key in enumerate(("ask", "crash", "anr", "timers"))]
        return [Window(PKG, self.activity(), ViewNode(bounds=(0, 0, 720, 1600), children=buttons))]

    def tap(self, key: str) -> None:
        if key == "ask":
            self.host.request_permissions([CAMERA], self.on_result)
        elif key == "crash":
            self.host.crash("java.lang.IllegalStateException: boom")
        elif key == "anr":
            self.host.anr()
        elif key == "timers":
            for delay, name in ((3, "c"), (1, "a"), (2, "b"), (1, "a2")):
                self.host.schedule(delay, lambda n=name: self.fired.append(f"{n}@{self.host.now() - 1767225600:g}"))

    def on_result(self, result: dict) -> None:
        self.results.append(result)
        if self.quit_on_refusal and not all(result.values()):
            self.host.finish()

    def long_tap(self, key: str) -> None: ...

    def set_text(self, key: str, text: str) -> None: ...

    def back(self) -> bool:
        return False

    def swipe(self, direction: str) -> None: ...


@dataclass
class DemoApp:
    manifest: AppManifest
    quit_on_refusal: bool = False

    def create(self, host) -> DemoRuntime:
        self.runtime = DemoRuntime(host, self.quit_on_refusal)
        return self.runtime


def make_device(tmp_path, quit_on_refusal=False, self_starts=(), checkbox_from=None) -> tuple[SimDevice, DemoApp]:
    app = DemoApp(AppManifest(PKG, "Demo", version_name="2.3.1", version_code=231, permissions=(CAMERA, FINE),
                              self_starts=tuple(self_starts)), quit_on_refusal)

    def builder(*args):
        return dialog_standin(*args, checkbox_from=checkbox_from)

    return SimDevice("emulator-5554", skin=SKIN, apps=[app], storage_dir=tmp_path, permission_dialog=builder), app


def tap_key(device: SimDevice, key: str) -> None:
    for window in reversed(device.screen().windows):
        for node in window.root.walk():
            if node.key == key:
                x1, y1, x2, y2 = node.bounds
                device.tap((x1 + x2) / 2, (y1 + y2) / 2)
                return
    raise AssertionError(f"no node {key} on screen")


def permission_line(device: SimDevice, perm: str) -> str:
    out = device.run(f"dumpsys package {PKG}").text
    return next(line.strip() for line in out.splitlines() if line.strip().startswith(perm + ":"))


def current_focus(device: SimDevice) -> str:
    out = device.run("dumpsys window displays").text  # Android 10+: the focus is printed per display
    assert "mCurrentFocus" not in device.run("dumpsys window windows").text
    return re.search(r"mCurrentFocus=Window\{.*\s+(?P<c>[^\s]+/[^\s]+)\}", out).group("c")


# ---- output formats clients parse ---------------------------------------------------------------------------
def test_focus_and_resumed_activity_formats(tmp_path):
    device, _ = make_device(tmp_path)
    assert current_focus(device).startswith("com.android.launcher3/")
    assert device.run(LAUNCH).text.endswith("Events injected: 1\n## Network stats: elapsed time=12ms (0ms mobile, "
                                            "0ms wifi, 12ms not connected)\n")
    assert current_focus(device) == f"{PKG}/{PKG}.MainActivity"
    acts = device.run("dumpsys activity activities").text
    assert re.search(r"mResumedActivity: ActivityRecord\{\w+ u0 com\.demo\.app/\.MainActivity t\d+\}", acts)
    assert re.search(r"topResumedActivity=ActivityRecord\{\w+ u0 com\.demo\.app/\.MainActivity t\d+\}", acts)
    pid = device.run(f"pidof {PKG}").text.strip()
    top = device.run("dumpsys activity top").text
    assert re.search(rf"ACTIVITY com\.demo\.app/\.MainActivity \w+ pid={pid}", top)


def test_geometry_and_identity_formats(tmp_path):
    device, _ = make_device(tmp_path)
    assert device.run("wm size").text == "Physical size: 720x1600\n"
    assert device.run("wm density").text == "Physical density: 320\n"
    assert re.search(r"orientation=(\d+)", device.run("dumpsys display").text).group(1) == "0"
    assert device.run("getprop ro.build.version.sdk").text == "33\n"
    assert device.run("getprop persist.sys.locale").text == "zh-CN\n"
    assert "[ro.product.model]: [Pixel 6]\n" in device.run("getprop").text
    assert device.banner().startswith("device::ro.product.name=oriole;ro.product.model=Pixel 6;")


def test_ps_has_nine_columns_and_pidof_agrees(tmp_path):
    device, _ = make_device(tmp_path)
    assert device.run(f"pidof {PKG}").status == 1
    device.run(LAUNCH)
    rows = [line.split() for line in device.run("ps -A").text.splitlines()[1:]]
    assert all(len(row) >= 9 for row in rows)
    app_row = next(row for row in rows if row[-1] == PKG)
    assert app_row[0] == "u0_a100" and app_row[1] == device.run(f"pidof {PKG}").text.strip() == "2000"


def test_package_dump_and_pm(tmp_path):
    device, _ = make_device(tmp_path)
    out = device.run(f"dumpsys package {PKG}").text
    assert "versionName=2.3.1\n" in out and re.search(r"versionCode=231 minSdk=\d+ targetSdk=33", out)
    assert "userId=10100" in out
    assert permission_line(device, CAMERA) == (
        "android.permission.CAMERA: granted=false, flags=[ USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED]")
    assert f"package:{PKG}\n" == device.run("pm list packages -3").text
    assert "package:com.android.settings\n" in device.run("pm list packages").text
    assert device.run(f"pm path {PKG}").text.startswith("package:/data/app/")
    assert device.run("pm path com.nope").status == 1


def test_pm_install_rejects_a_file_that_is_not_a_zip(tmp_path):
    device, _ = make_device(tmp_path)
    (tmp_path / "data/local/tmp/bad.apk").write_bytes(b"not a zip")
    result = device.run("pm install -r -t /data/local/tmp/bad.apk")
    assert result.status == 1 and result.text.startswith("Failure [INSTALL_PARSE_FAILED_NOT_APK:")


def test_logcat_epoch_and_threadtime_formats(tmp_path):
    device, _ = make_device(tmp_path)
    device.run(LAUNCH)
    epoch = device.run("logcat -d -b events -v epoch").text.splitlines()
    start = next(line for line in epoch if "am_proc_start" in line)
    assert re.fullmatch(r" +1767225600\.000 +871 +871 I am_proc_start: \[0,2000,10100,com\.demo\.app,activity,"
                        r"\{com\.demo\.app/\.MainActivity\}\]", start)
    main = device.run("logcat -d -b main").text
    assert re.search(r"^01-01 08:00:00\.000 +871 +871 I ActivityTaskManager: START u0 \{act=android\.intent\.action"
                     r"\.MAIN cat=\[android\.intent\.category\.LAUNCHER\] flg=0x10200000 cmp=com\.demo\.app/"
                     r"\.MainActivity\} from uid 2000$", main, re.MULTILINE)
    assert "ActivityManager: Start proc 2000:com.demo.app/u0a100 for activity {com.demo.app/.MainActivity}" in main
    assert device.run("logcat -c -b all; logcat -d -b all").text == ""


# ---- permissions ----------------------------------------------------------------------------------------------
def test_deny_once_user_set_twice_user_fixed_then_silent(tmp_path):
    device, app = make_device(tmp_path)
    device.run(LAUNCH)
    tap_key(device, "ask")
    assert current_focus(device) == f"{SKIN.package}/{SKIN.activity}"
    tap_key(device, "deny")
    assert permission_line(device, CAMERA).startswith("android.permission.CAMERA: granted=false, flags=[ USER_SET|")
    assert current_focus(device) == f"{PKG}/{PKG}.MainActivity"
    tap_key(device, "ask")
    assert any("deny:camera:2" == n.text for w in device.screen().windows for n in w.root.walk())
    tap_key(device, "deny")
    assert "USER_SET|USER_FIXED|" in permission_line(device, CAMERA)
    tap_key(device, "ask")  # third request: no dialog, denied at once, but the request is on record
    assert current_focus(device) == f"{PKG}/{PKG}.MainActivity"
    assert app.runtime.results == [{CAMERA: False}] * 3
    assert "Auto-denied android.permission.CAMERA for com.demo.app" in device.run("logcat -d | grep Auto-denied").text


def test_back_key_denies_and_grant_clears_flags(tmp_path):
    device, app = make_device(tmp_path)
    device.run(LAUNCH)
    tap_key(device, "ask")
    device.run("input keyevent KEYCODE_BACK")
    assert app.runtime.results == [{CAMERA: False}]
    tap_key(device, "ask")
    tap_key(device, "allow")
    assert permission_line(device, CAMERA) == (
        "android.permission.CAMERA: granted=true, flags=[ USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED]")
    tap_key(device, "ask")  # granted groups are granted silently
    assert app.runtime.results[-1] == {CAMERA: True} and current_focus(device).startswith(PKG)


def test_checkbox_dialogs_fix_only_when_checked(tmp_path):
    device, _ = make_device(tmp_path, checkbox_from=2)
    device.run(LAUNCH)
    for _ in range(2):
        tap_key(device, "ask")
        tap_key(device, "deny")
    assert "USER_FIXED" not in permission_line(device, CAMERA)
    tap_key(device, "ask")
    tap_key(device, "dont_ask_checkbox")
    tap_key(device, "deny")
    assert "USER_SET|USER_FIXED" in permission_line(device, CAMERA)


def test_pm_clear_and_clear_permission_flags_reset_denials(tmp_path):
    device, _ = make_device(tmp_path)
    device.run(LAUNCH)
    for _ in range(2):
        tap_key(device, "ask")
        tap_key(device, "deny")
    assert device.run(f"pm clear-permission-flags {PKG} {CAMERA} user-set user-fixed").status == 0
    assert "USER_SET" not in permission_line(device, CAMERA)
    device.run(f"pm grant {PKG} {CAMERA}")
    assert "granted=true" in permission_line(device, CAMERA)
    assert device.run(f"pm clear {PKG}").text == "Success\n"
    assert device.run(f"pidof {PKG}").status == 1
    assert "granted=false" in permission_line(device, CAMERA)
    bad = device.run(f"pm grant {PKG} android.permission.INTERNET")
    assert bad.status == 255 and b"not a changeable permission type" in bad.stderr


# ---- processes ------------------------------------------------------------------------------------------------
def test_force_stop_kills_and_logs_am_kill_not_died(tmp_path):
    device, _ = make_device(tmp_path)
    device.run(LAUNCH)
    assert device.run(f"am force-stop {PKG}; pidof {PKG}").status == 1
    events = device.run("logcat -d -b events").text
    assert re.search(r"am_kill : \[0,2000,com\.demo\.app,0,stop com\.demo\.app due to from pid \d+\]", events)
    assert "am_proc_died" not in events
    assert current_focus(device).startswith("com.android.launcher3/")
    assert "Force stopping com.demo.app appid=10100 user=0" in device.run("logcat -d").text


def test_app_quitting_after_refusal_is_am_proc_died(tmp_path):
    device, _ = make_device(tmp_path, quit_on_refusal=True)
    device.run(LAUNCH)
    tap_key(device, "ask")
    tap_key(device, "deny")
    assert device.run(f"pidof {PKG}").status == 1
    assert "am_proc_died: [0,2000,com.demo.app,0,2]" in device.run("logcat -d -b events").text


def test_crash_and_anr_show_system_dialogs(tmp_path):
    device, _ = make_device(tmp_path)
    device.run(LAUNCH)
    tap_key(device, "crash")
    events = device.run("logcat -d -b events").text
    assert "am_crash: [2000,0,com.demo.app,952745540,java.lang.IllegalStateException,boom," in events
    assert "FATAL EXCEPTION: main" in device.run("logcat -d -b main").text
    assert any("Demo" in n.text for w in device.screen().windows for n in w.root.walk() if w.package == "android")
    tap_key(device, "close")
    device.run(LAUNCH)
    tap_key(device, "anr")
    assert "am_anr  : [0,2001,com.demo.app," in device.run("logcat -d -b events").text
    tap_key(device, "wait")
    assert device.run(f"pidof {PKG}").text == "2001\n"


def test_launcher_tap_starts_app_from_launcher_uid(tmp_path):
    device, _ = make_device(tmp_path)
    tap_key(device, f"launch:{PKG}")
    assert current_focus(device) == f"{PKG}/{PKG}.MainActivity"
    assert "from uid 10045" in device.run("logcat -d | grep START").text
    device.run("input keyevent 3")
    assert current_focus(device).startswith("com.android.launcher3/")
    assert device.run(f"pidof {PKG}").status == 0


# ---- time -----------------------------------------------------------------------------------------------------
def test_sleep_fires_timers_in_order_each_at_its_time(tmp_path):
    device, app = make_device(tmp_path)
    device.run(LAUNCH)
    tap_key(device, "timers")
    device.run("sleep 1.5")
    assert app.runtime.fired == ["a@1", "a2@1"]
    device.run("sleep 5")
    assert app.runtime.fired == ["a@1", "a2@1", "b@2", "c@3"]
    assert device.run("cat /proc/uptime").text.startswith("3606.50 ")


def test_self_start_every_n_seconds_while_dead(tmp_path):
    device, _ = make_device(tmp_path, self_starts=[SelfStart(every=30, reason="broadcast",
                                                             component=f"{PKG}/.PushReceiver")])
    device.run("sleep 29")
    assert "am_proc_start" not in device.run("logcat -d -b events").text
    device.run("sleep 1")
    starts = [line for line in device.run("logcat -d -b events").text.splitlines() if "am_proc_start" in line]
    assert starts[-1].endswith("am_proc_start: [0,2000,10100,com.demo.app,broadcast,{com.demo.app/.PushReceiver}]")
    assert device.run(f"pidof {PKG}").text == "2000\n"
    device.run("sleep 1")  # the receiver finishes after 1 s; 30 s later the system starts it again
    assert device.run(f"pidof {PKG}").status == 1
    device.run("sleep 30")
    events = device.run("logcat -d -b events").text
    assert events.count("am_proc_start") == 2 and events.count("am_proc_died") == 1


def test_same_inputs_same_outputs(tmp_path):
    script = [LAUNCH, "input tap 360 45", "input tap 360 650", "sleep 3", "input tap 360 45", "input tap 360 750",
              "am force-stop com.demo.app", LAUNCH, "sleep 1"]
    outputs = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        device, _ = make_device(tmp_path / run)
        for line in script:
            device.run(line)
        outputs.append(device.run("logcat -d -b all -v epoch; dumpsys package com.demo.app; ps -A; "
                                  "dumpsys window windows").text.replace(str(tmp_path / run), ""))
    assert outputs[0] == outputs[1]
    assert "am_proc_start" in outputs[0]


def test_an_app_that_ends_returns_to_home_not_to_the_app_used_before():
    """Android returns a task started from the launcher to home when it ends: the app used before must not come back
    to the front (the crawler would take its screens for the app under test's)."""
    from emulator.sim.system.activities import ActivityStack

    stack = ActivityStack("com.android.launcher3", "com.android.launcher3.Launcher")
    stack.open("com.example.before", ".Main")
    stack.open("com.example.tested", ".Main")  # launched while the other app was in front, as a crawl does
    stack.remove("com.example.tested")
    assert stack.top() is stack.home
    stack.open("com.example.tested", ".Main")
    stack.remove("com.example.before")  # a task behind the front one ends: the front one stays
    assert stack.top().package == "com.example.tested"
