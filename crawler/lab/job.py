"""One lab job on one device: a clean device state, a crawl, findings. Knows nothing of threads, queues or displays,
so the local device pool and a remote (Celery) worker call the same function.

    result = run_job(JobSpec("com.example.app"), "emulator-5554", Path("lab"), LabOptions(budget=300),
                     run_id="20261128-015812-com.example.app-1a2b")

A clean state is: the APK reinstalled (uninstall, then install) when the job has one; the app force-stopped; its data
cleared (`pm clear`, which also resets runtime permissions on Android 6+); any runtime permission still granted or
still marked user-set / user-fixed revoked and its flags cleared (a phone where pm clear left them). Then the crawl
(crawler.session.Session, as `naysayer crawl` runs it) and the findings, stored in the run.

run_job never raises for a problem of the device or the app: it returns a JobResult saying what happened
(`ok`, `device_lost`, `interrupted`, or a failure with `reason`).
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.apk import ApkFacts, read_apk_facts
from crawler.lab.options import LabOptions

log = logging.getLogger(__name__)

GOOD_ENDS = ("done", "budget", "steps")
PERMISSION_FLAGS_TO_CLEAR = ("USER_SET", "USER_FIXED")


@dataclass
class JobSpec:
    """What to crawl: an installed package, or an APK (path on this host) to install first."""

    package: str
    apk: str = ""  # absolute path, or "" for an installed app
    apk_sha256: str = ""  # of the APK when the lab was queued: a file changed overnight is refused
    entry: str = ""  # where it came from ("apps.txt:3"), for messages
    error: str = ""  # the entry is unusable (missing APK...): the job is recorded failed, never crawled


@dataclass
class JobResult:
    package: str
    serial: str = ""
    run: Path | None = None  # the run directory, if the crawl started
    end: str = ""  # the run's end reason (done, budget, steps, device_lost, error, interrupted); "" with no run
    detail: str = ""
    error: str = ""  # why the job could not be crawled or failed
    kinds: list[str] = field(default_factory=list)  # finding kinds derived from the run
    device_lost: bool = False  # the device went away or is not usable: not the app's fault

    @property
    def ok(self) -> bool:
        return self.end in GOOD_ENDS and not self.error

    @property
    def interrupted(self) -> bool:
        return self.end == "interrupted"

    @property
    def reason(self) -> str:
        """One line: why the job did not succeed."""
        if self.error:
            return self.error
        return f"crawl ended with {self.end}" + (f": {self.detail}" if self.detail else "")


class StopRequested(KeyboardInterrupt):
    """Raised from the progress callback when the lab is stopping: the session records `interrupted` and ends."""


def prepare_device(device, spec: JobSpec) -> ApkFacts | None:
    """Bring the app to a clean state on `device`; returns what was read of the job's APK (None for an installed
    app: the crawl pulls it from the device).
    Raises DeviceError (the app's problem) or DeviceLost (the device's)."""
    from crawler.device import DeviceError
    facts = None
    if spec.apk:
        apk = Path(spec.apk)
        if not apk.is_file():
            raise DeviceError(f"{apk}: no such APK file (it was there when the lab started)")
        facts = read_apk_facts(apk)
        if spec.apk_sha256 and facts.sha256 != spec.apk_sha256:
            raise DeviceError(f"{apk}: the APK changed since the lab started (sha256 differs)")
        if device.is_installed(spec.package):
            device.uninstall(spec.package)
        device.install(apk)
    if not device.is_installed(spec.package):
        raise DeviceError(f"{spec.package}: not installed on {device.serial}")
    device.force_stop(spec.package)
    device.clear_data(spec.package)
    reset_runtime_permissions(device, spec.package)
    return facts


def reset_runtime_permissions(device, package: str) -> None:
    """Revoke what `pm clear` left granted, and clear user-set / user-fixed flags: every app starts unasked."""
    quoted = shlex.quote(package)
    for name, state in device.package_state(package).permissions.items():
        leftover = [f for f in state.get("flags", []) if f in PERMISSION_FLAGS_TO_CLEAR]
        if state.get("granted"):
            device.shell(f"pm revoke {quoted} {shlex.quote(name)}")
        if leftover:
            device.shell(f"pm clear-permission-flags {quoted} {shlex.quote(name)} {' '.join(f.lower().replace('_', '-') for f in leftover)}")


def run_job(spec: JobSpec, serial: str, out: Path, options: LabOptions, *, run_id: str | None = None,
            adb_port: int | None = None, on_progress: Callable[[dict], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> JobResult:
    """Crawl one app on one device into `out/<run_id>`; never raises for device or app problems.

    on_progress(info) gets {"steps", "t", "budget", "what"} as the crawl goes (device seconds).
    should_stop() is polled at every step: when it turns true the crawl ends as `interrupted` (the run is kept)."""
    from crawler.crawl import run_crawl
    from crawler.device import AndroidDevice, DeviceError, DeviceLost, adb_client

    result = JobResult(spec.package, serial)
    if spec.error:
        result.error = spec.error
        return result
    stop = should_stop or (lambda: False)

    def progress(info: dict) -> None:
        if stop():
            raise StopRequested()
        if on_progress is not None:
            on_progress(info)

    try:
        device = AndroidDevice(serial, adb_client(adb_port))
    except DeviceError as exc:  # gone, offline or unauthorized: the device's problem, the job goes elsewhere
        result.error, result.device_lost = str(exc), True
        return result
    try:
        apk_facts = prepare_device(device, spec)
        if stop():
            result.end, result.detail = "interrupted", "the lab is stopping"
            return result

        def created(run: Path) -> None:
            result.run = run

        crawl = run_crawl(options, device, spec.package, out, apk=apk_facts, run_id=run_id, on_progress=progress,
                          on_created=created)
        result.end, result.detail = crawl.reason, crawl.detail
        result.kinds = sorted({f.kind for f in crawl.findings})
        result.device_lost = result.end == "device_lost"
    except DeviceLost as exc:
        result.error, result.device_lost = str(exc), True
    except DeviceError as exc:
        result.error = str(exc)
    except Exception as exc:  # one app's failure (or a bug it triggers) must not stop the lab
        log.exception("crawl of %s on %s failed", spec.package, serial)
        result.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        device.close()
    return result


def result_from_run(run: Path, serial: str = "", options: LabOptions | None = None) -> JobResult | None:
    """The result of a crawl whose run ended (it has a run_end step), re-deriving its findings; None for a run
    cut short (no run_end) or unreadable. Used to finish, not redo, the jobs of a lab that died."""
    import sqlite3

    from crawler.crawl import derive_findings
    from crawler.store import NewerSchema, NotARun, RunStore
    from crawler.trace import EndReason, RunEnd, StepKind, Trace

    try:
        with RunStore.open(run) as store:
            ends = [RunEnd.of(s) for s in store.steps([StepKind.RUN_END])]
            start = Trace(list(store.steps([StepKind.RUN_START])))
            if not ends:
                return None
            package = start.package
            serial = serial or str(start.device.get("serial", ""))
            findings = derive_findings(store, (options or LabOptions()).thresholds())
    except (NotARun, NewerSchema, sqlite3.Error, OSError, ValueError) as exc:  # an unreadable run is treated as cut short: the job is crawled again
        log.warning("%s: cannot read the run (%s): the job will be crawled again", run, exc)
        return None
    end = ends[-1]
    return JobResult(package, serial, run=Path(run), end=end.reason, detail=end.detail,
                     kinds=sorted({f.kind for f in findings}), device_lost=end.reason == EndReason.DEVICE_LOST)
