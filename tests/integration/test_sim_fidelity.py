"""What a crawler on a real phone meets, on the simulated phone, through the real adb server, adbutils and
uiautomator2: scrolling, text entry, named activities, toasts, the uiautomator server as a process, the shell.

The apps are the zoo's imitations of Appium's ApiDemos (nested lists, two of them longer than the screen) and of
uiautomator2's test app (EditTexts, a toast, a pinch image)."""

from __future__ import annotations

import time

import pytest
import uiautomator2

from emulator.sim.device import SimDevice
from emulator.zoo import load_zoo

ZOO = [app for app in load_zoo() if app.manifest.package in ("io.appium.android.apis", "com.example.u2testdemo")]
APIS = "io.appium.android.apis"
DEMO = "com.example.u2testdemo"


@pytest.fixture
def phone(serve_device, tmp_path):
    """(backend, adbutils device, uiautomator2 device) with the two apps installed."""
    backend = SimDevice("sim", locale="en-US", apps=ZOO, storage_dir=tmp_path / "dev")
    registered = serve_device(backend)
    backend.set_serial(registered.serial)
    return backend, registered.device, uiautomator2.connect(registered.device)


def open_app_list(u2) -> None:
    u2.app_start(APIS, stop=True)
    u2(text="App").click()
    assert u2(text="Alarm").wait(timeout=5)


# ------------------------------------------------------------------ scrolling


def test_a_list_longer_than_the_screen_scrolls_and_says_when_it_has_ended(phone):
    _, _, u2 = phone
    open_app_list(u2)
    listview = u2(resourceId="android:id/list")
    assert listview.info["scrollable"]
    assert not u2(text="Voice Recognition").exists  # below the fold: not in the hierarchy
    assert listview.scroll.forward() is True
    assert u2(text="Voice Recognition").exists
    assert listview.scroll.forward() is False  # the end: nothing moved
    top_before = u2(text="Voice Recognition").info["bounds"]["top"]
    assert listview.scroll.toBeginning()
    assert u2(text="Action Bar").exists and not u2(text="Voice Recognition").exists
    assert listview.scroll.toEnd()
    assert u2(text="Voice Recognition").info["bounds"]["top"] == top_before


def test_scroll_to_finds_a_row_far_below_and_fling_reaches_both_ends(phone):
    _, _, u2 = phone
    u2.app_start(APIS, stop=True)
    u2(text="Graphics").click()
    assert u2(text="AlphaBitmap").wait(timeout=5)
    assert not u2(text="Xfermodes").exists
    assert u2(scrollable=True).scroll.to(text="Xfermodes")
    assert u2(text="Xfermodes").exists and not u2(text="AlphaBitmap").exists
    assert u2(scrollable=True).fling.toBeginning()
    assert u2(text="AlphaBitmap").exists
    assert u2(scrollable=True).fling.forward() is True
    assert not u2(text="AlphaBitmap").exists
    assert not u2(scrollable=True).scroll.to(text="No Such Demo")


