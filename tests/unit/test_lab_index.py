"""The lab index (crawler.lab.index): claims, outcomes, and recovering the jobs of a lab that died. No device."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from crawler.lab import JobResult, JobSpec, LabError, LabOptions, NotALab
from crawler.lab.index import LabIndex
from crawler.lab.job import result_from_run
from crawler.store import RunStore

T0 = 1_700_000_000.0


@pytest.fixture
def index(tmp_path):
    with LabIndex.create(tmp_path / "lab", LabOptions(budget=60, idle=0, set=["quit_on_refusal.window_s=5"])) as lab:
        yield lab


def fake_run(root: Path, package: str, ended: str | None) -> Path:
    """A run as a crawl leaves it: run_start, one action, and run_end unless it was cut short."""
    with RunStore.create(root, package=package) as store:
        store.append("run_start", T0, {"device": {"serial": "emulator-5554"}, "app": {"package": package}})
        store.append("action", T0 + 1, {"type": "launch", "by": "session"})
        if ended:
            store.append("run_end", T0 + 2, {"reason": ended, "detail": "", "steps": 1, "seconds": 2})
        return store.path


def test_every_job_is_claimed_exactly_once_by_concurrent_devices(index):
    index.add_jobs([JobSpec(f"com.example.app{i}") for i in range(60)])
    claimed: list[tuple[str, str]] = []

    def device(serial: str) -> None:
        while (job := index.claim(serial)) is not None:
            claimed.append((job.package, serial))

    threads = [threading.Thread(target=device, args=(f"emulator-{5554 + 2 * i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p for p, _ in claimed) == sorted(f"com.example.app{i}" for i in range(60))
    assert index.counts() == {"queued": 0, "running": 60, "done": 0, "failed": 0}


def test_an_app_that_fails_twice_is_failed_with_its_reason_and_retried_elsewhere(index):
    index.add_jobs([JobSpec("com.example.flaky")])
    job = index.claim("emulator-5554")
    assert index.finish(job.id, JobResult(job.package, "emulator-5554", error="com.example.flaky: no launcher")) \
        == "queued"
    assert index.claim("emulator-5554", retry_here=False) is None  # left for another device
    again = index.claim("emulator-5556", retry_here=False)
    assert again.id == job.id and again.attempts == 2
    assert index.finish(again.id, JobResult(job.package, "emulator-5556", end="error", detail="boom")) == "failed"
    row = index.job(job.id)
    assert row.state == "failed" and row.error == "crawl ended with error: boom" and row.device == "emulator-5556"
    assert [a["outcome"] for a in index.attempts(job.id)] == ["failed", "failed"]


def test_lost_devices_and_interruptions_do_not_count_against_the_app(index):
    index.add_jobs([JobSpec("com.example.app")])
    for n in range(3):
        job = index.claim("emulator-5554")
        index.finish(job.id, JobResult(job.package, "emulator-5554", end="interrupted"))
    assert index.job(job.id).state == "queued" and index.job(job.id).failures == 0
    states = []
    for n in range(LabOptions().max_losses):
        job = index.claim(f"emulator-{5554 + 2 * n}")
        states.append(index.finish(job.id, JobResult(job.package, job.device, device_lost=True, end="device_lost",
                                                     detail="gone")))
    assert states == ["queued", "queued", "failed"]
    assert "device lost 3 times" in index.job(job.id).error


def test_a_done_job_records_its_run_device_and_findings(index, tmp_path):
    index.add_jobs([JobSpec("com.example.weather"), JobSpec("com.example.bad", entry="apps.txt:2", error="no APK")])
    job = index.claim("emulator-5554")
    run = tmp_path / "lab" / "run-1"
    index.begin_run(job.id, run)
    assert index.job(job.id).run == str(run)  # known before the crawl writes anything
    index.finish(job.id, JobResult(job.package, "emulator-5554", run=run, end="budget",
                                   kinds=["quit_on_refusal"]))
    status = index.status()
    assert status["counts"] == {"queued": 0, "running": 0, "done": 1, "failed": 1}
    assert status["findings"] == {"quit_on_refusal": 1}
    done, bad = status["jobs"]
    assert {k: done[k] for k in ("package", "state", "device", "run", "attempts", "error")} == {
        "package": "com.example.weather", "state": "done", "device": "emulator-5554", "run": str(run),
        "attempts": 1, "error": ""}
    assert bad["state"] == "failed" and bad["error"] == "no APK" and bad["attempts"] == 0
    json.dumps(status)  # the status is JSON as it is


def test_recover_finishes_a_crawl_that_ended_and_requeues_one_cut_short(index):
    index.add_jobs([JobSpec("com.example.ended"), JobSpec("com.example.cut"), JobSpec("com.example.unstarted")])
    ended, cut, unstarted = (index.claim("emulator-5554") for _ in range(3))
    ended_run = fake_run(index.root, ended.package, "budget")
    cut_run = fake_run(index.root, cut.package, None)
    index.begin_run(ended.id, ended_run)
    index.begin_run(cut.id, cut_run)
    index.begin_run(unstarted.id, index.root / "never-created")
    lines = index.recover(lambda run: result_from_run(run, options=index.options))
    assert len(lines) == 3
    assert index.job(ended.id).state == "done" and index.job(ended.id).run == str(ended_run)
    requeued = index.job(cut.id)
    assert requeued.state == "queued" and requeued.run == "" and requeued.failures == 0
    assert cut_run.is_dir() and index.attempts(cut.id)[0]["outcome"] == "interrupted"  # kept, and recorded
    assert index.attempts(cut.id)[0]["run"] == str(cut_run)
    assert index.job(unstarted.id).state == "queued" and index.attempts(unstarted.id)[0]["outcome"] == "interrupted"
    again = index.claim("emulator-5554")
    assert again.id == cut.id and [a["n"] for a in index.attempts(cut.id)] == [1, 2]
    assert index.recover(lambda run: None, owners={"somebody-else:1"}) == []  # other owners' jobs are theirs


def test_a_lab_saved_before_crawl_options_existed_loads_with_the_defaults_for_what_it_lacks(tmp_path):
    import sqlite3

    with LabIndex.create(tmp_path / "lab", LabOptions()):
        pass
    old = {"strategy": "bfs", "budget": 120.0, "steps": 50, "idle": 0.0, "seed": 3, "ocr": False,
           "set": ["quit_on_refusal.window_s=5"], "max_failures": 1, "max_losses": 3, "gone_option": 1}
    with sqlite3.connect(tmp_path / "lab" / "lab.sqlite") as conn:  # the row as an older naysayer wrote it
        conn.execute("UPDATE meta SET value = ? WHERE key = 'options'", (json.dumps(old),))
    with LabIndex.open(tmp_path / "lab") as again:
        options = again.options
    assert (options.strategy, options.budget, options.steps, options.idle, options.seed, options.ocr) == \
        ("bfs", 120.0, 50, 0.0, 3, False)
    assert options.set == ["quit_on_refusal.window_s=5"] and options.max_failures == 1
    assert options.keep_data is False and options.quit_window == LabOptions().quit_window  # not stored then
    assert options.thresholds().get("quit_on_refusal", "window_s") == 5


def test_a_lab_keeps_its_options_and_refuses_to_be_created_twice(index, tmp_path):
    with LabIndex.open(tmp_path / "lab") as again:
        assert again.options.budget == 60 and again.options.set == ["quit_on_refusal.window_s=5"]
        assert again.add_jobs([JobSpec("com.example.a"), JobSpec("com.example.a")]) == [1]
        assert again.add_jobs([JobSpec("com.example.a")]) == []  # a resumed lab given the same list
    with pytest.raises(LabError, match="already holds a lab"):
        LabIndex.create(tmp_path / "lab", LabOptions())
    with pytest.raises(NotALab, match="not a lab folder"):
        LabIndex.open(tmp_path / "elsewhere")


def test_a_device_worker_that_fails_gives_its_job_back_and_the_lab_still_ends(index, monkeypatch):
    from crawler.lab import pool
    from crawler.lab.pool import DevicePool, QuietObserver

    class BrokenOnA(QuietObserver):
        def device(self, serial: str, state: str, package: str = "") -> None:
            if serial == "A" and state == "crawling":
                raise RuntimeError("a bug in the display")

    monkeypatch.setattr(pool, "device_state", lambda serial, port: "device")
    monkeypatch.setattr(pool, "run_job", lambda spec, serial, *a, **k: JobResult(spec.package, serial, end="budget"))
    index.add_jobs([JobSpec(f"com.app{i}") for i in range(4)])
    lab = DevicePool(index, ["A", "B"], observer=BrokenOnA())
    runner = threading.Thread(target=lab.run, daemon=True)
    runner.start()
    runner.join(timeout=30)
    stuck = runner.is_alive()
    lab.stop()
    assert not stuck, "the pool waited forever on the failed worker's job"
    assert index.counts() == {"queued": 0, "running": 0, "done": 4, "failed": 0} and lab.gone == ["A"]
    assert {j.device for j in index.jobs()} == {"B"}
