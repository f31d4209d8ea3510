"""Lab throughput: apps per hour on 1, 2, 4, 8 and 16 simulated devices, host CPU per device, and how long a
resumed lab takes to pick up.

    .venv/bin/python bench/lab.py [--devices 1,2,4,8,16] [--apps 16] [--budget 60]

1. Throughput: the same fixed list of zoo apps (the first --apps by file name), --budget device seconds each,
   no idle watch, no OCR, crawled by `crawler.lab` (one worker thread per device, the LabIndex queue) on N
   simulated devices served by one child process (`naysayer sim serve`), as the demo does. Apps per hour is wall
   time; host CPU is the CPU time of the lab process and of the simulator process over the lab's wall time.
2. Resume pickup: a lab of 2000 jobs, half done, four left running by a killed process with partial runs;
   (a) in process: LabIndex.open + recover + the first claim; (b) `naysayer lab run --resume` from process start
   until its first job is running on a simulated device.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.demo import SimFarm
from crawler.lab import JobResult, JobSpec, LabOptions, run_lab
from crawler.lab.index import LabIndex
from crawler.lab.job import result_from_run
from crawler.store import RunStore
from emulator.sim.adb_server import IsolatedAdbServer
from emulator.zoo import load_app

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def zoo_files(n: int) -> list[tuple[str, str]]:
    """(file, package) of the first n zoo apps by file name, one per package."""
    seen, files = set(), []
    for path in sorted((REPO / "emulator" / "zoo" / "apps").glob("*.yaml")):
        package = load_app(path).manifest.package
        if package not in seen:
            seen.add(package)
            files.append((str(path), package))
    return files[:n]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def throughput(devices: int, files: list[tuple[str, str]], budget: float) -> dict:
    farm = None
    with tempfile.TemporaryDirectory() as tmp, IsolatedAdbServer() as adb:
        farm = SimFarm(devices, adb.port, apps=[f for f, _ in files])
        serials = farm.__enter__()
        sim_pid = farm.process.pid
        cpu0, sim0, t0 = cpu_seconds(os.getpid()), cpu_seconds(sim_pid), time.monotonic()
        results = run_lab([p for _, p in files], serials, Path(tmp) / "lab", adb_port=adb.port,
                          options=LabOptions(budget=budget, idle=0, ocr=False))
        wall = time.monotonic() - t0
        cpu, sim = cpu_seconds(os.getpid()) - cpu0, cpu_seconds(sim_pid) - sim0
        farm.__exit__(None, None, None)
    ok = sum(r.ok for r in results)
    return {"devices": devices, "apps": len(results), "ok": ok, "wall": wall, "apps_per_hour": ok / wall * 3600,
            "lab_cpu_per_device": cpu / wall / devices, "sim_cpu_per_device": sim / wall / devices}


def resume_lab(root: Path, jobs: int) -> LabIndex:
    """A lab killed mid-run: half the jobs done, four running with partial runs (no run_end)."""
    index = LabIndex.create(root, LabOptions(budget=20, idle=0, ocr=False))
    index.add_jobs([JobSpec(f"com.example.bench{i}") for i in range(jobs)])
    for _ in range(jobs // 2):
        job = index.claim("emulator-5554")
        index.finish(job.id, JobResult(job.package, "emulator-5554", end="budget"))
    for _ in range(4):
        job = index.claim("emulator-5556", owner="dead-host:1")
        with RunStore.create(root, package=job.package) as store:
            store.append("run_start", 1.0, {"app": {"package": job.package}, "device": {"serial": "emulator-5556"}})
            index.begin_run(job.id, store.path)
    return index


def pickup_in_process(jobs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        resume_lab(Path(tmp), jobs).close()
        t0 = time.perf_counter()
        with LabIndex.open(Path(tmp)) as index:
            options = index.options
            index.recover(lambda run: result_from_run(run, options=options))
            assert index.claim("emulator-5558") is not None
        return time.perf_counter() - t0


def pickup_cli(jobs: int, files: list[tuple[str, str]]) -> float:
    """From `naysayer lab run --resume` starting to its first job running on a device."""
    with tempfile.TemporaryDirectory() as tmp, IsolatedAdbServer() as adb, \
            SimFarm(1, adb.port, apps=[files[0][0]]) as serials:
        root = Path(tmp) / "lab"
        resume_lab(root, jobs).close()
        listing = Path(tmp) / "apps.txt"
        listing.write_text(files[0][1] + "\n")  # one installed app, queued after the 1000 left
        t0 = time.monotonic()
        lab = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--adb-port", str(adb.port), "lab", "run",
                                str(listing), "--devices", serials[0], "--out", str(root), "--resume", "--quiet"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with sqlite3.connect(root / "lab.sqlite", timeout=30) as conn:
                while not conn.execute("SELECT COUNT(*) FROM attempts WHERE device = ?", (serials[0],)).fetchone()[0]:
                    if lab.poll() is not None or time.monotonic() - t0 > 120:
                        raise RuntimeError("the resumed lab did not pick up a job")
                    time.sleep(0.01)
            return time.monotonic() - t0
        finally:
            lab.kill()
            lab.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="1,2,4,8,16")
    parser.add_argument("--apps", type=int, default=16)
    parser.add_argument("--budget", type=float, default=60.0, help="device seconds per app (default 60)")
    args = parser.parse_args()
    files = zoo_files(args.apps)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(files)} zoo apps, budget {args.budget:.0f} s device time, no idle watch, no OCR\n")
    print("| devices | apps ok | wall s | apps/hour | lab process CPU per device | simulator CPU per device |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in (int(x) for x in args.devices.split(",")):
        row = throughput(n, files, args.budget)
        print(f"| {n} | {row['ok']}/{row['apps']} | {row['wall']:.1f} | {row['apps_per_hour']:.0f} | "
              f"{row['lab_cpu_per_device']:.0%} | {row['sim_cpu_per_device']:.0%} |", flush=True)
    print("\n| resume pickup | seconds |\n|---|---:|")
    print(f"| in process: open + recover 4 orphans + first claim (2000 jobs) | {pickup_in_process(2000):.3f} |")
    print(f"| `naysayer lab run --resume` start to first job running (2000 jobs) | {pickup_cli(2000, files):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
