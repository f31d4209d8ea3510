"""The screenshots in docs/reports.md: a lab's dashboard and one of its run reports, in headless chromium at desktop
and phone widths, as small PNGs (cropped to the top of the page, reduced to 128 colours).

    .venv/bin/python -m tests.integration.doc_screenshots LAB docs/img [--lang zh-CN]

LAB is a lab folder (for the docs: the zoo crawled by `naysayer demo`, or `crawler.demo.crawl_zoo`).
"""

from __future__ import annotations

import argparse
import base64
import io
import sys
import tempfile
from pathlib import Path

from PIL import Image

from reports.dashboard import write_dashboard
from reports.dashboard.data import gather_lab
from tests.integration.test_report_browser import Browser

SHOTS = {"desktop": (1280, 1500), "phone": (375, 1400)}


def capture(browser: Browser, page: Path, width: int, height: int, out: Path) -> None:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    browser.send("Page.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                       "mobile": width < 600}, session=session)
    browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    browser.wait_event(("Page.loadEventFired",), session)
    shot = browser.send("Page.captureScreenshot", {"format": "png", "clip": {
        "x": 0, "y": 0, "width": width, "height": height, "scale": 1}}, session=session)
    browser.send("Target.closeTarget", {"targetId": target})
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("lab", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", default="zh-CN")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        page = write_dashboard(args.lab, site, args.lang)
        worst = next(a for a in gather_lab(args.lab).apps if a.run_dir is not None)
        report = site / "runs" / f"{worst.run_dir.name}.html"
        browser = Browser(Path(tmp) / "profile")
        try:
            for screen, (width, height) in SHOTS.items():
                capture(browser, page, width, height, args.out / f"dashboard-{screen}.png")
                capture(browser, report, width, height, args.out / f"report-{screen}.png")
        finally:
            browser.close()
    for png in sorted(args.out.glob("*.png")):
        print(f"{png}: {png.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
