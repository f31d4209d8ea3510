"""Scale-out of a lab on Celery (the optional extra `naysayer[farm]`; docs/lab.md, "Scale-out on Celery").

    submit(apps, broker, out)        a new lab in `out` (the same lab.sqlite as `lab run`), one task per job on the broker
    resend(broker, out)              one task per job still queued in the lab (after a broker was lost mid-submit)
    run_worker(serial, broker, out)  a Celery worker bound to one device: solo pool, one task at a time, acks late

The task `naysayer.lab.crawl_job(lab_dir, job_id, lab_id)` claims THAT job in the lab's index for the worker's
device (crawler.lab.farm_index), crawls it with run_job into the lab folder, and records the result with finish(), so
`lab status` and the lab report read the same whatever ran the jobs. A message is acknowledged only after the
job is recorded: a worker that dies gives its job back (Redis redelivers after the visibility timeout), and the
index's lease keeps a job that outlives the timeout from being crawled twice.

Celery is imported lazily: the base install works without the extra.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from crawler.lab.errors import LabError
from crawler.lab.farm_index import Claim, FarmIndex, FarmSettings, Heartbeat
from crawler.lab.lock import LOCK_NAME
from crawler.lab.options import LabOptions

log = logging.getLogger(__name__)

TASK_NAME = "naysayer.lab.crawl_job"
QUEUE = "naysayer.lab"
BROKER_SCHEMES = ("redis", "rediss")
CONNECT_TIMEOUT = 5.0  # seconds to reach the broker before saying it is unreachable
MISMATCH_RETRY = 30.0  # seconds before a task for another lab folder is offered again
EXIT_GIVEN_UP = 3  # the worker stopped because its device is gone or the crawl was stopped


class FarmError(LabError):
    """The farm cannot start: the extra is missing, the broker is unreachable or not Redis, a worker's device is
    absent, or a lab folder that does not match."""


def _celery(command: str = "submit"):
    try:
        import celery
    except ImportError:
        raise FarmError(f"naysayer lab {command} needs the farm extra: pip install 'naysayer[farm]'") from None
    return celery


def shown_broker(url: str) -> str:
    """The broker URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()
    return url


def check_broker_url(url: str) -> None:
    if urlsplit(url).scheme not in BROKER_SCHEMES:
        raise FarmError(f"--broker {shown_broker(url)!r}: not a Redis URL (redis://HOST:PORT/DB); the farm needs "
                        "Redis (its redelivery of a dead worker's task is what the lab relies on)")


