"""The lab's index: one SQLite file (DIR/lab.sqlite, WAL) holding the job queue, each job's state and every attempt.

It is the only shared state of a lab. Device workers (threads here, Celery workers later, other processes alike)
claim jobs atomically, record the run directory they are about to write BEFORE the crawl starts, and report the
outcome; so after a crash or Ctrl-C the index knows which run belonged to which job, and `recover()` can tell a
crawl that finished (its run has a run_end step: the job is done, never redone) from one that was cut short (its
partial run is kept and recorded as interrupted; the job goes back to the queue).

Job states: queued -> running -> done | failed, and running -> queued when a device is lost or the lab stopped.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from crawler.lab.errors import LabError, NotALab
from crawler.lab.job import JobResult, JobSpec
from crawler.lab.options import LabOptions

INDEX_NAME = "lab.sqlite"
SCHEMA_VERSION = 1
STATES = ("queued", "running", "done", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    package TEXT NOT NULL,
    apk TEXT NOT NULL DEFAULT '',
    apk_sha256 TEXT NOT NULL DEFAULT '',
    entry TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    device TEXT NOT NULL DEFAULT '',
    last_device TEXT,
    owner TEXT NOT NULL DEFAULT '',
    run TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    losses INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    end_reason TEXT NOT NULL DEFAULT '',
    kinds TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS attempts (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    n INTEGER NOT NULL,
    device TEXT NOT NULL,
    owner TEXT NOT NULL,
    run TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    finished REAL,
    outcome TEXT,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, n)
);
"""


