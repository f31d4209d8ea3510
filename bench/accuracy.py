"""Accuracy on the zoo: precision and recall per finding kind, and time to first finding per app.

    .venv/bin/python bench/accuracy.py [--devices 4] [--budget 240]

Crawls every zoo app as the demo does (deny strategy, simulated devices through the real adb server) and prints
markdown tables. Time to first finding is device time from the run's start to the first finding's key step.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.demo import crawl_zoo
from crawler.scoring import AppScore, score
from crawler.store import RunStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--budget", type=float, default=240.0)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        apps, results = crawl_zoo(Path(tmp), args.devices, args.budget)
        rows, scores = [], []
        for app, result in zip(apps, results):
            with RunStore.open(result.run) as store:
                findings = store.findings()
            kinds = sorted({f["kind"] for f in findings})
            scores.append(AppScore(app.manifest.package, sorted({e.kind for e in app.expected}), kinds))
            first = min((f.get("offset_s", 0.0) for f in findings), default=None)
            rows.append((app.manifest.package, len(findings), first))
    elapsed = time.monotonic() - started
    result = score(scores)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(apps)} zoo apps on {args.devices} simulated devices, budget {args.budget:.0f} s device time per app; "
          f"wall {elapsed:.0f} s")
    print("\n| kind | tp | fp | fn | precision | recall |\n|---|---|---|---|---|---|")
    for kind, r in result["per_kind"].items():
        print(f"| {kind} | {r['tp']} | {r['fp']} | {r['fn']} | {r['precision']:.2f} | {r['recall']:.2f} |")
    print(f"| **overall** | | | | **{result['precision']:.2f}** | **{result['recall']:.2f}** |")
    print("\n| app | findings | first finding (device s after start) | ok |\n|---|---|---|---|")
    for (package, count, first), s in zip(rows, scores):
        print(f"| {package} | {count} | {'-' if first is None else f'{first:.1f}'} | {'yes' if s.ok else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
