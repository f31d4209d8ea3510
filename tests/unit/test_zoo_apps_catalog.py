"""The zoo as a benchmark: enough apps, every required finding kind covered twice, clean controls, both locales,
and the scenario apps behaving as their ground truth says under the deny-first crawler's moves."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from emulator.zoo import load_app, load_zoo
from emulator.zoo import model as m
from tests.unit.test_zoo_runtime import RecordingHost, key_of, start, tap_text, texts

ZOO_DIR = Path(__file__).resolve().parents[2] / "emulator" / "zoo"
APPS = ZOO_DIR / "apps"


@pytest.fixture(scope="module")
def zoo():
    return load_zoo()


def required_kinds() -> list[str]:
    return yaml.safe_load((ZOO_DIR / "finding_kinds.yaml").read_text("utf-8"))["required"]


def launch_targets(app) -> set[str]:
    return {a.launch for _, a in m.all_actions(app.model) if isinstance(a, m.Launch)}


def test_the_zoo_has_at_least_22_apps(zoo):
    assert len(zoo) >= 22


def test_every_required_finding_kind_is_expected_by_at_least_two_apps(zoo):
    apps_per_kind = Counter(kind for app in zoo for kind in {e.kind for e in app.expected})
    thin = {kind: apps_per_kind[kind] for kind in required_kinds() if apps_per_kind[kind] < 2}
    assert not thin, f"kinds expected by fewer than 2 apps: {thin}"


def test_at_least_five_clean_controls_expect_nothing(zoo):
    controls = [app for app in zoo if app.model.control]
    assert len(controls) >= 5
    assert all(not app.expected for app in controls)


def test_both_locales_are_present(zoo):
    assert {app.model.app.locale for app in zoo} == {"zh-CN", "en-US"}


def test_packages_are_unique(zoo):
    packages = [app.manifest.package for app in zoo]
    assert len(packages) == len(set(packages))


def test_every_app_another_app_launches_is_installed_in_the_zoo(zoo):
    installed = {app.manifest.package for app in zoo}
    for app in zoo:
        missing = launch_targets(app) - installed
        assert not missing, f"{app.manifest.package} launches {missing}, not in the zoo"


# ------------------------------------------------------------------ this helper's scenario apps, move by move


def app_named(file: str):
    return load_app(APPS / file)


def tap_row(runtime, title: str) -> None:
    """Tap the clickable row (list item, grid cell) that shows this title."""
    for window in reversed(runtime.windows()):
        for node in window.root.walk():
            if node.clickable and node.key and any(child.text == title for child in node.walk()):
                runtime.tap(node.key)
                return
    raise AssertionError(f"no row {title!r} in {texts(runtime.windows())}")


def requested(host: RecordingHost) -> list[tuple[str, ...]]:
    return [c[1] for c in host.called("request")]


def test_fitness_app_asks_three_groups_at_once_on_first_launch_only():
    app = app_named("fitness_burst.yaml")
    host, runtime = start(app)
    assert requested(host) == [("android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION",
                                "android.permission.ACTIVITY_RECOGNITION", "android.permission.BODY_SENSORS")]
    host.answer(grant=False)
    assert "部分功能暂不可用" in texts(runtime.windows())
    again, _ = start(app, RecordingHost(app.manifest.package, host.storage))
    assert requested(again) == []


def test_photo_editor_asks_camera_then_storage_under_a_banner_naming_both():
    host, runtime = start(app_named("photo_burst_en.yaml"))
    shown = " ".join(texts(runtime.windows()))
    assert "camera is used" in shown and "Photo storage is used" in shown
    assert requested(host) == [("android.permission.CAMERA",)]
    host.answer(grant=False)
    assert requested(host)[1][0] == "android.permission.READ_MEDIA_IMAGES"


def test_reader_asks_contacts_and_phone_five_seconds_after_storage_is_denied_once():
    host, runtime = start(app_named("reader_unrelated.yaml"))
    tap_row(runtime, "长夜将明")
    tap_text(runtime, "下载全本")
    host.answer(grant=False)
    host.advance(4.9)
    assert len(requested(host)) == 1
    host.advance(0.2)
    assert requested(host)[-1] == ("android.permission.READ_CONTACTS", "android.permission.READ_PHONE_STATE")
    host.answer(grant=False)
    tap_text(runtime, "下载全本")  # the user tries again: storage again, but no second unrelated request
    host.answer(grant=False)
    host.advance(30)
    assert [r[0] for r in requested(host)].count("android.permission.READ_CONTACTS") == 1


def test_social_app_asks_for_the_microphone_after_location_is_denied():
    host, runtime = start(app_named("social_unrelated_en.yaml"))
    assert requested(host) == []
    tap_text(runtime, "Nearby")
    tap_text(runtime, "Find people nearby")
    host.answer(grant=False)
    host.advance(5)
    assert requested(host)[-1] == ("android.permission.RECORD_AUDIO",)
    assert runtime.activity() == "com.example.circlet.social.MainActivity"


def test_video_pop_up_close_opens_the_landing_page_and_back_is_the_real_close():
    host, runtime = start(app_named("video_deceptive_close.yaml"))
    host.advance(2)
    close = key_of(runtime.windows(), "关闭")
    assert close.endswith("/close")
    runtime.tap(close)
    assert runtime.activity().endswith(".ad.AdLandingActivity") and "立即下载" in texts(runtime.windows())
    storage = {}
    host, runtime = start(app_named("video_deceptive_close.yaml"), RecordingHost("x", storage))
    host.advance(2)
    assert runtime.back() is True and "看视频 最高领88元现金" not in texts(runtime.windows())


def test_game_skip_opens_the_app_store():
    host, runtime = start(app_named("game_deceptive_close_en.yaml"))
    host.advance(1)
    tap_text(runtime, "Skip 15")
    assert [c[1] for c in host.called("start_app")] == ["com.example.appstore"]


def test_music_app_shows_four_different_pop_ups_in_under_a_minute_and_one_close_waits_five_seconds():
    host, runtime = start(app_named("music_popups.yaml"))
    seen = []
    for _ in range(40):
        host.advance(1)
        windows = runtime.windows()
        if len(windows) > 1 and windows[-1].title != "Toast":
            seen.append(windows[-1].title)
            if "5s" in texts(windows):
                host.advance(5)
            key = next(n.key for w in reversed(runtime.windows()) for n in w.root.walk()
                       if n.clickable and (n.key.endswith("/close") or n.text == "以后再说"))
            runtime.tap(key)
    assert len(set(seen)) == 4


def test_delivery_app_exits_on_refusal_and_blocks_with_settings_or_exit_after_a_location_denial():
    app = app_named("delivery_loop.yaml")
    host, runtime = start(app)
    tap_text(runtime, "不同意")
    assert host.called("finish")
    host, runtime = start(app, RecordingHost(app.manifest.package, host.storage))
    tap_text(runtime, "同意")
    host.answer(grant=False)
    shown = texts(runtime.windows())
    assert "需要定位权限才能为您推荐附近美食" in shown and "去设置" in shown and "退出应用" in shown
    assert runtime.back() is True and "退出应用" in texts(runtime.windows())


def test_clean_shop_pop_up_closes_with_one_tap_and_camera_is_asked_only_from_the_scan_page():
    host, runtime = start(app_named("shop_clean.yaml"))
    tap_text(runtime, "不同意")
    host.advance(1)
    runtime.tap(key_of(runtime.windows(), "关闭"))
    host.advance(300)
    assert "家电新人券 满300减30" not in texts(runtime.windows()) and requested(host) == []
    tap_text(runtime, "扫一扫")
    assert "相机仅用于识别商品条码和二维码，不会拍摄或保存照片。" in texts(runtime.windows())
    tap_text(runtime, "打开相机扫码")
    host.answer(grant=False)
    assert "您可以手动输入商品条码" in texts(runtime.windows()) and not host.called("finish")


def test_pixel_only_apps_cover_a_webview_consent_a_flutter_rationale_an_image_ad_with_x_and_a_textless_skip(zoo):
    """Issue 5: dialogs the hierarchy cannot see, each in an app with its expected findings (met in the demo)."""
    covered: dict[str, list[str]] = {}
    for app in zoo:
        for dialog in app.model.dialogs.values():
            if dialog.pixel_only and dialog.kind in ("consent", "rationale"):
                covered.setdefault(dialog.kind, []).append(app.manifest.package)
            if dialog.pixel_only and dialog.kind == "ad" and dialog.close and dialog.close.style == "x":
                covered.setdefault("image_ad_x", []).append(app.manifest.package)
            if dialog.kind == "splash_ad" and dialog.skip and dialog.skip.textless:
                covered.setdefault("textless_skip", []).append(app.manifest.package)
    assert set(covered) == {"consent", "rationale", "image_ad_x", "textless_skip"}
    assert all(app.expected for app in zoo if app.manifest.package in {p for ps in covered.values() for p in ps})


def test_textless_skip_is_drawn_but_has_no_text_in_the_hierarchy():
    host, runtime = start(app_named("video_textless_skip.yaml"))
    skip = next(n for w in runtime.windows() for n in w.root.walk() if n.resource_id.endswith(":id/a3f"))
    assert skip.text == "" and [c.text for c in skip.children] == ["跳过 5"] and skip.children[0].pixel_only
    assert not skip.clickable  # inert for 5 s
    host.advance(5)
    skip = next(n for w in runtime.windows() for n in w.root.walk() if n.resource_id.endswith(":id/a3f"))
    assert skip.clickable and skip.children[0].text == "跳过 3"
