"""From a lab folder to the dashboard's view-model: the lab's index (jobs and every attempt) plus one summary line per
run (reports.html.gather.gather_index_row, the same reader as the lab index page), cached beside the dashboard so a
refresh after each job reads only the runs that changed. No HTML here.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crawler.detectors.taxonomy import load_taxonomy
from crawler.lab.index import JobRow, LabIndex
from crawler.store import DB_NAME
from crawler.text_safety import export_text
from reports.html.gather import gather_index_row
from reports.html.lab_rows import lab_jobs
from reports.html.view import IndexRow

SEVERITIES = ("high", "medium", "low")
CACHE_NAME = ".dashboard-cache.json"
CACHE_VERSION = 1


@dataclass
class Attempt:
    """One crawl of one job on one device (the attempts table of lab.sqlite)."""

    job_id: int
    package: str
    device: str
    started: float
    finished: float | None
    outcome: str  # done | budget | steps | failed | device_lost | interrupted | "" (running)
    detail: str = ""


@dataclass
class AppLine:
    """One app (job) of the lab, with its latest run's summary when there is one."""

    job_id: int
    package: str
    state: str
    attempts: int
    error: str
    device: str
    kinds: list[str]
    by_severity: dict[str, int]
    findings: int
    label: str = ""
    version: str = ""
    apk_sha256: str = ""
    end_reason: str = ""
    run_id: str = ""
    href: str = ""  # its report, relative to the dashboard
    run_dir: Path | None = None

    @property
    def rank_key(self) -> tuple:
        """Worst first: high findings, then medium, then low, then any finding; then by package."""
        return tuple(-self.by_severity.get(s, 0) for s in SEVERITIES) + (-self.findings, self.package)

    @property
    def severities(self) -> list[str]:
        return [s for s in SEVERITIES if self.by_severity.get(s)]

    @property
    def worst(self) -> str:
        return next((s for s in SEVERITIES if self.by_severity.get(s)), "")


@dataclass
class DeviceLine:
    serial: str
    done: int = 0
    failed: int = 0
    lost: int = 0
    busy_s: float = 0.0
    per_hour: float = 0.0
    running: str = ""  # the app it crawls now


@dataclass
class LabView:
    lab: str
    now: float
    active: bool
    counts: dict[str, int]
    total: int
    first_start: float | None
    per_hour: float
    left_s: float | None  # time left at the current rate (None: no rate yet, or nothing left)
    apps: list[AppLine]
    attempts: list[Attempt]
    devices: list[DeviceLine]
    kinds: dict[str, int]  # kind -> apps it was found in
    severities: dict[str, int]  # severity -> findings
    failures: list[tuple[AppLine, list[Attempt]]] = field(default_factory=list)


