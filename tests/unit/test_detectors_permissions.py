"""Permissions family: upfront_permission_burst, no_purpose_explained."""

from __future__ import annotations

from crawler.detectors import detect
from tests.unit.trace_builder import TraceBuilder


def by_kind(trace, kind):
    return [f for f in detect(trace) if f.kind == kind]


# -- upfront_permission_burst ---------------------------------------------------------------------------------

def test_three_groups_at_cold_start_before_any_user_action():
    b = TraceBuilder()
    launch = b.launch()
    b.screen(["欢迎"])
    for group in ("location", "phone", "storage"):
        b.dialog(group)
        b.deny(group)
    b.screen(["首页"])
    b.tap("我的")
    [f] = by_kind(b.build(), "upfront_permission_burst")
    assert f.metrics["groups"] == ["location", "phone", "storage"]
    assert set(f.metrics["seconds_from_launch"]) == {"location", "phone", "storage"}
    assert launch in f.steps


def test_one_group_at_start_then_another_after_a_user_tap_is_not_a_burst():
    b = TraceBuilder()
    b.launch()
    b.screen(["首页"])
    b.dialog("location")
    b.deny("location")
    b.screen(["首页", "扫一扫"])
    b.tap("扫一扫")
    b.dialog("camera", dt=0.3)
    b.deny("camera")
    assert by_kind(b.build(), "upfront_permission_burst") == []


# -- no_purpose_explained ------------------------------------------------------------------------------------

def test_dialog_on_a_screen_that_says_nothing_about_it():
    b = TraceBuilder()
    b.launch()
    b.screen(["首页", "推荐", "热门"])
    b.dialog("contacts")
    b.deny("contacts")
    [f] = by_kind(b.build(), "no_purpose_explained")
    assert f.metrics["permission"] == "contacts"
    assert "首页" in f.metrics["text_seen"]


def test_rationale_before_the_dialog_explains_it():
    b = TraceBuilder()
    b.launch()
    b.nag("location", roles=("grant", "not_now"), text=("申请位置权限用于推荐附近的门店",))
    b.tap("去开启", role="grant", scene="rationale_dialog", permission="location")
    b.dialog("location")
    b.deny("location")
    assert by_kind(b.build(), "no_purpose_explained") == []


def test_screen_text_naming_the_permission_and_its_purpose_explains_it():
    b = TraceBuilder()
    b.launch()
    b.screen(["为了向您推荐附近的门店，我们需要获取您的位置信息"])
    b.dialog("location")
    b.deny("location")
    assert by_kind(b.build(), "no_purpose_explained") == []


def test_screen_drawn_in_pixels_only_is_not_reported():
    """No text at all on the screen before: it may explain the request in pixels we could not read."""
    b = TraceBuilder()
    b.launch()
    b.screen([])
    b.dialog("location")
    b.deny("location")
    assert by_kind(b.build(), "no_purpose_explained") == []


def test_dialog_as_the_first_thing_after_launch_is_unexplained():
    b = TraceBuilder()
    b.launch()
    b.dialog("location")
    b.deny("location")
    [f] = by_kind(b.build(), "no_purpose_explained")
    assert f.metrics["permission"] == "location"
