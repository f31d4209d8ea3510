"""Pixel perception: timings, how often a crawl needs OCR, scene accuracy. `python bench/ocr.py` from the repo root.

1. Median timings of the pixel steps on the screens drawn by tests/drawn_screens.py (720x1600) and on the real
   screenshots in shared/reference/real/img (read in place; skipped if absent): decode, vision, OCR of the whole
   screen, of the dialog crop, and a cached repeat.
2. Share of crawl steps that needed OCR on hierarchy-rich zoo apps (no pixel-only screen or dialog): each app crawled
   on a simulated phone with OCR on; a step needed OCR when perception read pixels for it (target under 10%).
3. Scene accuracy from pixels alone (`naysayer inspect --png`) on the labelled real screenshots.
Numbers go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.perceive import classify, ocr, pixels, vision
from tests import drawn_screens as screens
from tests.reference import REAL, real_images

EXPECTED_SCENE = {"permission_dialog": "permission_dialog", "consent_dialog": "consent_dialog",
                  "splash_ad": "splash_ad", "ad_popup": "ad_popup"}  # other labels: hard negatives
NEVER_FOR_NEGATIVES = ("permission_dialog", "consent_dialog", "ad_popup", "splash_ad")
# Rating and update prompts are promotion prompts: perception reports them as ad_popup by design (crawler.perceive.ads).
PROMOTION_PROMPTS = ("other_rating_prompt", "other_update_prompt")


def median_ms(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(name: str, data: bytes, engine: ocr.OcrEngine, repeat: int, ocr_repeat: int) -> dict[str, float | str]:
    img = vision.decode(data)
    card = vision.dialog_bounds(img)
    row: dict[str, float | str] = {"image": name, "size": f"{img.shape[1]}x{img.shape[0]}"}
    # A memoryview: vision.decode keeps the last decoded `bytes` object, and the point here is the decode itself.
    row["decode"] = median_ms(lambda: vision.decode(memoryview(data)), repeat)
    row["dimmed"] = median_ms(lambda: vision.dimmed_overlay(img), repeat)
    row["dialog"] = median_ms(lambda: vision.dialog_bounds(img), repeat)
    row["crosses"] = median_ms(lambda: vision.close_crosses(img), repeat)
    row["dhash"] = median_ms(lambda: vision.dhash(img), repeat)

    def uncached(region=None):
        engine.clear_cache()
        return engine.read(img, region=region)

    row["ocr_full"] = median_ms(uncached, ocr_repeat)
    row["ocr_crop"] = median_ms(lambda: uncached(card), ocr_repeat) if card else float("nan")
    engine.read(img)
    row["ocr_cached"] = median_ms(lambda: engine.read(img), repeat)
    if card:
        engine.read(img, region=card)
    row["crop_cached"] = median_ms(lambda: engine.read(img, region=card), repeat) if card else float("nan")
    return row


COLUMNS = ("decode", "dimmed", "dialog", "crosses", "dhash", "ocr_full", "ocr_crop", "ocr_cached", "crop_cached")


def load_average() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def print_table(title: str, rows: list[dict[str, float | str]]) -> None:
    print(f"\n{title} (load average 1/5/15 min at the end: {load_average()})")
    print("| image | size | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---:|" * len(COLUMNS))
    for row in rows:
        print(f"| {row['image']} | {row['size']} | " + " | ".join(_ms(row[c]) for c in COLUMNS) + " |")
    medians = {c: statistics.median([r[c] for r in rows if not math.isnan(r[c])] or [float("nan")]) for c in COLUMNS}
    print("| **median** | | " + " | ".join(_ms(medians[c]) for c in COLUMNS) + " |")


def _ms(value: float | str) -> str:
    if isinstance(value, str) or math.isnan(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def hierarchy_rich_apps() -> list:
    """Zoo apps the hierarchy reads in full: no pixel-only screen or dialog, no textless skip."""
    from emulator.zoo import load_zoo

    def drawn_only(app) -> bool:
        model = app.model
        return any(s.pixel_only for s in model.screens.values()) or any(
            d.pixel_only or (d.skip is not None and d.skip.textless) for d in model.dialogs.values())

    return [app for app in load_zoo() if not drawn_only(app)]


class StepCounter:
    """Counts perception calls and those that read pixels (patched around crawler.perceive's own functions)."""

    def __init__(self) -> None:
        self.steps = self.pixel_steps = 0

    def __enter__(self) -> StepCounter:  # noqa: PYI034
        self._perceive, self._read = classify.perceive_with_pixels, pixels.read_pixels

        def counted_perceive(*args, **kwargs):
            self.steps += 1
            return self._perceive(*args, **kwargs)

        def counted_read(*args, **kwargs):
            self.pixel_steps += 1
            return self._read(*args, **kwargs)

        classify.perceive_with_pixels, pixels.read_pixels = counted_perceive, counted_read
        return self

    def __exit__(self, *exc) -> None:
        classify.perceive_with_pixels, pixels.read_pixels = self._perceive, self._read


def ocr_share(limit: int, budget: float) -> None:
    from crawler.crawl import crawl_app
    from crawler.demo import SimFarm
    from crawler.device import AndroidDevice
    from crawler.store import RunStore
    from crawler.wire import FastAdbClient
    from emulator.sim.adb_server import IsolatedAdbServer

    apps = hierarchy_rich_apps()[: limit or None]
    print(f"\nShare of crawl steps that needed OCR: {len(apps)} hierarchy-rich zoo apps, {budget:.0f} device s each")
    print("| app | steps | steps with OCR | observations from pixels |")
    print("|---|---:|---:|---:|")
    total = Counter()
    with tempfile.TemporaryDirectory() as tmp, IsolatedAdbServer() as adb, \
            SimFarm(1, adb.port, skins=("aosp-13",)) as (serial,):
        device = AndroidDevice(serial, FastAdbClient(port=adb.port))
        for app in apps:
            package = app.manifest.package
            with StepCounter() as counter:
                run, _reason, _detail = crawl_app(serial=serial, package=package, out=Path(tmp) / package,
                                                  device=device, budget=budget, idle=0.0, ocr=True, progress=False)
            with RunStore.open(run) as store:
                scenes = [obs.scene for obs in store.trace().observations()]
            from_pixels = sum(1 for scene in scenes if scene.get("source", "hierarchy") != "hierarchy")
            total.update(steps=counter.steps, ocr=counter.pixel_steps, observations=len(scenes), pixels=from_pixels)
            print(f"| {package} | {counter.steps} | {counter.pixel_steps} | {from_pixels} of {len(scenes)} |")
    share = total["ocr"] / max(1, total["steps"])
    print(f"| **all** | {total['steps']} | {total['ocr']} ({share:.1%}) | {total['pixels']} of "
          f"{total['observations']} |")


def scene_accuracy() -> None:
    from crawler.inspection import inspect_screen

    table = REAL / "img" / "sources.tsv"
    if not table.is_file():
        print(f"\nreal screenshots absent: {table.parent}")
        return
    with open(table, encoding="utf-8") as handle:
        rows = [(row["file"], row["label"]) for row in csv.DictReader(handle, delimiter="\t")]
    print(f"\nScene from pixels alone (inspect --png, no hierarchy) on {len(rows)} labelled real screenshots")
    print("| label | count | right | read as |")
    print("|---|---:|---:|---|")
    by_label: dict[str, list[str]] = {}
    for file, label in rows:
        by_label.setdefault(label, []).append(inspect_screen(None, table.parent / file)["scene"])
    right_all = 0
    for label, kinds in sorted(by_label.items()):
        want = EXPECTED_SCENE.get(label)
        never = NEVER_FOR_NEGATIVES[:2] if label in PROMOTION_PROMPTS else NEVER_FOR_NEGATIVES
        right = sum(1 for k in kinds if (k == want if want else k not in never))
        right_all += right
        spread = ", ".join(f"{k} {n}" for k, n in Counter(kinds).most_common())
        print(f"| {label} | {len(kinds)} | {right} | {spread} |")
    print(f"| **all** | {len(rows)} | {right_all} ({right_all / len(rows):.0%}) | hard negatives are right when "
          f"never taken for a permission or consent dialog nor an ad (a rating or update prompt may be ad_popup) |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per OpenCV step (median reported)")
    parser.add_argument("--ocr-repeat", type=int, default=3, help="runs per OCR step (median reported)")
    parser.add_argument("--real-limit", type=int, default=0, help="only the first N real screenshots (0 = all)")
    parser.add_argument("--share-apps", type=int, default=0, help="crawl only the first N hierarchy-rich apps (0 = all)")
    parser.add_argument("--share-budget", type=float, default=60.0, help="device seconds per app crawl")
    parser.add_argument("--skip", nargs="*", default=[], choices=("timings", "share", "accuracy"))
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load_average()}")
    if "share" not in args.skip:
        ocr_share(args.share_apps, args.share_budget)
    if "accuracy" not in args.skip:
        scene_accuracy()
    if "timings" in args.skip:
        return 0

    engine = ocr.OcrEngine()
    start = time.perf_counter()
    engine.load()
    print(f"OCR model load (PP-OCRv6 det+rec small, from {ocr.models_dir()}): "
          f"{(time.perf_counter() - start) * 1000:.0f} ms")
    print("times in ms, median per image; ocr_full is the whole screen, ocr_crop the dialog_bounds crop, "
          "ocr_cached / crop_cached a repeated read of the same screen / crop (decoded array)")

    drawn = [(s.name, screens.png_bytes(s.image)) for s in screens.rendered_screens()]
    print_table("Drawn screens (PNG, 720x1600)",
                [measure(name, data, engine, args.repeat, args.ocr_repeat) for name, data in drawn])

    real = real_images()
    if args.real_limit:
        real = real[: args.real_limit]
    if real:
        print_table(f"Real screenshots (JPEG, {REAL / 'img'})",
                    [measure(file[:48], path.read_bytes(), engine, args.repeat, args.ocr_repeat)
                     for file, _label, path in real])
    else:
        print(f"\nreal screenshots absent: {REAL / 'img'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
