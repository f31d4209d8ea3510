"""Permission-dialog skins: real packages, resource-ids and strings per ROM, checked against the shared reference."""

from __future__ import annotations

import json
import re

import pytest

from emulator.sim.skins import SkinError, UnknownSkin, load_skin, permission_dialog, skin_names
from tests.reference import require_reference

GROUPS = ["location", "camera", "microphone", "contacts", "storage", "phone", "sms", "calendar", "notifications",
          "nearby_devices", "body_sensors", "activity_recognition", "call_log"]
LOCALES = ["zh-CN", "en-US"]
SIZE = (720, 1600)


def buttons(window):
    return [n for n in window.root.walk() if n.key]


def texts(window):
    return [n.text for n in window.root.walk() if n.text]


@pytest.fixture(scope="module")
def reference() -> dict:
    data = json.loads(require_reference("permission_dialogs.json").read_text(encoding="utf-8"))
    return {entry["source_ref"]: entry for entry in data["aosp_permission_controller_by_version"]}


def test_the_required_skins_exist():
    names = skin_names()
    for name in ["aosp-10", "aosp-11", "aosp-12", "aosp-13", "aosp-14", "aosp-12-gms", "miui", "emui", "coloros",
                 "samsung"]:
        assert name in names


@pytest.mark.parametrize("name", skin_names())
def test_every_group_and_locale_builds_a_dialog(name):
    skin = load_skin(name)
    for locale in LOCALES:
        for group in GROUPS:
            for request_index in (1, 2):
                window = permission_dialog(skin, locale, "演示App", group, request_index, SIZE)
                assert window.package == skin.package and window.activity == skin.activity
                assert window.dim_behind and window.modal and window.title == "PermissionDialog"
                found = buttons(window)
                assert found, f"{name} {group} has no buttons"
                for node in found:
                    assert node.clickable and node.text
                    assert node.key in {"allow", "allow_foreground", "allow_once", "allow_always", "deny",
                                        "deny_dont_ask", "dont_ask_checkbox"}
                    assert node.resource_id.startswith(skin.id_prefix)
                    x1, y1, x2, y2 = node.bounds
                    assert 0 <= x1 < x2 <= SIZE[0] and 0 <= y1 < y2 <= SIZE[1]
                assert any(k in {n.key for n in found} for k in ("deny", "deny_dont_ask"))
                message = [n for n in window.root.walk() if n.resource_id.endswith("permission_message")
                           or n.resource_id.endswith("messagecontent")]
                assert message and "<b>" not in message[0].text
                assert any("演示App" in text for text in texts(window))  # in the title, or its own line (MIUI)


def test_aosp_13_strings_match_the_reference(reference):
    ref = reference["13"]
    window = permission_dialog(load_skin("aosp-13"), "zh-CN", "淘宝", "camera", 1, SIZE)
    expected_title = re.sub(r"</?b>", "", ref["permgrouprequest_messages"]["permgrouprequest_camera"]["zh-CN"])
    assert expected_title.replace("%1$s", "淘宝") in texts(window)
    by_key = {n.key: n for n in buttons(window)}
    strings = ref["all_grant_dialog_strings"]
    assert by_key["deny"].text == strings["grant_dialog_button_deny"]["zh-CN"] == "不允许"
    assert by_key["deny"].resource_id == "com.android.permissioncontroller:id/permission_deny_button"
    assert by_key["allow_once"].text == strings["grant_dialog_button_allow_one_time"]["zh-CN"]
    assert by_key["allow_foreground"].resource_id.endswith(":id/permission_allow_foreground_only_button")


def test_aosp_11_english_location_title(reference):
    ref = reference["android-11.0.0_r1"]["permgrouprequest_messages"]["permgrouprequest_location"]["en"]
    window = permission_dialog(load_skin("aosp-11"), "en-US", "Maps", "location", 1, SIZE)
    assert re.sub(r"</?b>", "", ref).replace("%1$s", "Maps") in texts(window)


