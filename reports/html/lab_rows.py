"""A lab folder in the index: one line per app, read from the lab's own index (DIR/lab.sqlite), so the page says
what `naysayer lab status` says whether `lab run` or Celery workers ran the jobs; apps that failed or are still
queued are listed too, not only the runs that exist."""

from __future__ import annotations

from pathlib import Path

from crawler.lab.index import INDEX_NAME, JobRow, LabIndex
from crawler.store import DB_NAME


def is_lab(path: Path) -> bool:
    return (Path(path) / INDEX_NAME).is_file()


def lab_jobs(lab_dir: Path) -> list[tuple[JobRow, Path | None]]:
    """Each job of the lab with the run directory of its latest attempt (None when it has none on disk)."""
    with LabIndex.open(Path(lab_dir)) as index:
        jobs = index.jobs()
    return [(job, _run_dir(Path(lab_dir), job.run)) for job in jobs]


def _run_dir(lab_dir: Path, recorded: str) -> Path | None:
    if not recorded:
        return None
    for candidate in (Path(recorded), lab_dir / Path(recorded).name):  # recorded as given: maybe relative
        if (candidate / DB_NAME).is_file():
            return candidate
    return None
