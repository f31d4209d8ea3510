"""Rendering the view-model to one self-contained HTML page (Jinja2, autoescape on, undefined names are errors)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from crawler.graph import export_graph
from crawler.lab.index import JobRow
from crawler.store import DB_NAME, list_runs
from crawler.text_safety import export_text
from crawler.version import TOOL
from reports.html.gather import MAX_SHOTS, ReportError, gather_index_row, gather_run
from reports.html.lab_rows import is_lab, lab_jobs
from reports.html.strings import Strings, default_language
from reports.html.view import IndexRow, RunView
from reports.run_paths import inside_run

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _tool() -> str:
    return f"{TOOL['name']} {TOOL['version']}"


GRAPH_FORMATS = (("json", ".graph.json"), ("graphml", ".graphml"))  # node-link JSON and GraphML (crawler/graph.py)


def _render_run(run: RunView, strings: Strings) -> str:
    return _ENV.get_template("run.html.j2").render(run=run, t=strings, tool=_tool(), max_shots=MAX_SHOTS)


def render_run_report(run_dir: Path, lang: str = "zh-CN", apk: Path | None = None,
                      graph_files: dict[str, str] | None = None) -> str:
    """One run's report as an HTML page. `apk`: the run's APK (its sha256 must be the one the run recorded), to show
    who signed it. `graph_files`: format ("json", "graphml") -> address of the graph's export, linked from the page.
    Raises ReportError (one line) for a missing run, a directory that is not a run, a wrong APK."""
    strings = Strings.of(lang or default_language())
    run = gather_run(Path(run_dir), strings, apk=Path(apk) if apk else None)
    run.graph_files = list((graph_files or {}).items())
    return _render_run(run, strings)


def graph_file_names(out: Path) -> dict[str, Path]:
    """Where write_run_report puts the graph exports of the report `out`: `<stem>.graph.json`, `<stem>.graphml`."""
    out = Path(out)
    return {fmt: out.with_name(out.stem + suffix) for fmt, suffix in GRAPH_FORMATS}


def write_run_report(run_dir: Path, out: Path, lang: str = "zh-CN", apk: Path | None = None,
                     graph_files: bool = True) -> Path:
    """Render and write atomically (a reader never sees half a page); returns `out`. Never inside the run. With
    `graph_files`, the run's graph is written beside the page as node-link JSON and GraphML, and linked from it."""
    if inside_run(out, run_dir):
        raise ReportError(f"{out}: is inside the run {run_dir}; a run is evidence and is never written to "
                          "(write the report elsewhere)")
    strings = Strings.of(lang or default_language())
    run = gather_run(Path(run_dir), strings, apk=Path(apk) if apk else None)
    if graph_files and run.graph is not None:
        for fmt, path in graph_file_names(out).items():
            _write(path, export_graph(run.graph, fmt))
            run.graph_files.append((fmt, quote(path.name)))
    return _write(Path(out), _render_run(run, strings))


def expand_runs(paths: list[Path]) -> list[Path]:
    """Run directories from the paths given: a run itself, or a folder of runs (its direct children)."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if (path / DB_NAME).is_file():
            runs.append(path)
        elif path.is_dir():
            found = list_runs(path)
            if not found:
                raise ReportError(f"{path}: no naysayer runs in this folder")
            runs.extend(found)
        else:
            raise ReportError(f"{path}: no such run directory or folder of runs")
    return runs


def render_index(paths: list[Path], lang: str = "zh-CN", links: dict[Path, str] | None = None) -> str:
    """The lab-wide index: a line per run, or per app for a lab folder (its jobs, failed ones included). `links`
    maps a run directory to the (relative) address of its report."""
    strings = Strings.of(lang or default_language())
    links = links or {}
    rows: list[IndexRow] = []
    for path in map(Path, paths):
        if is_lab(path):
            rows += [_job_row(job, run, links) for job, run in lab_jobs(path)]
        else:
            rows += [gather_index_row(run, links.get(run, "")) for run in expand_runs([path])]
    return _ENV.get_template("index.html.j2").render(rows=rows, t=strings, tool=_tool(),
                                                     jobs=any(r.job_state for r in rows),
                                                     total_findings=sum(r.findings for r in rows))


def _job_row(job: JobRow, run: Path | None, links: dict[Path, str]) -> IndexRow:
    row = gather_index_row(run, links.get(run, "")) if run else IndexRow(run_id="", package=export_text(job.package, 200))
    row.job_state, row.attempts = job.state, job.attempts
    row.job_error = export_text(job.error, 300) if job.state == "failed" else ""
    return row


def write_index(paths: list[Path], out: Path, lang: str = "zh-CN", with_reports: bool = False) -> Path:
    """Write the index of the runs found in `paths`; with `with_reports`, each run's report beside it as
    `<out stem>-runs/<run id>.html`, linked from its line (a run that cannot be read is listed, not fatal)."""
    out = Path(out)
    runs = [run for path in map(Path, paths)
            for run in ([r for _, r in lab_jobs(path) if r] if is_lab(path) else expand_runs([path]))]
    inside = next((run for run in runs if inside_run(out, run)), None)
    if inside is not None:
        raise ReportError(f"{out}: is inside the run {inside}; a run is evidence and is never written to "
                          "(write the index elsewhere)")
    links: dict[Path, str] = {}
    if with_reports:
        folder = out.parent / f"{out.stem}-runs"
        folder.mkdir(parents=True, exist_ok=True)
        for run in runs:
            name = f"{run.name}.html"
            try:
                write_run_report(run, folder / name, lang)
            except ReportError:
                continue  # the index line says why
            links[run] = quote(f"{folder.name}/{name}")
    return _write(out, render_index(paths, lang, links))


def _write(out: Path, text: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
