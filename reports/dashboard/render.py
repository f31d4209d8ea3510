"""The lab dashboard as files: DIR/index.html (one self-contained page) and, beside it, DIR/runs/<run-id>.html (each
app's latest run report, with its graph as node-link JSON and GraphML). Every file is written to a temporary name
and renamed, so a static file server never serves half a page.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from crawler.detectors.taxonomy import load_taxonomy
from crawler.store import DB_NAME
from reports.dashboard import charts
from reports.dashboard.data import CACHE_NAME, SEVERITIES, LabView, RunCache, gather_lab
from reports.html.gather import ReportError
from reports.html.render import _ENV, _tool, _write, write_run_report
from reports.html.strings import Strings, default_language

INDEX_NAME = "index.html"
RUNS_FOLDER = "runs"
REPORTS_CACHE = ".reports-cache.json"
log = logging.getLogger(__name__)

FILTER_SCRIPT = """(function () {
  var form = document.getElementById("filters");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("#app-table tbody tr"));
  var shown = document.getElementById("shown");
  function has(list, word) { return (" " + list + " ").indexOf(" " + word + " ") >= 0; }
  function apply() {
    var kind = form.elements.kind.value, sev = form.elements.severity.value, state = form.elements.state.value;
    var app = form.elements.app.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (row) {
      var ok = (!kind || has(row.dataset.kinds, kind)) && (!sev || has(row.dataset.sev, sev)) &&
               (!state || row.dataset.state === state) && (!app || row.dataset.app.indexOf(app) >= 0);
      row.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
    var values = [kind, sev, state, app].map(encodeURIComponent).join("&");
    history.replaceState(null, "", values === "&&&" ? location.pathname : "#" + values);
  }
  var saved = location.hash.slice(1).split("&").map(decodeURIComponent);
  ["kind", "severity", "state", "app"].forEach(function (name, i) {
    if (saved[i]) { form.elements[name].value = saved[i]; }
  });
  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  apply();
})();"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(FILTER_SCRIPT.encode()).digest()).decode()


def _time_left(strings: Strings, lab: LabView) -> str:
    if not lab.counts["queued"] and not lab.counts["running"]:
        return strings.get("dash", "nothing_left")
    return _duration(strings, lab.left_s)


