"""Every way a crawl is started records which app it crawled: `crawl`, `reproduce`, `lab run`, a `lab worker` of a
farm and the demo's lab all record the sha256, label and signers of the APK installed on the phone, pulled from it
(the app was installed before, signed; none of them is given an APK file). Reproductions, lab and demo runs of
installed apps used to record an empty sha256 and label."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from crawler.apk import read_apk_facts
from crawler.device import AndroidDevice
from crawler.lab import LabOptions, run_lab
from crawler.store import RunStore
from crawler.wire import FastAdbClient
from emulator.sim.device import SimDevice
from emulator.zoo import load_zoo
from tests.cli_runner import naysayer
from tests.integration.lab_support import REPO, lab, lab_cmd, redis_server, wait_until
from tests.unit.apk_files import v1_apk

WEATHER = "com.example.qingtian.weather"  # quits 1 s after the location denial: a short crawl with a finding
APP_FILE = REPO / "emulator" / "zoo" / "apps" / "weather_quit.yaml"
QUICK = ("--budget", "20s", "--idle", "0", "--no-ocr")


@pytest.fixture(scope="module")
def phone(adb_server, tmp_path_factory):
    """A simulated phone with the weather app installed from a signed APK; the facts any run must record of it."""
    folder = tmp_path_factory.mktemp("apk")
    backend = SimDevice("sim", skin="aosp-13", apps=load_zoo([APP_FILE]), storage_dir=folder / "dev")
    registered = adb_server.serve(backend)
    backend.set_serial(registered.serial)
    signed = v1_apk(folder / "signed.apk", {"naysayer-app.yaml": APP_FILE.read_bytes()})
    device = AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port))
    device.uninstall(WEATHER)
    device.install(signed)
    device.close()
    facts = read_apk_facts(signed).to_json()
    assert facts["apk_sha256"] and facts["label"] and facts["signers"], "the test APK must have all three"
    yield registered.serial, facts
    registered.stop()


def assert_records_the_installed_apk(run: Path, facts: dict) -> None:
    with RunStore.open(run) as store:
        app = store.trace().start["app"]
    recorded = {key: app.get(key) for key in ("apk_sha256", "label", "signers")}
    assert recorded == {key: facts[key] for key in recorded}, run
    assert app.get("apk_source") == "installed" and "apk_problem" not in app


@pytest.fixture(scope="module")
def crawled(phone, tmp_path_factory) -> Path:
    serial, _ = phone
    result = naysayer("crawl", "--device", serial, "--app", WEATHER, *QUICK, "--quiet", "--out",
                      str(tmp_path_factory.mktemp("runs")))
    assert result.returncode == 0, result.stderr[-2000:]
    return Path(result.stdout.strip().splitlines()[-1])


def test_crawl(phone, crawled):
    assert_records_the_installed_apk(crawled, phone[1])


def test_reproduce(phone, crawled, tmp_path):
    serial, facts = phone
    with RunStore.open(crawled) as store:
        finding = next(f for f in store.findings() if f["kind"] == "quit_on_refusal")
    result = naysayer("reproduce", str(crawled), finding["id"], "--device", serial, "--no-ocr", "--json",
                      "--out", str(tmp_path))
    assert result.returncode in (0, 1), result.stderr[-2000:]
    runs = [Path(attempt["run"]) for attempt in json.loads(result.stdout)["runs"]]
    assert len(runs) == 1
    assert_records_the_installed_apk(runs[0], facts)


def test_lab_run(phone, tmp_path):
    serial, facts = phone
    apps = tmp_path / "apps.txt"
    apps.write_text(f"{WEATHER}\n")
    result = lab("run", str(apps), "--devices", serial, "--out", str(tmp_path / "lab"), *QUICK, "--quiet", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    (job,) = json.loads(result.stdout)["jobs"]
    assert_records_the_installed_apk(Path(job["run"]), facts)


def test_demo_lab(phone, adb_server, tmp_path):
    """The demo crawls the zoo with run_lab (crawler.demo.crawl_zoo): the same call, on this phone."""
    serial, facts = phone
    (result,) = run_lab([WEATHER], [serial], tmp_path / "demo", adb_port=adb_server.port,
                        options=LabOptions(budget=20.0, idle=0.0, ocr=False))
    assert result.run is not None and not result.error, result.error
    assert_records_the_installed_apk(result.run, facts)


def test_lab_worker(phone, tmp_path):
    pytest.importorskip("celery", reason="the farm extra (celery[redis]) is not installed")
    serial, facts = phone
    apps = tmp_path / "apps.txt"
    apps.write_text(f"{WEATHER}\n")
    out = tmp_path / "lab"
    with redis_server() as url:
        broker = f"{url}/0"
        queued = lab("submit", str(apps), "--broker", broker, "--out", str(out), *QUICK)
        assert queued.returncode == 0, queued.stderr
        worker = subprocess.Popen(lab_cmd("worker", "--device", serial, "--broker", broker, "--out", str(out)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        try:
            def done() -> bool:
                status = lab("status", str(out), "--json")
                return json.loads(status.stdout)["counts"]["done"] == 1

            wait_until(done, what="the farm job done")
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    (job,) = json.loads(lab("status", str(out), "--json").stdout)["jobs"]
    assert_records_the_installed_apk(Path(job["run"]), facts)
