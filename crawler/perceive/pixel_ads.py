"""Ads seen only in pixels: an interstitial drawn in a WebView, a game engine or a screenshot, read as OCR lines and
vision shapes with no structure around them (no card node, no dialog window, no resource-id).

What real ad pop-ups carry (measured on shared/reference/real/img: AidUI interstitials, Chinese pop-ups):
- a call to action that is a whole line of its own: "INSTALL", "立即下载" (strong: the ad wants an app installed),
  a bare "Download" / "下载" (plain: also the label under an icon of a photo viewer, a video page or a share sheet,
  each with an X of its own), or "Learn more", "查看详情" (soft: ordinary dialogs have such links too);
- a badge: "Ad", "广告", "Sponsored";
- a way out: a small X in a top corner of the screen (full-screen interstitial), on a corner of the dimmed card or
  just below it (the round X under a Chinese pop-up), or a dismiss line ("No thanks", "Skip ad", "关闭广告").
The cues combine so that one alone never makes an ad: a strong call to action needs a way out; a plain one needs a
written way out ("No thanks": a viewer's X is no ad's) or a badge; a soft one needs a badge too; with no way out at
all, a badge and a call to action must span the screen (an interstitial, not a banner row in a list); a dimmed card
with an X at its edge needs an ad word (a bare "Download" or "Learn more" is not one). Vocabulary: crawler/lexicon/ads.yaml
(pixel_ads).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from crawler.perceive.context import ScreenContext, control
from crawler.perceive.lexicon import LEXICON_DIR, LexiconError, ad_lexicon
from crawler.perceive.matching import PhraseSet
from crawler.perceive.scene import Bounds, Scene
from crawler.screen import Widget

CROSS_CLASS = "vision.CloseCross"  # pseudo-widgets made by crawler.perceive.pixels
CARD_CLASS = "vision.Card"
CORNER_HEIGHT = 0.15  # a top-corner X sits in the top 15% of the screen ...
CORNER_WIDTH = 0.2  # ... and within 20% of its left or right edge
SPAN_SHARE = 0.5  # with no way out, the ad's badge and its call to action span at least half the screen height
MAX_CTA_CHARS = 24
_EDGE_SYMBOLS = re.compile(r"^[\W_]+|[\W_]+$")  # "INSTALL NOW →", "▶ Play now!" -> the words


@dataclass(frozen=True)
class PixelAdLexicon:
    install_cta: PhraseSet
    plain_cta: PhraseSet
    soft_cta: PhraseSet
    badges: PhraseSet
    dismiss: PhraseSet
    close_marks: PhraseSet
    not_ad_words: PhraseSet


@functools.cache
def pixel_ad_lexicon() -> PixelAdLexicon:
    import yaml

    path = LEXICON_DIR / "ads.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))["pixel_ads"]
        return PixelAdLexicon(**{name: PhraseSet.of([str(p) for p in data[name]])
                                 for name in PixelAdLexicon.__dataclass_fields__})
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise LexiconError(f"{path}: cannot read the pixel_ads vocabulary: {exc}") from None


def _bare(ctx: ScreenContext, w: Widget) -> str:
    return _EDGE_SYMBOLS.sub("", ctx.own_form(w))


def _centre(b: Bounds) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def _in_top_corner(ctx: ScreenContext, b: Bounds) -> bool:
    sx1, sy1, sx2, sy2 = ctx.screen
    mx, my = _centre(b)
    width = sx2 - sx1
    return my <= sy1 + (sy2 - sy1) * CORNER_HEIGHT and (mx <= sx1 + width * CORNER_WIDTH or
                                                       mx >= sx2 - width * CORNER_WIDTH)


def _at_card_edge(card: Bounds, b: Bounds) -> bool:
    """On a top corner of the card, or centred just below it (the round X under a pop-up)."""
    cx1, cy1, cx2, cy2 = card
    cw, ch = cx2 - cx1, cy2 - cy1
    mx, my = _centre(b)
    near_top = cy1 - ch * 0.15 <= my <= cy1 + ch * 0.2
    near_side = mx >= cx2 - cw * 0.2 or mx <= cx1 + cw * 0.2
    below = cy2 - 10 <= b[1] <= cy2 + ch * 0.5 and abs(mx - (cx1 + cx2) / 2) <= cw * 0.15
    return (near_top and near_side and cx1 - cw * 0.1 <= mx <= cx2 + cw * 0.1) or below


@dataclass
class _Cues:
    lines: list[Widget]
    crosses: list[Widget]
    card: Bounds | None

    @classmethod
    def of(cls, ctx: ScreenContext) -> _Cues:
        pixel = [w for w in ctx.widgets() if w.source != "hierarchy" and ctx.visible(w)]
        cards = [tuple(w.bounds) for w in pixel if w.cls == CARD_CLASS]
        return cls(lines=[w for w in pixel if w.cls != CROSS_CLASS and w.text],
                   crosses=[w for w in pixel if w.cls == CROSS_CLASS], card=cards[0] if cards else None)


def _way_out(ctx: ScreenContext, cues: _Cues, lex: PixelAdLexicon) -> Widget | None:
    """The ad's close control: a vision X where ads put it, else the X glyph OCR read there, else a dismiss line."""
    for cross in cues.crosses:
        if _in_top_corner(ctx, cross.bounds) or (cues.card is not None and _at_card_edge(cues.card, cross.bounds)):
            return cross
    for line in cues.lines:
        if lex.close_marks.matches(_bare(ctx, line) or ctx.own_form(line)) and _in_top_corner(ctx, line.bounds):
            return line
    return next((line for line in cues.lines if lex.dismiss.matches(_bare(ctx, line))), None)


