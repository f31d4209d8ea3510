"""Refusal family: quit_on_refusal, refusal_loop, reprompt_after_refusal, unrelated_prompt_after_refusal."""

from __future__ import annotations

from crawler.detectors import detect
from crawler.detectors.taxonomy import Settings
from tests.unit.trace_builder import TraceBuilder


def kinds(trace, **settings):
    return [f.kind for f in detect(trace, Settings.from_dict(settings) if settings else None)]


def only(trace, kind):
    found = [f for f in detect(trace) if f.kind == kind]
    assert len(found) == 1, [f.id for f in detect(trace)]
    return found[0]


def started() -> TraceBuilder:
    b = TraceBuilder()
    b.launch()
    b.screen(["首页", "扫一扫"])
    return b


# -- quit_on_refusal ------------------------------------------------------------------------------------------

def test_quit_after_denial_is_died_with_seconds_and_evidence():
    b = started()
    dialog = b.dialog("camera")
    deny = b.deny("camera")
    b.screen(dt=1.0)
    b.gone(dt=2.0)
    f = only(b.build(), "quit_on_refusal")
    assert f.metrics["exit_type"] == "died"
    assert f.metrics["permission"] == "camera"
    assert 2.0 <= f.metrics["seconds_to_exit"] <= 4.0
    assert f.id == f"quit_on_refusal-{dialog}" and deny in f.steps
    assert f.time == b.steps[deny].t and f.screenshots  # the dialog and the screens after it
    assert f.basis[0]["document"].startswith("工信部信管函〔2020〕164号")


def test_quit_by_moving_to_back_is_backgrounded():
    b = started()
    b.dialog("location")
    b.deny("location")
    b.away(dt=1.5)  # launcher in front, process still alive, nothing we did
    f = only(b.build(), "quit_on_refusal")
    assert f.metrics["exit_type"] == "backgrounded"
    assert f.metrics["front_package"] == "com.android.launcher3"


def test_crash_after_denial_is_crashed():
    b = started()
    b.dialog("contacts")
    b.deny("contacts")
    b.crash(dt=0.8)
    assert only(b.build(), "quit_on_refusal").metrics["exit_type"] == "crashed"


def test_exit_after_our_back_press_is_not_the_apps():
    b = started()
    b.dialog("camera")
    b.deny("camera")
    b.screen()
    b.back()  # our press on the app's root screen closes it
    b.gone()
    assert "quit_on_refusal" not in kinds(b.build())


def test_exit_after_the_quit_window_is_not_attributed():
    b = started()
    b.dialog("camera")
    b.deny("camera")
    b.screen(dt=1.0)
    b.gone(dt=20.0)
    trace = b.build()
    assert "quit_on_refusal" not in kinds(trace)
    assert "quit_on_refusal" in kinds(trace, **{"quit_on_refusal.window_s": 30})


def test_exit_through_an_only_ok_notice_counts_with_lower_confidence():
    b = started()
    b.dialog("phone")
    b.deny("phone")
    b.nag("phone", roles=("ok",), text=("未授予电话权限，应用将退出",))
    b.tap("确定", role="ok", scene="rationale_dialog", permission="phone")
    b.gone()
    f = only(b.build(), "quit_on_refusal")
    assert f.metrics["via_dialog"] is True and f.confidence < 0.95


# -- refusal_loop ---------------------------------------------------------------------------------------------

def test_nag_offering_only_settings_or_exit_is_a_refusal_loop():
    b = started()
    b.dialog("storage")
    b.deny("storage")
    b.nag("storage", roles=("settings", "exit"), text=("请开启存储权限", "去设置"))
    b.back(scene="rationale_dialog")
    b.nag("storage", roles=("settings", "exit"), text=("请开启存储权限", "去设置"))
    f = only(b.build(), "refusal_loop")
    assert f.metrics["permission"] == "storage"
    assert sorted(o.split(":")[0] for o in f.metrics["options"]) == ["exit", "settings"]
    assert "请开启存储权限" in f.metrics["dialog_text"]


def test_refusal_loop_quotes_the_dialog_not_the_page_under_it():
    b = started()
    b.dialog("storage")
    b.deny("storage")
    page = ("我的文件", "最近打开", "相册", "下载", "文档", "音乐", "视频", "其他")
    for _ in range(2):
        b.nag("storage", roles=("settings", "exit"), text=(*page, "请开启存储权限", "去设置"),
              dialog_text=("请开启存储权限", "去设置", "退出"))
        b.back(scene="rationale_dialog")
    f = only(b.build(), "refusal_loop")
    assert f.metrics["dialog_text"] == ["请开启存储权限", "去设置", "退出"]


def test_nag_with_not_now_is_not_a_loop():
    b = started()
    b.dialog("storage")
    b.deny("storage")
    b.nag("storage", roles=("not_now", "settings"))
    assert "refusal_loop" not in kinds(b.build())


# -- reprompt_after_refusal -----------------------------------------------------------------------------------

