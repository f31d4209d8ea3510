"""Launches family: associated_launch, self_start."""

from __future__ import annotations

from crawler.detectors import detect
from tests.unit.trace_builder import TraceBuilder

OTHER = "com.taobao.taobao"


def by_kind(trace, kind):
    return [f for f in detect(trace) if f.kind == kind]


def test_app_opens_another_app_by_itself_after_launch():
    b = TraceBuilder()
    launch = b.launch()
    b.screen(["欢迎"])
    b.event("activity_start", package=OTHER, component=f"{OTHER}/.Main", caller_uid=b.uid, dt=2)
    other = b.away(OTHER, activity=".Main")
    [f] = by_kind(b.build(), "associated_launch")
    assert f.metrics["target_package"] == OTHER
    assert f.metrics["evidence"] == ["logcat", "screen"]
    assert other in f.steps and f.confidence >= 0.9
    assert f.metrics["trigger"] == "at cold launch" and launch in f.steps


def test_a_launch_seconds_after_a_tap_with_the_app_settled_in_between_is_a_timer_not_the_tap():
    b = TraceBuilder()
    b.launch()
    b.screen(["首页"])
    b.tap("清理")
    b.screen(["正在清理"], dt=0.5)
    b.screen(["清理完成"], state="done", dt=1.0)
    b.event("activity_start", package=OTHER, component=f"{OTHER}/.Main", caller_uid=b.uid, dt=2.5)
    b.away(OTHER, activity=".Main")
    [f] = by_kind(b.build(), "associated_launch")
    assert f.metrics["trigger"].startswith("by itself, 4 s after the last action (tap")


def test_other_app_after_our_tap_on_the_ads_cta_is_the_users_doing():
    b = TraceBuilder()
    b.launch()
    b.ad(roles=("close", "cta"))
    b.tap("立即下载", role="cta", scene="ad_popup")
    b.event("activity_start", package=OTHER, component=f"{OTHER}/.Main", caller_uid=b.uid)
    b.away(OTHER, activity=".Main")
    assert by_kind(b.build(), "associated_launch") == []


def test_share_button_tap_opening_another_app_is_the_users_doing():
    b = TraceBuilder()
    b.launch()
    b.screen(["分享"])
    b.tap("分享到微信")
    b.away("com.tencent.mm", activity=".ui.ShareActivity")
    assert by_kind(b.build(), "associated_launch") == []


def test_app_store_after_a_tap_on_a_switch_is_the_apps_doing():
    b = TraceBuilder()
    b.launch()
    b.screen(["通知栏快捷清理", "开启"])
    b.tap("开启")  # a settings switch does not ask to open another app
    b.event("activity_start", package=OTHER, component=f"{OTHER}/.Main", caller_uid=b.uid)
    b.away(OTHER, activity=".Main")
    [f] = by_kind(b.build(), "associated_launch")
    assert f.metrics["target_package"] == OTHER


def test_launcher_in_front_is_not_another_app():
    b = TraceBuilder()
    b.launch()
    b.screen()
    b.away()  # the launcher: the app left, judged by quit_on_refusal etc., not an associated launch
    assert by_kind(b.build(), "associated_launch") == []


def test_process_started_by_a_broadcast_while_idle():
    b = TraceBuilder()
    b.launch()
    b.screen()
    b.home()
    b.act("kill_background", user_like=False)
    b.event("proc_died", pid=b.pid)
    b.pid = None
    b.wait(600)
    b.start_process("broadcast")
    b.wait(600)
    b.start_process("service")
    [f] = by_kind(b.build(), "self_start")
    assert f.metrics["starts"] == 2
    assert f.metrics["reasons"] == {"broadcast": 1, "service": 1}
    assert f.metrics["starts_per_hour"] > 0


def test_our_launches_are_not_self_starts():
    b = TraceBuilder()
    b.launch()
    b.screen()
    b.gone()
    b.recovery("died")
    b.launch(cold=True)
    b.screen()
    assert by_kind(b.build(), "self_start") == []
