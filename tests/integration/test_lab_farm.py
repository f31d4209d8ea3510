"""`naysayer lab submit` / `lab worker` as a farm runs them: a real Redis server on loopback, Celery worker processes
each bound to one simulated device (served through the real adb server), the lab's index and runs in one folder."""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from crawler.store import NotARun, RunStore
from emulator.sim.device import SimDevice
from tests.integration.lab_support import (
    REPO,
    crawls_by_package,
    free_port,
    jobs_in,
    lab,
    lab_cmd,
    redis_server,
    wait_until,
    zoo_apps,
)

pytest.importorskip("celery", reason="the farm extra (celery[redis]) is not installed")

# small enough that a killed worker's job comes back within seconds; the lease keeps live jobs from running twice
VISIBILITY = "2s"
LEASE = "3s"
DATABASES = itertools.count(1)


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def broker(redis_url):
    """A Redis database of its own for each test (no message of one test reaches another's workers)."""
    return f"{redis_url}/{next(DATABASES)}"


@pytest.fixture(scope="module")
def apps8():
    return zoo_apps(8)


@pytest.fixture
def devices(adb_server, tmp_path, apps8):
    """Two simulated devices with the 8 apps."""
    served = []
    for i in range(2):
        backend = SimDevice(f"farm{i}", skin="aosp-13", apps=apps8, storage_dir=tmp_path / f"dev{i}")
        registered = adb_server.serve(backend)
        backend.set_serial(registered.serial)
        served.append(registered)
    yield served
    for registered in served:
        registered.stop()