def test_reprompt_counted_across_a_cold_relaunch():
    b = started()
    b.dialog("location")
    b.deny("location")
    b.gone(dt=1.0)
    b.recovery("died")
    b.launch(cold=True)
    b.screen()
    b.dialog("location")
    b.deny("location", dont_ask=True)
    b.screen()
    f = only(b.build(), "reprompt_after_refusal")
    assert f.metrics["count"] == 1 and f.metrics["system_dialogs"] == 1
    assert f.metrics["per_launch"] == {"2": 1}
    assert f.metrics["within_48h"] == 1


def test_reprompt_while_the_system_suppresses_the_dialog():
    """USER_FIXED: the system shows nothing; the app's request shows in logcat, and it nags on its own."""
    b = started()
    b.dialog("camera")
    b.deny("camera")
    b.screen()
    b.dialog("camera", dont_ask=True)
    b.deny("camera", dont_ask=True)
    b.permissions({"android.permission.CAMERA": (False, ["USER_SET", "USER_FIXED"])})
    b.screen(dt=5)
    b.permission_request(dt=10)  # silently denied: no dialog follows
    b.screen(dt=0.5)
    b.nag("camera", roles=("not_now", "settings"), text=("相机权限被拒绝", "请前往设置开启"), dt=1)
    b.tap("暂不开启", role="not_now", scene="rationale_dialog", permission="camera")
    b.screen()
    f = only(b.build(), "reprompt_after_refusal")
    assert f.metrics["system_dialogs"] == 1
    assert f.metrics["suppressed"] == 1
    assert f.metrics["nags"] == 1
    assert f.metrics["count"] == 3
    assert f.metrics["min_interval_s"] > 0


def test_request_right_after_the_user_tapped_the_camera_button_is_not_a_reprompt():
    b = started()
    b.dialog("camera")
    b.deny("camera")
    b.screen(["首页", "扫一扫"])
    b.tap("扫一扫")
    b.dialog("camera", dt=0.4)
    b.deny("camera")
    b.screen()
    found = detect(b.build())
    assert "reprompt_after_refusal" not in [f.kind for f in found]


def test_request_right_after_a_tab_tap_that_names_no_feature_is_a_reprompt():
    b = started()
    b.dialog("activity_recognition")
    b.deny("activity_recognition")
    b.screen(["Today", "History", "Profile"])
    b.tap("Today")  # a navigation tab does not ask for the permission: re-asking on every visit is the app's doing
    b.dialog("activity_recognition", dt=0.4)
    b.deny("activity_recognition")
    b.screen()
    f = only(b.build(), "reprompt_after_refusal")
    assert f.metrics["count"] >= 1


# -- unrelated_prompt_after_refusal ---------------------------------------------------------------------------

def test_other_permission_asked_after_a_denial_without_user_action():
    b = started()
    b.dialog("camera")
    deny = b.deny("camera")
    b.screen(dt=1)
    b.wait(5)
    b.dialog("contacts")
    b.deny("contacts")
    b.screen()
    f = only(b.build(), "unrelated_prompt_after_refusal")
    assert f.metrics["denied"] == "camera" and f.metrics["permissions"] == ["contacts"]
    assert 5 <= f.metrics["seconds_after_denial"]["contacts"] <= 8
    assert deny in f.steps


def test_request_after_the_user_tapped_a_feature_needing_it_is_not_unrelated():
    b = started()
    b.dialog("location")
    b.deny("location")
    b.screen(["首页", "拍照"])
    b.tap("拍照")
    b.dialog("camera", dt=0.4)
    b.deny("camera")
    b.screen()
    assert "unrelated_prompt_after_refusal" not in kinds(b.build())


def test_next_dialog_of_the_same_batch_is_not_unrelated():
    b = started()
    b.dialog("location")
    b.deny("location")
    b.dialog("camera", dt=0.3)  # requestPermissions([location, camera]): the second dialog of one request
    b.deny("camera")
    b.screen()
    assert "unrelated_prompt_after_refusal" not in kinds(b.build())


def test_request_whose_dialog_is_seen_only_after_the_watch_window_is_counted_once():
    """The session only records changed screens while it watches after a denial: an immediate identical re-ask
    shows as a logcat request now and the same dialog recorded ten seconds later. One ask, not a suppressed one."""
    b = started()
    b.dialog("camera")
    b.deny("camera")
    b.permission_request(dt=0.2)
    b.dialog("camera", dt=10)
    b.deny("camera", dont_ask=True)
    b.screen()
    f = only(b.build(), "reprompt_after_refusal")
    assert (f.metrics["count"], f.metrics["system_dialogs"], f.metrics["suppressed"]) == (1, 1, 0)


def test_strategy_relaunch_and_the_launch_it_performs_are_one_launch():
    b = started()
    b.dialog("location")
    b.deny("location")
    b.screen(dt=1)
    b.act("relaunch")
    b.launch(cold=False)
    b.dialog("location")
    b.deny("location")
    assert only(b.build(), "reprompt_after_refusal").metrics["per_launch"] == {"2": 1}
