"""Crawls that depend on structure, not words: an ad SDK's activity with no ad word, an in-house promotion with 关闭,
an X that appears after 5 s with no label, what a tap really hit, and a modal nobody can read (escalation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.crawl import crawl_app
from crawler.detectors import detect
from crawler.device import AndroidDevice
from crawler.store import RunStore
from crawler.wire import FastAdbClient
from emulator.sim.device import SimDevice
from emulator.zoo import load_app, load_zoo

REPO = Path(__file__).resolve().parents[2]
ZOO = {app.manifest.package: app for app in load_zoo()}
STUCK = load_app(REPO / "tests" / "fixtures" / "zoo" / "stuck_modal.yaml")


@pytest.fixture
def sim(serve_device, adb_server, tmp_path):
    def make(apps):
        backend = SimDevice("sim", skin="aosp-13", locale="zh-CN", apps=apps, storage_dir=tmp_path / "dev")
        registered = serve_device(backend)
        backend.set_serial(registered.serial)
        return AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port))

    return make


def crawl(device, package, out, **options):
    options = {"budget": 120.0, "idle": 0.0, "ocr": False, "progress": False, **options}
    run, reason, detail = crawl_app(serial=device.serial, package=package, out=out, device=device, **options)
    return RunStore.open(run), reason, detail


@pytest.mark.parametrize("package, kind", [
    ("com.example.wordsnack", "deceptive_close"),  # Pangle's activity in front: an ad with no ad word
    ("com.example.shuhai.reader", "popup_harassment"),  # 每日签到 with 关闭, no 广告
    ("com.example.panbook.recipes", "close_countdown"),  # the X comes after 5 s, no label
])
def test_structural_zoo_apps_give_their_finding(sim, tmp_path, package, kind):
    device = sim(list(ZOO.values()))
    store, reason, detail = crawl(device, package, tmp_path)
    with store:
        trace = store.trace()
    assert reason in ("done", "budget", "steps"), detail
    kinds = {f.kind for f in detect(trace)}
    assert kind in kinds and kinds <= {kind}
    if package == "com.example.wordsnack":
        ad = next(s for s in trace.of("observation") if s.data["scene"]["kind"] == "ad_popup")
        assert ad.data["scene"]["ad_sdk"] == "pangle" and "Stub_Standard_Portrait_Activity" in ad.data["activity"]


def test_every_tap_records_the_node_at_the_tap_point(sim, tmp_path):
    device = sim(list(ZOO.values()))
    store, _, _ = crawl(device, "com.example.shuhai.reader", tmp_path, budget=60.0)
    with store:
        trace = store.trace()
    taps = [s for s in trace.of("action") if s.data["type"] == "tap"]
    assert taps and all("hit" in s.data for s in taps)
    close = next(s for s in taps if s.data.get("role") == "close")
    assert close.data["hit"]["text"] == "关闭" and close.data["hit"]["bounds"] == close.data["target"]["bounds"]


def test_a_modal_nobody_can_read_is_escalated_then_only_watched(sim, tmp_path):
    device = sim([STUCK])
    store, reason, _ = crawl(device, "com.example.stuck.modal", tmp_path, budget=300.0)
    with store:
        trace = store.trace()
    escalations = [s.data["escalation"] for s in trace.of("recovery") if s.data["type"] == "stuck"]
    assert escalations == ["outside", "back", "relaunch", "watch"]
    assert reason == "budget"
    backs = [s for s in trace.of("action") if s.data["type"] == "back"]
    assert len(backs) <= 2
    assert any(s.data["type"] == "force_stop" and s.data["reason"].startswith("stuck") for s in trace.of("action"))
