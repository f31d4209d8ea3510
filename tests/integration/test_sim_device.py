"""The simulated phone as the real client stack sees it: the real adb server, adbutils and uiautomator2, unchanged."""

from __future__ import annotations

import io
import re

import pytest
import uiautomator2
from lxml import etree
from PIL import Image

from crawler.perceive import perceive
from crawler.screen import parse_hierarchy
from emulator.sim.device import SimDevice
from emulator.sim.skins import load_skin, skin_names
from emulator.zoo import load_zoo

ZOO = load_zoo()
WEATHER = "com.example.qingtian.weather"  # asks for location right after its 1 s splash, quits when refused
LABEL = "晴天天气"
FINE = "android.permission.ACCESS_FINE_LOCATION"


@pytest.fixture
def phone(serve_device, tmp_path):
    """(backend, adbutils device, uiautomator2 device) for a simulated phone in a given skin and locale."""
    counter = iter(range(100))

    def make(skin: str = "aosp-13", locale: str = "zh-CN"):
        backend = SimDevice("sim", skin=skin, locale=locale, apps=ZOO, storage_dir=tmp_path / f"dev{next(counter)}")
        registered = serve_device(backend)
        backend.set_serial(registered.serial)
        return backend, registered.device, uiautomator2.connect(registered.device)

    return make


def nodes(xml: str) -> list[dict]:
    return [dict(n.attrib) for n in etree.fromstring(xml.encode("utf-8")).iter("node")]


def launch_and_wait(adb, seconds: float = 2) -> None:
    adb.shell(f"monkey -p {WEATHER} -c android.intent.category.LAUNCHER 1")
    adb.shell(f"sleep {seconds}")


def flags(adb) -> list[str]:
    out = adb.shell(f"dumpsys package {WEATHER}")
    line = next(line for line in out.splitlines() if FINE + ":" in line)
    return re.findall(r"USER_SET|USER_FIXED", line)


