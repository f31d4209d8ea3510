"""Evidence cost: the HTML report and the evidence bundle of a long crawl (size, time), and verify time per MB.

    .venv/bin/python bench/evidence.py [--app com.example.haowu.shop] [--budget 1800] [--run RUN]

Crawls one zoo app on a simulated device (child process, its own adb server) for `--budget` seconds of device time
(the simulator's clock is virtual: a 30-minute crawl takes far less wall time), deny strategy, no OCR, no idle
watch; or reuses a recorded run with --run. Then times `render_run_report`, `export_bundle` (whole trace, signed,
and the slice of one finding) and `verify_bundle` on each bundle. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.crawl import crawl_app
from crawler.store import RunStore
from emulator.sim.adb_server import IsolatedAdbServer
from reports.bundle import export_bundle
from reports.bundle_verify import verify_bundle
from reports.signing import generate_keypair

REPO = Path(__file__).resolve().parents[1]
APP_FILES = {"com.example.haowu.shop": "shop_popup.yaml"}
MB = 1 << 20


def crawl(package: str, budget: float, out: Path) -> tuple[Path, float]:
    app_file = REPO / "emulator" / "zoo" / "apps" / APP_FILES.get(package, "shop_popup.yaml")
    with IsolatedAdbServer() as adb:
        serve = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--adb-port", str(adb.port), "sim", "serve",
                                  "--apps", str(app_file)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            serial = serve.stdout.readline().strip()
            start = time.perf_counter()
            run, reason, detail = crawl_app(serial=serial, package=package, budget=budget, steps=1_000_000, idle=0,
                                            out=out, adb_port=adb.port, progress=False, ocr=False)
            elapsed = time.perf_counter() - start
        finally:
            serve.terminate()
            serve.wait(timeout=20)
    print(f"crawl: {package}, budget {budget:g} s device time, ended {reason} {detail}, {elapsed:.1f} s wall")
    return run, elapsed


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", default="com.example.haowu.shop")
    parser.add_argument("--budget", type=float, default=1800.0, help="device seconds of crawling (default 1800)")
    parser.add_argument("--run", help="use this recorded run instead of crawling")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        run = Path(args.run) if args.run else crawl(args.app, args.budget, tmp_path / "runs")[0]
        with RunStore.open(run) as store:
            steps, findings = store.last_seq, store.findings()
            trace = store.trace()
        device_s = trace.steps[-1].t - trace.steps[0].t if trace.steps else 0.0
        blobs = [p for p in (run / "blobs").rglob("*") if p.is_file()]
        run_mb = (sum(p.stat().st_size for p in blobs) + (run / "trace.sqlite").stat().st_size) / MB
        print(f"run: {steps} steps over {device_s:.0f} s device time, {len(findings)} findings, {len(blobs)} blobs, "
              f"{run_mb:.1f} MB on disk\n")
        key = generate_keypair(tmp_path / "bench.key")
        rows = []
        try:
            from reports.html import render_run_report

            html, seconds = timed(render_run_report, run, "zh-CN")
            rows.append(("HTML report (zh-CN)", len(html.encode()) / MB, seconds, "", ""))
        except ImportError:
            rows.append(("HTML report", 0.0, 0.0, "not available", ""))
        cases = [("bundle, whole trace, signed", None)]
        if findings:
            cases.append((f"bundle, one finding ({findings[0]['id']}), signed", findings[0]["id"]))
        for label, finding in cases:
            target = tmp_path / f"{'whole' if finding is None else 'one'}.zip"
            result, seconds = timed(export_bundle, run, target, finding_id=finding, sign_key=key.private_path)
            size_mb = result.size / MB
            report, verify_s = timed(verify_bundle, target, key.public_path)
            assert report.ok, report.problems
            read_mb = report.size / MB
            rows.append((f"{label}: {result.members} members, {result.steps} steps", size_mb, seconds,
                         f"{verify_s:.2f} s ({read_mb:.1f} MB read)", f"{verify_s * 1000 / max(read_mb, 1e-9):.0f}"))
    print("| artefact | size MB | make s | verify | verify ms per MB |")
    print("|---|---:|---:|---|---:|")
    for label, size_mb, seconds, verify, per_mb in rows:
        print(f"| {label} | {size_mb:.2f} | {seconds:.2f} | {verify} | {per_mb} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
