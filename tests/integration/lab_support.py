"""What the lab tests share: zoo apps to queue, `naysayer lab ...` in a child process, and counting crawls from the
runs' own records (never from the lab's index, which is what is under test)."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crawler.store import RunStore, list_runs
from emulator.zoo import load_app

REPO = Path(__file__).resolve().parents[2]
GOOD_ENDS = ("done", "budget", "steps")
REDIS = shutil.which("redis-server")


def zoo_apps(n: int) -> list:
    """The first n zoo apps by file name, one per package."""
    apps, seen = [], set()
    for path in sorted((REPO / "emulator" / "zoo" / "apps").glob("*.yaml")):
        app = load_app(path)
        if app.manifest.package not in seen:
            seen.add(app.manifest.package)
            apps.append(app)
    assert len(apps) >= n
    return apps[:n]


def lab_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", "lab", *args]


def lab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    # ANDROID_ADB_SERVER_PORT (set by conftest) points the child at the test adb server.
    return subprocess.run(lab_cmd(*args), capture_output=True, text=True, cwd=REPO, timeout=timeout, check=False)


def wait_until(condition, timeout: float = 240.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def crawls_by_package(lab_dir: Path) -> tuple[Counter, Counter]:
    """(runs started, runs that ended) per package, counted from the runs' own run_start / run_end steps."""
    started, ended = Counter(), Counter()
    for run in list_runs(lab_dir):
        with RunStore.open(run) as store:
            starts = list(store.steps(["run_start"]))
            if starts:
                package = starts[0].data["app"]["package"]
                started[package] += 1
                ended[package] += bool(list(store.steps(["run_end"])))
    return started, ended


def jobs_in(lab_dir: Path) -> list[dict]:
    """The lab's job rows as stored (read with plain sqlite3, not through the code under test)."""
    with sqlite3.connect(lab_dir / "lab.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM jobs ORDER BY id")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free loopback port, nothing saved: redis://127.0.0.1:PORT (skips the test
    without redis-server)."""
    if REDIS is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    server = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
