"""Reading a blind screen: when the hierarchy shows no text (WebView, Flutter, games, pixel-only dialogs), OCR lines
become pseudo-widgets in a window of their own and go through the same detectors.

`ocr` is duck-typed: any object with `read(png_bytes) -> [line]`, each line with `.text`, `.bounds` (x1, y1, x2, y2)
and `.score`. Close crosses and the dialog card come from crawler.perceive.vision when it can read the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.perceive.context import Context
from crawler.perceive.scene import Bounds, Control
from crawler.screen import MAX_TEXT, Widget, Window, area

BARE_CLASSES = ("android.view.View", "android.view.SurfaceView", "android.view.TextureView",
                "android.opengl.GLSurfaceView", "android.webkit.WebView")
BARE_MIN_SHARE = 0.25  # a bare view this large (share of the screen) hides what is drawn in it
MIN_SCORE = 0.5
MAX_LINES = 200
OCR_CONFIDENCE = 0.8  # what a text-only OCR reading is worth next to the hierarchy


def blind_regions(ctx: Context) -> list[Bounds] | None:
    """Screen regions the hierarchy cannot read, or None when it reads everything."""
    if not ctx.windows:
        return [tuple(ctx.screen)]
    regions: list[Bounds] = []
    for window in ctx.windows:
        widgets = list(window.widgets())
        if not any(w.label for w in widgets):
            regions.append(tuple(window.bounds))
            continue
        for w in widgets:
            if not w.children and not w.label and not w.resource_id and w.cls in BARE_CLASSES \
                    and area(w.bounds) >= ctx.screen_area * BARE_MIN_SHARE:
                regions.append(tuple(w.bounds))
    return regions or None


def _inside(b: Bounds, regions: list[Bounds]) -> bool:
    mx, my = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return any(r[0] <= mx <= r[2] and r[1] <= my <= r[3] for r in regions)


def _bounds(value: Any) -> Bounds | None:
    try:
        x1, y1, x2, y2 = (round(float(v)) for v in value)
    except (TypeError, ValueError):
        return None
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


@dataclass
class OcrReading:
    window: Window
    score: float
    dialog: Bounds | None
    pseudo_bounds: set[Bounds] = field(default_factory=set)

    def is_ocr(self, c: Control) -> bool:
        return tuple(c.bounds) in self.pseudo_bounds


def _vision(png: bytes, regions: list[Bounds]) -> tuple[Bounds | None, list[Bounds]]:
    try:
        from crawler.perceive import vision
    except ImportError:  # the pixel helpers are optional for this path
        return None, []
    try:
        img = vision.decode(png)
        dialog = vision.dialog_bounds(img)
        crosses = vision.close_crosses(img, dialog) if dialog else vision.close_crosses(img)
    except ValueError:  # vision.BadImage: an unreadable screenshot reads as nothing
        return None, []
    dialog = _bounds(dialog) if dialog else None
    return dialog, [b for b in (_bounds(c) for c in crosses or []) if b and _inside(b, regions)]


def ocr_window(ctx: Context, png: bytes, ocr: Any, regions: list[Bounds]) -> OcrReading | None:
    lines = ocr.read(png) or []
    package = ctx.top_package
    root = Widget(cls="ocr.Screen", package=package, bounds=tuple(ctx.screen), depth=1, source="ocr")
    scores = []
    for line in list(lines)[:MAX_LINES]:
        text = str(getattr(line, "text", "") or "")[:MAX_TEXT]
        bounds = _bounds(getattr(line, "bounds", None))
        score = float(getattr(line, "score", 1.0) or 0.0)
        if not text.strip() or bounds is None or score < MIN_SCORE or not _inside(bounds, regions):
            continue
        root.children.append(Widget(text=text, cls="ocr.TextLine", package=package, bounds=bounds,
                                    depth=2, parent=root, source="ocr"))
        scores.append(score)
    dialog, crosses = _vision(png, regions)
    for b in crosses:
        root.children.append(Widget(content_desc="close", cls="vision.CloseCross", package=package, clickable=True,
                                    bounds=b, depth=2, parent=root, source="vision"))
    if not root.children:
        return None
    mean = sum(scores) / len(scores) if scores else 1.0
    return OcrReading(window=Window(root=root, index=len(ctx.windows)), score=OCR_CONFIDENCE * min(1.0, mean),
                      dialog=dialog, pseudo_bounds={c.bounds for c in root.children})
