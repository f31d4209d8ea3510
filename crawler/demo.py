"""`naysayer demo`: the main job on the embedded default. Simulated devices with the whole zoo, every zoo app crawled
in parallel with the deny strategy, findings scored against the zoo's ground truth.

The devices run in a child process (`naysayer sim serve`, so the simulator and the crawler each get a core) behind
an adb server of our own (its own port, HOME and TMPDIR), so the user's adb server and devices are left alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.table import Table

from crawler.console import stderr_console, stdout_console
from crawler.errors import UsageError
from crawler.lab import JobResult, LabError, LabOptions, found_kinds, run_lab
from crawler.scoring import AppScore, score

SKINS = ("aosp-13", "miui", "aosp-11", "samsung")  # the demo's devices wear different ROM skins
STARTUP_TIMEOUT = 120.0


class SimFarm:
    """Simulated devices in a child process, registered with the adb server on `adb_port`."""

    def __init__(self, devices: int, adb_port: int, skins: tuple[str, ...] = SKINS, locale: str = "zh-CN",
                 apps: list[str] | None = None):
        self.devices, self.adb_port, self.skins, self.locale = devices, adb_port, skins, locale
        self.apps = apps  # zoo app files (default: the whole zoo)
        self.process: subprocess.Popen | None = None
        self.serials: list[str] = []

    def __enter__(self) -> list[str]:
        cmd = [sys.executable, "-m", "crawler.cli", "--adb-port", str(self.adb_port), "sim", "serve",
               "--devices", str(self.devices), "--skin", ",".join(self.skins), "--locale", self.locale]
        if self.apps:
            cmd += ["--apps", *self.apps]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while len(self.serials) < self.devices:
            line = self.process.stdout.readline()
            if not line:
                err = self.process.stderr.read()[-2000:] if self.process.poll() is not None else ""
                raise LabError(f"simulated devices failed to start: {err.strip().splitlines()[-1] if err.strip() else 'no output'}")
            if line.strip():
                self.serials.append(line.strip())
            if time.monotonic() > deadline:
                raise LabError("simulated devices did not start in time")
        return self.serials

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _app_table(scores: list[AppScore]) -> Table:
    table = Table("app", "expected", "found", "ok", title="zoo apps")
    for s in scores:
        table.add_row(s.package, ", ".join(sorted(s.expected)) or "-", ", ".join(sorted(s.found)) or "-",
                      "[green]yes[/]" if s.ok else "[red]no[/]")
    return table


def _kind_table(result: dict) -> Table:
    table = Table("kind", "tp", "fp", "fn", "precision", "recall", title="per finding kind")
    for kind, row in result["per_kind"].items():
        table.add_row(kind, str(row["tp"]), str(row["fp"]), str(row["fn"]), f"{row['precision']:.2f}",
                      f"{row['recall']:.2f}")
    table.add_row("[bold]overall[/]", "", "", "", f"[bold]{result['precision']:.2f}[/]", f"[bold]{result['recall']:.2f}[/]")
    return table


def pick_apps(apps: list, names: list[str] | None) -> list:
    """The zoo apps named by file stem (`weather_quit`) or package; all of them when no name is given."""
    if not names:
        return apps
    by_name = {}
    for app in apps:
        by_name[app.manifest.package] = app
        by_name[Path(app.path).stem] = app
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(sorted(Path(a.path).stem for a in apps))
        raise UsageError(f"demo --app: no zoo app named {unknown[0]!r} (known: {known})")
    picked = {id(by_name[n]): by_name[n] for n in names}
    return sorted(picked.values(), key=lambda a: a.manifest.package)


def crawl_zoo(root: Path, devices: int, budget: float, on_done=None,
              names: list[str] | None = None) -> tuple[list, list[JobResult]]:
    from emulator.sim.adb_server import IsolatedAdbServer
    from emulator.zoo import load_zoo

    every = load_zoo()
    apps = pick_apps(every, names)
    files = None if apps is every else [str(a.path) for a in apps]
    with IsolatedAdbServer() as adb, SimFarm(devices, adb.port, apps=files) as serials:
        results = run_lab([a.manifest.package for a in apps], serials, root, adb_port=adb.port,
                          options=LabOptions(budget=budget), on_done=on_done)
    return apps, results


def run_demo(devices: int, out: Path, as_json: bool, budget: float, names: list[str] | None = None) -> int:
    from emulator.zoo import load_zoo

    pick_apps(load_zoo(), names)  # an unknown name is an error before anything is started or written
    console = stderr_console()
    root = out / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    console.print(f"starting {devices} simulated devices and crawling the zoo; runs go to {root}")

    def done(result: JobResult) -> None:
        status = result.end or f"error: {result.error}"
        console.print(f"  {result.package:<36} {result.serial:<16} {status}", markup=False)

    apps, results = crawl_zoo(root, devices, budget, on_done=done, names=names)
    scores = [AppScore(app.manifest.package, sorted({e.kind for e in app.expected}), found_kinds(r))
              for app, r in zip(apps, results)]
    result = score(scores)
    elapsed = time.monotonic() - started
    if as_json:
        print(json.dumps({"apps": [s.to_json() for s in scores], "precision": result["precision"],
                          "recall": result["recall"], "per_kind": result["per_kind"], "runs": str(root),
                          "seconds": round(elapsed, 1)}, ensure_ascii=False, indent=2))
    else:
        out_console = stdout_console()
        out_console.print(_app_table(scores))
        out_console.print(_kind_table(result))
        out_console.print(f"{len(scores)} apps on {devices} devices in {elapsed:.0f} s; runs in {root}")
    errors = [r for r in results if r.error]
    return 1 if errors else 0