def this_owner() -> str:
    """Who holds a claim: host and process, so a status line can say which worker crawls what."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class JobRow:
    id: int
    package: str
    apk: str
    apk_sha256: str
    entry: str
    state: str
    device: str
    run: str
    attempts: int
    failures: int
    losses: int
    error: str
    end: str
    kinds: list[str] = field(default_factory=list)
    owner: str = ""
    started: float | None = None
    finished: float | None = None

    @property
    def spec(self) -> JobSpec:
        return JobSpec(package=self.package, apk=self.apk, apk_sha256=self.apk_sha256, entry=self.entry)

    def to_json(self) -> dict[str, Any]:
        """One job of `lab status --json`."""
        return {"id": self.id, "package": self.package, "apk": self.apk, "state": self.state, "device": self.device,
                "run": self.run, "attempts": self.attempts, "error": self.error, "end": self.end,
                "kinds": self.kinds, "started": self.started, "finished": self.finished}


_JOB_COLUMNS = ("id, package, apk, apk_sha256, entry, state, device, run, attempts, failures, losses, error, "
                "end_reason, kinds, owner, started, finished")


def _row(values: tuple) -> JobRow:
    *head, kinds, owner, started, finished = values
    return JobRow(*head, kinds=json.loads(kinds), owner=owner, started=started, finished=finished)


class LabIndex:
    """DIR/lab.sqlite. Safe to share between threads (one connection, one lock) and between processes (WAL,
    claims in BEGIN IMMEDIATE transactions)."""

    def __init__(self, root: Path, conn: sqlite3.Connection):
        self.root = root
        self.path = root / INDEX_NAME
        self._conn = conn
        self._lock = threading.RLock()

    # -- opening ----------------------------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @classmethod
    def exists(cls, root: Path) -> bool:
        return (Path(root) / INDEX_NAME).is_file()

    @classmethod
    def create(cls, root: Path, options: LabOptions) -> LabIndex:
        """A new lab in `root` (created if needed). Raises LabError if `root` already holds one."""
        root = Path(root)
        if cls.exists(root):
            raise LabError(f"{root}: already holds a lab (continue it with --resume, or choose another --out)")
        root.mkdir(parents=True, exist_ok=True)
        conn = cls._connect(root / INDEX_NAME)
        conn.executescript(SCHEMA)
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("created", repr(time.time())),
            ("options", json.dumps(options.to_json()))])
        return cls(root, conn)

    @classmethod
    def open(cls, root: Path) -> LabIndex:
        """An existing lab. Raises NotALab (one line) if `root` holds none."""
        root = Path(root)
        if not cls.exists(root):
            raise NotALab(f"{root}: not a lab folder (no {INDEX_NAME})")
        try:
            conn = cls._connect(root / INDEX_NAME)
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error as exc:
            raise NotALab(f"{root}: unreadable {INDEX_NAME} ({str(exc)[:120]})") from None
        if version is None or int(version[0]) > SCHEMA_VERSION:
            raise NotALab(f"{root}: {INDEX_NAME} has an unknown schema version")
        return cls(root, conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (IMMEDIATE) so two claimers never read the same queued job."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- the lab ----------------------------------------------------------------------------------------------
    @property
    def options(self) -> LabOptions:
        row = self._read("SELECT value FROM meta WHERE key = 'options'")
        return LabOptions.from_json(json.loads(row[0][0])) if row else LabOptions()

    @property
    def on_farm(self) -> bool:
        """Jobs go through a Celery queue (`lab submit`), not a `lab run` process."""
        return bool(self._read("SELECT 1 FROM meta WHERE key = 'farm'"))

    def add_jobs(self, specs: list[JobSpec]) -> list[int]:
        """Queue new jobs; an entry with an error is recorded failed at once (the lab goes on without it). Packages
        already in the lab are skipped (a resumed lab given the same list). Returns the new job ids."""
        now = time.time()
        added = []
        with self._write() as conn:
            known = {p for (p,) in conn.execute("SELECT package FROM jobs")}
            for spec in specs:
                if spec.package in known:
                    continue
                known.add(spec.package)
                state = "failed" if spec.error else "queued"
                cursor = conn.execute(
                    "INSERT INTO jobs (package, apk, apk_sha256, entry, state, error, created, finished) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (spec.package, spec.apk, spec.apk_sha256, spec.entry, state, spec.error, now,
                     now if spec.error else None))
                added.append(cursor.lastrowid)
        return added

    def claim(self, device: str, owner: str | None = None, *, retry_here: bool = True) -> JobRow | None:
        """Atomically take the next queued job for `device`. A job last lost or failed on this very device comes
        last, and with retry_here=False (other devices are working) it is left for another device.
        None if nothing is queued (for this device)."""
        owner = owner or this_owner()
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                "UPDATE jobs SET state = 'running', device = ?, owner = ?, attempts = attempts + 1, started = ?, "
                "run = '' WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND (? OR last_device IS NULL "
                "OR last_device != ?) ORDER BY COALESCE(last_device = ?, 0), id LIMIT 1) RETURNING id",
                (device, owner, now, retry_here, device, device)).fetchone()
            if row is None:
                return None
            job = _row(conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", row).fetchone())
            conn.execute("INSERT INTO attempts (job_id, n, device, owner, started) VALUES "
                         "(?, (SELECT COALESCE(MAX(n), 0) + 1 FROM attempts WHERE job_id = ?), ?, ?, ?)",
                         (job.id, job.id, device, owner, now))
        return job

    def begin_run(self, job_id: int, run: Path) -> None:
        """Record the run directory of the job's current attempt, before the crawl creates it."""
        with self._write() as conn:
            conn.execute("UPDATE jobs SET run = ? WHERE id = ?", (str(run), job_id))
            conn.execute("UPDATE attempts SET run = ? WHERE job_id = ? AND finished IS NULL", (str(run), job_id))

    def finish(self, job_id: int, result: JobResult) -> str:
        """Record a crawl's outcome and move the job on; returns its new state.

        done: the crawl ended normally. queued again: the device was lost (not the app's fault; at most
        options.max_losses times) or the crawl was interrupted (Ctrl-C: not counted), or the app failed fewer than
        options.max_failures times (another device will try). failed: otherwise, with the reason."""
        options = self.options
        now = time.time()
        with self._write() as conn:
            job = _row(conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone())
            failures, losses, error = job.failures, job.losses, ""
            if result.ok:
                state, outcome = "done", result.end
            elif result.interrupted:
                state, outcome = "queued", "interrupted"
            elif result.device_lost:
                losses += 1
                outcome = "device_lost"
                state = "failed" if losses >= options.max_losses else "queued"
                error = f"device lost {losses} times while crawling (last: {result.reason})"
            else:
                failures += 1
                outcome = "failed"
                state = "failed" if failures >= options.max_failures else "queued"
                error = result.reason
            run = str(result.run) if result.run else ""  # no run: the job failed before its crawl began
            conn.execute(
                "UPDATE jobs SET state = ?, failures = ?, losses = ?, error = ?, end_reason = ?, kinds = ?, run = ?, "
                "finished = ?, last_device = ?, device = ?, owner = '' WHERE id = ?",
                (state, failures, losses, error if state == "failed" else (error and f"retrying: {error}"),
                 result.end, json.dumps(result.kinds), run if state != "queued" else "",
                 now if state in ("done", "failed") else None, job.device,
                 job.device if state != "queued" else "", job_id))
            conn.execute("UPDATE attempts SET finished = ?, outcome = ?, detail = ?, run = ? "
                         "WHERE job_id = ? AND finished IS NULL",
                         (now, outcome, (result.reason or result.detail)[:500], run, job_id))
        return state

    def release(self, job_id: int, why: str) -> None:
        """Give a claimed job back to the queue untouched (the worker stopped before crawling)."""
        with self._write() as conn:
            # an attempt that never got as far as a run directory is forgotten; one with a run is kept, interrupted
            unstarted = conn.execute("DELETE FROM attempts WHERE job_id = ? AND finished IS NULL AND run = ''",
                                     (job_id,)).rowcount
            conn.execute("UPDATE jobs SET state = 'queued', device = '', owner = '', run = '', "
                         "attempts = MAX(attempts - ?, 0) WHERE id = ? AND state = 'running'", (unstarted, job_id))
            conn.execute("UPDATE attempts SET finished = ?, outcome = 'interrupted', detail = ? "
                         "WHERE job_id = ? AND finished IS NULL", (time.time(), why[:500], job_id))

    def recover(self, finished_run: Callable[[Path], JobResult | None], owners: set[str] | None = None) -> list[str]:
        """Jobs left `running` by a dead worker (all of them, or those of `owners`): a job whose run finished
        (`finished_run(run)` returns its result: the run has a run_end step) is finished from that run, never
        crawled again; otherwise its partial run is kept, recorded as interrupted, and the job is queued again.
        Returns one line per job for the user."""
        lines = []
        for job in self.jobs("running"):
            if owners is not None and job.owner not in owners:
                continue
            run = Path(job.run) if job.run else None
            result = finished_run(run) if run is not None and run.is_dir() else None
            if result is not None:
                state = self.finish(job.id, result)
                lines.append(f"{job.package}: its crawl had finished ({result.end}); recorded as {state}")
                continue
            self.release(job.id, "the lab stopped during the crawl")
            kept = f"; partial run kept: {run}" if run is not None and run.is_dir() else ""
            lines.append(f"{job.package}: interrupted mid-crawl, queued again{kept}")
        return lines

    # -- reading ----------------------------------------------------------------------------------------------
    def jobs(self, state: str | None = None) -> list[JobRow]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        return [_row(r) for r in self._read(f"SELECT {_JOB_COLUMNS} FROM jobs {where} ORDER BY id", args)]

    def job(self, job_id: int) -> JobRow:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise LabError(f"{self.root}: no job {job_id}")
        return _row(rows[0])

    def attempts(self, job_id: int) -> list[dict[str, Any]]:
        rows = self._read("SELECT n, device, owner, run, started, finished, outcome, detail FROM attempts "
                          "WHERE job_id = ? ORDER BY n", (job_id,))
        keys = ("n", "device", "owner", "run", "started", "finished", "outcome", "detail")
        return [dict(zip(keys, r)) for r in rows]

    def all_attempts(self) -> list[dict[str, Any]]:
        """Every attempt of every job, in the order they started (the dashboard's device timeline)."""
        rows = self._read("SELECT job_id, n, device, owner, run, started, finished, outcome, detail FROM attempts "
                          "ORDER BY started, job_id, n")
        keys = ("job_id", "n", "device", "owner", "run", "started", "finished", "outcome", "detail")
        return [dict(zip(keys, r)) for r in rows]

    def counts(self) -> dict[str, int]:
        found = dict(self._read("SELECT state, COUNT(*) FROM jobs GROUP BY state"))
        return {state: found.get(state, 0) for state in STATES}

    def running(self, owner: str | None = None) -> int:
        """Jobs running now (of one owner: a pool counts only its own)."""
        sql, args = "SELECT COUNT(*) FROM jobs WHERE state = 'running'", ()
        if owner is not None:
            sql, args = sql + " AND owner = ?", (owner,)
        return self._read(sql, args)[0][0]

    def findings(self) -> dict[str, int]:
        """Finding kind -> number of apps it was found in, over the jobs done so far."""
        counter: Counter[str] = Counter()
        for (kinds,) in self._read("SELECT kinds FROM jobs WHERE state = 'done'"):
            counter.update(json.loads(kinds))
        return dict(sorted(counter.items()))

    def status(self) -> dict[str, Any]:
        """What `lab status --json` prints."""
        return {"lab": str(self.root), "jobs": [j.to_json() for j in self.jobs()], "counts": self.counts(),
                "findings": self.findings(), "options": self.options.to_json()}
