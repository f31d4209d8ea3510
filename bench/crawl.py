"""Crawl cost: host CPU per step, steps per second on a simulated device, our wire next to the stock clients'.

    .venv/bin/python bench/crawl.py [--steps 60] [--repeat 300]

1. Host CPU per crawl step, excluding OCR and device time: what the crawler does with one observation of a
   200-widget screen (parse the hierarchy, perceive, state key, widget list, record the step), process time.
2. Steps per second: one zoo app crawled on a simulated device (child process) with `crawler.session`, once through
   our clients (crawler.wire.FastAdbClient) and once through the stock adbutils client, same app, same steps.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import adbutils

from crawler.crawl import CrawlOptions
from crawler.demo import SimFarm
from crawler.device import AndroidDevice
from crawler.perceive import perceive
from crawler.screen import parse_hierarchy
from crawler.session import Session
from crawler.state import state_key
from crawler.store import RunStore
from crawler.wire import FastAdbClient
from emulator.sim.adb_server import IsolatedAdbServer
from emulator.sim.render_xml import render_xml
from emulator.sim.view import Screen, ViewNode, Window
from strategies import make_strategy
from strategies.widgets import widgets_of

PACKAGE = "com.example.haowu.shop"


def screen_200() -> str:
    """A feed of 66 rows of (row, title, price) = 200 nodes with the root and toolbar."""
    rows = []
    for i in range(66):
        y = 160 + i * 20
        rows.append(ViewNode("android.widget.LinearLayout", (0, y, 720, y + 20), resource_id="com.example.a:id/row",
                             clickable=True, children=[
                                 ViewNode("android.widget.TextView", (16, y, 500, y + 20), text=f"商品 {i} 限时特惠"),
                                 ViewNode("android.widget.TextView", (500, y, 700, y + 20), text=f"¥{i * 3}.90")]))
    root = ViewNode("android.widget.FrameLayout", (0, 0, 720, 1600), children=[
        ViewNode("android.widget.TextView", (0, 48, 720, 160), text="好物优选", resource_id="com.example.a:id/title"),
        *rows])
    return render_xml(Screen(720, 1600, [Window("com.example.a", ".Main", root)]))


def host_cpu_per_step(repeat: int) -> tuple[float, float, int]:
    xml = screen_200()
    with tempfile.TemporaryDirectory() as tmp, RunStore.create(Path(tmp), "bench") as store:
        samples = []
        for i in range(repeat):
            start = time.process_time()
            hierarchy = parse_hierarchy(xml)
            scene = perceive(hierarchy, None, None)
            key = state_key(hierarchy, scene, "com.example.a")
            widgets_of(hierarchy, "com.example.a")
            sha = store.put_blob(xml.encode())
            store.append("observation", float(i), {"state": key, "scene": scene.to_json(), "xml": sha})
            samples.append((time.process_time() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1], len(hierarchy.widgets)


def crawl_rate(serial: str, client: adbutils.AdbClient, steps: int) -> tuple[float, int]:
    device = AndroidDevice(serial, client)
    settings = CrawlOptions(budget=10_000, steps=steps, idle=0)  # the loop alone: no OCR engine, no APK pull
    with tempfile.TemporaryDirectory() as tmp, RunStore.create(Path(tmp), "bench") as store:
        start = time.perf_counter()
        Session(device, PACKAGE, make_strategy("deny"), store, settings).run()
        elapsed = time.perf_counter() - start
        observations = sum(1 for _ in store.steps(("observation",)))
    return elapsed, observations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    median, p90, nodes = host_cpu_per_step(args.repeat)
    print(f"\nhost CPU per step on a {nodes}-node screen (parse + perceive + state + widgets + record), "
          f"{args.repeat} steps: median {median:.2f} ms, p90 {p90:.2f} ms")
    with IsolatedAdbServer() as adb, SimFarm(1, adb.port, skins=("aosp-13",)) as (serial,):
        print(f"\ncrawl of {PACKAGE}, {args.steps} actions, simulated device in a child process:")
        print("| clients | wall s | observations | steps/s | ms per step |")
        print("|---|---|---|---|---|")
        for name, client in (("ours (FastAdbClient)", FastAdbClient(port=adb.port)),
                             ("stock adbutils + uiautomator2", adbutils.AdbClient(port=adb.port))):
            elapsed, observations = crawl_rate(serial, client, args.steps)
            print(f"| {name} | {elapsed:.2f} | {observations} | {args.steps / elapsed:.1f} | "
                  f"{elapsed * 1000 / args.steps:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