def test_a_swipe_moves_the_content_with_the_finger_and_a_tap_then_hits_what_is_shown(phone):
    _, _, u2 = phone
    open_app_list(u2)
    first_top = u2(text="Activity").info["bounds"]["top"]
    w, h = u2.window_size()
    u2.swipe(w // 2, h * 0.8, w // 2, h * 0.8 - 100, steps=10)
    assert u2(text="Activity").info["bounds"]["top"] == first_top - 100
    u2.swipe_ext("down")  # back to the top: the content cannot go further than its start
    assert u2(text="Activity").info["bounds"]["top"] == first_top
    u2.swipe_ext("up")
    assert u2(text="Voice Recognition").exists
    u2(text="Search").click()  # where the row is now, not where it was laid out
    assert u2(text="Invoke Search").wait(timeout=5)


def test_a_swipe_on_a_screen_that_fits_changes_nothing(phone):
    _, _, u2 = phone
    u2.app_start(APIS, stop=True)
    assert u2(text="Views").wait(timeout=5)
    before = u2.dump_hierarchy()
    u2.swipe_ext("up")
    assert u2.dump_hierarchy() == before
    assert not u2(scrollable=True).exists


# ------------------------------------------------------------------ text entry


def open_addition(u2):
    u2.app_start(DEMO, stop=True)
    u2(text="Addition").click()
    assert u2(text="Add").wait(timeout=5)
    return [u2(className="android.widget.EditText", instance=i) for i in range(3)]


def test_the_first_field_has_the_focus_a_tap_moves_it_and_input_text_goes_there(phone):
    _, adb, u2 = phone
    num1, num2, result = open_addition(u2)
    assert num1.info["focused"] and not num2.info["focused"]
    adb.shell("input text 12")
    assert num1.get_text() == "12" and num2.get_text() == ""
    num2.click()
    assert num2.info["focused"] and not num1.info["focused"]
    assert u2(focused=True).info["resourceName"] == f"{DEMO}:id/et_num2"
    adb.shell("input text 30")
    assert (num1.get_text(), num2.get_text()) == ("12", "30")
    u2(text="Add").click()
    assert result.get_text() == "42"


def test_typing_never_appends_to_a_hint_and_goes_nowhere_without_a_focused_field(phone):
    _, adb, u2 = phone
    u2.app_start(APIS, stop=True)
    for row in ("App", "Search", "Invoke Search"):
        u2(text=row).click()
    prefill = u2(resourceId=f"{APIS}:id/txt_query_prefill")
    assert prefill.wait(timeout=5) and prefill.info["focused"]
    adb.shell("input text hello")
    assert prefill.get_text() == "hello"
    u2.press("back")
    u2.press("back")
    before = u2.dump_hierarchy()
    adb.shell("input text lost")  # a list has no text field: the keys go nowhere
    assert u2.dump_hierarchy() == before


def test_uiautomator2s_input_method_installs_from_its_real_apk_and_types_through_broadcasts(phone):
    _, adb, u2 = phone
    assert "com.github.uiautomator/.AdbKeyboard" not in adb.shell("ime list -s -a")
    assert adb.shell("am broadcast -a ADB_KEYBOARD_INPUT_TEXT --es text aGk=").endswith("result=0")
    num1, num2, _ = open_addition(u2)
    u2.set_input_ime(True)  # adbutils installs app-uiautomator.apk (a real APK) through pm install
    assert "com.github.uiautomator" in adb.list_packages()
    assert adb.shell("settings get secure default_input_method") == "com.github.uiautomator/.AdbKeyboard"
    num2.click()
    for text in ("1", "123abcDEF +-*/_", "你好，世界!"):
        u2.send_keys(text, clear=True)
        assert num2.get_text() == text and num1.get_text() == ""
    u2.clear_text()
    assert num2.get_text() == ""
    u2.set_input_ime(False)
    assert adb.shell("settings get secure default_input_method") == "com.android.inputmethod.latin/.LatinIME"
    assert "result=0" in adb.shell("am broadcast -a ADB_KEYBOARD_CLEAR_TEXT")


def test_without_the_input_method_send_keys_pastes_into_the_focused_field(phone):
    _, _, u2 = phone
    _, num2, _ = open_addition(u2)
    num2.click()
    u2.send_keys("7")
    assert num2.get_text() == "7"
    u2.clear_text()
    assert num2.get_text() == ""


# ------------------------------------------------------------------ activities, toasts, the uiautomator server


def test_am_start_opens_the_named_activity_and_refuses_an_undeclared_one(phone):
    _, adb, u2 = phone
    u2.app_start(DEMO, activity=".AdditionActivity", stop=True)
    # Android 10+ prints the focus per display, not in `dumpsys window windows`: clients fall back to
    # `dumpsys activity top`, which names the activity in short form, with the pid
    current = u2.app_current()
    assert current["activity"] == ".AdditionActivity" and current["pid"] == u2.app_wait(DEMO) > 0
    assert "mCurrentFocus" not in adb.shell("dumpsys window windows")
    assert "mCurrentFocus=Window{" in adb.shell("dumpsys window displays")
    assert f"u0 {DEMO}/{DEMO}.AdditionActivity}}" in adb.shell("dumpsys window")
    assert u2(text="Add").exists and not u2(text="Addition").exists  # that activity alone, not the launcher's
    u2.press("back")
    assert not u2(text="Add").exists
    result = adb.shell2(f"am start -n {DEMO}/.NotExistActivity")
    assert result.returncode != 0
    assert "Error type 3" in result.output
    assert f"Error: Activity class {{{DEMO}/.NotExistActivity}} does not exist." in result.output


def test_the_last_toast_is_what_the_app_showed_until_cleared(phone):
    _, _, u2 = phone
    u2.app_start(DEMO, stop=True)
    u2.clear_toast()
    assert u2.last_toast is None
    u2(text="Toast").click()
    u2(text="Show Toast").click()
    assert u2.last_toast == "Button Clicked!"
    u2.sleep(3)  # gone from the screen, still the last one seen
    assert u2.last_toast == "Button Clicked!"
    u2.clear_toast()
    assert u2.last_toast is None


def app_process_pids(adb) -> list[int]:
    return [int(line.split()[1]) for line in adb.shell("ps -u shell").splitlines() if line.split()[-1] == "app_process"]


def test_the_uiautomator_server_is_an_app_process_that_can_be_killed_and_restarted(phone):
    _, adb, u2 = phone
    u2.info  # noqa: B018  (connected: the server runs)
    pids = app_process_pids(adb)
    assert len(pids) == 1
    assert adb.shell(f"ps -A {pids[0]}").split()[-1] == "app_process"
    adb.shell(f"kill {pids[0]}")
    assert app_process_pids(adb) == []
    assert not u2._check_alive()  # port 9008 refused: nobody listens
    assert u2.info["currentPackageName"]  # the client notices and launches it again
    assert len(app_process_pids(adb)) == 1
    u2.stop_uiautomator()
    assert app_process_pids(adb) == []


def test_a_watcher_thread_gets_its_turn_while_a_selector_waits(phone):
    _, _, u2 = phone
    u2.app_start(APIS, stop=True)
    assert u2(text="App").wait(timeout=5)
    with u2.watch_context() as ctx:
        ctx.when("App").click()  # the watcher, not the test, opens the App list
        assert u2(text="Menu").wait(timeout=20)


def test_pinch_gestures_scale_the_image_within_its_bounds(phone):
    _, _, u2 = phone
    u2.app_start(DEMO, stop=True)
    u2(text="Pinch").click()
    image = u2(description="pinch image")
    assert image.wait(timeout=5)

    def scale() -> str:
        return u2(textStartsWith="Scale").get_text()

    assert scale() == "Scale: 1.00"
    image.pinch_out(percent=10)  # 40 px apart -> 67 px apart: x1.68
    assert scale() == "Scale: 1.68"
    image.pinch_in(percent=80)
    assert scale() == "Scale: 0.50"
    image.pinch_out()
    assert scale() == "Scale: 3.00"
    u2().gesture((0.1, 0.5), (0.9, 0.5), (0.5, 0.5), (0.5, 0.5), steps=20)
    assert scale() == "Scale: 0.50"


# ------------------------------------------------------------------ the shell and adbd services


def test_the_shell_has_a_working_directory(phone):
    _, adb, _ = phone
    assert adb.shell("pwd") == "/"
    assert adb.shell("cd /data/local/tmp && pwd && echo hi > note.txt && cat note.txt") == "/data/local/tmp\nhi"
    assert adb.shell("cat /data/local/tmp/note.txt") == "hi"
    result = adb.shell2("cd /no/such/dir")
    assert result.returncode != 0 and "No such file or directory" in result.output
    assert adb.shell("pwd") == "/"  # every shell starts at /


def test_a_logcat_follower_sees_new_lines_and_is_never_silent_for_long(phone, tmp_path):
    _, adb, _ = phone
    out = tmp_path / "logcat.txt"
    follower = adb.logcat(out, clear=True, command="logcat -v time", re_filter="I/TAG")
    adb.shell(["log", "-p", "i", "-t", "TAG", "hello"])
    time.sleep(0.5)  # the reader thread copies what arrived...
    follower.stop(timeout=10)  # ...and only looks at its stop flag when another line arrives
    assert "I/TAG" in out.read_text() and "hello" in out.read_text()
    assert "system_server" in adb.shell("logcat -d -b system")
    assert "system_server" not in adb.shell("logcat -d -b main -b events")  # the crawler's buffers stay quiet


def test_reverse_forwards_are_kept_and_listed_and_the_framebuffer_is_the_screen(phone):
    _, adb, u2 = phone
    adb.reverse("tcp:12345", "tcp:4000")
    assert [(r.remote, r.local) for r in adb.reverse_list()] == [("tcp:12345", "tcp:4000")]
    image = adb.framebuffer()
    assert image.size == (720, 1600) and image.mode == "RGBA"
    assert image.convert("RGB").tobytes() == u2.screenshot().convert("RGB").tobytes()


def test_child_by_text_instance_and_description_name_objects_that_follow_the_screen(phone):
    _, _, u2 = phone
    u2.app_start(APIS, stop=True)
    listview = u2(resourceId="android:id/list")
    assert listview.wait(timeout=5)
    media = listview.child_by_text("Media", className="android.widget.TextView")
    assert media.info["text"] == "Media"
    assert listview.child_by_instance(2, className="android.widget.TextView").info["text"] == "App"
    with pytest.raises(uiautomator2.UiObjectNotFoundError):
        listview.child_by_description("should-not-exist", className="android.widget.TextView")
    media.click()
    assert u2(text="VideoView").wait(timeout=5)
    u2.press("back")
    u2(resourceId="android:id/content").child_by_text("Graphics", className="android.widget.TextView").click()
    assert u2(text="AlphaBitmap").wait(timeout=5)


def test_get_parent_and_drag_to(phone):
    _, _, u2 = phone
    open_app_list(u2)
    parent = u2.jsonrpc.getParent(u2(text="Alarm").selector)
    assert u2.jsonrpc.objInfo(parent)["resourceName"] == "android:id/list"
    top = u2(text="Activity").info["bounds"]["top"]
    u2(text="Activity").drag_to(360, top - 100 + 48, duration=0.5)  # a slow drag of the list: it follows
    assert u2(text="Activity").info["bounds"]["top"] == top - 100


def test_screenrecord_in_the_foreground_takes_device_time_and_writes_a_video(phone, tmp_path):
    import cv2

    _, adb, _ = phone
    assert adb.shell2("which screenrecord").returncode == 0
    t0 = float(adb.shell("date +%s.%N"))
    assert adb.shell2("screenrecord --time-limit 3 /sdcard/clip.mp4").returncode == 0
    assert float(adb.shell("date +%s.%N")) == pytest.approx(t0 + 3, abs=0.01)
    adb.sync.pull("/sdcard/clip.mp4", tmp_path / "clip.mp4")
    video = cv2.VideoCapture(str(tmp_path / "clip.mp4"))
    frames = 0
    while video.read()[0]:
        frames += 1
    assert frames == 7 and video.get(cv2.CAP_PROP_FRAME_WIDTH) == 720  # 2 frames per second, and the last one


def test_a_script_runs_a_background_job_that_kill_interrupts(phone, tmp_path):
    _, adb, _ = phone
    adb.sync.push(b"#!/system/bin/sh\nscreenrecord \"$1\" &\nPID=$!\necho started $PID\nread ANY\n"
                  b"kill -INT $PID\nwait\necho got $ANY\n", "/sdcard/rec.sh")
    stream = adb.shell(["sh", "/sdcard/rec.sh", "/sdcard/job.mp4"], stream=True)
    started = b""
    while not started.endswith(b"\n"):
        started += stream.conn.recv(1)
    pid = started.split()[-1].decode()
    assert adb.shell(f"ps -A {pid}").split()[-1] == "screenrecord"
    time.sleep(1)
    stream.send(b"now\n")
    assert stream.read_until_close().strip() == "got now"
    assert adb.sync.exists("/sdcard/job.mp4")
    assert pid not in adb.shell("ps -A")


def test_adbutils_records_the_screen_through_its_own_script(phone, tmp_path, monkeypatch):
    _, adb, _ = phone
    monkeypatch.chdir(tmp_path)
    adb.start_recording("output.mp4")
    time.sleep(1.5)
    adb.stop_recording()
    assert (tmp_path / "output.mp4").stat().st_size > 1000