def test_android_10_offers_deny_and_dont_ask_only_on_the_second_request(reference):
    skin = load_skin("aosp-10")
    first = {n.key: n for n in buttons(permission_dialog(skin, "en-US", "App", "contacts", 1, SIZE))}
    second = {n.key: n for n in buttons(permission_dialog(skin, "en-US", "App", "contacts", 2, SIZE))}
    assert "deny_dont_ask" not in first and "deny" in first
    assert "deny_dont_ask" in second
    expected = reference["android-10.0.0_r1"]["all_grant_dialog_strings"]
    assert second["deny_dont_ask"].text == expected["grant_dialog_button_deny_and_dont_ask_again"]["en"].upper()
    assert first["allow"].text == "ALLOW"  # textAllCaps on Android <= 10


def test_android_11_plus_second_deny_has_plain_text_under_the_dont_ask_id():
    for name in ("aosp-11", "aosp-13", "aosp-14"):
        skin = load_skin(name)
        first = {n.key: n for n in buttons(permission_dialog(skin, "zh-CN", "App", "camera", 1, SIZE))}
        second = {n.key: n for n in buttons(permission_dialog(skin, "zh-CN", "App", "camera", 2, SIZE))}
        assert second["deny_dont_ask"].text == first["deny"].text
        assert second["deny_dont_ask"].resource_id.endswith(":id/permission_deny_and_dont_ask_again_button")


def test_gms_variant_keeps_aosp_resource_ids():
    skin = load_skin("aosp-12-gms")
    window = permission_dialog(skin, "en-US", "App", "camera", 1, SIZE)
    assert window.package == "com.google.android.permissioncontroller"
    assert all(n.resource_id.startswith("com.android.permissioncontroller:id/") for n in buttons(window))


def test_vendor_skins_use_vendor_packages_and_strings():
    miui = permission_dialog(load_skin("miui"), "zh-CN", "XXPermissions", "camera", 1, SIZE)
    assert miui.package == "com.lbe.security.miui"
    assert [n.text for n in buttons(miui)] == ["拒绝", "本次运行允许", "仅在使用中允许"]
    assert miui.root.bounds[3] == SIZE[1]  # a bottom sheet
    emui = buttons(permission_dialog(load_skin("emui"), "zh-CN", "App", "contacts", 1, SIZE))
    assert {n.resource_id for n in emui} == {"com.huawei.systemmanager:id/btn_allow",
                                             "com.huawei.systemmanager:id/btn_forbbid"}
    assert emui[0].bounds[1] == emui[1].bounds[1]  # side by side
    samsung = load_skin("samsung")
    assert samsung.package == "com.samsung.android.permissioncontroller"
    repeat = {n.key: n for n in buttons(permission_dialog(samsung, "zh-CN", "App", "phone", 2, SIZE))}
    assert repeat["dont_ask_checkbox"].checkable and repeat["dont_ask_checkbox"].cls == "android.widget.CheckBox"


def test_uncertain_facts_are_flagged():
    assert any("deny" in fact for fact in load_skin("miui").uncertain)
    assert load_skin("coloros").uncertain
    assert load_skin("miui").props["ro.product.manufacturer"] == "Xiaomi"


def test_unknown_skin_lists_the_valid_names():
    with pytest.raises(UnknownSkin) as caught:
        load_skin("nokia-3310")
    message = str(caught.value)
    assert "nokia-3310" in message and "aosp-13" in message and "miui" in message


def test_unknown_group_and_locale_are_clear_errors():
    skin = load_skin("aosp-13")
    with pytest.raises(SkinError, match="teleport"):
        permission_dialog(skin, "zh-CN", "App", "teleport", 1, SIZE)
    with pytest.raises(SkinError, match="fr-FR"):
        permission_dialog(skin, "fr-FR", "App", "camera", 1, SIZE)