# -- the Celery app ---------------------------------------------------------------------------------------------
def make_app(broker: str, settings: FarmSettings):
    """A Celery app for one lab's broker: late acks, one message at a time, a dead worker's task redelivered after
    settings.visibility_timeout (Redis restores it when a live worker scans its unacknowledged tasks)."""
    celery = _celery()
    check_broker_url(broker)
    app = celery.Celery("naysayer", broker=broker, set_as_current=False)
    visibility = settings.visibility_timeout
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=QUEUE, task_ignore_result=True, task_serializer="json", accept_content=["json"],
        broker_connection_timeout=CONNECT_TIMEOUT, broker_connection_retry_on_startup=False,
        broker_transport_options={"visibility_timeout": visibility, "unacked_restore_interval": 1,
                                  "unacked_restore_throttle": max(1, min(10, int(visibility // 60))),
                                  "socket_connect_timeout": CONNECT_TIMEOUT},
        worker_hijack_root_logger=False, worker_redirect_stdouts=False, worker_send_task_events=False, worker_enable_remote_control=False,
    )
    app.task(name=TASK_NAME, bind=True, max_retries=None, acks_late=True)(crawl_job)
    return app


def check_reachable(app, broker: str) -> None:
    from kombu.exceptions import KombuError

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=CONNECT_TIMEOUT)
    except (KombuError, OSError) as exc:
        raise FarmError(f"--broker {shown_broker(broker)}: not reachable ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc) or type(exc).__name__)[:160]


# -- submit -----------------------------------------------------------------------------------------------------
@dataclass
class Submitted:
    lab: Path
    sent: list[str] = field(default_factory=list)  # packages whose task is on the broker
    failed: list[str] = field(default_factory=list)  # "entry: why" for entries recorded failed at once
    warnings: list[str] = field(default_factory=list)


def submit(apps: Path, broker: str, out: Path, options: LabOptions, *, visibility_timeout: float | None = None,
           lease: float | None = None) -> Submitted:
    """A new lab in `out` with the jobs of APPS, each sent as one task. Nothing is created if the broker is
    unreachable; if sending fails midway, FarmError names what is queued in the index but not on the broker."""
    from crawler.lab.apps import read_apps

    app_list = read_apps(Path(apps))
    out = Path(out).resolve()
    if FarmIndex.exists(out):
        raise FarmError(f"{out}: already holds a lab (send its queued jobs again with --resend, or choose another "
                        "--out)")
    settings = FarmSettings.for_lab(options, visibility_timeout, lease)
    app = make_app(broker, settings)
    check_reachable(app, broker)
    with FarmIndex.create_farm(out, options, settings) as index:
        added = set(index.add_jobs(app_list.jobs))
        done = Submitted(out, warnings=list(app_list.warnings),
                         failed=[f"{j.entry}: {j.error}" for j in index.jobs("failed") if j.id in added])
        done.sent = _send(app, broker, index, [j for j in index.jobs("queued") if j.id in added])
    return done


def resend(broker: str, out: Path) -> Submitted:
    """One task per job still queued in the lab at `out`. A job whose task is also still on the broker is claimed
    once: the second task finds it running or done and is dropped."""
    out = Path(out).resolve()
    with FarmIndex.open(out) as index:
        if not index.farm.lab_id:  # a lab made by `lab run`: it gets farm settings now
            index.set_farm_settings(FarmSettings.for_lab(index.options))
        app = make_app(broker, index.farm)
        check_reachable(app, broker)
        return Submitted(out, sent=_send(app, broker, index, index.jobs("queued")))


def _send(app, broker: str, index: FarmIndex, jobs) -> list[str]:
    from kombu.exceptions import KombuError

    settings = index.farm
    sent: list[str] = []
    for n, job in enumerate(jobs):
        try:
            app.send_task(TASK_NAME, args=[str(index.root), job.id, settings.lab_id], queue=QUEUE, retry=False)
        except (KombuError, OSError) as exc:
            left = [j.package for j in jobs[n:]]
            raise FarmError(
                f"--broker {shown_broker(broker)}: lost while sending ({_short(exc)}): {len(sent)} of {len(jobs)} "
                f"job(s) sent; {len(left)} queued in the lab but not on the broker ({', '.join(left[:5])}"
                f"{', ...' if len(left) > 5 else ''}): send them with `naysayer lab submit --resend --broker URL "
                f"--out {index.root}`") from None
        sent.append(job.package)
    return sent


# -- the worker -------------------------------------------------------------------------------------------------
@dataclass
class WorkerContext:
    """What the task needs from the worker process it runs in (one device, one lab folder)."""

    serial: str
    index: FarmIndex
    adb_port: int | None
    owner: str
    say: object = print
    stopped: str = ""  # why this worker stopped taking jobs ("" while it works)


WORKER: WorkerContext | None = None


class SharedLabLock:
    """A shared flock on DIR/lab.lock while a worker serves the lab: `lab status` shows the lab active, and
    `lab run` (which takes it exclusively) does not run beside the farm's workers."""

    def __init__(self, root: Path):
        self.path = Path(root) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> Self:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FarmError(f"{self.path.parent}: `naysayer lab run` is running this lab; stop it first") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def worker_name(serial: str) -> str:
    return f"naysayer-{re.sub(r'[^A-Za-z0-9._-]', '_', serial)}@{socket.gethostname()}"


def run_worker(serial: str, broker: str, out: Path, *, adb_port: int | None = None, say=print) -> int:
    """Serve the lab in `out` with device `serial` until stopped (Ctrl-C / SIGTERM: the crawl in progress ends as
    interrupted and its job goes back to the queue). Returns the exit code."""
    global WORKER
    _celery("worker")
    from celery.worker import state as worker_state

    from crawler.lab.pool import device_state

    check_broker_url(broker)
    out = Path(out).resolve()
    try:
        index = FarmIndex.open(out)
    except LabError as exc:
        raise FarmError(f"--out {out}: not a lab folder ({exc}); create it with `naysayer lab submit APPS --broker "
                        f"URL --out {out}` (the worker's --out must be the folder submit used)") from None
    with index:
        state = device_state(serial, adb_port)
        if state != "device":
            raise FarmError(f"--device {serial}: " + ("no such device (see `naysayer devices`)" if state is None
                                                       else f"device is {state}"))
        app = make_app(broker, index.farm)
        check_reachable(app, broker)
        WORKER = WorkerContext(serial, index, adb_port, f"{worker_name(serial)}:{os.getpid()}", say)
        worker_state.should_stop = None
        with SharedLabLock(out):
            say(f"naysayer lab worker: {serial} serves lab {out} from {shown_broker(broker)} (Ctrl-C stops)")
            worker = app.Worker(hostname=worker_name(serial), pool="solo", concurrency=1, loglevel="WARNING",
                                queues=[QUEUE], without_mingle=True, without_gossip=True, without_heartbeat=True,
                                quiet=True, optimization="fair")
            worker.start()
        stopped, WORKER = WORKER.stopped, None
    if stopped:
        raise FarmError(f"--device {serial}: {stopped}; this worker stopped (its job went back to the queue)")
    return worker.exitcode or 0


def _stop_worker(ctx: WorkerContext, why: str) -> None:
    """Take no more tasks: Celery's warm shutdown, after this task is acknowledged."""
    from celery.worker import state as worker_state

    ctx.stopped = ctx.stopped or why
    worker_state.should_stop = EXIT_GIVEN_UP


def _stopping() -> bool:
    from celery.worker import state as worker_state

    # Celery's flags hold an exit code once set, and SIGTERM's is 0: compare by identity, as Celery does
    return any(flag is not None and flag is not False
               for flag in (worker_state.should_stop, worker_state.should_terminate))


def crawl_job(task, lab_dir: str, job_id: int, lab_id: str = "") -> str:
    """The Celery task: crawl job `job_id` of the lab on this worker's device; returns the job's state."""
    from crawler.lab.job import result_from_run, run_job
    from crawler.lab.pool import device_state
    from crawler.store import new_run_id

    ctx = WORKER
    if ctx is None:
        raise FarmError(f"{TASK_NAME} runs only in `naysayer lab worker`")
    index = ctx.index
    settings = index.farm
    if lab_id != settings.lab_id:
        log.error("task for lab %s (job %s) but this worker serves %s: given back; start a worker with --out %s",
                  lab_dir, job_id, index.root, lab_dir)
        ctx.say(f"naysayer lab worker: a job of lab {lab_dir} came to this worker of {index.root}: given back "
                "(start workers with the --out that submit used)")
        # well under the visibility timeout: a message held longer would be redelivered, and copies multiply
        raise task.retry(countdown=min(MISMATCH_RETRY, settings.visibility_timeout / 2))
    if _stopping():
        raise task.retry(countdown=0)
    if device_state(ctx.serial, ctx.adb_port) != "device":
        _stop_worker(ctx, "the device is gone or offline")
        raise task.retry(countdown=0)
    options = index.options
    claim: Claim = index.claim_job(job_id, ctx.serial, ctx.owner, lambda run: result_from_run(run, options=options))
    if claim.note:
        ctx.say(f"naysayer lab worker: {claim.note}")
    if claim.outcome == "busy":
        raise task.retry(countdown=settings.busy_retry)
    if claim.outcome != "claimed":
        return claim.outcome
    job = claim.job
    run_id = new_run_id(job.package)
    index.begin_run(job.id, index.root / run_id)
    ctx.say(f"naysayer lab worker: {ctx.serial}: crawling {job.package} (attempt {job.attempts})")
    with Heartbeat(index, job.id, ctx.owner, settings.beat) as lease:
        result = run_job(job.spec, ctx.serial, index.root, options, run_id=run_id, adb_port=ctx.adb_port,
                         should_stop=lambda: lease.lost or _stopping())
    if lease.lost:  # this worker was taken for dead and the job runs elsewhere: its run is kept, nothing recorded
        ctx.say(f"naysayer lab worker: {job.package}: taken over by another worker; run kept: {result.run}")
        return "superseded"
    state = index.finish(job.id, result)
    index.drop_lease(job.id, ctx.owner)
    ctx.say(f"naysayer lab worker: {ctx.serial}: {job.package}: {state}"
            + (f" ({result.end})" if result.end else "") + (f": {result.reason}" if state != "done" else ""))
    if state == "queued":  # lost device, interrupted, or a first failure: the job goes back on the broker
        if result.device_lost:
            _stop_worker(ctx, "the device was lost during a crawl")
        raise task.retry(countdown=0)
    return state


def console_say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