def _first(ctx: ScreenContext, lines: list[Widget], phrases: PhraseSet) -> Widget | None:
    for line in lines:
        form = _bare(ctx, line)
        if form and len(form) <= MAX_CTA_CHARS and phrases.matches(form):
            return line
    return None


def _spans_screen(ctx: ScreenContext, a: Widget, b: Widget) -> bool:
    height = ctx.screen[3] - ctx.screen[1]
    return abs(_centre(a.bounds)[1] - _centre(b.bounds)[1]) >= height * SPAN_SHARE


def detect(ctx: ScreenContext) -> Scene | None:
    """An ad pop-up or interstitial from pixel cues alone, or None. Hierarchy widgets are not looked at: what the
    hierarchy shows is judged by crawler.perceive.ads."""
    cues = _Cues.of(ctx)
    if not cues.lines and not cues.crosses:
        return None
    lex = pixel_ad_lexicon()
    strong = _first(ctx, cues.lines, lex.install_cta)
    plain = _first(ctx, cues.lines, lex.plain_cta)
    soft = _first(ctx, cues.lines, lex.soft_cta)
    badge = _first(ctx, cues.lines, lex.badges)
    exit_ = _way_out(ctx, cues, lex)
    cta = strong or plain or soft
    written_exit = exit_ is not None and exit_.cls != CROSS_CLASS and lex.dismiss.matches(_bare(ctx, exit_))
    if exit_ is not None and (strong is not None or (plain is not None and (written_exit or badge is not None))
                              or (soft is not None and badge is not None)):
        return _scene(ctx, exit_, cta, cues.card, confidence=0.75)
    if exit_ is not None and exit_.cls == CROSS_CLASS and cues.card is not None and _at_card_edge(cues.card,
                                                                                                    exit_.bounds):
        # A dimmed card with an X at its edge: an ad when the card says so ("领取", "红包", "广告", "install"); not
        # when its only such line is one ordinary cards show too (a feature tour's "Learn more", a sheet's "Download").
        ad_words = ad_lexicon().ad_cues
        words = next((w for w in cues.lines if ad_words.search(ctx.own_form(w))
                      and not lex.not_ad_words.matches(_bare(ctx, w))), None)
        if words is not None or badge is not None:
            return _scene(ctx, exit_, cta, cues.card, confidence=0.7)
    if cta is not None and badge is not None and _spans_screen(ctx, badge, cta):
        # No way out drawn yet (it appears after a few seconds on many interstitials): the ad, with its button.
        return Scene(kind="ad_popup", package=cta.package, actions={"cta": control(ctx, cta)}, confidence=0.65,
                     dialog_bounds=cues.card)
    return None


def _scene(ctx: ScreenContext, close: Widget, cta: Widget | None, card: Bounds | None,
           confidence: float) -> Scene:
    actions = {"close": control(ctx, close)}
    if cta is not None and cta is not close:
        actions["cta"] = control(ctx, cta)
    return Scene(kind="ad_popup", package=close.package, actions=actions, confidence=confidence, dialog_bounds=card)
