"""`naysayer lab run` as a user runs it overnight: many zoo apps on simulated devices through the real adb server,
killed and resumed, a device dying mid-crawl. Device time is virtual: budgets are short in wall time."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from crawler.store import RunStore
from emulator.sim.device import SimDevice
from tests.integration.lab_support import (
    GOOD_ENDS,
    REPO,
    crawls_by_package,
    jobs_in,
    lab,
    lab_cmd,
    wait_until,
    zoo_apps,
)


@pytest.fixture(scope="module")
def apps16():
    return zoo_apps(16)


@pytest.fixture
def farm(adb_server, tmp_path, apps16):
    """Simulated devices with the 16 apps, served in this process: farm(n) -> [RegisteredDevice]."""
    served = []

    def start(n: int) -> list:
        for i in range(n):
            backend = SimDevice(f"lab{i}", skin="aosp-13", apps=apps16, storage_dir=tmp_path / f"dev{len(served)}")
            registered = adb_server.serve(backend)
            backend.set_serial(registered.serial)
            served.append(registered)
        return served[-n:]

    yield start
    for registered in served:
        registered.stop()


def write_apps(path: Path, apps) -> Path:
    path.write_text("# tonight's apps\n" + "".join(f"{a.manifest.package}\n" for a in apps))
    return path


def test_sixteen_apps_on_four_devices_are_each_crawled_once(farm, apps16, tmp_path):
    devices = farm(4)
    out = tmp_path / "lab"
    result = lab("run", str(write_apps(tmp_path / "apps.txt", apps16)), "--devices", "all", "--out", str(out),
                 "--budget", "20s", "--idle", "0", "--no-ocr", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    status = json.loads(result.stdout)
    jobs = status["jobs"]
    assert sorted(j["package"] for j in jobs) == sorted(a.manifest.package for a in apps16)
    assert {j["state"] for j in jobs} == {"done"} and all(j["attempts"] == 1 for j in jobs)
    assert status["counts"] == {"queued": 0, "running": 0, "done": 16, "failed": 0}
    assert {j["device"] for j in jobs} <= {d.serial for d in devices} and len({j["device"] for j in jobs}) >= 2
    started, ended = crawls_by_package(out)
    assert set(started.values()) == {1} and started == ended and len(started) == 16
    for job in jobs:
        assert Path(job["run"]).parent == out
    again = json.loads(lab("status", str(out), "--json").stdout)
    assert again["jobs"] == jobs and again["active"] is False
    assert "done" in lab("status", str(out)).stdout
    # the dashboard lab run kept: every app done, each linked to its report, one timeline box per crawl
    doc = dashboard(out)
    assert doc.xpath("string(//*[@id='n-done']/b)") == "16" and doc.xpath("string(//*[@id='n-left']/b)") == "0"
    links = doc.xpath("//table[@id='app-table']//a[@class='report']/@href")
    assert len(links) == 16 and all((out / "dashboard" / link).is_file() for link in links)
    assert len(doc.xpath("//svg[@id='chart-attempt']//*[starts-with(@id, 'attempt-')]")) == 16
    used = {j["device"] for j in jobs}
    assert len(doc.xpath("//svg[@id='chart-device']//*[starts-with(@id, 'device-')]")) == len(used)


def dashboard(out: Path):
    import lxml.html

    return lxml.html.document_fromstring((out / "dashboard" / "index.html").read_text(encoding="utf-8"))


def test_a_killed_lab_resumes_with_nothing_lost_and_nothing_twice(farm, apps16, tmp_path):
    devices = farm(2)
    out = tmp_path / "lab"
    apps = write_apps(tmp_path / "apps.txt", apps16[:8])
    args = ("run", str(apps), "--devices", ",".join(d.serial for d in devices), "--out", str(out),
            "--budget", "120s", "--idle", "0", "--no-ocr", "--quiet")
    first = subprocess.Popen(lab_cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        wait_until(lambda: (out / "lab.sqlite").is_file()
                   and sum(j["state"] == "done" for j in jobs_in(out)) >= 2, what="two apps done")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    before = jobs_in(out)
    done_before = {j["package"] for j in before if j["state"] == "done"}
    assert 2 <= len(done_before) < 8
    left_running = [j for j in before if j["state"] == "running"]
    assert left_running  # killed mid-crawl
    runs_before = crawls_by_package(out)[0]

    resumed = lab(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for job in left_running:
        assert job["package"] in resumed.stderr  # each interrupted job is named
    after = jobs_in(out)
    assert sorted(j["package"] for j in after) == sorted(a.manifest.package for a in apps16[:8])
    assert {j["state"] for j in after} == {"done"}
    started, ended = crawls_by_package(out)
    for package in done_before:
        assert started[package] == 1  # finished before the kill: never crawled again
    for job in after:
        assert ended[job["package"]] == 1  # exactly one complete crawl counted per app...
        with RunStore.open(Path(job["run"])) as store:  # ...and it is the job's run
            assert list(store.steps(["run_end"]))[-1].data["reason"] in GOOD_ENDS
    assert sum(started.values()) - sum(runs_before.values()) == 8 - len(done_before) - sum(
        1 for j in left_running if j["package"] in done_before)


def test_a_device_killed_mid_crawl_has_its_job_finished_on_another(farm, apps16, tmp_path):
    doomed, survivor = farm(2)
    out = tmp_path / "lab"
    apps = write_apps(tmp_path / "apps.txt", apps16[:4])
    lab_run = subprocess.Popen(lab_cmd("run", str(apps), "--devices", f"{doomed.serial},{survivor.serial}", "--out",
                                       str(out), "--budget", "600s", "--steps", "100000", "--idle", "0", "--no-ocr"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        def crawling_on_doomed() -> bool:
            if not (out / "lab.sqlite").is_file():
                return False
            return any(j["state"] == "running" and j["device"] == doomed.serial and j["run"]
                       and (Path(j["run"]) / "trace.sqlite").is_file() for j in jobs_in(out))

        wait_until(crawling_on_doomed, what="a crawl on the doomed device")
        victim = next(j for j in jobs_in(out) if j["state"] == "running" and j["device"] == doomed.serial)
        # the live dashboard shows the lab running (it is rewritten as jobs start and end)
        wait_until(lambda: (out / "dashboard" / "index.html").is_file()
                   and dashboard(out).xpath("string(//*[@id='n-running']/b)") not in ("", "0"),
                   what="the dashboard showing a running job")
        time.sleep(0.5)  # well into the crawl
        doomed.stop()
        _, stderr = lab_run.communicate(timeout=300)
    finally:
        if lab_run.poll() is None:
            lab_run.kill()
    assert lab_run.returncode == 0, stderr[-3000:]
    assert doomed.serial in stderr and "offline" in stderr
    jobs = {j["package"]: j for j in jobs_in(out)}
    assert {j["state"] for j in jobs.values()} == {"done"}
    moved = jobs[victim["package"]]
    assert moved["device"] == survivor.serial and moved["losses"] == 1
    with sqlite3.connect(out / "lab.sqlite") as conn:
        outcomes = conn.execute("SELECT device, outcome FROM attempts WHERE job_id = ? ORDER BY n",
                                (moved["id"],)).fetchall()
    assert outcomes == [(doomed.serial, "device_lost"), (survivor.serial, moved["end_reason"])]
    # the final dashboard marks the lost crawl on the doomed device's lane
    titles = dashboard(out).xpath("//svg[@id='chart-attempt']//*[starts-with(@id, 'attempt-')]/title/text()")
    assert sum("设备丢失" in t for t in titles) == 1 and len(titles) == 5