@pytest.fixture
def workers(broker, tmp_path):
    """start(serial, out) -> a `naysayer lab worker` process (its messages in tmp_path/worker-N.log); all are
    stopped after the test."""
    started = []

    def start(serial: str, out: Path) -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        proc = subprocess.Popen(lab_cmd("worker", "--device", serial, "--broker", broker, "--out", str(out)),
                                stdout=log, stderr=subprocess.STDOUT, text=True, cwd=REPO)
        log.close()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def submit(broker: str, apps, out: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    listing = tmp_path / "apps.txt"
    listing.write_text("".join(f"{a.manifest.package}\n" for a in apps))
    return lab("submit", str(listing), "--broker", broker, "--out", str(out), "--budget", "20s", "--idle", "0",
               "--no-ocr", "--visibility-timeout", VISIBILITY, "--lease", LEASE, *extra)


def status(out: Path) -> dict:
    result = lab("status", str(out), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def crawl_started(run: str) -> bool:
    """The run exists and has recorded its run_start (the crawl is under way)."""
    if not (Path(run) / "trace.sqlite").is_file():
        return False
    try:
        with RunStore.open(Path(run)) as store:
            return bool(list(store.steps(["run_start"])))
    except (NotARun, sqlite3.Error):  # created but not yet readable: not started
        return False


def all_done(out: Path) -> bool:
    return status(out)["counts"]["done"] == 8


def test_two_workers_drain_a_queue_of_eight_jobs_each_crawled_once(broker, devices, workers, apps8, tmp_path):
    out = tmp_path / "lab"
    queued = submit(broker, apps8, out, tmp_path)
    assert queued.returncode == 0, queued.stderr
    assert "8 app(s) queued" in queued.stderr
    for device in devices:
        workers(device.serial, out)
    wait_until(lambda: all_done(out), what="8 jobs done")
    assert status(out)["active"] is True  # the workers still serve the lab
    jobs = status(out)["jobs"]
    assert sorted(j["package"] for j in jobs) == sorted(a.manifest.package for a in apps8)
    assert all(j["attempts"] == 1 for j in jobs)
    assert {j["device"] for j in jobs} == {d.serial for d in devices}  # both workers did work
    started, ended = crawls_by_package(out)
    assert set(started.values()) == {1} and started == ended and len(started) == 8
    for job in jobs:
        assert Path(job["run"]).parent == out.resolve()


def test_a_worker_killed_mid_job_loses_nothing_and_crawls_nothing_twice(broker, devices, workers, apps8, tmp_path):
    doomed, survivor = devices
    out = tmp_path / "lab"
    assert submit(broker, apps8, out, tmp_path).returncode == 0
    killed = workers(doomed.serial, out)

    def crawling_on_doomed() -> bool:
        return any(j["state"] == "running" and j["device"] == doomed.serial and j["run"] and crawl_started(j["run"])
                   for j in jobs_in(out))

    wait_until(crawling_on_doomed, what="a crawl by the doomed worker")
    victim = next(j for j in jobs_in(out) if j["state"] == "running" and j["device"] == doomed.serial)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    workers(survivor.serial, out)
    wait_until(lambda: all_done(out), what="8 jobs done after the kill")

    jobs = {j["package"]: j for j in jobs_in(out)}
    moved = jobs[victim["package"]]
    assert moved["device"] == survivor.serial and moved["state"] == "done"
    with sqlite3.connect(out / "lab.sqlite") as conn:
        attempts = conn.execute("SELECT device, outcome, run FROM attempts WHERE job_id = ? ORDER BY n",
                                (moved["id"],)).fetchall()
    assert [(d, o) for d, o, _ in attempts] == [(doomed.serial, "interrupted"), (survivor.serial, moved["end_reason"])]
    assert attempts[0][2] == victim["run"] and Path(victim["run"]).is_dir()  # the killed attempt's partial run, kept
    started, ended = crawls_by_package(out)
    assert started[victim["package"]] == 2  # the killed attempt and the one that finished
    assert all(ended[p] == 1 for p in jobs)  # one complete crawl per app: nothing twice, nothing lost
    assert all(started[p] == 1 for p in jobs if p != victim["package"])


def test_an_unreachable_broker_is_one_line_and_queues_nothing(apps8, tmp_path):
    out = tmp_path / "lab"
    result = submit(f"redis://127.0.0.1:{free_port()}/0", apps8, out, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not reachable" in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_worker_on_a_missing_device_or_lab_is_one_line(broker, devices, tmp_path, apps8):
    out = tmp_path / "lab"
    result = lab("worker", "--device", devices[0].serial, "--broker", broker, "--out", str(out))
    assert result.returncode == 2 and "not a lab folder" in result.stderr and len(result.stderr.splitlines()) == 1
    assert submit(broker, apps8[:1], out, tmp_path).returncode == 0
    result = lab("worker", "--device", "no-such-serial", "--broker", broker, "--out", str(out))
    assert result.returncode == 2 and "no such device" in result.stderr and len(result.stderr.splitlines()) == 1


def wait_for_crawl_on(out: Path, serial: str) -> dict:
    wait_until(lambda: any(j["state"] == "running" and j["device"] == serial and j["run"] and crawl_started(j["run"])
                           for j in jobs_in(out)), what=f"a crawl on {serial}")
    return next(j for j in jobs_in(out) if j["state"] == "running" and j["device"] == serial)


def attempts_of(out: Path, job_id: int) -> list[tuple]:
    with sqlite3.connect(out / "lab.sqlite") as conn:
        return conn.execute("SELECT device, outcome FROM attempts WHERE job_id = ? ORDER BY n", (job_id,)).fetchall()


def test_a_stopped_worker_ends_its_crawl_as_interrupted_and_gives_the_job_back(broker, devices, workers, apps8,
                                                                                 tmp_path):
    first, second = devices
    out = tmp_path / "lab"
    listing_apps = apps8[:2]
    listing = tmp_path / "apps.txt"
    listing.write_text("".join(f"{a.manifest.package}\n" for a in listing_apps))
    assert lab("submit", str(listing), "--broker", broker, "--out", str(out), "--budget", "600s", "--steps", "100000",
               "--idle", "0", "--no-ocr", "--visibility-timeout", VISIBILITY, "--lease", LEASE).returncode == 0
    stopped = workers(first.serial, out)
    job = wait_for_crawl_on(out, first.serial)
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=60) is not None
    assert jobs_in(out)[job["id"] - 1]["state"] == "queued"
    assert attempts_of(out, job["id"]) == [(first.serial, "interrupted")]
    workers(second.serial, out)
    wait_until(lambda: status(out)["counts"]["done"] == 2, what="both jobs done on the other worker")
    assert attempts_of(out, job["id"])[-1][0] == second.serial


def test_a_worker_whose_device_dies_gives_its_job_back_and_stops_in_one_line(broker, devices, workers, apps8,
                                                                               tmp_path):
    doomed, survivor = devices
    out = tmp_path / "lab"
    listing = tmp_path / "apps.txt"
    listing.write_text("".join(f"{a.manifest.package}\n" for a in apps8[:2]))
    assert lab("submit", str(listing), "--broker", broker, "--out", str(out), "--budget", "600s", "--steps", "100000",
               "--idle", "0", "--no-ocr", "--visibility-timeout", VISIBILITY, "--lease", LEASE).returncode == 0
    orphaned = workers(doomed.serial, out)
    job = wait_for_crawl_on(out, doomed.serial)
    doomed.stop()
    assert orphaned.wait(timeout=60) == 2
    log = (tmp_path / "worker-0.log").read_text()
    assert f"--device {doomed.serial}:" in log and "this worker stopped" in log and "Traceback" not in log
    workers(survivor.serial, out)
    wait_until(lambda: status(out)["counts"]["done"] == 2, what="both jobs done on the survivor")
    assert attempts_of(out, job["id"])[0] == (doomed.serial, "device_lost")
