"""Run store cost: append, blob put, trace() load and verify on a realistic 5,000-step run.

    .venv/bin/python -m bench.store [--steps 5000] [--dir /tmp]

The mix follows a real crawl: per look an observation (with a hierarchy blob and, on a new screen, a screenshot
blob; revisits dedupe), an action, and now and then events and a permissions snapshot. Prints a table.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.store import RunStore

SCREENS = 60  # distinct screens a crawl keeps revisiting
XML_BYTES = 12_000
PNG_BYTES = 90_000


def _scene(rng: random.Random) -> dict:
    return {"kind": rng.choice(["app", "app", "app", "permission_dialog", "consent_dialog", "ad_popup"]),
            "package": "com.example.a", "permission": rng.choice([None, "camera", "location"]),
            "actions": {"deny": {"bounds": [40, 1200, 680, 1290], "text": "拒绝", "resource_id": "x:id/deny",
                                 "enabled": True}},
            "checkboxes": [], "text": [f"第 {i} 行 文本 text line" for i in range(rng.randint(3, 12))],
            "countdown": None, "source": "hierarchy", "confidence": 1.0, "dialog_bounds": None}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def run(steps: int, where: Path) -> list[tuple[str, str, str, str]]:
    rng = random.Random(7)
    screens = [(os.urandom(XML_BYTES), os.urandom(PNG_BYTES)) for _ in range(SCREENS)]
    append_us: list[float] = []
    put_us: list[float] = []
    put_new_us: list[float] = []
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        with RunStore.create(Path(tmp), package="com.example.a") as store:
            t = 1000.0
            for i in range(steps):
                t += rng.uniform(0.05, 2.0)
                roll = i % 4
                if roll == 0:
                    screen = rng.randrange(SCREENS)
                    xml, png = screens[screen]
                    xml = xml + str(i % 7).encode()  # a dump differs a little from look to look
                    shas = []
                    for blob in (xml, png):
                        known = store.blob_path(hashlib.sha256(blob).hexdigest()).exists()
                        start = time.perf_counter()
                        shas.append(store.put_blob(blob))
                        (put_us if known else put_new_us).append((time.perf_counter() - start) * 1e6)
                    xml_sha, png_sha = shas
                    kind, data = "observation", {
                        "package": "com.example.a", "activity": "com.example.a.MainActivity", "pid": 4242,
                        "state": f"{screen:016x}", "scene": _scene(rng), "xml": xml_sha, "png": png_sha,
                        "app_in_front": True, "screen_blank": False}
                elif roll in (1, 3):
                    kind, data = "action", {
                        "type": "tap", "role": rng.choice(["", "deny", "close"]), "scene": "app",
                        "target": {"bounds": [10, 20, 300, 90], "text": "我的订单", "resource_id": "x:id/orders"},
                        "reason": "explore: untried widget", "user_like": True}
                elif i % 40 == 2:
                    kind, data = "permissions", {"package": "com.example.a", "permissions": {
                        f"android.permission.P{k}": {"granted": False, "flags": ["USER_SET"]} for k in range(12)}}
                else:
                    kind, data = "event", {"type": "activity_start", "package": "com.example.a", "pid": 4242,
                                           "raw": "I ActivityTaskManager: START u0 {cmp=com.example.a/.Main}" * 2,
                                           "source": "logcat"}
                start = time.perf_counter()
                store.append(kind, t, data)
                append_us.append((time.perf_counter() - start) * 1e6)
            run_path = store.path
        start = time.perf_counter()
        with RunStore.open(run_path) as store:
            trace = store.trace()
        load_ms = (time.perf_counter() - start) * 1e3
        start = time.perf_counter()
        with RunStore.open(run_path) as store:
            report = store.verify()
        verify_ms = (time.perf_counter() - start) * 1e3
        assert report.ok and len(trace.steps) == steps, report
        size = sum(p.stat().st_size for p in run_path.rglob("*") if p.is_file())
    return [
        ("append (commit per step)", f"{statistics.median(append_us):.0f} µs", f"{_pct(append_us, 0.9):.0f} µs",
         f"{len(append_us)} steps"),
        ("put_blob, new (12 KB xml, 90 KB png)", f"{statistics.median(put_new_us):.0f} µs",
         f"{_pct(put_new_us, 0.9):.0f} µs", f"{len(put_new_us)} puts"),
        ("put_blob, already stored (dedupe)", f"{statistics.median(put_us):.0f} µs", f"{_pct(put_us, 0.9):.0f} µs",
         f"{len(put_us)} puts"),
        ("trace() load", f"{load_ms:.0f} ms", "", f"{steps} steps"),
        ("verify (chain + blobs)", f"{verify_ms:.0f} ms", "", f"run size {size / 1e6:.1f} MB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary run goes (default: system temp)")
    args = parser.parse_args()
    rows = run(args.steps, args.dir or Path(tempfile.gettempdir()))
    print(f"{'operation':38} {'median':>10} {'p90':>10}  note")
    for name, median, p90, note in rows:
        print(f"{name:38} {median:>10} {p90:>10}  {note}")


if __name__ == "__main__":
    main()
