"""`naysayer lab export LAB --format csv|jsonl`: one row per finding of the lab, for spreadsheets and case-management
systems. Each app's latest run (the one the lab's index names) is read; apps without a run have no rows.

Columns: package, app (label), version, apk_sha256, kind, severity, time (UTC, device clock), offset_s, run, finding,
basis (document and item of each legal basis), job_state, summary (en). Everything that came from the app or the device
is hostile: in CSV, a cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from crawler.lab.errors import LabError
from crawler.lab.index import INDEX_NAME, LabIndex
from crawler.store import DB_NAME, NewerSchema, NotARun, RunStore
from crawler.text_safety import export_text

FORMATS = ("csv", "jsonl")
COLUMNS = ("package", "app", "version", "apk_sha256", "kind", "severity", "time", "offset_s", "run", "finding",
           "basis", "job_state", "summary")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class LabExportError(LabError):
    """The export cannot be written (unknown format, output inside a run): one line."""


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_dir(lab: Path, recorded: str) -> Path | None:
    for candidate in (Path(recorded), lab / Path(recorded).name) if recorded else ():
        if (candidate / DB_NAME).is_file():
            return candidate
    return None


def finding_rows(lab: Path) -> Iterator[dict[str, Any]]:
    """Each finding of each app's latest run, as a plain dict (basis as a list of {document, item, status})."""
    lab = Path(lab)
    with LabIndex.open(lab) as index:
        jobs = index.jobs()
    for job in jobs:
        run = _run_dir(lab, job.run)
        if run is None:
            continue
        try:
            with RunStore.open(run) as store:
                start = next(store.steps(["run_start"]), None)
                findings = [f for f in store.findings() if isinstance(f, dict)]
        except (NotARun, NewerSchema):
            continue
        data = start.data if start is not None else {}
        t0 = start.t if start is not None else 0.0
        app = data.get("app") if isinstance(data.get("app"), dict) else {}
        for f in findings:
            offset = f.get("offset_s") if isinstance(f.get("offset_s"), (int, float)) else 0.0
            yield {
                "package": export_text(app.get("package") or job.package, 200),
                "app": export_text(app.get("label"), 120),
                "version": export_text(app.get("version_name"), 60),
                "apk_sha256": export_text(app.get("apk_sha256") or job.apk_sha256, 64),
                "kind": export_text(f.get("kind"), 60),
                "severity": export_text(f.get("severity"), 10),
                "time": _utc(t0 + offset) if start is not None else "",
                "offset_s": round(float(offset), 3),
                "run": export_text(run.name, 160),
                "finding": export_text(f.get("id"), 120),
                "basis": [{"document": export_text(b.get("document"), 200), "item": export_text(b.get("item"), 200),
                           "status": export_text(b.get("status"), 10)}
                          for b in f.get("basis") or [] if isinstance(b, dict)],
                "job_state": job.state,
                "summary": export_text(f.get("summary"), 400),
            }


def write_rows(rows: Iterator[dict[str, Any]], fmt: str, out: TextIO) -> int:
    """Write rows as CSV (with a header) or JSON Lines; returns how many."""
    n = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
        return n
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        basis = "; ".join(" ".join(x for x in (b["document"], b["item"]) if x) for b in row["basis"])
        writer.writerow([_cell(basis if name == "basis" else row[name]) for name in COLUMNS])
        n += 1
    return n


def export_lab(lab: Path, fmt: str, out: Path | None = None, stdout: TextIO | None = None) -> int:
    """Export the lab's findings to `out` (written atomically) or to `stdout`; returns the number of findings."""
    if fmt not in FORMATS:
        raise LabExportError(f"{str(fmt)[:40]!r}: unknown export format ({', '.join(FORMATS)})")
    lab = Path(lab)
    if not (lab / INDEX_NAME).is_file():
        LabIndex.open(lab)  # raises NotALab, one line
    if out is None:
        return write_rows(finding_rows(lab), fmt, stdout or io.StringIO())
    out = Path(out)
    if out.is_dir():
        raise LabExportError(f"{out}: is a folder (give a file name)")
    if any((folder / DB_NAME).is_file() for folder in out.resolve().parents):
        raise LabExportError(f"{out}: is inside a run; a run is evidence and is never written to")
    if not out.resolve().parent.is_dir():
        raise LabExportError(f"{out}: its folder does not exist")
    fd, tmp = tempfile.mkstemp(dir=out.resolve().parent, prefix=".tmp-", suffix=f".{fmt}")
    try:
        # utf-8-sig for CSV: spreadsheet programs then read the Chinese text as UTF-8
        with os.fdopen(fd, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as handle:
            n = write_rows(finding_rows(lab), fmt, handle)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n
