"""Zoo app files: every shipped app loads; a malformed one is refused with one line naming file, place and reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from emulator.zoo import ZooError, build_sim_apk, load_app, load_app_bytes, load_zoo
from emulator.zoo.model import finding_kinds

APPS = Path(__file__).resolve().parents[2] / "emulator" / "zoo" / "apps"

GOOD = """
app:
  package: com.example.demo
  label: Demo
  locale: en-US
  category: tools
  permissions: [android.permission.CAMERA]
expect: [{kind: quit_on_refusal, permission: camera}]
screens:
  home:
    activity: .MainActivity
    content:
      - type: button
        id: btn_scan
        text: Scan
        on_tap:
          - request: [android.permission.CAMERA]
            on_denied: [{after: 1, do: [exit]}]
"""


def write(tmp_path: Path, text: str, name: str = "app.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ZooError) as caught:
        load_app(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def test_a_good_file_loads_into_an_installable_package(tmp_path):
    app = load_app(write(tmp_path, GOOD))
    assert app.manifest.package == "com.example.demo"
    assert app.manifest.permissions == ("android.permission.CAMERA",)
    assert app.manifest.launcher_activity == ".MainActivity"
    assert [e.kind for e in app.expected] == ["quit_on_refusal"]
    assert app.path == tmp_path / "app.yaml"


@pytest.mark.parametrize(
    ("change", "place", "reason"),
    [
        (("exit]", "exlt]"), "screens.home.content[0].on_tap[0].on_denied[0].do[0]", "unknown action 'exlt'"),
        (("on_denied: [{after: 1, do: [exit]}]", "on_denied: [{goto: hme}]"),
         "screens.home.content[0].on_tap[0].on_denied[0]", "unknown screen 'hme'"),
        (("permissions: [android.permission.CAMERA]", "permissions: [android.permission.CAMRA]"),
         "app.permissions", "unknown runtime permission 'android.permission.CAMRA'"),
        (("request: [android.permission.CAMERA]", "request: [android.permission.READ_CONTACTS]"),
         "screens.home.content[0].on_tap[0]", "not declared in app.permissions"),
        (("kind: quit_on_refusal", "kind: quits"), "expect[0].kind", "unknown finding kind 'quits'"),
        (("permission: camera}", "permission: cam}"), "expect[0].permission", "unknown permission group 'cam'"),
        (("text: Scan", "text: Scan\n        colour: red"), "screens.home.content[0].colour", "unknown field"),
        (("  label: Demo\n", ""), "app.label", "required field missing"),
        (("- type: button", "- type: knob"), "screens.home.content[0]", "'knob'"),
    ],
)
def test_malformed_files_name_file_place_and_reason(tmp_path, change, place, reason):
    old, new = change
    assert old in GOOD
    message = error_of(tmp_path, GOOD.replace(old, new, 1))
    assert f": {place}: " in message, message
    assert reason in message, message


def test_yaml_syntax_errors_name_the_line(tmp_path):
    message = error_of(tmp_path, GOOD.replace("expect: [{kind", "expect: [{kind: [", 1))
    assert ": line " in message and "not valid YAML" in message


def test_control_apps_must_expect_nothing_and_others_something(tmp_path):
    assert "control app expects no findings" in error_of(tmp_path, GOOD.replace("expect:", "control: true\nexpect:"))
    assert "control: true" in error_of(tmp_path, GOOD.replace("expect: [{kind: quit_on_refusal, permission: camera}]",
                                                              "expect: []"))


def test_unknown_dialog_and_timer_references_are_refused(tmp_path):
    assert "unknown dialog 'promo'" in error_of(tmp_path, GOOD.replace("exit]", "show: promo]"))
    assert "unknown timer 'loop'" in error_of(tmp_path, GOOD.replace("exit]", "cancel: loop]"))
    assert "no input with id 'et_sum'" in error_of(tmp_path, GOOD.replace("exit]", "{set_text: et_sum, text: '3'}]"))


def test_framework_ids_and_the_manifest_lists_every_activity(tmp_path):
    text = GOOD.replace("id: btn_scan", "id: android:button1").replace(
        "screens:\n", "screens:\n  second:\n    activity: .SecondActivity\n    content: [{type: input, id: et_a}]\n")
    app = load_app(write(tmp_path, text))
    assert app.manifest.activities == (".MainActivity", ".SecondActivity")
    assert "screens.home.content[0].id: String should match pattern" in error_of(tmp_path, GOOD.replace("id: btn_scan", "id: 'Android:x'"))


def test_a_huge_or_binary_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ZooError, match="not UTF-8"):
        load_app(path)


def test_every_shipped_app_loads_with_known_expectations():
    apps = load_zoo()
    assert len(apps) >= 2
    kinds = finding_kinds()
    for app in apps:
        assert app.control == (not app.expected), app.manifest.package
        assert all(e.kind in kinds for e in app.expected)
    assert len({a.manifest.package for a in apps}) == len(apps)


def test_sim_apk_round_trip_and_non_apks_are_refused(tmp_path):
    apk = build_sim_apk(APPS / "weather_quit.yaml", tmp_path / "weather.apk")
    app = load_app_bytes(apk.read_bytes(), "weather.apk")
    assert app.manifest == load_app(APPS / "weather_quit.yaml").manifest
    assert load_app(apk).manifest.package == app.manifest.package
    with pytest.raises(ZooError, match=r"^junk\.apk: \(archive\): not a sim APK"):
        load_app_bytes(b"PK\x03\x04 not really", "junk.apk")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("classes.dex", b"dex\n035")
    with pytest.raises(ZooError, match="not a sim APK"):
        load_app_bytes(other.read_bytes(), "other.apk")


def test_duplicate_packages_in_a_zoo_are_refused(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(ZooError, match="also declared by"):
        load_zoo([tmp_path])