def _duration(strings: Strings, seconds: float | None) -> str:
    if seconds is None:
        return strings.get("dash", "no_rate")
    minutes = round(seconds / 60.0)
    return strings.get("dash", "hours_minutes").format(h=minutes // 60, m=minutes % 60)


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def _charts(lab: LabView, strings: Strings, titles: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    kinds = list(lab.kinds.items())
    out["kinds"] = charts.bars("kind", [titles.get(k, k) for k, _ in kinds], [n for _, n in kinds]) if kinds else ""
    out["severity"] = charts.bars("severity", [strings.get("severity", s) for s in SEVERITIES],
                                  [lab.severities[s] for s in SEVERITIES],
                                  colors=[charts.COLORS[s] for s in SEVERITIES])
    lanes = [d.serial for d in lab.devices]
    lane_of = {serial: i for i, serial in enumerate(lanes)}
    start = lab.first_start
    boxes = []
    for a in lab.attempts:
        end = a.finished if a.finished is not None else lab.now
        outcome = "running" if a.finished is None else (
            a.outcome if a.outcome in ("failed", "device_lost", "interrupted") else "done")
        boxes.append(charts.Box(lane_of[a.device], (a.started - (start or a.started)) / 3600.0,
                                max(0.0, end - a.started) / 3600.0, outcome,
                                f"{a.package} · {strings.get('outcome', a.outcome or 'running')} · "
                                f"{_utc(a.started)}"))
    span_h = max([b.start_h + b.length_h for b in boxes] + [0.0])
    out["timeline"] = charts.timeline("attempt", lanes, boxes, start=start, tick=charts.clock(start, span_h),
                                      xlabel=strings.get("dash", "timeline_axis"))
    out["throughput"] = charts.bars("device", lanes, [round(d.per_hour, 1) for d in lab.devices],
                                    xlabel=strings.get("dash", "per_hour"))
    return out


def render_dashboard(lab: LabView, lang: str = "zh-CN", now: float | None = None) -> str:
    strings = Strings.of(lang or default_language())
    titles = {kind: spec.title.get(strings.lang) or kind for kind, spec in load_taxonomy().kinds.items()}
    present = sorted({k for a in lab.apps for k in a.kinds}, key=lambda k: titles.get(k, k))
    return _ENV.get_template("dashboard.html.j2").render(
        lab=lab, t=strings, tool=_tool(), charts=_charts(lab, strings, titles), titles=titles,
        kind_titles=[(k, titles.get(k, k)) for k in present], time_left=_time_left(strings, lab),
        generated=_utc(lab.now if now is None else now), script=FILTER_SCRIPT, script_hash=SCRIPT_HASH,
        legend=[(k, charts.COLORS[k]) for k in ("done", "failed", "device_lost", "interrupted", "running")])


def write_dashboard(lab_dir: Path, out_dir: Path, lang: str = "zh-CN", *, reports: bool = True,
                    now: float | None = None, active: bool | None = None) -> Path:
    """Write DIR/index.html and (with `reports`) each app's latest run report into DIR/runs/, refreshing only the
    reports whose run changed since the last time. Returns the dashboard's path."""
    lab_dir, out_dir = Path(lab_dir), Path(out_dir)
    strings = Strings.of(lang or default_language())
    if any((folder / DB_NAME).is_file() for folder in (out_dir.resolve(), *out_dir.resolve().parents)):
        raise ReportError(f"{out_dir}: is inside a run; a run is evidence and is never written to "
                          "(write the dashboard elsewhere)")
    out_dir.mkdir(parents=True, exist_ok=True)
    lab = gather_lab(lab_dir, cache_path=out_dir / CACHE_NAME, now=now, active=active)
    if reports:
        _write_reports(lab, out_dir, strings.lang)
    return _write(out_dir / INDEX_NAME, render_dashboard(lab, strings.lang))


def _write_reports(lab: LabView, out_dir: Path, lang: str) -> None:
    folder = out_dir / RUNS_FOLDER
    done = RunCache(out_dir / REPORTS_CACHE)  # stamp of each run when its report was last written
    for app in lab.apps:
        run = app.run_dir
        if run is None or app.state not in ("done", "failed"):
            continue  # a running crawl's run is still being written: its report comes when the job ends
        name = f"{run.name}.html"
        target = folder / name
        key = f"{lang}:{run}"
        stamp = RunCache.stamp(run)
        done.used.add(key)
        if not (target.is_file() and done.entries.get(key, {}).get("stamp") == stamp):
            try:
                write_run_report(run, target, lang)
            except ReportError:
                continue  # an unreadable run: its line says so, without a link
            done.entries[key] = {"stamp": stamp}
        app.href = quote(f"{RUNS_FOLDER}/{name}")
    done.save()


class DashboardRefresher:
    """Keeps a lab's dashboard current while `lab run` works: refresh() (after each job) wakes a writer thread that
    rewrites the page, so no device waits for it; requests that come while a page is being written fold into one
    more pass. close() writes the final page. A page that cannot be written is logged and never stops the lab."""

    def __init__(self, lab_dir: Path, out_dir: Path, lang: str = "zh-CN"):
        self.lab_dir, self.out_dir, self.lang = Path(lab_dir), Path(out_dir), lang
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error = ""

    def start(self) -> DashboardRefresher:
        """Start the writer; the first page is written at once, in the writer (a resumed lab may have many reports
        to write first: the devices do not wait for them)."""
        self._thread = threading.Thread(target=self._loop, name="lab-dashboard", daemon=True)
        self._thread.start()
        self.refresh()
        return self

    def refresh(self) -> None:
        self._wake.set()

    def close(self, active: bool = False) -> None:
        """Stop the writer and write the last page (`active`: the lab goes on elsewhere, e.g. Celery workers)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._write(active=active)

    def watching(self, observer):
        """`observer` (a crawler.lab.pool.LabObserver) that also refreshes this dashboard after each job."""
        return _Refreshing(observer, self)

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            self._write(active=True)

    def _write(self, active: bool | None) -> None:
        try:
            write_dashboard(self.lab_dir, self.out_dir, self.lang, active=active)
            self.error = ""
        except Exception as exc:  # noqa: BLE001 - a page that could not be written must not stop the crawls
            self.error = f"{type(exc).__name__}: {str(exc)[:200]}"
            log.warning("dashboard not refreshed: %s", self.error)


class _Refreshing:
    def __init__(self, inner, refresher: DashboardRefresher):
        self.inner, self.refresher = inner, refresher

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc)

    def device(self, serial: str, state: str, package: str = "") -> None:
        self.inner.device(serial, state, package)
        if state == "crawling":
            self.refresher.refresh()  # a job started: the page shows it running

    def progress(self, serial: str, package: str, info: dict) -> None:
        self.inner.progress(serial, package, info)

    def finished(self, job, result, state: str) -> None:
        self.inner.finished(job, result, state)
        self.refresher.refresh()
