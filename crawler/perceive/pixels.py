"""Reading what the hierarchy cannot: OCR lines and vision shapes become pseudo-widgets in a window of their own and
go through the same detectors as hierarchy widgets, so pixel findings land in the same `Scene`.

Pixels are used only when the hierarchy is not enough: nothing recognised (or recognised with no way out, such as a
launch ad with no readable skip) while part of the screen is blind (a bare WebView / Flutter / game view, a window
with no text) or a control has no text (the Pangle SDK's skip button). And only what is needed is read
(reference: /work/shared/reference/ocr.md): the dialog card vision finds, else a top strip where skip pills sit, else
the blind region; a textless control's own box. Every read is cached by the engine on a hash of the crop.

`ocr` is duck-typed (crawler.perceive.ocr_engines.OcrReader): `read(image, region=None) -> [line]`, each line with
`.text`, `.bounds` (x1, y1, x2, y2 in screen pixels) and `.score`. An unusable screenshot never stops perception: the
scene comes from the hierarchy and `Scene.pixel_error` says what was wrong with the picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.perceive import pixel_ads, vision
from crawler.perceive.context import ScreenContext
from crawler.perceive.scene import Bounds, Scene
from crawler.screen import MAX_TEXT, Hierarchy, Widget, Window, area

BARE_CLASSES = ("android.view.View", "android.view.SurfaceView", "android.view.TextureView",
                "android.opengl.GLSurfaceView", "android.webkit.WebView")
BARE_MIN_SHARE = 0.25  # a bare view this large (share of the screen) hides what is drawn in it
MIN_SCORE = 0.5
MAX_LINES = 200
MAX_TEXTLESS = 6  # textless controls read per screen
OCR_CONFIDENCE = 0.8  # what a text-only OCR reading is worth next to the hierarchy
TEXTLESS_MAX_WIDTH, TEXTLESS_MAX_HEIGHT = 0.45, 0.12  # share of the screen: a pill or a button, not a panel
TEXTLESS_PAD = 6  # px around a textless control's box, so text touching its edge is still detected
STATUS_BAR_SHARE = 0.03  # the status bar's height when the hierarchy has no window for it (48 px of 1600)
STRIP_SHARE = 0.16  # the top strip of a blind region where skip pills and close buttons sit (share of screen height)
MIN_STRIP_HEIGHT = 32  # pixels: on a tiny screenshot the strip is at least a line of text high (or the whole region)
MIN_READ_SIDE = 4  # pixels: a region narrower or lower than this holds no text (the OCR engine refuses it)

Classify = Callable[[ScreenContext], Scene]


class PixelError(ValueError):
    """The screenshot cannot be read (corrupt, truncated, empty, not an image, too large) or OCR is unavailable."""


def _below_status_bar(ctx: ScreenContext, region: Bounds) -> Bounds:
    """A region without the status bar (its clock changes every minute: read, it would make every screen new)."""
    bars = [w.bounds[3] for w in ctx.hierarchy.windows if w.package == "com.android.systemui" and w.bounds[1] <= 0
            and w.bounds[3] - w.bounds[1] < (ctx.screen[3] - ctx.screen[1]) * 0.1]
    top = max(bars) if bars else ctx.screen[1] + round((ctx.screen[3] - ctx.screen[1]) * STATUS_BAR_SHARE)
    return (region[0], max(region[1], top), region[2], region[3]) if region[3] > top else region


def blind_regions(ctx: ScreenContext) -> list[Bounds] | None:
    """Screen regions the hierarchy cannot read (below the status bar), or None when it reads everything."""
    return [_below_status_bar(ctx, r) for r in _blind_regions(ctx) or []] or None


def _blind_regions(ctx: ScreenContext) -> list[Bounds] | None:
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


def textless_controls(ctx: ScreenContext) -> list[Widget]:
    """Small controls with no text and no description in windows that offer no labelled choice at all: their label
    is drawn in pixels (a skip pill "跳过 5" whose node is a bare clickable frame). Inert ones (disabled, a skip that
    works only after a countdown) count too: their drawn countdown is what a user sees."""
    sw, sh = ctx.screen[2] - ctx.screen[0], ctx.screen[3] - ctx.screen[1]
    found: list[Widget] = []
    for window in ctx.windows:
        widgets = list(window.widgets())
        if any(w.label and ctx.tappable(w) for w in widgets):
            continue
        for w in widgets:
            if not (w.clickable or not w.enabled) or w.inner_label() or not ctx.visible(w):
                continue
            x1, y1, x2, y2 = w.bounds
            if 0 < x2 - x1 <= sw * TEXTLESS_MAX_WIDTH and 0 < y2 - y1 <= sh * TEXTLESS_MAX_HEIGHT:
                found.append(w)
    return found[:MAX_TEXTLESS]


def _inside(b: Bounds, regions: list[Bounds]) -> bool:
    mx, my = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return any(r[0] <= mx <= r[2] and r[1] <= my <= r[3] for r in regions)


def _bounds(value: Any) -> Bounds | None:
    try:
        x1, y1, x2, y2 = (round(float(v)) for v in value)
    except (TypeError, ValueError):
        return None
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _pad(b: Bounds, pad: int, screen: Bounds) -> Bounds:
    return (max(screen[0], b[0] - pad), max(screen[1], b[1] - pad), min(screen[2], b[2] + pad),
            min(screen[3], b[3] + pad))


@dataclass
class PixelReading:
    """What pixels added to one screen: the pseudo window, and for each pseudo-widget box where it came from."""

    window: Window
    score: float
    dialog: Bounds | None
    sources: dict[Bounds, str] = field(default_factory=dict)  # box -> "ocr" | "vision"
    reads: int = 0  # OCR calls made for this screen (cache hits included)

    def source_of(self, bounds: Bounds) -> str:
        return self.sources.get(tuple(bounds), "hierarchy")


class _Reader:
    """Reads one screenshot for one screen: decodes once, asks the OCR engine only for the crops it needs."""

    def __init__(self, ctx: ScreenContext, png: bytes, ocr: Any):
        self.ctx, self.png, self.ocr = ctx, png, ocr
        self.reads = 0
        self.image = None
        self.decode_error: str | None = None
        try:
            self.image = vision.decode(png)
        except vision.BadImage as error:
            self.decode_error = str(error)

    def read(self, region: Bounds | None = None) -> list[Any]:
        if region is not None and self.image is not None:
            h, w = self.image.shape[:2]
            x1, y1, x2, y2 = max(0, region[0]), max(0, region[1]), min(w, region[2]), min(h, region[3])
            if x2 - x1 < MIN_READ_SIDE or y2 - y1 < MIN_READ_SIDE:
                return []  # a sliver (a tiny screenshot's strip) or a region off the image: no text can be there
        self.reads += 1
        try:
            # The decoded array when there is one: the engine need not decode the PNG again for every crop.
            image = self.png if self.image is None else self.image
            lines = self.ocr.read(image) if region is None else self.ocr.read(image, region=region)
        except ValueError as error:  # vision.BadImage and any engine's own complaint about the picture
            raise PixelError(_one_line(error)) from None
        except RuntimeError as error:  # crawler.perceive.ocr.OcrUnavailable and adapters' load failures
            raise PixelError(_one_line(error)) from None
        return list(lines or [])[:MAX_LINES]

    def dialog(self, regions: list[Bounds]) -> Bounds | None:
        """The modal card in a blind region: only behind a dimmed backdrop (a bright picture on a page is no card)."""
        if self.image is None or not vision.dimmed_overlay(self.image):
            return None
        found = vision.dialog_bounds(self.image)
        found = _bounds(found) if found else None
        return found if found and _inside(found, regions) else None

    def crosses(self, regions: list[Bounds], dialog: Bounds | None) -> list[Bounds]:
        if self.image is None:
            return []
        if dialog is None:
            found = list(vision.close_crosses(self.image) or [])
        else:
            # Around the card: an X sits on its corner or just below it (the round X under a pop-up); and the top
            # corners of the screen, where a full-screen ad puts its X (its dark banner can pass for a dim layer).
            height = dialog[3] - dialog[1]
            sx1, sy1, sx2, sy2 = self.ctx.screen
            cw, ch = round((sx2 - sx1) * pixel_ads.CORNER_WIDTH), round((sy2 - sy1) * pixel_ads.CORNER_HEIGHT)
            zones = [_pad((dialog[0], dialog[1] - height // 4, dialog[2], dialog[3] + height // 2), 0, self.ctx.screen),
                     (sx1, sy1, sx1 + cw, sy1 + ch), (sx2 - cw, sy1, sx2, sy1 + ch)]
            found = []
            for zone in zones:
                found.extend(b for b in vision.close_crosses(self.image, zone) or [] if tuple(b) not in found)
        return [b for b in (_bounds(c) for c in found) if b and _inside(b, regions)]


def _same_line(text: str, bounds: Bounds, widget: Widget) -> bool:
    if widget.text != text:
        return False
    other = widget.bounds
    ix = max(0, min(bounds[2], other[2]) - max(bounds[0], other[0]))
    iy = max(0, min(bounds[3], other[3]) - max(bounds[1], other[1]))
    return ix * iy >= 0.5 * min(area(bounds), area(other))


def _one_line(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:300]


def _line_widget(root: Widget, text: str, bounds: Bounds, package: str, enabled: bool = True) -> Widget:
    return Widget(text=text[:MAX_TEXT], cls="ocr.TextLine", package=package, bounds=bounds, enabled=enabled,
                  depth=2, parent=root, source="ocr")


def read_pixels(ctx: ScreenContext, png: bytes, ocr: Any, regions: list[Bounds], textless: list[Widget],
                classify: Classify | None = None) -> PixelReading | None:
    """OCR lines and close crosses as a pseudo window over the screen, or None when pixels show nothing usable.
    Raises PixelError when the screenshot (or the engine) cannot be used."""
    reader = _Reader(ctx, png, ocr)
    package = ctx.top_package
    root = Widget(cls="ocr.Screen", package=package, bounds=tuple(ctx.screen), depth=1, source="ocr")
    sources: dict[Bounds, str] = {}
    scores: list[float] = []

    def add_lines(lines: list[Any], within: list[Bounds]) -> None:
        for line in lines:
            text = str(getattr(line, "text", "") or "")
            bounds = _bounds(getattr(line, "bounds", None))
            score = float(getattr(line, "score", 1.0) or 0.0)
            if not text.strip() or bounds is None or score < MIN_SCORE or not _inside(bounds, within):
                continue
            if bounds in sources or any(_same_line(text, bounds, w) for w in root.children):
                continue  # read twice (the strip, then its region)
            root.children.append(_line_widget(root, text, bounds, package))
            sources[bounds] = "ocr"
            scores.append(score)

    dialog: Bounds | None = None
    if regions:
        if reader.image is None:
            # The engine decides (a stand-in may read what vision cannot); a real engine fails the same way.
            add_lines(reader.read(), regions)
            if reader.decode_error and not root.children:
                raise PixelError(reader.decode_error)
        else:
            dialog = reader.dialog(regions)
            if dialog is not None:
                add_lines(reader.read(dialog), [dialog])
            else:
                _strip_then_region(reader, regions, add_lines, root, classify, ctx)
            for b in reader.crosses(regions, dialog):
                if b in sources:
                    continue
                root.children.append(Widget(content_desc="close", cls="vision.CloseCross", package=package,
                                            clickable=True, bounds=b, depth=2, parent=root, source="vision"))
                sources[b] = "vision"
            if dialog is not None and root.children:
                # Where the card is, for detectors that judge a shape by its place (an X at the card's edge). Inert:
                # no label, disabled, so it is never a choice or a tap target.
                root.children.append(Widget(cls="vision.Card", package=package, enabled=False, bounds=dialog,
                                            depth=2, parent=root, source="vision"))
    if textless and reader.image is None:
        raise PixelError(reader.decode_error or "screenshot: unreadable")
    for w in textless:
        box = tuple(w.bounds)
        lines = reader.read(_pad(box, TEXTLESS_PAD, ctx.screen))
        text = " ".join(str(getattr(x, "text", "") or "").strip() for x in lines
                        if float(getattr(x, "score", 1.0) or 0.0) >= MIN_SCORE).strip()
        if not text or box in sources:
            continue
        # The control's own box (what a tap must hit), labelled with what is drawn in it; inert stays inert.
        root.children.append(_line_widget(root, text, box, w.package or package, enabled=w.enabled))
        sources[box] = "ocr"
        scores.append(min(float(getattr(x, "score", 1.0) or 0.0) for x in lines))
    if not root.children:
        return None
    mean = sum(scores) / len(scores) if scores else 1.0
    return PixelReading(window=Window(root=root, index=len(ctx.windows)), score=OCR_CONFIDENCE * min(1.0, mean),
                        dialog=dialog, sources=sources, reads=reader.reads)


def _strip_then_region(reader: _Reader, regions: list[Bounds], add_lines, root: Widget, classify: Classify | None,
                       ctx: ScreenContext) -> None:
    """No card: first the top strip of each blind region (a launch ad's skip pill is there, and is all a crawler
    needs from a launch ad), then, unless that already says what the screen is, the whole region."""
    screen_h = ctx.screen[3] - ctx.screen[1]
    strip_h = max(int(screen_h * STRIP_SHARE), MIN_STRIP_HEIGHT)
    strips = [(r[0], r[1], r[2], min(r[3], r[1] + strip_h)) for r in regions]
    for strip in strips:
        add_lines(reader.read(strip), [strip])
    if classify is not None and root.children:
        probe = ScreenContext.of(ctx.hierarchy, [Window(root=root, index=len(ctx.windows))])
        if classify(probe).kind == "splash_ad":
            return
    for region in regions:
        add_lines(reader.read(region), [region])


def needs_pixels(scene: Scene) -> bool:
    """The hierarchy was not enough: nothing recognised, or recognised with no control to act on."""
    return scene.kind == "app" or not scene.actions


def perceive_with_pixels(hierarchy: Hierarchy, png: bytes | None, ocr: Any, classify: Classify) -> Scene:
    """The scene from the hierarchy, completed from pixels where it is blind. Each action's `source` says where its
    control was found (hierarchy / ocr / vision); the scene's `source` is hierarchy, ocr or hierarchy+ocr."""
    ctx = ScreenContext.of(hierarchy)
    scene = classify(ctx)
    if png is None or ocr is None or not needs_pixels(scene):
        return scene
    regions = blind_regions(ctx) or []
    textless = textless_controls(ctx)
    if not regions and not textless:
        return scene
    try:
        extra = read_pixels(ctx, png, ocr, regions, textless, classify)
    except PixelError as error:
        scene.pixel_error = str(error)
        return scene
    if extra is None:
        return scene
    merged = classify(ScreenContext.of(hierarchy, [extra.window]))
    from_pixels = 0
    for control in merged.actions.values():
        control.source = extra.source_of(control.bounds)
        from_pixels += control.source != "hierarchy"
    if merged.actions:
        merged.source = "ocr" if from_pixels == len(merged.actions) else ("hierarchy+ocr" if from_pixels else "hierarchy")
    else:
        merged.source = "hierarchy+ocr"
    if merged.source != "hierarchy":
        merged.confidence = round(merged.confidence * extra.score, 3)
        if merged.dialog_bounds is None and extra.dialog is not None and merged.kind not in ("app", "splash_ad"):
            merged.dialog_bounds = extra.dialog
    return merged
