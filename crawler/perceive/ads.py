"""Modal ad pop-ups and promotion prompts (update, rating, notification, youth mode), each with its close control.

Promotion prompts are reported as ad_popup: they are modal, they are not the app's content, and the refusing move is
the same (close = their dismiss choice, "以后再说" / "暂不开启"; cta = the promoted action).
"""

from __future__ import annotations

import re

from crawler.perceive import pixel_ads
from crawler.perceive.context import ScreenContext, choices, common_ancestor, control, dialog_bounds
from crawler.perceive.lexicon import ad_lexicon
from crawler.perceive.matching import RoleTable, match_form
from crawler.perceive.scene import Scene
from crawler.screen import Widget, area

CLOSE_MAX_FRACTION = 0.15  # a close control is at most this wide, as a fraction of the screen width
COUNTDOWN = re.compile(r"^(?:关闭\s?)?(\d{1,2})\s?(?:s|秒|秒后关闭|秒后可关闭)?$")


def centred_card(ctx: ScreenContext, b: tuple[int, int, int, int]) -> bool:
    """A pop-up card stands free of the screen edges, centred; a feed item or a list section spans the width."""
    sw = ctx.screen[2] - ctx.screen[0]
    left, right = b[0] - ctx.screen[0], ctx.screen[2] - b[2]
    return left >= sw * 0.04 and right >= sw * 0.04 and abs(left - right) <= sw * 0.1


def _is_close(ctx: ScreenContext, w: Widget) -> bool:
    lex = ad_lexicon()
    sw = ctx.screen[2] - ctx.screen[0]
    width = w.bounds[2] - w.bounds[0]
    if w.area <= 0:
        return False
    if lex.close_ids.matches(w.id_name) and width <= sw * 0.3:
        inner = match_form(w.inner_label())
        return not inner or lex.close_texts.matches(inner) or lex.close_descs.matches(inner)
    desc = ctx.own_form(w) if not w.text else ""
    if w.content_desc and lex.close_descs.matches(desc):
        return True
    form = ctx.own_form(w)
    return bool(w.text) and len(form) <= 6 and lex.close_texts.matches(form)


def _close_controls(ctx: ScreenContext) -> list[Widget]:
    found = []
    for w in ctx.widgets():
        if _is_close(ctx, w):
            target = ctx.target_of(w)
            if target not in found:
                found.append(target)
    return found


def _cards(ctx: ScreenContext, cue_widgets: list[Widget]) -> list[Widget]:
    """Containers of ad cues that look like a card: smaller than the screen, larger than a button."""
    cards = []
    for w in cue_widgets:
        for a in w.ancestors():
            share = area(a.bounds) / ctx.screen_area
            if 0.08 <= share <= 0.85 and centred_card(ctx, a.bounds):
                if a not in cards:
                    cards.append(a)
                break
    return cards


def _corner_close(ctx: ScreenContext, card: Widget) -> Widget | None:
    """A small unlabeled clickable in a top corner of the card, or centred just below it (the round X)."""
    sw = ctx.screen[2] - ctx.screen[0]
    cx1, cy1, cx2, cy2 = card.bounds
    cw, ch = cx2 - cx1, cy2 - cy1
    for w in ctx.targets(ctx.window_of(card)):
        if w.inner_label() or w is card:
            continue
        x1, y1, x2, y2 = w.bounds
        width, height = x2 - x1, y2 - y1
        if not (0 < width <= sw * CLOSE_MAX_FRACTION and 0 < height <= sw * CLOSE_MAX_FRACTION):
            continue
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        near_top = cy1 - ch * 0.15 <= my <= cy1 + ch * 0.2
        near_side = mx >= cx2 - cw * 0.2 or mx <= cx1 + cw * 0.2
        below = cy2 - 10 <= y1 <= cy2 + ch * 0.5 and abs(mx - (cx1 + cx2) / 2) <= cw * 0.15
        if (near_top and near_side and cx1 - cw * 0.1 <= mx <= cx2 + cw * 0.1) or below:
            return w
    return None


