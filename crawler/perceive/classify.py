"""Say what is on screen: run the detectors in priority order on the hierarchy, and on OCR lines when it is blind.

Order: the system permission dialog first (it is on top of everything), then other system dialogs, the app's consent
dialog, its permission nags, splash ads, ad pop-ups / promotion prompts, else the app itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crawler.perceive import ads, consent, permission, rationale, splash, system
from crawler.perceive.consent import cue_widget as consent_cue
from crawler.perceive.context import Context
from crawler.perceive.pixels import blind_regions, ocr_window
from crawler.perceive.rationale import cue_widget as rationale_cue
from crawler.perceive.scene import Scene
from crawler.screen import Hierarchy

Detector = Callable[[Context], "Scene | None"]
RATIONALE_TITLE_CHARS = 20


def _detectors(ctx: Context) -> list[Detector]:
    # A short rationale title ("权限申请说明") beats a privacy-policy link mentioned in its body.
    r_cue = rationale_cue(ctx)
    _c_cue, c_titled = consent_cue(ctx)
    rationale_first = r_cue is not None and len(ctx.own_form(r_cue)) <= RATIONALE_TITLE_CHARS and not c_titled
    middle = [rationale.detect, consent.detect] if rationale_first else [consent.detect, rationale.detect]
    return [permission.detect, system.detect, *middle, splash.detect, ads.detect]


def classify(ctx: Context) -> Scene:
    for detect in _detectors(ctx):
        scene = detect(ctx)
        if scene is not None:
            break
    else:
        scene = Scene(kind="app", package=ctx.top_package, confidence=1.0)
    scene.text = ctx.lines()
    if not scene.package:
        scene.package = ctx.top_package
    return scene


def perceive(hierarchy: Hierarchy, png: bytes | None = None, ocr: Any = None) -> Scene:
    """What is on screen. Resource-ids and packages first, texts second; OCR lines where the hierarchy is blind
    (needs both `png` and an `ocr` object with `read(png) -> [line with .text, .bounds, .score]`)."""
    ctx = Context.of(hierarchy)
    regions = blind_regions(ctx) if png and ocr is not None else None
    if not regions:
        return classify(ctx)
    extra = ocr_window(ctx, png, ocr, regions)
    if extra is None:
        return classify(ctx)
    merged = Context.of(hierarchy, [extra.window])
    scene = classify(merged)
    from_ocr = [c for c in scene.actions.values() if extra.is_ocr(c)]
    if scene.actions:
        scene.source = "ocr" if len(from_ocr) == len(scene.actions) else ("hierarchy+ocr" if from_ocr else "hierarchy")
    else:
        scene.source = "hierarchy+ocr"
    if scene.source != "hierarchy":
        scene.confidence = round(scene.confidence * extra.score, 3)
        if scene.dialog_bounds is None and extra.dialog is not None and scene.kind not in ("app", "splash_ad"):
            scene.dialog_bounds = extra.dialog
    return scene
