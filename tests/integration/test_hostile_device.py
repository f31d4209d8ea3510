"""What a hostile app or device puts into its own facts is bounded and marked, never silently lost."""

from __future__ import annotations

from dataclasses import replace

from crawler.crawl import crawl_app
from crawler.device import AndroidDevice
from crawler.store import RunStore
from crawler.wire import FastAdbClient
from emulator.sim.device import SimDevice
from emulator.zoo import load_zoo

WEATHER = "com.example.qingtian.weather"


def test_a_10000_character_version_name_is_recorded_cut_and_marked(serve_device, adb_server, tmp_path):
    app = next(a for a in load_zoo() if a.manifest.package == WEATHER)
    app.manifest = replace(app.manifest, version_name="9.1." * 2500)
    backend = SimDevice("sim", skin="aosp-13", locale="zh-CN", apps=[app], storage_dir=tmp_path / "dev")
    registered = serve_device(backend)
    backend.set_serial(registered.serial)
    device = AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port))
    run, reason, detail = crawl_app(serial=device.serial, package=WEATHER, out=tmp_path, device=device, budget=20.0,
                                    steps=3, idle=0.0, ocr=False, progress=False)
    assert reason in ("done", "budget", "steps"), detail
    with RunStore.open(run) as store:
        app_facts = store.trace().start["app"]
    assert app_facts["version_name"] == "9.1." * 25  # was "" before: the whole name did not match the parser
    assert app_facts["version_name_truncated"] is True
