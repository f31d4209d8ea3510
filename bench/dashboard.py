"""Lab dashboard build time and size for a night of 2,000 apps (a synthetic lab: a real lab.sqlite and real run stores).

    .venv/bin/python bench/dashboard.py [--apps 2000] [--devices 20] [--json]

The lab: --apps jobs on --devices devices over ten hours (every attempt with its device and times, 3 % failed after
two attempts, 1 % lost a device once, 10 left queued, one running per device), each done app with a small real run
(run_start, a few observations and actions, run_end) and 0-4 findings of the taxonomy's kinds. Timed:

1. cold: `write_dashboard(..., reports=False)` with no cache: reads the index and every run, draws the charts, writes
   index.html (what `naysayer lab dashboard LAB -o DIR --no-reports` does the first time);
2. refresh: the same with its run cache after one more job finished (what `lab run` does after each job, without
   the run reports);
3. refresh + reports: the refresh `lab run` does, with every run report already written and the new one rendered.
The goal (issue 17): under 10 s and under 20 MB of HTML for the page (run reports are separate files).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.detectors.taxonomy import load_taxonomy
from crawler.lab.index import LabIndex
from crawler.lab.job import JobSpec
from crawler.lab.options import LabOptions
from crawler.store import RunStore
from reports.dashboard import write_dashboard
from reports.dashboard.data import CACHE_NAME

T0 = 1_796_000_000.0  # 20:00 on a night in 2026 (UTC)
NIGHT = 10 * 3600.0


def make_run(lab: Path, run_id: str, package: str, t: float, kinds: list[str], rng: random.Random) -> Path:
    store = RunStore.create(lab, run_id)
    taxonomy = load_taxonomy().kinds
    with store:
        store.append("run_start", t, {"app": {"package": package, "label": f"应用 {package[-4:]}", "version_name": "1.0",
                                              "apk_sha256": f"{rng.getrandbits(256):064x}"},
                                      "device": {"serial": "sim", "model": "sim", "android": "13"},
                                      "tool": {"name": "naysayer", "version": "0.1.0"}, "strategy": "deny"})
        for i in range(6):
            store.append("observation", t + 1 + 2 * i, {"package": package, "activity": ".Main", "state": f"s{i % 3}",
                                                         "scene": {"kind": "app", "text": ["首页"]}})
            store.append("action", t + 2 + 2 * i, {"type": "tap", "reason": "explore", "target": {"text": "按钮"}})
        store.append("run_end", t + 300, {"reason": "budget", "detail": "", "steps": 12, "seconds": 300})
        store.write_findings([{"id": f"{kind}-{n}", "kind": kind, "severity": taxonomy[kind].severity,
                               "offset_s": 5.0 + n, "steps": [1, 2], "key_step": 1, "summary": kind,
                               "summary_zh": kind, "basis": [b.to_json() for b in taxonomy[kind].basis]}
                              for n, kind in enumerate(kinds)])
    return store.path


def make_lab(root: Path, apps: int, devices: int, seed: int = 1) -> Path:
    rng = random.Random(seed)
    kinds = sorted(load_taxonomy().kinds)
    serials = [f"emulator-{5554 + 2 * i}" for i in range(devices)]
    with LabIndex.create(root, LabOptions()) as index:
        index.add_jobs([JobSpec(f"com.bench.app{i:05d}") for i in range(apps)])
    conn = sqlite3.connect(root / "lab.sqlite")
    free = dict.fromkeys(serials, T0)
    queued_from = apps - 10
    for job_id in range(1, apps + 1):
        package = f"com.bench.app{job_id - 1:05d}"
        if job_id > queued_from:
            continue  # left in the queue
        serial = min(free, key=free.get)
        start = free[serial]
        running = start > T0 + NIGHT - 400 and not any(
            r for r in conn.execute("SELECT 1 FROM jobs WHERE state = 'running' AND device = ?", (serial,)))
        roll = rng.random()
        attempts = []
        if running:
            attempts.append((serial, start, None, None))
            state, end = "running", None
        elif roll < 0.03:
            other = rng.choice(serials)
            attempts += [(serial, start, start + 40, "failed"), (other, free[other], free[other] + 40, "failed")]
            free[other] += 40
            state, end = "failed", start + 40
        elif roll < 0.04:
            attempts.append((serial, start, start + 120, "device_lost"))
            start += 150
            attempts.append((serial, start, start + 300, "budget"))
            state, end = "done", start + 300
        else:
            length = rng.uniform(200, 320)
            attempts.append((serial, start, start + length, "budget"))
            state, end = "done", start + length
        free[serial] = (end or start + 300) + rng.uniform(5, 20)
        run = ""
        found: list[str] = []
        if state == "done":
            found = rng.sample(kinds, rng.choice([0, 0, 1, 1, 2, 3, 4]))
            run = str(make_run(root, f"run-{job_id:05d}", package, start, found, rng))
        conn.execute("UPDATE jobs SET state = ?, device = ?, run = ?, attempts = ?, error = ?, end_reason = ?, "
                     "kinds = ?, started = ?, finished = ? WHERE id = ?",
                     (state, serial if state == "running" else attempts[-1][0], run, len(attempts),
                      "crawl ended with error: the app crashed the tool" if state == "failed" else "",
                      "budget" if state == "done" else "", json.dumps(found), start, end, job_id))
        for n, (device, started, finished, outcome) in enumerate(attempts, 1):
            conn.execute("INSERT INTO attempts (job_id, n, device, owner, run, started, finished, outcome, detail) "
                         "VALUES (?, ?, ?, 'bench', ?, ?, ?, ?, '')", (job_id, n, device, run, started, finished,
                                                                      outcome))
    conn.commit()
    conn.close()
    return root


def timed(fn, *args, **kwargs) -> tuple[object, tuple[float, float]]:
    """(value, (wall seconds, CPU seconds of this process)): on a shared machine the CPU time is the stable one."""
    t, cpu = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    return value, (round(time.perf_counter() - t, 2), round(time.process_time() - cpu, 2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lab, site = Path(tmp) / "lab", Path(tmp) / "site"
        _, setup = timed(make_lab, lab, args.apps, args.devices)
        now = T0 + NIGHT
        page, cold = timed(write_dashboard, lab, site, "zh-CN", reports=False, now=now, active=True)
        size = page.stat().st_size
        # one more job done: its run is new, every other run is in the cache
        with sqlite3.connect(lab / "lab.sqlite") as conn:
            job_id = conn.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").fetchone()[0]
            run = make_run(lab, "run-new", f"com.bench.app{job_id - 1:05d}", now, ["quit_on_refusal"],
                           random.Random(2))
            conn.execute("UPDATE jobs SET state = 'done', run = ?, finished = ? WHERE id = ?", (str(run), now, job_id))
        _, refresh = timed(write_dashboard, lab, site, "zh-CN", reports=False, now=now, active=True)
        # the reports of every run, once (not timed), then the refresh lab run does
        (site / CACHE_NAME).unlink()
        _, all_reports = timed(write_dashboard, lab, site, "zh-CN", reports=True, now=now, active=True)
        with sqlite3.connect(lab / "lab.sqlite") as conn:
            job_id = conn.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").fetchone()[0]
            run = make_run(lab, "run-new2", f"com.bench.app{job_id - 1:05d}", now, [], random.Random(3))
            conn.execute("UPDATE jobs SET state = 'done', run = ?, finished = ? WHERE id = ?", (str(run), now, job_id))
        _, refresh_reports = timed(write_dashboard, lab, site, "zh-CN", reports=True, now=now, active=True)
        reports = sorted((site / "runs").glob("*.html"))
        report_bytes = sum(p.stat().st_size for p in reports)
    result = {"apps": args.apps, "devices": args.devices, "setup_s": setup[0], "cold_s": cold,
              "refresh_s": refresh, "all_reports_s": all_reports, "refresh_with_reports_s": refresh_reports,
              "html_mb": round(size / 1e6, 2), "load": round(os.getloadavg()[0], 1),
              "reports": len(reports), "report_kb_mean": round(report_bytes / max(1, len(reports)) / 1e3, 1),
              "machine": f"{platform.machine()}, Python {platform.python_version()}"}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Lab dashboard, {args.apps} apps on {args.devices} devices ({result['machine']}; lab made in "
          f"{result['setup_s']} s; load average {result['load']})\n")
    print("| build | wall s | CPU s |\n|---|---|---|")
    rows = (("cold: index + every run read, charts, page (no reports)", cold),
            ("refresh after one job (run cache)", refresh),
            (f"every run report written once ({len(reports)} reports, {result['report_kb_mean']} kB each)",
             all_reports),
            ("refresh after one job, with its report", refresh_reports))
    for what, (wall, cpu) in rows:
        print(f"| {what} | {wall} | {cpu} |")
    print(f"\nindex.html: {result['html_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
