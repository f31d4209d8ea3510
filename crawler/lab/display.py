"""What a running lab shows: a rich live table (per device: state, app, device seconds, steps, what it does; then
apps done / failed / left and findings so far) on a terminal, one plain line per finished app otherwise.
`lab status` prints the same table once from the index.

App names and the crawl's `what` come from the device under test: they are shown as text, never as markup, and cut.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Self

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from crawler.lab.index import JobRow, LabIndex
from crawler.lab.job import JobResult

MAX_FIELD = 60


@dataclass
class DeviceLine:
    state: str = "starting"
    package: str = ""
    t: float = 0.0
    budget: float = 0.0
    steps: int = 0
    what: str = ""
    done: int = 0


def _cut(text: str, n: int = MAX_FIELD) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def summary_table(counts: dict[str, int], findings: dict[str, int]) -> Table:
    table = Table("done", "failed", "running", "left", "findings so far (kind: apps)", title="lab")
    found = ", ".join(f"{k}: {n}" for k, n in sorted(findings.items())) or "-"
    table.add_row(str(counts.get("done", 0)), str(counts.get("failed", 0)), str(counts.get("running", 0)),
                  str(counts.get("queued", 0)), Text(found))
    return table


def jobs_table(jobs: list[JobRow]) -> Table:
    table = Table("app", "state", "device", "tries", "finding kinds / error", "run", title="jobs")
    for job in jobs:
        detail = ", ".join(job.kinds) if job.state == "done" else job.error
        table.add_row(*(Text(_cut(v)) for v in (job.package, job.state, job.device, str(job.attempts),
                                                detail or "-", job.run)))
    return table


class LabDisplay:
    """The live table. Use as a context manager around DevicePool.run(); it is the pool's observer."""

    def __init__(self, index: LabIndex, serials: list[str], console: Console):
        self.index, self.console = index, console
        self.lines = {s: DeviceLine() for s in serials}
        self.counts = index.counts()
        self.kinds: Counter[str] = Counter(index.findings())
        self._lock = threading.Lock()
        self._live = Live(console=console, refresh_per_second=2, transient=False, get_renderable=self.render)

    def __enter__(self) -> Self:
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._live.__exit__(*exc)

    # -- observer ---------------------------------------------------------------------------------------------
    def device(self, serial: str, state: str, package: str = "") -> None:
        with self._lock:
            line = self.lines.setdefault(serial, DeviceLine())
            line.state, line.package = state, package or ("" if state != "crawling" else line.package)
            if state == "crawling":
                line.t, line.steps, line.what, line.budget = 0.0, 0, "preparing", 0.0

    def progress(self, serial: str, package: str, info: dict) -> None:
        with self._lock:
            line = self.lines.setdefault(serial, DeviceLine())
            line.t, line.budget, line.steps = info.get("t", 0.0), info.get("budget", 0.0), info.get("steps", 0)
            line.what = str(info.get("what", ""))

    def finished(self, job: JobRow, result: JobResult, state: str) -> None:
        with self._lock:
            self.lines.setdefault(result.serial, DeviceLine()).done += state == "done"
            if state == "done":
                self.kinds.update(result.kinds)
        self.counts = self.index.counts()

    # -- drawing ----------------------------------------------------------------------------------------------
    def render(self) -> Group:
        devices = Table("device", "state", "app", "device s", "steps", "doing", "apps done", title="devices")
        with self._lock:
            for serial, line in self.lines.items():
                seconds = f"{line.t:.0f}/{line.budget:.0f}" if line.state == "crawling" and line.budget else ""
                devices.add_row(*(Text(_cut(v, 40)) for v in (
                    serial, line.state, line.package, seconds, str(line.steps) if line.state == "crawling" else "",
                    line.what if line.state == "crawling" else "", str(line.done))))
            kinds = dict(self.kinds)
        return Group(devices, summary_table(self.counts, kinds))


class PlainReporter:
    """Without a terminal (a log file, cron): one line per app as it finishes, and devices lost or back."""

    def __init__(self, console: Console):
        self.console = console

    def device(self, serial: str, state: str, package: str = "") -> None:
        if state.startswith("offline: retry 1/") or state == "gone":
            self.console.print(f"  {serial}: {state}", markup=False, highlight=False)

    def progress(self, serial: str, package: str, info: dict) -> None:
        pass

    def finished(self, job: JobRow, result: JobResult, state: str) -> None:
        if state == "done":
            what = f"done ({result.end})" + (f": {', '.join(result.kinds)}" if result.kinds else "")
        elif state == "failed":
            what = f"FAILED: {result.reason}"
        else:
            what = f"again later: {result.reason}"
        self.console.print(f"  {_cut(job.package, 40):<40} {result.serial:<16} {_cut(what, 200)}", markup=False,
                           highlight=False)
