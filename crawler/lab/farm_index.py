"""The lab index as Celery workers use it: claim one job by id, and hold it with a heartbeat lease.

A Redis broker redelivers a task whose worker has not acknowledged it within the visibility timeout, whether that
worker died or is merely still crawling. The index decides which: the worker crawling a job renews a lease (a
timestamp in the table farm_leases, beside the lab's own tables) every few seconds; a redelivered task whose job is
running under a fresh lease is not run (the task retries later), one whose lease went stale takes the job over: the
dead attempt is recorded as interrupted with its partial run kept, and the job runs again (attempts + 1, and a loss
counted, so an app that kills its workers every time ends failed rather than looping).

Farm settings (visibility timeout, lease) are stored with the lab (meta key `farm`), so every worker uses the same.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Self

from crawler.lab.index import _JOB_COLUMNS, JobRow, LabIndex, _row
from crawler.lab.job import JobResult
from crawler.lab.options import LabOptions

FARM_SCHEMA = """
CREATE TABLE IF NOT EXISTS farm_leases (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
    owner TEXT NOT NULL,
    device TEXT NOT NULL,
    beat REAL NOT NULL
);
"""
log = logging.getLogger(__name__)

MIN_VISIBILITY = 60.0
SPARE_VISIBILITY = 600.0  # seconds above one job's device time: installs, clean state, a slow phone


def default_visibility_timeout(options: LabOptions) -> float:
    """Comfortably above one job's wall time on a real device (device time = wall time there): budget + idle watch +
    10 minutes. Shorter is safe (the lease stops a second crawl) but makes live jobs bounce between workers."""
    return max(MIN_VISIBILITY, options.budget + options.idle + SPARE_VISIBILITY)


@dataclass
class FarmSettings:
    lab_id: str = ""  # tasks carry it: a worker serving another lab folder gives them back
    visibility_timeout: float = 1800.0  # seconds before Redis hands an unacknowledged task to another worker
    lease: float = 60.0  # seconds without a heartbeat after which a running job's worker is taken as dead

    @property
    def beat(self) -> float:
        """How often the crawling worker renews its lease."""
        return max(0.5, self.lease / 6)

    @property
    def busy_retry(self) -> float:
        """Countdown of a task whose job another worker holds: look again after about one lease, and well before
        the retried message could itself be redelivered."""
        return max(1.0, min(self.lease, self.visibility_timeout / 2))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FarmSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def for_lab(cls, options: LabOptions, visibility_timeout: float | None = None,
                lease: float | None = None) -> FarmSettings:
        return cls(lab_id=uuid.uuid4().hex, visibility_timeout=visibility_timeout or default_visibility_timeout(options),
                   lease=lease or cls.lease)


@dataclass
class Claim:
    """What claim_job found. outcome: claimed (crawl `job` now), finished (done or failed already: drop the task),
    finished_from_run (a dead worker's crawl had ended: recorded from its run), busy (another worker holds a fresh
    lease: retry later), missing (no such job in this lab)."""

    outcome: str
    job: JobRow | None = None
    note: str = ""  # one line for the worker's log (a take-over, a finished run)


class FarmIndex(LabIndex):
    """LabIndex plus claim-by-id and leases. Open with FarmIndex.open / create_farm; the farm table is added on open.
    Lease times (claims, beats, take-overs) come from `clock` (wall time unless a test gives its own)."""

    clock: Callable[[], float] = staticmethod(time.time)

    @classmethod
    def open(cls, root: Path, clock: Callable[[], float] = time.time) -> FarmIndex:
        index = super().open(root)
        index.clock = clock
        with index._write() as conn:
            for statement in filter(str.strip, FARM_SCHEMA.split(";")):
                conn.execute(statement)
        return index

    @classmethod
    def create_farm(cls, root: Path, options: LabOptions, settings: FarmSettings,
                    clock: Callable[[], float] = time.time) -> FarmIndex:
        cls.create(root, options).close()
        index = cls.open(root, clock)
        index.set_farm_settings(settings)
        return index

    # -- settings ---------------------------------------------------------------------------------------------
    @property
    def farm(self) -> FarmSettings:
        row = self._read("SELECT value FROM meta WHERE key = 'farm'")
        return FarmSettings.from_json(json.loads(row[0][0])) if row else FarmSettings()

    def set_farm_settings(self, settings: FarmSettings) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('farm', ?)", (json.dumps(settings.to_json()),))

    # -- claiming by id ---------------------------------------------------------------------------------------
    def _job_and_lease(self, job_id: int) -> tuple[JobRow | None, tuple | None]:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        lease = self._read("SELECT owner, beat FROM farm_leases WHERE job_id = ?", (job_id,))
        return (_row(rows[0]) if rows else None), (lease[0] if lease else None)

    def claim_job(self, job_id: int, device: str, owner: str,
                  finished_run: Callable[[Path], JobResult | None]) -> Claim:
        """Take job `job_id` for `device` if it is queued, or running under a stale lease (its worker is dead).
        `finished_run(run)` reads a dead attempt's run: a crawl that had ended is recorded, never redone."""
        job, lease = self._job_and_lease(job_id)
        if job is None:
            return Claim("missing")
        if job.state in ("done", "failed"):
            return Claim("finished", job)
        now = self.clock()
        if job.state == "running":
            holder, beat = lease if lease else (job.owner, job.started or 0.0)
            if now - beat < self.farm.lease:
                return Claim("busy", job, f"held by {holder}")
            if not self._steal_lease(job_id, lease, device, owner):
                return Claim("busy", job, "taken over by another worker just now")
            run = Path(job.run) if job.run else None
            result = finished_run(run) if run is not None and run.is_dir() else None
            if result is not None:
                state = self.finish(job_id, result)
                self.drop_lease(job_id, owner)
                note = f"{job.package}: the crawl of dead worker {holder} had ended ({result.end}): {state}"
                if state != "queued":
                    return Claim("finished_from_run", self.job(job_id), note)
                # it ended unsuccessfully (device lost, error, interrupted) and goes round again: this task is the
                # job's only message on the broker, so it crawls it now rather than being acknowledged empty-handed
                claim = self._claim_queued(job, device, owner)
                claim.note = f"{note}; crawling it again here" if claim.outcome == "claimed" else note
                return claim
            return self._take_over(job, holder, device, owner, now - beat)
        return self._claim_queued(job, device, owner)

    def _claim_queued(self, job: JobRow, device: str, owner: str) -> Claim:
        now = self.clock()
        with self._write() as conn:
            row = conn.execute(
                "UPDATE jobs SET state = 'running', device = ?, owner = ?, attempts = attempts + 1, started = ?, "
                "run = '' WHERE id = ? AND state = 'queued' RETURNING id", (device, owner, now, job.id)).fetchone()
            if row is None:  # claimed by another worker between the read and now
                return Claim("busy", job, "claimed by another worker just now")
            self._new_attempt(conn, job.id, device, owner, now)
        return Claim("claimed", self.job(job.id))

    def _steal_lease(self, job_id: int, lease: tuple | None, device: str, owner: str) -> bool:
        """Atomically replace the stale lease we saw by ours; False if someone renewed or stole it meanwhile."""
        now = self.clock()
        with self._write() as conn:
            current = conn.execute("SELECT owner, beat FROM farm_leases WHERE job_id = ?", (job_id,)).fetchone()
            if current != (tuple(lease) if lease else None):
                return False
            conn.execute("INSERT OR REPLACE INTO farm_leases VALUES (?, ?, ?, ?)", (job_id, owner, device, now))
        return True

    def _take_over(self, job: JobRow, holder: str, device: str, owner: str, silent: float) -> Claim:
        """The dead attempt is recorded interrupted (its partial run kept); the job runs again here, or fails after
        options.max_losses lost workers."""
        now = self.clock()
        why = f"worker {holder} lost: no heartbeat for {silent:.0f}s"
        with self._write() as conn:
            conn.execute("UPDATE attempts SET finished = ?, outcome = 'interrupted', detail = ? "
                         "WHERE job_id = ? AND finished IS NULL", (now, why[:500], job.id))
            losses = job.losses + 1
            if losses >= self.options.max_losses:
                conn.execute("UPDATE jobs SET state = 'failed', losses = ?, error = ?, finished = ?, last_device = ?, "
                             "owner = '' WHERE id = ?",
                             (losses, f"worker lost {losses} times while crawling (last: {why})", now, job.device,
                              job.id))
                conn.execute("DELETE FROM farm_leases WHERE job_id = ?", (job.id,))
                return Claim("finished", None, f"{job.package}: {why}; failed after {losses} lost workers")
            conn.execute("UPDATE jobs SET device = ?, owner = ?, attempts = attempts + 1, started = ?, run = '', "
                         "losses = ?, last_device = ? WHERE id = ?", (device, owner, now, losses, job.device, job.id))
            self._new_attempt(conn, job.id, device, owner, now)
        kept = f"; partial run kept: {job.run}" if job.run else ""
        return Claim("claimed", self.job(job.id), f"{job.package}: {why}; taken over{kept}")

    @staticmethod
    def _new_attempt(conn, job_id: int, device: str, owner: str, now: float) -> None:
        conn.execute("INSERT INTO attempts (job_id, n, device, owner, started) VALUES "
                     "(?, (SELECT COALESCE(MAX(n), 0) + 1 FROM attempts WHERE job_id = ?), ?, ?, ?)",
                     (job_id, job_id, device, owner, now))
        conn.execute("INSERT OR REPLACE INTO farm_leases VALUES (?, ?, ?, ?)", (job_id, owner, device, now))

    # -- the lease ----------------------------------------------------------------------------------------------
    def heartbeat(self, job_id: int, owner: str) -> bool:
        """Renew our lease; False if the job is no longer ours (another worker took it over)."""
        with self._write() as conn:
            return conn.execute("UPDATE farm_leases SET beat = ? WHERE job_id = ? AND owner = ?",
                                (self.clock(), job_id, owner)).rowcount > 0

    def drop_lease(self, job_id: int, owner: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM farm_leases WHERE job_id = ? AND owner = ?", (job_id, owner))

    def leases(self) -> dict[int, tuple[str, str, float]]:
        """job id -> (owner, device, last beat)."""
        return {j: (o, d, b) for j, o, d, b in self._read("SELECT job_id, owner, device, beat FROM farm_leases")}


class Heartbeat:
    """A thread renewing a job's lease every settings.beat seconds while the crawl runs. `.lost` turns true if the
    job was taken over (this worker looked dead): the crawl should stop and record nothing over the new owner's."""

    def __init__(self, index: FarmIndex, job_id: int, owner: str, every: float):
        self.index, self.job_id, self.owner, self.every = index, job_id, owner, every
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if not self.index.heartbeat(self.job_id, self.owner):
                    self.lost = True
                    return
            except sqlite3.Error as exc:  # a locked or briefly unreachable index: try again at the next beat
                log.warning("lease of job %s not renewed: %s", self.job_id, exc)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
