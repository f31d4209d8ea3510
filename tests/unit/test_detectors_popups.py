"""Popups family: popup_harassment, splash_ad_no_skip, close_countdown, deceptive_close."""

from __future__ import annotations

from crawler.detectors import detect
from tests.unit.trace_builder import TraceBuilder


def by_kind(trace, kind):
    return [f for f in detect(trace) if f.kind == kind]


def started() -> TraceBuilder:
    b = TraceBuilder()
    b.launch()
    b.screen(["首页"], state="home")
    return b


# -- popup_harassment -----------------------------------------------------------------------------------------

def test_ad_that_returns_on_the_same_screen_after_close():
    b = started()
    b.ad(text=("限时特惠",), state="home+ad")
    close = b.tap("×", role="close", scene="ad_popup")
    b.screen(["首页"], state="home")
    b.wait(8)
    again = b.ad(text=("限时特惠",), state="home+ad")
    [f] = by_kind(b.build(), "popup_harassment")
    assert f.metrics["returns_after_close"] == 1
    assert close in f.steps and again in f.steps


def test_ad_closed_once_and_not_returning_is_fine():
    b = started()
    b.ad()
    b.tap("×", role="close", scene="ad_popup")
    b.screen(["首页"], state="home")
    b.wait(30)
    b.screen(["首页"], state="home")
    assert by_kind(b.build(), "popup_harassment") == []


def test_more_than_three_popups_a_minute():
    b = started()
    for i in range(5):
        b.ad(text=(f"活动 {chr(65 + i)}",))
        b.tap("×", role="close", scene="ad_popup")
        b.screen([f"页面{i}"], state=f"page{i}")
        b.tap(f"页面{i + 1}")
    [f] = by_kind(b.build(), "popup_harassment")
    assert f.metrics["popups_per_minute"] == 5 and f.metrics["returns_after_close"] == 0


def test_same_ad_after_navigating_to_another_page_is_not_a_return():
    b = started()
    b.ad(text=("限时特惠",))
    b.tap("×", role="close", scene="ad_popup")
    b.screen(["首页"], state="home")
    b.tap("我的")
    b.screen(["我的"], activity=".MineActivity", state="mine")
    b.ad(text=("限时特惠",), activity=".MineActivity")
    assert by_kind(b.build(), "popup_harassment") == []


# -- splash_ad_no_skip / close_countdown ----------------------------------------------------------------------

def test_splash_without_any_skip_control():
    b = TraceBuilder()
    b.launch()
    first = b.ad("splash_ad", roles=(), text=("品牌广告",))
    b.wait(1)
    b.ad("splash_ad", roles=(), text=("品牌广告",))
    b.wait(4)
    b.screen(["首页"], dt=0.5)
    [f] = by_kind(b.build(), "splash_ad_no_skip")
    assert f.metrics["seconds_held"] >= 5 and f.metrics["control_seen"] is False
    assert f.id == f"splash_ad_no_skip-{first}"


def test_splash_skip_gated_by_a_countdown():
    b = TraceBuilder()
    b.launch()
    b.ad("splash_ad", roles=("skip",), countdown=5, enabled=False)
    for remaining in (4, 3, 2, 1):
        b.wait(1)
        b.ad("splash_ad", roles=("skip",), countdown=remaining, enabled=False)
    b.wait(1)
    b.ad("splash_ad", roles=("skip",), countdown=None, enabled=True)
    b.tap("跳过", role="skip", scene="splash_ad")
    b.screen(["首页"])
    found = detect(b.build())
    [f] = [f for f in found if f.kind == "close_countdown"]
    assert f.metrics["countdown_s"] == 5
    assert f.metrics["seconds_until_closable"] >= 5
    assert "splash_ad_no_skip" not in [f.kind for f in found]


def test_ad_held_by_a_countdown_before_its_close_appears():
    """Only "5s" where the close will be; after five seconds a close control appears and works."""
    b = TraceBuilder()
    b.launch()
    for remaining in (5, 4, 3, 2, 1):
        b.ad(roles=("cta",), text=("Noise-cancelling headphones 40% off", "Ad", f"{remaining}s"), countdown=remaining)
        b.wait(1)
    b.ad(roles=("close", "cta"), text=("Noise-cancelling headphones 40% off", "Ad", "Close"))
    b.tap("Close", role="close", scene="ad_popup")
    b.screen(["Notes"])
    found = detect(b.build())
    [f] = [f for f in found if f.kind == "close_countdown"]
    assert f.metrics["countdown_s"] == 5
    assert "splash_ad_no_skip" not in [f.kind for f in found]


def test_skip_that_works_at_once_despite_a_countdown_label():
    """跳过 3 is shown, but the first tap closes the ad: countdown 0, no finding."""
    b = TraceBuilder()
    b.launch()
    b.ad("splash_ad", roles=("skip",), countdown=3, enabled=True)
    b.tap("跳过 3", role="skip", scene="splash_ad")
    b.screen(["首页"])
    found = [f.kind for f in detect(b.build())]
    assert "close_countdown" not in found and "splash_ad_no_skip" not in found


def test_close_control_that_does_nothing():
    b = started()
    b.ad(roles=("close",), text=("大促",))
    b.tap("×", role="close", scene="ad_popup")
    b.ad(roles=("close",), text=("大促",))
    b.tap("×", role="close", scene="ad_popup")
    b.ad(roles=("close",), text=("大促",))
    b.back(scene="ad_popup")
    b.screen(["首页"], state="home")
    [f] = by_kind(b.build(), "splash_ad_no_skip")
    assert f.metrics["taps_without_effect"] == 2 and f.metrics["control_seen"] is True


# -- deceptive_close ------------------------------------------------------------------------------------------

def test_close_that_opens_an_app_store():
    b = started()
    b.ad(roles=("close", "cta"), text=("好玩的游戏",))
    tap = b.tap("×", role="close", scene="ad_popup")
    b.event("activity_start", package="com.xiaomi.market", component="com.xiaomi.market/.ui.DetailActivity",
            caller_uid=b.uid)
    store = b.away("com.xiaomi.market", activity=".ui.DetailActivity")
    found = detect(b.build())
    [f] = [f for f in found if f.kind == "deceptive_close"]
    assert "com.xiaomi.market" in f.metrics["what_opened"]
    assert tap in f.steps
    assert store in f.steps or f.metrics["what_opened"].startswith("com.xiaomi.market/")
    assert "associated_launch" not in [f.kind for f in found]  # the close tap is judged here, once


def test_close_that_closes_is_fine():
    b = started()
    b.ad(roles=("close", "cta"))
    b.tap("×", role="close", scene="ad_popup")
    b.screen(["首页"], state="home")
    assert by_kind(b.build(), "deceptive_close") == []