def _prompt(ctx: ScreenContext) -> Scene | None:
    lex = ad_lexicon()
    forms = None
    for prompt in lex.prompts:
        if not ctx.mentions(prompt.cues):
            continue
        forms = forms or [(w, ctx.own_form(w)) for w in ctx.widgets() if w.label]
        cue = next((w for w, f in forms if not w.clickable and prompt.cues.search(f)), None)
        if cue is None:
            continue
        window = ctx.window_of(cue)
        targets = ctx.targets(window)
        table = RoleTable((("close", prompt.dismiss), ("cta", prompt.cta)))
        actions = choices(ctx, targets, table, 16)
        if "close" not in actions:
            closes = [w for w in _close_controls(ctx) if ctx.window_of(w) is window]
            if not closes:
                continue
            actions["close"] = closes[0]
        return Scene(
            kind="ad_popup",
            package=cue.package,
            permission="notifications" if prompt.name == "notification" else None,
            actions={role: control(ctx, w) for role, w in actions.items()},
            confidence=0.85,
            dialog_bounds=dialog_bounds(ctx, [cue, *actions.values()]),
        )
    return None


def _ad(ctx: ScreenContext) -> Scene | None:
    lex = ad_lexicon()
    if not ctx.mentions(lex.ad_cues):
        return None
    cue_widgets = [w for w in ctx.widgets() if w.label and lex.ad_cues.search(ctx.own_form(w))]
    if not cue_widgets:
        return None
    for close in _close_controls(ctx):
        window = ctx.window_of(close)
        same = [c for c in cue_widgets if ctx.window_of(c) is window]
        if not same:
            continue
        lca = common_ancestor([close, *same])
        modal_window = window is not None and ctx.is_dialog_window(window)
        # A pop-up sits in a card or a dialog window; an in-feed "广告" tag with a close cross fills no card.
        card_like = lca is not None and area(lca.bounds) <= ctx.screen_area * 0.92 and \
            area(lca.bounds) >= ctx.screen_area * 0.08 and centred_card(ctx, lca.bounds)
        if not (modal_window or card_like):
            continue
        return _scene(ctx, close, same, confidence=0.9)
    for card in _cards(ctx, cue_widgets):
        close = _corner_close(ctx, card)
        if close is not None:
            return _scene(ctx, close, cue_widgets, confidence=0.75, card=card)
    return _held_ad(ctx, cue_widgets)


def _held_ad(ctx: ScreenContext, cue_widgets: list[Widget]) -> Scene | None:
    """An ad overlay whose close control is not there yet: only a countdown ("5s", "3 秒") shows where it will be."""
    for cue in cue_widgets:
        window = ctx.window_of(cue)
        if window is None or not ctx.is_dialog_window(window):
            continue
        for w in window.widgets():
            match = COUNTDOWN.match(ctx.own_form(w)) if w.label and not w.clickable else None
            if match and (w.area <= ctx.screen_area * 0.02):
                cta = next((ctx.target_of(c) for c in cue_widgets if ctx.window_of(c) is window
                            and ctx.tappable(ctx.target_of(c))), None)
                actions = {"cta": control(ctx, cta)} if cta is not None else {}
                return Scene(kind="ad_popup", package=cue.package, actions=actions, countdown=int(match.group(1)),
                             confidence=0.8, dialog_bounds=dialog_bounds(ctx, [cue, w]))
    return None


def _scene(ctx: ScreenContext, close: Widget, cues: list[Widget], confidence: float,
           card: Widget | None = None) -> Scene:
    lex = ad_lexicon()
    actions = {"close": control(ctx, close)}
    cta = next((ctx.target_of(c) for c in cues if ctx.target_of(c) is not close
                and ctx.tappable(ctx.target_of(c)) and not lex.close_texts.matches(ctx.form(c))), None)
    if cta is not None:
        actions["cta"] = control(ctx, cta)
    bounds = tuple(card.bounds) if card is not None else dialog_bounds(ctx, [close, *cues])
    return Scene(kind="ad_popup", package=close.package, actions=actions, confidence=confidence,
                 dialog_bounds=bounds)


def detect(ctx: ScreenContext) -> Scene | None:
    # Pixel cues last: a hierarchy (or the OCR window over it) that says "ad" in its structure wins.
    return _prompt(ctx) or _ad(ctx) or pixel_ads.detect(ctx)
