"""The farm's claim-by-id and lease on a real lab index (no device, no broker): what a redelivered task finds.
Lease time is a clock the test moves (FarmIndex takes its clock), so nothing here sleeps past a lease."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crawler.lab.farm_index import FarmIndex, FarmSettings, Heartbeat, default_visibility_timeout
from crawler.lab.job import JobResult, JobSpec
from crawler.lab.options import LabOptions

LEASE = 0.5


class ManualClock:
    """Wall time that moves only when the test says so."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def never_finished(run: Path) -> JobResult | None:
    return None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def index(tmp_path, clock):
    with FarmIndex.create_farm(tmp_path / "lab", LabOptions(max_losses=2),
                               FarmSettings(lab_id="x", visibility_timeout=5, lease=LEASE), clock) as index:
        index.add_jobs([JobSpec("com.a"), JobSpec("com.b")])
        yield index


def start_crawl(index: FarmIndex, job_id: int, device: str, owner: str) -> Path:
    claim = index.claim_job(job_id, device, owner, never_finished)
    assert claim.outcome == "claimed"
    run = index.root / f"run-{owner}"
    run.mkdir()
    index.begin_run(job_id, run)
    return run


def test_a_queued_job_is_claimed_by_id_for_the_device(index):
    claim = index.claim_job(2, "dev-b", "w2", never_finished)
    assert claim.outcome == "claimed" and claim.job.package == "com.b" and claim.job.device == "dev-b"
    assert [j.package for j in index.jobs("queued")] == ["com.a"]
    assert index.claim_job(99, "dev-b", "w2", never_finished).outcome == "missing"


def test_a_job_held_under_a_fresh_lease_is_not_run_twice(index):
    start_crawl(index, 1, "dev-a", "w1")
    claim = index.claim_job(1, "dev-b", "w2", never_finished)
    assert claim.outcome == "busy" and "w1" in claim.note
    assert index.job(1).device == "dev-a" and index.job(1).attempts == 1


def test_a_live_worker_keeps_its_job_past_the_lease_by_heartbeats(index, clock):
    start_crawl(index, 1, "dev-a", "w1")
    with Heartbeat(index, 1, "w1", every=0.01) as beat:
        for _ in range(4):  # twice the lease, in half-lease steps, each renewed by a beat before the next
            clock.advance(LEASE / 2)
            deadline = time.monotonic() + 10
            while index.leases()[1][2] != clock.now:
                assert time.monotonic() < deadline, "the heartbeat did not renew the lease"
                time.sleep(0.005)
        assert index.claim_job(1, "dev-b", "w2", never_finished).outcome == "busy"
    assert not beat.lost


def test_a_stale_lease_is_taken_over_and_the_dead_attempt_kept_as_interrupted(index, clock):
    dead_run = start_crawl(index, 1, "dev-a", "w1")
    clock.advance(LEASE * 1.5)
    claim = index.claim_job(1, "dev-b", "w2", never_finished)
    assert claim.outcome == "claimed" and "w1" in claim.note and str(dead_run) in claim.note
    job = index.job(1)
    assert (job.state, job.device, job.attempts, job.losses) == ("running", "dev-b", 2, 1)
    attempts = index.attempts(1)
    assert [(a["owner"], a["outcome"], a["run"]) for a in attempts] == [("w1", "interrupted", str(dead_run)),
                                                                         ("w2", None, "")]
    assert not index.heartbeat(1, "w1")  # the dead worker, were it only slow, learns the job is no longer its own
    assert index.heartbeat(1, "w2")


def test_a_dead_workers_finished_crawl_is_recorded_not_redone(index, clock):
    run = start_crawl(index, 1, "dev-a", "w1")
    clock.advance(LEASE * 1.5)
    claim = index.claim_job(1, "dev-b", "w2", lambda r: JobResult("com.a", "dev-a", run=r, end="budget"))
    assert claim.outcome == "finished_from_run"
    job = index.job(1)
    assert (job.state, job.run, job.attempts) == ("done", str(run), 1)
    assert index.claim_job(1, "dev-b", "w2", never_finished).outcome == "finished"


def test_a_dead_workers_crawl_that_ended_badly_is_crawled_again_by_the_task_that_found_it(index, clock):
    # the redelivered task is the job's only message: acknowledging it with the job queued would strand the job
    run = start_crawl(index, 1, "dev-a", "w1")
    clock.advance(LEASE * 1.5)
    lost = JobResult("com.a", "dev-a", run=run, end="device_lost", device_lost=True)
    claim = index.claim_job(1, "dev-b", "w2", lambda r: lost)
    assert claim.outcome == "claimed" and "device_lost" in claim.note
    job = index.job(1)
    assert (job.state, job.device, job.attempts, job.losses) == ("running", "dev-b", 2, 1)
    assert [(a["owner"], a["outcome"]) for a in index.attempts(1)] == [("w1", "device_lost"), ("w2", None)]
    assert index.heartbeat(1, "w2")


def test_a_job_that_kills_its_workers_ends_failed(index, clock):
    start_crawl(index, 1, "dev-a", "w1")
    clock.advance(LEASE * 1.5)
    index.claim_job(1, "dev-b", "w2", never_finished)
    clock.advance(LEASE * 1.5)
    claim = index.claim_job(1, "dev-c", "w3", never_finished)
    assert claim.outcome == "finished"
    job = index.job(1)
    assert job.state == "failed" and "worker lost 2 times" in job.error


def test_settings_are_stored_with_the_lab(index, tmp_path):
    with FarmIndex.open(tmp_path / "lab") as again:
        assert again.farm == FarmSettings(lab_id="x", visibility_timeout=5, lease=LEASE)


def test_the_default_visibility_timeout_outlasts_a_job():
    options = LabOptions(budget=300, idle=900)
    assert default_visibility_timeout(options) > options.budget + options.idle


def test_status_of_an_abandoned_farm_lab_says_how_to_continue_it_on_the_farm(index, tmp_path):
    from crawler.lab.index import LabIndex
    from tests.cli_runner import naysayer

    start_crawl(index, 1, "dev-a", "w1")  # its worker died: nothing holds the lab
    farm = naysayer("lab", "status", str(index.root))
    assert farm.returncode == 0 and "lab submit --resend" in farm.stderr and "--resume" not in farm.stderr
    with LabIndex.create(tmp_path / "local", LabOptions()) as local:
        local.add_jobs([JobSpec("com.a")])
        local.claim("dev-a")
    plain = naysayer("lab", "status", str(tmp_path / "local"))
    assert "--resume" in plain.stderr and "--resend" not in plain.stderr
