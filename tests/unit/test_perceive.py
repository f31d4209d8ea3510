"""crawler.perceive on hand-written dumps: every scene kind, every role, the negation cases, OCR on blind screens,
and `naysayer inspect`."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.inspection import InspectError, format_inspection, inspect_screen
from crawler.perceive import perceive
from crawler.perceive.lexicon import permission_lexicon
from crawler.perceive.matching import PhraseSet, match_form
from crawler.perceive.permission import group_of
from crawler.perceive.scene import ACTION_ROLES, PERMISSION_GROUPS, SCENE_KINDS, Scene
from crawler.screen import parse_hierarchy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xml"


def scene_of(name: str, **kw) -> Scene:
    return perceive(parse_hierarchy((FIXTURES / name).read_bytes()), **kw)


# file -> (kind, permission, {role: text of the control})
EXPECTED = {
    "perm_aosp6_en.xml": ("permission_dialog", "location",
                          {"deny": "DENY", "allow": "ALLOW", "dont_ask_checkbox": "Never ask again"}),
    "perm_aosp10_zh.xml": ("permission_dialog", "storage", {"allow": "允许", "deny_dont_ask": "拒绝,不要再询问"}),
    "perm_aosp11_en.xml": ("permission_dialog", "camera", {"allow_foreground": "While using the app",
                                                           "allow_once": "Only this time", "deny_dont_ask": "Deny"}),
    "perm_aosp12_zh.xml": ("permission_dialog", "location", {"allow_foreground": "仅在使用该应用时允许",
                                                             "allow_once": "仅限这一次", "deny": "不允许"}),
    "perm_aosp14_en.xml": ("permission_dialog", "notifications", {"allow": "Allow", "deny": "Don't allow"}),
    "perm_gms13_en.xml": ("permission_dialog", "storage", {"allow": "Allow", "deny": "Don't allow"}),
    "perm_miui_zh.xml": ("permission_dialog", "camera", {"deny": "拒绝", "allow_foreground": "仅在使用中允许",
                                                         "allow_once": "本次运行允许"}),
    "perm_miui_dont_ask_zh.xml": ("permission_dialog", None, {"deny_dont_ask": "拒绝且不再询问",
                                                              "allow_always": "始终允许",
                                                              "allow_foreground": "仅在使用中允许"}),
    "perm_emui_zh.xml": ("permission_dialog", "contacts", {"deny": "禁止", "allow": "允许"}),
    "perm_samsung_zh.xml": ("permission_dialog", "phone", {"deny": "拒绝", "allow_always": "总是允许",
                                                           "dont_ask_checkbox": "点击【拒绝】后不再提示"}),
    "perm_vendor_text_zh.xml": ("permission_dialog", "microphone", {"deny": "禁止", "allow_always": "始终允许",
                                                                    "allow_foreground": "仅使用期间允许"}),
    "consent_zh.xml": ("consent_dialog", None, {"refuse": "不同意", "accept": "同意并继续", "browse": "仅浏览"}),
    "consent_zh_second.xml": ("consent_dialog", None, {"refuse": "不同意并退出", "accept": "同意并继续"}),
    "consent_en.xml": ("consent_dialog", None, {"refuse": "Decline", "accept": "Accept",
                                                "browse": "Continue as guest"}),
    "consent_ambiguous_zh.xml": ("consent_dialog", None, {"accept": "我知道了"}),
    "rationale_zh.xml": ("rationale_dialog", "camera", {"not_now": "取消", "grant": "继续"}),
    "rationale_settings_zh.xml": ("rationale_dialog", "location", {"settings": "去设置", "not_now": "以后再说",
                                                                   "exit": "退出"}),
    "rationale_en.xml": ("rationale_dialog", "storage", {"not_now": "Not now", "settings": "Go to Settings"}),
    "prompt_app_drawn_en.xml": ("rationale_dialog", "location", {"not_now": "Don't allow", "grant": "Allow"}),
    "ad_popup_zh.xml": ("ad_popup", None, {"close": "", "cta": "立即领取"}),
    "ad_popup_corner.xml": ("ad_popup", None, {"close": "", "cta": "查看详情"}),
    "ad_overlay_fullscreen_zh.xml": ("ad_popup", None, {"close": "关闭", "cta": "立即领取"}),
    "ad_overlay_countdown_en.xml": ("ad_popup", None, {"cta": "Shop now"}),
    "splash_no_skip_zh.xml": ("splash_ad", None, {}),
    "splash_no_skip_en.xml": ("splash_ad", None, {}),
    "prompt_update_zh.xml": ("ad_popup", None, {"close": "以后再说", "cta": "立即更新"}),
    "prompt_notification_zh.xml": ("ad_popup", "notifications", {"close": "暂不开启", "cta": "去开启"}),
    "splash_zh.xml": ("splash_ad", None, {"skip": "跳过 3"}),
    "splash_countdown_first.xml": ("splash_ad", None, {"skip": "5s 跳过"}),
    "splash_skip_id.xml": ("splash_ad", None, {"skip": ""}),
    "system_anr_en.xml": ("system_dialog", None, {"close_app": "Close app", "wait": "Wait"}),
    "system_crash_zh.xml": ("system_dialog", None, {"close_app": "关闭应用"}),
    "system_chooser_zh.xml": ("system_dialog", None, {"ok": "仅此一次"}),
    "app_settings_zh.xml": ("app", None, {}),
    "app_feed_en.xml": ("app", None, {}),
    "splash_video_skip_negative.xml": ("app", None, {}),
    "hostile_app.xml": ("app", None, {}),
}


def test_every_fixture_is_expected_and_every_kind_and_role_is_covered():
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.glob("*.xml") if not p.name.startswith("blind_"))
    assert {kind for kind, _, _ in EXPECTED.values()} == set(SCENE_KINDS)
    roles = {r for _, _, actions in EXPECTED.values() for r in actions}
    assert set(ACTION_ROLES) - roles == set()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_scene(name):
    kind, permission, actions = EXPECTED[name]
    scene = scene_of(name)
    assert scene.kind == kind
    assert scene.permission == permission
    assert {role: c.text for role, c in scene.actions.items()} == actions
    assert 0 < scene.confidence <= 1.0
    for control in scene.actions.values():
        x1, y1, x2, y2 = control.bounds
        assert x2 > x1 and y2 > y1


def test_id_and_package_matches_are_certain_text_matches_are_not():
    assert scene_of("perm_aosp11_en.xml").confidence == 1.0
    assert scene_of("perm_vendor_text_zh.xml").confidence < 1.0
    assert scene_of("splash_skip_id.xml").confidence == 1.0
    assert scene_of("consent_zh.xml").confidence < 1.0


def test_scene_reports_window_package_dialog_bounds_checkbox_state_and_countdown():
    perm = scene_of("perm_gms13_en.xml")
    assert perm.package == "com.google.android.permissioncontroller"  # GMS package, com.android.* resource-ids
    assert perm.dialog_bounds is not None and perm.dialog_bounds[2] - perm.dialog_bounds[0] < 720
    consent = scene_of("consent_zh.xml")
    assert consent.package == "com.example.news"
    assert [(c.text, c.checked) for c in consent.checkboxes] == [("我已阅读并同意《用户协议》和《隐私政策》", True)]
    assert scene_of("perm_aosp6_en.xml").checkboxes[0].checked is False
    assert scene_of("splash_zh.xml").countdown == 3
    assert scene_of("splash_countdown_first.xml").countdown == 5


def test_scene_text_is_visible_lines_cleaned_and_bounded():
    scene = scene_of("hostile_app.xml")
    assert "off screen" not in scene.text
    assert all(len(line) <= 300 for line in scene.text)
    assert all(ch.isprintable() for line in scene.text for ch in line)
    assert scene.text[0].startswith("<script>")  # kept as data, never interpreted
    assert scene_of("perm_aosp14_en.xml").text[-1] == "Don't allow"


def test_scene_round_trips_through_json():
    scene = scene_of("consent_zh.xml")
    assert Scene.from_json(scene.to_json()) == scene


@pytest.mark.parametrize("label, role", [
    ("Don't allow", "deny"), ("Don\u2019t allow", "deny"), ("DON\u2019T ALLOW", "deny"), ("DENY", "deny"),
    ("不允许", "deny"), ("拒绝", "deny"), ("禁止", "deny"), ("Deny anyway", "deny"),
    ("拒绝且不再询问", "deny_dont_ask"), ("拒绝，不要再询问", "deny_dont_ask"), ("Deny & don\u2019t ask again", "deny_dont_ask"),
    ("Don\u2019t allow & don\u2019t ask again", "deny_dont_ask"), ("不允许且不要再询问", "deny_dont_ask"),
    ("ALLOW", "allow"), ("允许", "allow"), ("Only this time", "allow_once"), ("仅限这一次", "allow_once"),
    ("ALLOW ONLY WHILE USING THE APP", "allow_foreground"), ("仅在使用中允许", "allow_foreground"),
    ("Allow all the time", "allow_always"), ("始终允许", "allow_always"),
])
def test_permission_button_texts(label, role):
    lex = permission_lexicon()
    got = lex.buttons.role_of(match_form(label))
    if got == "deny" and lex.dont_ask.matches(match_form(label)):
        got = "deny_dont_ask"
    assert got == role


def test_negation_and_whole_words():
    allow = PhraseSet.of(["allow", "允许"])
    agree = PhraseSet.of(["agree", "同意"])
    assert not allow.matches(match_form("Don't allow")) and not allow.matches(match_form("Don\u2019t allow"))
    assert not allow.matches(match_form("do not allow")) and not allow.matches(match_form("不允许"))
    assert allow.matches(match_form("Allow")) and allow.matches(match_form("仅在使用中允许"))
    assert not allow.matches(match_form("allowance")) and not agree.matches(match_form("Disagree"))
    assert not agree.matches(match_form("不同意")) and agree.matches(match_form("同意并继续"))
    assert PhraseSet.of(["跳过"]).matches(match_form("跳 过")) and PhraseSet.of(["=×"]).matches(match_form("×"))
    assert not PhraseSet.of(["=x"]).matches(match_form("xx"))


@pytest.mark.parametrize("message, group", [
    ("Allow Camera Notes to access this device\u2019s location?", "location"),
    ("Allow X to access your phone call logs?", "call_log"),
    ("Allow X to make and manage phone calls?", "phone"),
    ("要允许“相机”录音吗？", "microphone"),
    ("允许<b>X</b>获取您的身体活动数据吗？", "activity_recognition"),
    ("Allow X to access sensor data about your vital signs?", "body_sensors"),
    ("要允许“X”查找、连接到附近设备以及确定附近设备的相对位置吗？", "nearby_devices"),
    ("Allow X to send and view SMS messages?", "sms"),
    ("允许X访问您的日历吗？", "calendar"),
    ("Allow X to access your contacts?", "contacts"),
    ("要允许“X”拍摄照片和录制视频吗？", "camera"),
    ("Allow X to access music and audio on this device?", "storage"),
    ("Allow notification access for ad-free?", None),
])
def test_permission_group_from_message(message, group):
    assert group_of(match_form(message)) == group
    assert group is None or group in PERMISSION_GROUPS


@dataclass
class Line:
    text: str
    bounds: tuple
    score: float = 0.95


class FixedOcr:
    """A stand-in for crawler.perceive.ocr.OcrEngine returning fixed lines."""

    def __init__(self, lines):
        self.lines, self.calls = lines, 0

    def read(self, image, region=None):
        self.calls += 1
        return self.lines


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # never decoded by the stand-in


def test_blind_screen_is_read_with_ocr_lines():
    ocr = FixedOcr([Line("用户协议与隐私政策", (120, 500, 600, 560)), Line("请阅读并同意后使用", (100, 600, 620, 650)),
                    Line("不同意", (120, 1000, 330, 1080)), Line("同意", (390, 1000, 600, 1080)),
                    Line("噪声", (0, 0, 10, 10), score=0.1)])
    scene = scene_of("blind_flutter.xml", png=PNG, ocr=ocr)
    assert ocr.calls == 1
    assert scene.kind == "consent_dialog" and scene.source == "ocr"
    assert scene.actions["refuse"].bounds == (120, 1000, 330, 1080) and scene.actions["accept"].text == "同意"
    assert scene.confidence < 1.0 and "噪声" not in scene.text


def test_pixel_only_dialog_over_a_readable_app_is_read_with_ocr():
    ocr = FixedOcr([Line("Start", (40, 120, 300, 190)), Line("Update available", (100, 450, 600, 520)),
                    Line("Later", (100, 1080, 330, 1150)), Line("Update now", (390, 1080, 620, 1150))])
    scene = scene_of("blind_dialog_over_app.xml", png=PNG, ocr=ocr)
    assert scene.kind == "ad_popup" and scene.source == "ocr"
    assert scene.actions["close"].text == "Later" and scene.actions["cta"].text == "Update now"


def test_readable_screens_never_call_ocr_and_blind_without_ocr_is_app():
    ocr = FixedOcr([Line("同意", (0, 0, 100, 100))])
    assert scene_of("perm_aosp14_en.xml", png=PNG, ocr=ocr).kind == "permission_dialog" and ocr.calls == 0
    assert scene_of("blind_flutter.xml").kind == "app"


def test_inspect_reports_scene_roles_and_text(tmp_path):
    d = inspect_screen(FIXTURES / "perm_aosp11_en.xml", None, use_ocr=False)
    assert d["scene"] == "permission_dialog" and d["permission"] == "camera" and d["source"] == "hierarchy"
    assert d["actions"]["deny_dont_ask"]["bounds"] == [60, 1032, 660, 1122]
    assert d["confidence"] == 1.0 and "Allow Snap to take pictures and record video?" in d["text"]
    out = format_inspection(d)
    assert "permission_dialog" in out and "deny_dont_ask" in out and "camera" in out


def test_inspect_shows_hostile_text_escaped():
    out = format_inspection(inspect_screen(FIXTURES / "hostile_app.xml", None, use_ocr=False))
    assert "\x9b" not in out and "\u202e" not in out
    assert max(len(line) for line in out.splitlines()) < 200


def test_inspect_errors_name_the_input(tmp_path):
    with pytest.raises(InspectError, match="no such file"):
        inspect_screen(tmp_path / "missing.xml", None, use_ocr=False)
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><hierarchy>&a;</hierarchy>')
    with pytest.raises(InspectError, match="bad.xml: .*DOCTYPE"):
        inspect_screen(bad, None, use_ocr=False)
    cut = tmp_path / "cut.xml"
    cut.write_text("<hierarchy><node index=")
    with pytest.raises(InspectError, match="cut.xml: truncated"):
        inspect_screen(cut, None, use_ocr=False)
    notpng = tmp_path / "shot.png"
    notpng.write_bytes(b"GIF89a")
    with pytest.raises(InspectError, match="shot.png: not a screenshot"):
        inspect_screen(None, notpng, use_ocr=False)


def test_full_screen_overlay_ad_is_a_popup_with_its_close():
    scene = scene_of("ad_overlay_fullscreen_zh.xml")
    assert scene.kind == "ad_popup"
    assert scene.actions["close"].resource_id.endswith("iv_close")
    assert scene.actions["cta"].text == "立即领取"


def test_ad_whose_close_is_still_counting_down_is_a_held_popup():
    scene = scene_of("ad_overlay_countdown_en.xml")
    assert scene.kind == "ad_popup" and scene.countdown == 5
    assert "close" not in scene.actions and scene.actions["cta"].text == "Shop now"
    # the same layout without the overlay window is the app's own screen, not an ad
    assert scene_of("app_feed_en.xml").kind == "app"
