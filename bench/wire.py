"""Wire latency against a simulated device: the stock adbutils/uiautomator2 clients next to ours (crawler.wire).

    .venv/bin/python bench/wire.py [--calls 200]

Median and p90 milliseconds per call for adbutils shell, u2 dump_hierarchy, screenshot (u2 takeScreenshot and
our screencap PNG) and click. The simulated device runs in a child process (as in the demo), so its CPU does not
share our interpreter.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import adbutils
import uiautomator2

from crawler.demo import SimFarm
from crawler.device import AndroidDevice
from crawler.wire import FastAdbClient
from emulator.sim.adb_server import IsolatedAdbServer

PACKAGE = "com.example.qingtian.weather"


def timed(fn, calls: int) -> tuple[float, float]:
    fn()  # warm up (u2 connect, caches)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with IsolatedAdbServer() as adb, SimFarm(1, adb.port, skins=("aosp-13",)) as (serial,):
        stock_dev = adbutils.AdbClient(port=adb.port).device(serial)
        stock_u2 = uiautomator2.connect(stock_dev)
        ours = AndroidDevice(serial, FastAdbClient(port=adb.port))
        ours.start(PACKAGE)
        ours.wait(2)
        rows = [
            ("adbutils shell echo", lambda: stock_dev.shell("echo hi"), lambda: ours.shell("echo hi")),
            ("u2 dump_hierarchy", stock_u2.dump_hierarchy, ours.hierarchy),
            ("u2 screenshot (takeScreenshot)", lambda: stock_u2.screenshot(), lambda: ours.u2.screenshot()),
            ("screencap PNG (adb)", lambda: stock_dev.shell("screencap -p", encoding=None), ours.screenshot),
            ("u2 click", lambda: stock_u2.click(360, 1500), lambda: ours.tap(360, 1500)),
        ]
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"{args.calls} calls each; simulated device in a child process")
        print("| call | stock median ms | stock p90 | ours median ms | ours p90 | speed-up |")
        print("|---|---|---|---|---|---|")
        for name, stock, fast in rows:
            s_med, s_p90 = timed(stock, args.calls)
            f_med, f_p90 = timed(fast, args.calls)
            print(f"| {name} | {s_med:.2f} | {s_p90:.2f} | {f_med:.2f} | {f_p90:.2f} | {s_med / f_med:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