class RunCache:
    """Run summaries by run directory, valid while the run's files keep their size and mtime (findings re-derived by
    `naysayer analyze` change them)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self.used: set[str] = set()
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("version") == CACHE_VERSION:
                    self.entries = dict(data.get("runs") or {})
            except (OSError, ValueError):
                self.entries = {}

    @staticmethod
    def stamp(run: Path) -> list:
        """The run's database as last written: its size and mtime, and the size of a WAL not yet folded in (a reader
        that opens and closes the run leaves the WAL empty and the database untouched)."""
        db = (run / DB_NAME).stat()
        wal = run / f"{DB_NAME}-wal"
        wal_size = wal.stat().st_size if wal.is_file() else 0
        return [db.st_size, db.st_mtime_ns, wal_size]

    def row(self, run: Path) -> IndexRow:
        key = str(run)
        self.used.add(key)
        stamp = self.stamp(run)
        hit = self.entries.get(key)
        if hit is not None and hit.get("stamp") == stamp:
            return IndexRow(**hit["row"])
        row = gather_index_row(run)
        self.entries[key] = {"stamp": stamp, "row": asdict(row)}
        return row

    def save(self) -> None:
        if self.path is None:
            return
        runs = {k: v for k, v in self.entries.items() if k in self.used}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "runs": runs}), encoding="utf-8")
        os.replace(tmp, self.path)


def _attempts(index: LabIndex, jobs: dict[int, JobRow]) -> list[Attempt]:
    return [Attempt(a["job_id"], export_text(jobs[a["job_id"]].package if a["job_id"] in jobs else "?", 200),
                    export_text(a["device"], 80), float(a["started"]),
                    float(a["finished"]) if a["finished"] is not None else None,
                    export_text(a["outcome"] or "", 20), export_text(a["detail"] or "", 300))
            for a in index.all_attempts()]


def _app_line(job: JobRow, row: IndexRow | None, severity_of: dict[str, str]) -> AppLine:
    kinds = sorted({export_text(k, 60) for k in job.kinds})
    if row is not None and not row.error and job.state != "queued":
        by_severity, findings = dict(row.by_severity), row.findings
        kinds = sorted(set(kinds) | set(row.kinds))
    else:  # no readable run: the kinds the index recorded, one finding each
        by_severity = dict(Counter(severity_of.get(k, "medium") for k in kinds))
        findings = len(kinds)
    line = AppLine(job_id=job.id, package=export_text(job.package, 200), state=job.state, attempts=job.attempts,
                   error=export_text(job.error, 300), device=export_text(job.device, 80), kinds=kinds,
                   by_severity=by_severity, findings=findings, end_reason=export_text(job.end, 40))
    if row is not None and not row.error:
        line.label, line.version, line.apk_sha256 = row.label, row.version, row.apk_sha256 or job.apk_sha256
        line.run_id, line.end_reason = row.run_id, row.end_reason or line.end_reason
    else:
        line.apk_sha256 = export_text(job.apk_sha256, 64)
    return line


def _rate_window(attempts: list[Attempt], now: float, active: bool) -> tuple[float | None, float]:
    if not attempts:
        return None, 0.0
    first = min(a.started for a in attempts)
    last = now if active or any(a.finished is None for a in attempts) else \
        max(a.finished or a.started for a in attempts)
    return first, max(0.0, last - first)


def gather_lab(lab_dir: Path, *, cache_path: Path | None = None, now: float | None = None,
               active: bool | None = None) -> LabView:
    """Everything the dashboard shows, read once: the lab's index and each app's latest run."""
    from crawler.lab.lock import lab_is_running

    lab_dir = Path(lab_dir)
    severity_of = {kind: spec.severity for kind, spec in load_taxonomy().kinds.items()}
    with LabIndex.open(lab_dir) as index:
        counts = index.counts()
        job_runs = lab_jobs(lab_dir)  # the same reader as the lab index page
        jobs = {job.id: job for job, _ in job_runs}
        attempts = _attempts(index, jobs)
    if active is None:
        active = lab_is_running(lab_dir)
    now = time.time() if now is None else now
    cache = RunCache(cache_path)
    apps = []
    for job, run in job_runs:
        row = cache.row(run) if run is not None else None
        line = _app_line(job, row, severity_of)
        line.run_dir = run
        apps.append(line)
    cache.save()
    apps.sort(key=lambda a: a.rank_key)

    first, span = _rate_window(attempts, now, active)
    finished = counts["done"] + counts["failed"]
    per_hour = finished * 3600.0 / span if span > 0 else 0.0
    left = counts["queued"] + counts["running"]
    left_s = left * 3600.0 / per_hour if per_hour > 0 and left else None

    devices: dict[str, DeviceLine] = {}
    for a in attempts:
        d = devices.setdefault(a.device, DeviceLine(a.device))
        end = a.finished if a.finished is not None else now
        d.busy_s += max(0.0, end - a.started)
        if a.finished is None:
            d.running = a.package
        elif a.outcome == "device_lost":
            d.lost += 1
        elif a.outcome == "failed":
            d.failed += 1
        elif a.outcome != "interrupted":
            d.done += 1
    hours = span / 3600.0
    for d in devices.values():
        d.per_hour = d.done / hours if hours > 0 else 0.0

    kinds: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    for app in apps:
        kinds.update(app.kinds)
        severities.update(app.by_severity)
    by_job: dict[int, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_job[a.job_id].append(a)
    failures = [(app, by_job.get(app.job_id, [])) for app in sorted(apps, key=lambda a: a.job_id)
                if app.state == "failed"]
    return LabView(lab=export_text(lab_dir.name or str(lab_dir), 200), now=now, active=active, counts=counts,
                   total=sum(counts.values()), first_start=first, per_hour=per_hour, left_s=left_s, apps=apps,
                   attempts=attempts, devices=sorted(devices.values(), key=lambda d: d.serial),
                   kinds=dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
                   severities={s: severities.get(s, 0) for s in SEVERITIES}, failures=failures)