def test_connect_dump_screenshot_and_a_tap_changes_the_screen(phone):
    _, adb, u2 = phone()
    assert u2.info["sdkInt"] == 33 and u2.window_size() == (720, 1600)
    launcher = nodes(u2.dump_hierarchy())
    assert {n["package"] for n in launcher} == {"com.android.launcher3"}
    shot = u2.screenshot()
    assert shot.size == (720, 1600)
    png = adb.shell("screencap -p", encoding=None)
    assert Image.open(io.BytesIO(png)).size == (720, 1600)
    icon = next(n for n in launcher if n["text"] == LABEL)
    x1, y1, x2, y2 = map(int, re.findall(r"\d+", icon["bounds"]))
    u2.click((x1 + x2) // 2, (y1 + y2) // 2)
    assert u2.app_current()["package"] == WEATHER
    assert any(n["text"] == LABEL for n in nodes(u2.dump_hierarchy()))  # the splash


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
@pytest.mark.parametrize("skin_name", skin_names())
def test_permission_dialog_wears_the_skin(phone, skin_name, locale):
    skin = load_skin(skin_name)
    _, adb, u2 = phone(skin_name, locale)
    launch_and_wait(adb)
    dialog = [n for n in nodes(u2.dump_hierarchy()) if n["package"] == skin.package]
    assert dialog, f"no {skin.package} window"
    deny_id = skin.resource_id(skin.controls["deny"]["id"])
    deny = next(n for n in dialog if n["resource-id"] == deny_id)
    assert deny["text"] == skin.control_text("deny", locale) and deny["clickable"] == "true"
    assert any(skin.title("location", locale, LABEL) in n["text"] for n in dialog)
    assert u2.app_current()["package"] == skin.package
    # ... and naysayer reads it: a location request, and the control that says no.
    scene = perceive(parse_hierarchy(u2.dump_hierarchy()))
    assert scene.kind == "permission_dialog" and scene.permission == "location"
    assert scene.actions["deny"].resource_id == deny_id
    assert not any(role.startswith("allow") and c.resource_id == deny_id for role, c in scene.actions.items())


def test_denials_set_then_fix_the_flag_and_the_system_stops_asking(phone):
    _, adb, u2 = phone("aosp-13", "en-US")
    launch_and_wait(adb)
    u2(resourceId="com.android.permissioncontroller:id/permission_deny_button").click()
    assert flags(adb) == ["USER_SET"]
    adb.shell("sleep 2")
    assert adb.shell(f"pidof {WEATHER}").strip() == ""  # the app quit after the refusal
    launch_and_wait(adb)
    second = u2(resourceId="com.android.permissioncontroller:id/permission_deny_and_dont_ask_again_button")
    assert second.exists
    second.click()
    assert set(flags(adb)) == {"USER_SET", "USER_FIXED"}
    adb.shell("sleep 2")  # it quits again
    adb.shell("logcat -c")
    launch_and_wait(adb)
    packages = {n["package"] for n in nodes(u2.dump_hierarchy())}
    assert "com.android.permissioncontroller" not in packages  # denied silently, no dialog
    log = adb.shell("logcat -d -b main")
    assert "android.content.pm.action.REQUEST_PERMISSIONS" in log  # ... but the request is on record
    assert adb.shell(f"pm clear {WEATHER}").strip() == "Success"
    assert flags(adb) == []
    launch_and_wait(adb)
    assert "com.android.permissioncontroller" in {n["package"] for n in nodes(u2.dump_hierarchy())}


def test_force_stop_kills_the_pid_and_logcat_shows_the_process_events(phone):
    _, adb, _ = phone()
    adb.shell("logcat -b events -b main -c")
    launch_and_wait(adb)
    pid = adb.shell(f"pidof {WEATHER}").strip()
    assert pid.isdigit()
    adb.shell(f"am force-stop {WEATHER}")
    assert adb.shell(f"pidof {WEATHER}").strip() == ""
    events = adb.shell("logcat -d -v epoch -b events")
    assert re.search(rf"am_proc_start\s*: \[0,{pid},\d+,{re.escape(WEATHER)},activity", events)
    assert re.search(rf"am_kill\s*: \[0,{pid},{re.escape(WEATHER)}", events)
    main = adb.shell("logcat -d -b main")
    assert re.search(rf"START u0 {{.*cmp={re.escape(WEATHER)}/.*}} from uid 2000", main)


def test_two_devices_stay_independent(phone):
    _, adb_a, u2_a = phone("aosp-13")
    _, adb_b, u2_b = phone("miui")
    launch_and_wait(adb_a)
    assert u2_a.app_current()["package"] == "com.android.permissioncontroller"
    assert u2_b.app_current()["package"] == "com.android.launcher3"
    assert adb_b.shell(f"pidof {WEATHER}").strip() == ""
    assert adb_a.shell("date +%s").strip() != adb_b.shell("date +%s").strip()  # a waited, b did not


def test_time_moves_only_when_waited_for(phone):
    _, adb, u2 = phone()
    t0 = float(adb.shell("date +%s.%N"))
    for _ in range(5):
        u2.dump_hierarchy()
        adb.shell("pidof com.android.launcher3")
    assert float(adb.shell("date +%s.%N")) == t0
    adb.shell("sleep 30")
    assert float(adb.shell("date +%s.%N")) == pytest.approx(t0 + 30, abs=0.01)
    assert not u2(text="Never there").wait(timeout=5)  # waiting for something is waiting too
    assert float(adb.shell("date +%s.%N")) >= t0 + 35 - 0.01


@pytest.mark.parametrize("skin_name", skin_names())
def test_second_refusal_in_every_skin_makes_the_system_stop_asking(phone, skin_name):
    """The deny strategy's answer to a repeated request (deny & don't ask, the checkbox, or a second deny) fixes the
    denial on every ROM: the next request is refused by the system without a dialog."""
    from crawler.perceive.scene import Scene
    from strategies import make_strategy
    from strategies.base import History, StrategyContext

    _, adb, u2 = phone(skin_name)
    deny = make_strategy("deny")
    history = History()
    for request in (1, 2):
        launch_and_wait(adb)
        history.requests["location"] = request
        for _ in range(2):  # at most: tick "don't ask again", then deny
            scene: Scene = perceive(parse_hierarchy(u2.dump_hierarchy()))
            if scene.kind != "permission_dialog":
                break
            decision = deny.choose(StrategyContext(WEATHER, scene, "s", [], 0.0, history))
            assert decision.role in ("deny", "deny_dont_ask", "dont_ask_checkbox")
            u2.click(*decision.control.center)
        adb.shell("sleep 2")  # the app quits after each refusal
    assert "USER_FIXED" in flags(adb)
    launch_and_wait(adb)
    assert perceive(parse_hierarchy(u2.dump_hierarchy())).kind != "permission_dialog"
