"""The local device pool: one worker thread per device, each claiming the next queued job from the LabIndex.

A device that goes offline (its crawl ends `device_lost`, or it is not in state `device`) gives its job back to the
queue, where another device takes it; the worker retries its device with growing pauses (Backoff) and gives it up
after the last one. The pool ends when nothing is queued or running, when every device is gone, or on stop().
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from crawler.lab.index import JobRow, LabIndex, this_owner
from crawler.lab.job import JobResult, run_job

log = logging.getLogger(__name__)

IDLE_POLL = 0.3  # seconds between looks at the queue while other devices may still give a job back
STOP_GRACE = 20.0  # seconds crawls get to record `interrupted` after stop()


@dataclass
class Backoff:
    first: float = 2.0
    factor: float = 2.0
    longest: float = 60.0
    tries: int = 6  # 2+4+8+16+32+60 s: a device back within two minutes rejoins the lab

    def delays(self) -> Iterator[float]:
        delay = self.first
        for _ in range(self.tries):
            yield min(delay, self.longest)
            delay *= self.factor


class LabObserver(Protocol):
    """What the pool reports as it goes (the live display, the plain printer, the demo)."""

    def device(self, serial: str, state: str, package: str = "") -> None: ...
    def progress(self, serial: str, package: str, info: dict) -> None: ...
    def finished(self, job: JobRow, result: JobResult, state: str) -> None: ...


class QuietObserver:
    def device(self, serial: str, state: str, package: str = "") -> None:
        pass

    def progress(self, serial: str, package: str, info: dict) -> None:
        pass

    def finished(self, job: JobRow, result: JobResult, state: str) -> None:
        pass


@dataclass
class PoolSummary:
    counts: dict[str, int]
    gone: list[str] = field(default_factory=list)  # devices given up
    stopped: bool = False  # stop() was called (Ctrl-C)
    recovered: list[str] = field(default_factory=list)  # jobs given back after stop


def device_state(serial: str, adb_port: int | None) -> str | None:
    """The device's adb state ('device', 'offline', ...) or None if adb does not list it (or is unreachable)."""
    import adbutils

    from crawler.device import adb_client

    try:
        return {d.serial: d.state for d in adb_client(adb_port).list()}.get(serial)
    except (adbutils.AdbError, OSError):  # the adb server itself restarting: same as not listed, try again later
        return None


class DevicePool:
    def __init__(self, index: LabIndex, serials: list[str], *, adb_port: int | None = None,
                 backoff: Backoff | None = None, observer: LabObserver | None = None, owner: str | None = None):
        self.index, self.serials, self.adb_port = index, list(serials), adb_port
        self.backoff = backoff or Backoff()
        self.observer = observer or QuietObserver()
        self.owner = owner or this_owner()
        self.options = index.options
        self._stop = threading.Event()
        self.gone: list[str] = []
        self._working: set[str] = set()  # devices whose workers still take jobs
        self._working_lock = threading.Lock()
        self._holding: dict[str, int] = {}  # device -> the job its worker has claimed and not yet recorded

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> PoolSummary:
        """Work until the queue is drained, every device is gone, or stop(); Ctrl-C in the caller's thread stops
        the crawls (each records `interrupted`), gives their jobs back to the queue and re-raises."""
        threads = [threading.Thread(target=self._worker, args=(s,), name=f"lab-{s}", daemon=True)
                   for s in self.serials]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(timeout=0.2)
        except KeyboardInterrupt:
            self.stop()
            deadline = time.monotonic() + STOP_GRACE
            for t in threads:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
            self.recover_own()
            raise
        return PoolSummary(self.index.counts(), list(self.gone), self._stop.is_set())

    def recover_own(self) -> list[str]:
        """Give this pool's unfinished jobs back to the queue (their partial runs are kept and recorded)."""
        from crawler.lab.job import result_from_run

        return self.index.recover(lambda run: result_from_run(run, options=self.options), owners={self.owner})

    # -- one device -------------------------------------------------------------------------------------------
    def _worker(self, serial: str) -> None:
        with self._working_lock:
            self._working.add(serial)
        try:
            self._work(serial)
        except Exception:  # a bug here must not leave the other devices waiting on a job forever
            log.exception("lab worker for %s failed", serial)
            self.gone.append(serial)
            self._give_back(serial)
            self.observer.device(serial, "failed (see log)")
        finally:
            with self._working_lock:
                self._working.discard(serial)

    def _give_back(self, serial: str) -> None:
        """The job of a worker that failed goes back to the queue (left `running`, the other devices would wait on
        it until the lab is killed)."""
        job_id = self._holding.pop(serial, None)
        if job_id is None:
            return
        try:
            self.index.release(job_id, f"the lab's worker for {serial} failed")
        except sqlite3.Error as exc:
            log.error("job %s could not be given back (%s): `lab run --resume` will", job_id, exc)

    def _alone(self, serial: str) -> bool:
        with self._working_lock:
            return self._working <= {serial}

    def _work(self, serial: str) -> None:
        from crawler.store import new_run_id

        while not self._stop.is_set():
            if device_state(serial, self.adb_port) != "device" and not self._wait_for_device(serial):
                return
            # a job that failed or was lost here goes to another device while there is one
            job = self.index.claim(serial, self.owner, retry_here=self._alone(serial))
            if job is None:
                if not self._more_may_come():
                    self.observer.device(serial, "finished")
                    return
                self.observer.device(serial, "waiting")
                self._stop.wait(IDLE_POLL)
                continue
            self._holding[serial] = job.id
            run_id = new_run_id(job.package)
            self.index.begin_run(job.id, self.index.root / run_id)
            self.observer.device(serial, "crawling", job.package)
            result = run_job(job.spec, serial, self.index.root, self.options, run_id=run_id, adb_port=self.adb_port,
                             on_progress=lambda info, p=job.package: self.observer.progress(serial, p, info),
                             should_stop=self._stop.is_set)
            state = self.index.finish(job.id, result)
            del self._holding[serial]
            self.observer.finished(job, result, state)
            if result.device_lost and not self._wait_for_device(serial):
                return
        self.observer.device(serial, "stopped")

    def _more_may_come(self) -> bool:
        """Jobs still running elsewhere in this pool may come back to the queue (device lost, app failed once)."""
        counts = self.index.counts()
        return counts["queued"] > 0 or self.index.running(self.owner) > 0

    def _wait_for_device(self, serial: str) -> bool:
        """Retry an offline device with growing pauses; False once it is given up (or the lab stops)."""
        for n, delay in enumerate(self.backoff.delays(), 1):
            self.observer.device(serial, f"offline: retry {n}/{self.backoff.tries} in {delay:.0f}s")
            deadline = time.monotonic() + delay
            while (left := deadline - time.monotonic()) > 0:
                if self._stop.wait(min(left, IDLE_POLL)):
                    return False
                if not self._more_may_come():  # nothing left for any device: no reason to wait for this one
                    self.observer.device(serial, "offline")
                    return False
            if device_state(serial, self.adb_port) == "device":
                log.info("%s is back", serial)
                return True
        log.warning("%s: offline after %d retries: no more jobs go to it", serial, self.backoff.tries)
        self.gone.append(serial)
        self.observer.device(serial, "gone")
        return False
