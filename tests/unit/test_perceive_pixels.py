"""Perception from pixels on screens the simulator renders (its XML and its PNG, drawn with real fonts), read by the
real OCR engine: the pixel-only zoo apps are recognised with the right control, each action says where it was found
(hierarchy / ocr / vision), only the crops that matter are read, and an unusable screenshot never stops perception."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.perceive import perceive
from crawler.perceive.ocr import OcrEngine
from crawler.screen import parse_hierarchy
from emulator.sim.device import SimDevice
from emulator.sim.render_png import SCREENSHOT_FAULTS, damaged_png, render_png
from emulator.sim.render_xml import render_xml
from emulator.zoo import load_app

APPS = Path(__file__).resolve().parents[2] / "emulator" / "zoo" / "apps"


class CountingEngine:
    """The real engine, counting the crops it is asked for."""

    def __init__(self, engine: OcrEngine):
        self.engine, self.regions = engine, []

    def read(self, image, region=None):
        self.regions.append(region)
        return self.engine.read(image, region=region)


@pytest.fixture
def ocr(ocr_engine) -> CountingEngine:
    return CountingEngine(ocr_engine)


def launched(tmp_path: Path, file: str) -> tuple[SimDevice, str]:
    app = load_app(APPS / file)
    device = SimDevice("sim", apps=[app], storage_dir=tmp_path / "dev")
    device.run(f"monkey -p {app.manifest.package} -c android.intent.category.LAUNCHER 1")
    return device, app.manifest.package


def frame(device: SimDevice) -> tuple[bytes, bytes]:
    screen = device.screen()
    return render_xml(screen).encode("utf-8"), render_png(screen)


def look(device: SimDevice, ocr):
    xml, png = frame(device)
    return perceive(parse_hierarchy(xml), png, ocr)


def test_textless_skip_is_read_from_its_own_box_and_stays_inert_until_its_countdown_ends(tmp_path, ocr):
    device, _ = launched(tmp_path, "video_textless_skip.yaml")
    xml, _ = frame(device)
    assert "跳过" not in xml.decode()  # the hierarchy cannot see the label
    scene = look(device, ocr)
    skip = scene.actions["skip"]
    assert scene.kind == "splash_ad" and scene.countdown == 5
    assert skip.source == "ocr" and skip.bounds == (540, 80, 688, 144) and skip.enabled is False
    assert ocr.regions and all(r is not None and (r[2] - r[0]) * (r[3] - r[1]) < 200 * 100 for r in ocr.regions)
    device.advance(5.5)
    scene = look(device, ocr)
    assert scene.actions["skip"].enabled and scene.countdown == 3
    device.tap(*scene.actions["skip"].center)  # a tap on the recognised box skips the ad
    device.advance(1)
    assert look(device, ocr).kind == "app" and "跳过" not in " ".join(look(device, ocr).text)


def test_image_only_game_ad_is_closed_by_its_drawn_x_found_by_vision(tmp_path, ocr):
    device, _ = launched(tmp_path, "game_image_ad.yaml")
    device.advance(2.5)
    scene = look(device, ocr)
    assert scene.kind == "ad_popup" and scene.source == "ocr"
    close = scene.actions["close"]
    assert close.source == "vision"
    x1, y1, x2, y2 = close.bounds
    assert 560 <= x1 < x2 <= 640 and 360 <= y1 < y2 <= 440  # the X drawn on the card's top-right corner
    assert all(r is not None for r in ocr.regions)  # the card crop, never the whole screen
    device.tap(*close.center)
    device.advance(1)
    assert look(device, ocr).kind == "app"


def test_flutter_rationale_after_a_denial_offers_settings_and_exit_read_by_ocr(tmp_path, ocr):
    device, _ = launched(tmp_path, "fitness_flutter_rationale.yaml")
    before = len(ocr.regions)
    permission = look(device, ocr)
    assert permission.kind == "permission_dialog" and permission.actions["deny"].source == "hierarchy"
    assert len(ocr.regions) == before  # the system dialog reads from the hierarchy: no OCR at all
    device.tap(*permission.actions["deny"].center)
    device.advance(1)
    scene = look(device, ocr)
    assert scene.kind == "rationale_dialog" and scene.permission == "location" and scene.source == "ocr"
    assert {r: c.source for r, c in scene.actions.items()} == {"exit": "ocr", "settings": "ocr"}
    assert scene.actions["settings"].text == "去设置"


def test_webview_consent_offers_no_refusal(tmp_path, ocr):
    device, _ = launched(tmp_path, "news_pixel_consent.yaml")
    scene = look(device, ocr)
    assert scene.kind == "consent_dialog" and "refuse" not in scene.actions
    assert scene.actions["accept"].source == "ocr" and scene.dialog_bounds is not None


def test_hierarchy_rich_screens_never_read_pixels(tmp_path, ocr):
    device, _ = launched(tmp_path, "shop_popup.yaml")
    for _ in range(3):
        scene = look(device, ocr)
        assert all(c.source == "hierarchy" for c in scene.actions.values())
        device.advance(2)
    assert ocr.regions == []


@pytest.mark.parametrize("fault", SCREENSHOT_FAULTS)
def test_unusable_screenshot_is_a_clear_error_and_the_hierarchy_still_reads(tmp_path, ocr, fault):
    device, _ = launched(tmp_path, "fitness_flutter_rationale.yaml")
    xml, png = frame(device)
    permission = perceive(parse_hierarchy(xml), damaged_png(png, fault), ocr)
    assert permission.kind == "permission_dialog" and permission.pixel_error is None  # pixels were not needed
    device.tap(*permission.actions["deny"].center)
    device.advance(1)
    xml, png = frame(device)
    scene = perceive(parse_hierarchy(xml), damaged_png(png, fault), ocr)
    assert scene.kind == "app" and scene.actions == {}
    assert scene.pixel_error.startswith("screenshot: ") and "\n" not in scene.pixel_error
    expected = {"truncated": "corrupt or truncated", "corrupt": "corrupt or truncated", "empty": "0 bytes",
                "garbage": "not an image", "huge": "too large"}[fault]
    assert expected in scene.pixel_error
