"""Lab runs: many apps on many devices, overnight, resumable (docs/lab.md).

    index.LabIndex      the SQLite queue and job states (DIR/lab.sqlite)
    options.LabOptions  how every app is crawled: CrawlOptions (crawler.crawl) plus failure limits, kept in lab.sqlite
    job.run_job         one job on one device: clean state, then crawler.crawl.run_crawl (no threads, no display)
    apps.read_apps      APPS (a file of package names and/or APK paths, or a folder of APKs) -> JobSpecs
    pool.DevicePool     one worker thread per device, offline devices retried with backoff
    display.LabDisplay  the live table
    farm                the same lab over a Celery queue (`lab submit`, `lab worker`)
    export.finding_rows one row per finding (`lab export`)
    run_lab             the whole thing for a list of packages (the demo)
"""

from crawler.lab.errors import LabError, NotALab
from crawler.lab.job import JobResult, JobSpec, run_job
from crawler.lab.options import LabOptions

__all__ = ["JobResult", "JobSpec", "LabError", "LabOptions", "NotALab", "found_kinds", "run_job", "run_lab"]


def found_kinds(result: JobResult) -> list[str]:
    """The finding kinds stored in a job's run (none if the app could not be crawled)."""
    if result.run is None:
        return []
    from crawler.store import RunStore

    with RunStore.open(result.run) as store:
        return sorted({f["kind"] for f in store.findings()})


def run_lab(packages: list[str], serials: list[str], out, *, adb_port: int | None = None,
            options: LabOptions | None = None, on_done=None) -> list[JobResult]:
    """Crawl installed `packages` on `serials` as a new lab in `out` (out/lab.sqlite, runs in out/); results in the
    order of `packages`. on_done(result) is called as each app is done or failed for good. Not resumable by
    itself: use `naysayer lab run` for that."""
    from pathlib import Path

    from crawler.lab.index import LabIndex
    from crawler.lab.pool import DevicePool, QuietObserver

    if not serials:
        raise LabError("no devices to run on")

    class Reporter(QuietObserver):
        def finished(self, job, result, state) -> None:
            if on_done is not None and state in ("done", "failed"):
                on_done(result)

    with LabIndex.create(Path(out), options or LabOptions()) as index:
        index.add_jobs([JobSpec(p) for p in packages])
        DevicePool(index, serials, adb_port=adb_port, observer=Reporter()).run()
        rows = {job.package: job for job in index.jobs()}
    results = []
    for package in packages:
        job = rows[package]
        results.append(JobResult(package, job.device, run=Path(job.run) if job.run else None, end=job.end,
                                 error=job.error if job.state != "done" else "", kinds=job.kinds))
        if job.state not in ("done", "failed"):
            results[-1].error = results[-1].error or "not run: every device was lost"
    return results
