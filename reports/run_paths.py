"""Where a command may write: never inside the run it reads. A run directory is evidence and stays as recorded;
`-o RUN/trace.sqlite` used to replace the run's own trace with the output."""

from __future__ import annotations

from pathlib import Path

from crawler.store import DB_NAME


def run_directory(run: Path) -> Path:
    """The run's directory, whether the user named it or its trace.sqlite."""
    run = Path(run).resolve()
    return run.parent if run.name == DB_NAME and run.is_file() else run


def inside_run(output: Path, run: Path) -> bool:
    return Path(output).resolve().is_relative_to(run_directory(run))
