"""State keys: what counts as the same screen (volatile text, list length, jitter) and what does not (another dialog,
another screen, another app)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from crawler.perceive.classify import perceive
from crawler.perceive.scene import Control, Scene
from crawler.screen import BadHierarchy, parse_hierarchy
from crawler.state import state_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xml"
APP = "com.example.a"
PERM = "com.android.permissioncontroller"


def node(text: str = "", rid: str = "", cls: str = "android.widget.TextView", click: bool = False, inner: str = "",
         bounds: str = "[0,0][720,100]", pkg: str = APP, scroll: bool = False) -> str:
    return (f'<node index="0" text={quoteattr(text)} resource-id="{rid}" class="{cls}" package="{pkg}" '
            f'content-desc="" checkable="false" checked="false" clickable="{str(click).lower()}" enabled="true" '
            f'focusable="false" focused="false" scrollable="{str(scroll).lower()}" long-clickable="false" '
            f'password="false" selected="false" bounds="{bounds}">{inner}</node>')


def window(*children: str, pkg: str = APP) -> str:
    return node(cls="android.widget.FrameLayout", pkg=pkg, bounds="[0,0][720,1600]", inner="".join(children))


def dump(*windows: str) -> str:
    head = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
    return f'{head}<hierarchy rotation="0">{"".join(windows)}</hierarchy>'


def status_bar(clock: str, icons: int) -> str:
    kids = [node(clock, "com.android.systemui:id/clock", pkg="com.android.systemui")]
    kids += [node(cls="android.widget.ImageView", pkg="com.android.systemui") for _ in range(icons)]
    return window(*kids, pkg="com.android.systemui")


def feed(n: int, clock: str = "09:41", icons: int = 2) -> str:
    rows = [node(cls="android.widget.LinearLayout", rid=f"{APP}:id/row", click=True,
                 inner=node(f"商品 {i} ¥{i * 10}.9", f"{APP}:id/title") + node(f"{i}人已购", f"{APP}:id/sold"))
            for i in range(n)]
    lst = node(cls="androidx.recyclerview.widget.RecyclerView", rid=f"{APP}:id/list", scroll=True, inner="".join(rows))
    return dump(window(node("商城", f"{APP}:id/toolbar"), lst), status_bar(clock, icons))


def perm_dialog(title: str, over: str = "") -> str:
    dialog = window(node(title, f"{PERM}:id/permission_message", pkg=PERM),
                    node("Allow", f"{PERM}:id/permission_allow_button", "android.widget.Button", True, pkg=PERM),
                    node("Don't allow", f"{PERM}:id/permission_deny_button", "android.widget.Button", True, pkg=PERM),
                    pkg=PERM)
    return dump(window(node(over or "Home", f"{APP}:id/title")), dialog)


def splash(seconds: int, clock: str) -> str:
    return dump(window(node(clock, f"{APP}:id/time"), node(f"跳过 {seconds}", f"{APP}:id/skip", click=True),
                       node(cls="android.widget.ImageView", rid=f"{APP}:id/ad_image")))


def test_countdowns_and_clocks_keep_the_state():
    three, two = splash(3, "09:41"), splash(2, "09:42")
    assert state_key(three, None, APP) == state_key(two, None, APP)
    assert state_key(three, "splash_ad", APP) == state_key(two, "splash_ad", APP)
    scene3 = Scene("splash_ad", text=["跳过 3", "09:41"], countdown=3, actions={"skip": Control((0, 0, 9, 9), "跳过 3")})
    scene2 = Scene("splash_ad", text=["跳过 2", "09:42"], countdown=2, actions={"skip": Control((0, 0, 9, 9), "跳过 2")})
    assert state_key(three, scene3, APP) == state_key(two, scene2, APP)


def test_a_longer_list_with_other_contents_is_the_same_screen():
    assert state_key(feed(10), None, APP) == state_key(feed(12), None, APP) == state_key(feed(4), None, APP)
    assert state_key(feed(10), None, APP) != state_key(feed(1), None, APP)  # one row is not a list of many


def test_the_status_bar_and_bounds_jitter_do_not_make_a_new_state():
    assert state_key(feed(5, "09:41", icons=2)) == state_key(feed(5, "23:07", icons=6))
    shifted = feed(5).replace("[0,0][720,100]", "[0,2][720,103]")
    assert state_key(shifted, None, APP) == state_key(feed(5), None, APP)


@pytest.mark.parametrize("as_scene", [True, False])
def test_different_permission_dialogs_on_the_same_layout_are_different_states(as_scene):
    camera_xml = perm_dialog("Allow Snap to take pictures and record video?")
    location_xml = perm_dialog("Allow Snap to access this device's location?")
    if as_scene:
        camera = Scene("permission_dialog", permission="camera", text=["allow snap to take pictures and record video?"])
        location = Scene("permission_dialog", permission="location",
                         text=["allow snap to access this device's location?"])
    else:
        camera = location = "permission_dialog"  # only the kind: the dialog's own text is read from the dump
    assert state_key(camera_xml, camera, APP) != state_key(location_xml, location, APP)
    assert state_key(camera_xml, camera, APP) == state_key(perm_dialog("Allow Snap to take pictures and record video?"),
                                                            camera, APP)


def test_consent_and_ad_dialogs_on_the_same_layout_differ_and_dialogs_differ_from_the_screen_under_them():
    layout = dump(window(node("title", f"{APP}:id/title"), node("OK", f"{APP}:id/ok", "android.widget.Button", True)))
    consent = Scene("consent_dialog", text=["用户协议与隐私政策", "同意"])
    ad = Scene("ad_popup", text=["限时特惠", "同意"])
    assert state_key(layout, consent, APP) != state_key(layout, ad, APP)
    assert state_key(layout, Scene("consent_dialog", text=["隐私政策 v2"]), APP) != state_key(layout, consent, APP)
    assert state_key(layout, Scene("app"), APP) != state_key(layout, consent, APP)


def test_app_screens_ignore_their_text_but_pixel_read_screens_use_it():
    home = dump(window(node("首页", f"{APP}:id/tab_home", click=True)))
    renamed = dump(window(node("Home", f"{APP}:id/tab_home", click=True)))
    assert state_key(home, Scene("app"), APP) == state_key(renamed, Scene("app"), APP)
    flutter = dump(window(node(cls="android.view.View", rid="")))
    login = Scene("app", text=["登录"], source="ocr")
    shop = Scene("app", text=["购物车"], source="ocr")
    assert state_key(flutter, login, APP) != state_key(flutter, shop, APP)


def test_different_screens_activities_and_apps_differ():
    home = dump(window(node("首页", f"{APP}:id/tab_home", click=True)))
    mine = dump(window(node("我的", f"{APP}:id/settings_list"), node("退出登录", click=True)))
    assert state_key(home) != state_key(mine)
    assert state_key(home, None, APP) != state_key(home, None, "com.android.launcher3")
    assert state_key(home, None, APP, activity=".Main") != state_key(home, None, APP, activity=".Settings")
    feed_xml = (FIXTURES / "app_feed_en.xml").read_bytes()
    settings_xml = (FIXTURES / "app_settings_zh.xml").read_bytes()
    assert state_key(feed_xml) != state_key(settings_xml)


def test_keys_from_a_parsed_hierarchy_and_from_xml_agree_and_are_short_hex():
    xml = (FIXTURES / "consent_zh.xml").read_text("utf-8")
    hierarchy = parse_hierarchy(xml)
    scene = perceive(hierarchy)
    key = state_key(hierarchy, scene, "com.example.news")
    assert key == state_key(xml, scene, "com.example.news") == state_key(xml.encode(), scene, "com.example.news")
    assert len(key) == 16 and int(key, 16) >= 0


@pytest.mark.parametrize(("fixture", "camera", "location"), [
    ("perm_aosp11_en.xml", "Allow Snap to take pictures and record video?",
     "Allow Snap to access this device's location?"),
    ("perm_miui_zh.xml", "拍摄照片和录制视频", "获取位置信息"),
])
def test_a_real_rom_dialog_for_another_permission_is_another_state(fixture, camera, location):
    xml = (FIXTURES / fixture).read_text("utf-8")
    keys = []
    for text in (camera, location):
        hierarchy = parse_hierarchy(xml.replace(quoteattr(camera), quoteattr(text)))
        scene = perceive(hierarchy)
        assert scene.kind == "permission_dialog"
        keys.append(state_key(hierarchy, scene, scene.package))
    assert keys[0] != keys[1]
    again = parse_hierarchy(xml)
    assert state_key(again, perceive(again), perceive(again).package) == keys[0]


def test_hostile_dumps_are_refused():
    evil = '<?xml version="1.0"?><!DOCTYPE h [<!ENTITY x "boom">]><hierarchy>&x;</hierarchy>'
    with pytest.raises(BadHierarchy):
        state_key(evil)
    with pytest.raises(BadHierarchy):
        state_key("<hierarchy><node")
