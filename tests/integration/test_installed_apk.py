"""The APK of an app already installed is read from the device (pm path + adb sync pull) through the real adb
server: a crawl given no APK still records the app's sha256, label and signers, and the report shows the label."""

from __future__ import annotations

import hashlib
import html

import pytest

from crawler.crawl import crawl_app
from crawler.device import AndroidDevice, DeviceError
from crawler.store import RunStore
from crawler.wire import FastAdbClient
from emulator.sim.device import SimDevice
from emulator.zoo import build_sim_apk, load_app_bytes, load_zoo
from reports.html import render_run_report
from tests.unit.apk_files import v1_apk

ZOO = {app.manifest.package: app for app in load_zoo()}
POLITE = "com.example.scanly"  # asks camera only from its scan button: a short, quiet crawl


@pytest.fixture
def phone(serve_device, adb_server, tmp_path):
    """A simulated phone with two zoo apps preinstalled, and our device object on it."""
    backend = SimDevice("sim", apps=[ZOO[POLITE], ZOO["com.example.qingtian.weather"]], storage_dir=tmp_path / "dev")
    registered = serve_device(backend)
    backend.set_serial(registered.serial)
    return backend, AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port))


def test_a_crawl_of_a_preinstalled_app_records_its_apk_and_the_report_shows_its_name(phone, tmp_path):
    _, device = phone
    expected = build_sim_apk(ZOO[POLITE].path, tmp_path / "scanly.apk").read_bytes()
    run, reason, detail = crawl_app(serial=device.serial, package=POLITE, out=tmp_path / "runs", device=device,
                                    budget=20.0, steps=6, idle=0.0, ocr=False, progress=False)
    assert reason in ("done", "budget", "steps"), detail
    with RunStore.open(run) as store:
        app = store.trace().start["app"]
    assert app["apk_sha256"] == hashlib.sha256(expected).hexdigest() and app["apk_source"] == "installed"
    assert app["label"] == ZOO[POLITE].manifest.label and "apk_problem" not in app
    page = render_run_report(run, lang="en")
    assert html.escape(app["label"]) in page and app["apk_sha256"] in page


def test_pm_install_stores_the_installed_bytes_for_adb_pull_and_uninstall_removes_them(phone, tmp_path):
    backend, device = phone
    signed = v1_apk(tmp_path / "signed.apk", {"naysayer-app.yaml": ZOO[POLITE].path.read_bytes()})
    device.uninstall(POLITE)
    device.install(signed)  # pushed, then `pm install -r` on the device
    pulled = device.pull_apk(POLITE, tmp_path / "pulled.apk")
    assert pulled is not None and pulled.read_bytes() == signed.read_bytes()
    remote = device.apk_path(POLITE)
    device.uninstall(POLITE)
    with pytest.raises(DeviceError, match="not installed"):
        device.apk_path(POLITE)
    assert not device.adb.sync.exists(remote)
    # An app with no file behind it has a path but no bytes: the pull fails with one line, the crawl would go on.
    backend.install(load_app_bytes(signed.read_bytes(), "bytes.apk"))
    with pytest.raises(DeviceError, match=f"{POLITE}: .*empty or unreadable|cannot pull"):
        device.pull_apk(POLITE, tmp_path / "none.apk")
