"""Median timings of the pixel perception steps: `python bench/ocr.py [--repeat N]` from the repo root.

Runs on the screens drawn by tests/unit/test_vision.py (720x1600) and on the real screenshots in
shared/reference/real/img (read in place; skipped if absent). Numbers go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.perceive import ocr, vision
from tests.unit import test_vision as screens


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
    row["decode"] = median_ms(lambda: vision.decode(data), repeat)
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
    return row


COLUMNS = ("decode", "dimmed", "dialog", "crosses", "dhash", "ocr_full", "ocr_crop", "ocr_cached")


def print_table(title: str, rows: list[dict[str, float | str]]) -> None:
    print(f"\n{title}")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per OpenCV step (median reported)")
    parser.add_argument("--ocr-repeat", type=int, default=3, help="runs per OCR step (median reported)")
    parser.add_argument("--real-limit", type=int, default=0, help="only the first N real screenshots (0 = all)")
    args = parser.parse_args()

    engine = ocr.OcrEngine()
    start = time.perf_counter()
    engine.load()
    print(f"OCR model load (PP-OCRv6 det+rec small, from {ocr.models_dir()}): "
          f"{(time.perf_counter() - start) * 1000:.0f} ms")
    print("times in ms, median per image; ocr_full is the whole screen, ocr_crop the dialog_bounds crop, "
          "ocr_cached a repeated read of the same screen")

    drawn = [(s.name, screens.png_bytes(s.image)) for s in screens.rendered_screens()]
    print_table("Drawn screens (PNG, 720x1600)",
                [measure(name, data, engine, args.repeat, args.ocr_repeat) for name, data in drawn])

    real = screens.real_images()
    if args.real_limit:
        real = real[: args.real_limit]
    if real:
        print_table(f"Real screenshots (JPEG, {screens.REAL / 'img'})",
                    [measure(file[:48], path.read_bytes(), engine, args.repeat, args.ocr_repeat)
                     for file, _label, path in real])
    else:
        print(f"\nreal screenshots absent: {screens.REAL / 'img'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
