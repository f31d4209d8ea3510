"""Say what is on screen: run the detectors in priority order on the hierarchy, and on OCR lines when it is blind.

Order: the system permission dialog first (it is on top of everything), then other system dialogs, the app's consent
dialog, its permission nags, splash ads, ad pop-ups / promotion prompts, else the app itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crawler.perceive import ads, consent, permission, rationale, splash, system
from crawler.perceive.consent import cue_widget as consent_cue
from crawler.perceive.context import ScreenContext
from crawler.perceive.pixels import perceive_with_pixels
from crawler.perceive.rationale import cue_widget as rationale_cue
from crawler.perceive.scene import Scene
from crawler.screen import Hierarchy

SceneDetector = Callable[[ScreenContext], "Scene | None"]
RATIONALE_TITLE_CHARS = 20


def _detectors(ctx: ScreenContext) -> list[SceneDetector]:
    # A short rationale title ("权限申请说明") beats a privacy-policy link mentioned in its body.
    r_cue = rationale_cue(ctx)
    _c_cue, c_titled = consent_cue(ctx)
    rationale_first = r_cue is not None and len(ctx.own_form(r_cue)) <= RATIONALE_TITLE_CHARS and not c_titled
    middle = [rationale.detect, consent.detect] if rationale_first else [consent.detect, rationale.detect]
    return [permission.detect, system.detect, *middle, splash.detect, ads.detect]


def classify(ctx: ScreenContext) -> Scene:
    for detect in _detectors(ctx):
        scene = detect(ctx)
        if scene is not None:
            break
    else:
        scene = Scene(kind="app", package=ctx.top_package, confidence=1.0)
    scene.text = ctx.lines()
    if scene.dialog_bounds is not None and scene.kind != "app":
        scene.dialog_text = ctx.lines_within(scene.dialog_bounds)
    if not scene.package:
        scene.package = ctx.top_package
    return scene


def perceive(hierarchy: Hierarchy, png: bytes | None = None, ocr: Any = None, activity: str = "") -> Scene:
    """What is on screen. Structure first (windows, the activity in front, resource-ids and packages), texts second;
    pixels (OCR lines, vision shapes) where the hierarchy is blind (needs both `png` and an `ocr` reader, see
    crawler.perceive.pixels). `activity`: the resumed activity's class name, when known (an ad SDK's activity in
    front is an ad whatever it says)."""
    if activity:
        hierarchy.activity = activity[:300]
    return perceive_with_pixels(hierarchy, png, ocr, classify)
