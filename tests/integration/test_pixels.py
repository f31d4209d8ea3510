"""Crawls of the pixel-only zoo apps on simulated phones through the real adb server, adbutils and uiautomator2, with
the real OCR engine: each app yields exactly its expected findings, every tap on a control read from pixels lands on
the box perception recognised, and a phone that returns broken screenshots is still crawled from its hierarchy."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.crawl import crawl_app
from crawler.detectors import detect
from crawler.device import AndroidDevice
from crawler.store import RunStore
from crawler.wire import FastAdbClient
from emulator.sim.device import SimDevice
from emulator.zoo import load_app

APPS = Path(__file__).resolve().parents[2] / "emulator" / "zoo" / "apps"
PIXEL_APPS = ("news_pixel_consent.yaml", "fitness_flutter_rationale.yaml", "game_image_ad.yaml",
              "video_textless_skip.yaml")


@pytest.fixture
def phone(serve_device, adb_server, tmp_path):
    def make(file: str) -> tuple[SimDevice, AndroidDevice, str]:
        app = load_app(APPS / file)
        backend = SimDevice("sim", apps=[app], storage_dir=tmp_path / "dev")
        registered = serve_device(backend)
        backend.set_serial(registered.serial)
        return backend, AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port)), app.manifest.package

    return make


def crawl(device: AndroidDevice, package: str, out: Path):
    run, reason, detail = crawl_app(serial=device.serial, package=package, out=out, device=device, budget=90.0,
                                    idle=0.0, ocr=True, progress=False)
    assert reason in ("done", "budget", "steps"), detail
    with RunStore.open(run) as store:
        return store.trace()


@pytest.mark.parametrize("file", PIXEL_APPS)
def test_pixel_only_app_gives_its_expected_findings_from_pixel_actions(phone, tmp_path, file):
    _, device, package = phone(file)
    trace = crawl(device, package, tmp_path / "runs")
    expected = {(e.kind, e.permission) for e in load_app(APPS / file).expected}
    found = {(f.kind, f.metrics.get("permission")) for f in detect(trace)}
    assert {kind for kind, _ in found} == {kind for kind, _ in expected}, found
    observations = {s.seq: s for s in trace.of("observation")}
    pixel_taps = []
    for action in trace.of("action"):
        if action.data.get("type") != "tap" or "target" not in action.data:
            continue
        seen = max((seq for seq in observations if seq < action.seq), default=None)
        scene = observations[seen].data["scene"]
        control = scene["actions"].get(action.data["role"]) if action.data.get("role") else None
        if control and control["source"] != "hierarchy":
            assert action.data["target"]["bounds"] == control["bounds"]  # the tap went to the recognised box
            pixel_taps.append((action.data["role"], control["source"]))
    assert pixel_taps, "no control read from pixels was tapped"


def test_game_ad_x_is_found_by_vision_and_tapped(phone, tmp_path):
    _, device, package = phone("game_image_ad.yaml")
    trace = crawl(device, package, tmp_path / "runs")
    closes = [s for s in trace.of("action") if s.data.get("role") == "close"]
    ads = [s for s in trace.of("observation") if s.data["scene"]["kind"] == "ad_popup"]
    assert closes and ads and all(a.data["scene"]["actions"]["close"]["source"] == "vision" for a in ads)


@pytest.mark.parametrize("fault", ["truncated", "garbage", "huge"])
def test_broken_screenshots_are_recorded_and_the_crawl_goes_on_from_the_hierarchy(phone, tmp_path, fault):
    backend, device, package = phone("fitness_flutter_rationale.yaml")
    backend.inject_fault("screenshot", fault, times=10_000)
    trace = crawl(device, package, tmp_path / "runs")
    observations = list(trace.of("observation"))
    errors = {s.data["scene"]["pixel_error"] for s in observations if s.data["scene"]["kind"] == "app"}
    assert errors and all(e and e.startswith("screenshot: ") for e in errors)
    # The system's permission dialog is read from the hierarchy and refused; the drawn rationale stays unseen.
    assert any(s.data.get("role") == "deny" for s in trace.of("action"))
    assert not any(s.data["scene"]["kind"] == "rationale_dialog" for s in observations)
    assert trace.steps[-1].kind == "run_end"
