"""Many apps on many devices: crawl jobs served by a pool of device workers (one thread per device).

Each device has its own share of the apps (job i goes to device i mod N), so the same apps meet the same devices
every time and a night's results can be compared with the last; a device that is lost leaves the pool and its
unfinished jobs spill over to a shared queue that the other devices drain after their own. Results come back in
job order, whatever finished first.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.crawl import crawl_app

log = logging.getLogger(__name__)


@dataclass
class Job:
    index: int
    package: str
    attempts: int = 0


@dataclass
class JobResult:
    package: str
    serial: str = ""
    run: Path | None = None
    end: str = ""
    detail: str = ""
    error: str = ""
    findings: list = field(default_factory=list)


def found_kinds(result: JobResult) -> list[str]:
    """The finding kinds stored in a job's run (none if the app could not be crawled)."""
    if result.run is None:
        return []
    from crawler.store import RunStore

    with RunStore.open(result.run) as store:
        return sorted({f["kind"] for f in store.findings()})


class LabError(RuntimeError):
    pass


def run_lab(packages: list[str], serials: list[str], out: Path, *, adb_port: int | None = None,
            crawl_options: dict | None = None, on_done: Callable[[JobResult], None] | None = None,
            max_attempts: int = 2) -> list[JobResult]:
    if not serials:
        raise LabError("no devices to run on")
    own: list[queue.Queue[Job]] = [queue.Queue() for _ in serials]
    spill: queue.Queue[Job] = queue.Queue()
    for i, package in enumerate(packages):
        own[i % len(serials)].put(Job(i, package))
    results: dict[int, JobResult] = {}
    lock = threading.Lock()
    options = dict(crawl_options or {})

    def next_job(mine: queue.Queue[Job]) -> Job | None:
        for source in (mine, spill):
            try:
                return source.get_nowait()
            except queue.Empty:
                continue
        return None

    def give_up(mine: queue.Queue[Job], job: Job) -> None:
        """This device is gone: its job and its remaining share go to the others."""
        spill.put(job)
        while (left := next_job(mine)) is not None and left is not job:
            spill.put(left)

    def worker(index: int, serial: str) -> None:
        from crawler.device import DeviceLost

        mine = own[index]
        while True:
            job = next_job(mine)
            if job is None:
                return
            job.attempts += 1
            result = JobResult(job.package, serial)
            try:
                run, end, detail = crawl_app(serial=serial, package=job.package, out=out, adb_port=adb_port,
                                             progress=False, **options)
                result.run, result.end, result.detail = run, end, detail
                if end == "device_lost" and job.attempts < max_attempts:
                    log.warning("%s lost while crawling %s: job requeued", serial, job.package)
                    give_up(mine, job)
                    return
            except DeviceLost as exc:
                if job.attempts < max_attempts:
                    give_up(mine, job)
                    return
                result.error = str(exc)
            except Exception as exc:  # one app's failure must not stop the night's work
                log.exception("crawl of %s on %s failed", job.package, serial)
                result.error = f"{type(exc).__name__}: {exc}"
            with lock:
                results[job.index] = result
            if on_done:
                on_done(result)

    threads = [threading.Thread(target=worker, args=(i, s), name=f"lab-{s}", daemon=True) for i, s in enumerate(serials)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for job_index in range(len(packages)):
        results.setdefault(job_index, JobResult(packages[job_index], error="not run: every device was lost"))
    return [results[i] for i in range(len(packages))]
