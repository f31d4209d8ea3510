"""Modal ad pop-ups and promotion prompts (update, rating, notification, youth mode), each with its close control.

Promotion prompts are reported as ad_popup: they are modal, they are not the app's content, and the refusing move is
the same (close = their dismiss choice, "以后再说" / "暂不开启"; cta = the promoted action).
"""

from __future__ import annotations

import re

from crawler.perceive import pixel_ads
from crawler.perceive.ad_sdks import ad_sdk_registry
from crawler.perceive.context import ScreenContext, choices, common_ancestor, control, dialog_bounds
from crawler.perceive.lexicon import ad_lexicon
from crawler.perceive.matching import RoleTable, match_form
from crawler.perceive.scene import Control, Scene
from crawler.screen import Widget, Window, area, intersect

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
        if w.inner_label() or w is card or w.checkable:
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
            popup=prompt.name,
            package=cue.package,
            permission="notifications" if prompt.name == "notification" else None,
            actions={role: control(ctx, w) for role, w in actions.items()},
            confidence=0.85,
            dialog_bounds=dialog_bounds(ctx, [cue, *actions.values()]),
        )
    return None


def _sdk_views(ctx: ScreenContext) -> list[Widget]:
    """Widgets whose resource-id only an ad SDK's layouts use ("ksad_auto_close_btn", "tt_ad_logo")."""
    registry = ad_sdk_registry()
    return [w for w in ctx.widgets() if w.resource_id and registry.by_view_id(w.id_name) is not None]


def _ad(ctx: ScreenContext) -> Scene | None:
    lex = ad_lexicon()
    sdk_views = _sdk_views(ctx)
    if not sdk_views and not ctx.mentions(lex.ad_cues):
        return None
    cue_widgets = [w for w in ctx.widgets() if w.label and lex.ad_cues.search(ctx.own_form(w))]
    cue_widgets += [w for w in sdk_views if w not in cue_widgets]
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
    """An ad overlay whose close control is not there yet: a countdown ("5s", "3 秒") shows where it will be, or
    nothing does (an X that appears after a few seconds with no label): the ad holds the screen meanwhile."""
    for cue in cue_widgets:
        window = ctx.window_of(cue)
        if window is None or not ctx.is_dialog_window(window):
            continue
        cta = next((ctx.target_of(c) for c in cue_widgets if ctx.window_of(c) is window
                    and ctx.tappable(ctx.target_of(c))), None)
        actions = {"cta": control(ctx, cta)} if cta is not None else {}
        for w in window.widgets():
            match = COUNTDOWN.match(ctx.own_form(w)) if w.label and not w.clickable \
                and not ctx.in_status_bar(w) else None
            if match and (w.area <= ctx.screen_area * 0.02):
                return Scene(kind="ad_popup", popup="ad", package=cue.package, actions=actions,
                             countdown=int(match.group(1)), confidence=0.8, dialog_bounds=dialog_bounds(ctx, [cue, w]))
        badge = ad_lexicon().ad_badges
        if cue.label and badge.matches(ctx.own_form(cue)) and window is ctx.windows[-1]:
            # An overlay window with an ad badge ("Ad", "广告") and no way out yet.
            return Scene(kind="ad_popup", popup="ad", package=cue.package, actions=actions, confidence=0.7,
                         dialog_bounds=tuple(window.bounds))
    return None


def _scene(ctx: ScreenContext, close: Widget, cues: list[Widget], confidence: float, card: Widget | None = None) -> Scene:
    lex = ad_lexicon()
    actions = {"close": control(ctx, close)}
    cta = next((ctx.target_of(c) for c in cues if ctx.target_of(c) is not close
                and ctx.tappable(ctx.target_of(c)) and not lex.close_texts.matches(ctx.form(c))), None)
    if cta is None:
        # No cue is tappable: the one button of the pop-up's window besides its close ("CLICK NOW", "Play Now").
        window = ctx.window_of(close)
        region = tuple(card.bounds) if card is not None else dialog_bounds(ctx, [close, *cues])
        buttons = [w for w in ctx.targets(window) if w is not close and ctx.button_like(w) and region is not None
                   and area(intersect(w.bounds, region)) >= w.area * 0.8 and w.area < area(region) * 0.5
                   and not lex.close_texts.matches(ctx.form(w))]
        cta = buttons[0] if len(buttons) == 1 else None
    if cta is not None:
        actions["cta"] = control(ctx, cta)
    bounds = tuple(card.bounds) if card is not None else dialog_bounds(ctx, [close, *cues])
    sdk = next((ad_sdk_registry().by_view_id(c.id_name) for c in cues if c.resource_id
                and ad_sdk_registry().by_view_id(c.id_name)), None)
    return Scene(kind="ad_popup", popup="ad", ad_sdk=sdk.id if sdk else None, package=close.package, actions=actions,
                 confidence=confidence, dialog_bounds=bounds)


# -- structure: an ad SDK's activity in front; a modal with a way out ------------------------------------------------

def _square_small(ctx: ScreenContext, w: Widget) -> bool:
    sw = ctx.screen[2] - ctx.screen[0]
    width, height = w.bounds[2] - w.bounds[0], w.bounds[3] - w.bounds[1]
    return 0 < width <= sw * CLOSE_MAX_FRACTION and 0 < height <= sw * CLOSE_MAX_FRACTION and \
        0.5 <= width / height <= 2.0


def _screen_corner_close(ctx: ScreenContext, window: Window) -> Widget | None:
    """A small, square, unlabelled (or X-labelled) clickable in a top corner of the screen: a full-screen ad's
    close frame (SDK interstitials draw the X in pixels inside a ~96 px frame)."""
    sx1, sy1, sx2, sy2 = ctx.screen
    sw, sh = sx2 - sx1, sy2 - sy1
    corner = []
    for w in ctx.targets(window):
        if not _square_small(ctx, w):
            continue
        label = match_form(w.inner_label())
        if label and not (ad_lexicon().close_texts.matches(label) or ad_lexicon().close_descs.matches(label)):
            continue
        mx, my = (w.bounds[0] + w.bounds[2]) / 2, (w.bounds[1] + w.bounds[3]) / 2
        if my <= sy1 + sh * 0.15 and (mx >= sx2 - sw * 0.25 or mx <= sx1 + sw * 0.25):
            corner.append((0 if mx >= sx2 - sw * 0.25 else 1, my, w))  # top right first
    corner.sort(key=lambda c: (c[0], c[1]))
    return corner[0][2] if corner else None


def _top_window(ctx: ScreenContext) -> Window | None:
    return next((w for w in reversed(ctx.windows) if w.root.source == "hierarchy"), None)


def _sdk_in_front(ctx: ScreenContext) -> Scene | None:
    """An ad SDK's own activity is in front (interstitial, rewarded video, full-screen ad): an ad, whatever it says
    (or does not say). Its close control: an X-like control, else a small square in a top corner."""
    sdk = ad_sdk_registry().by_activity(ctx.hierarchy.activity)
    window = _top_window(ctx)
    if sdk is None or window is None:
        return None
    closes = [w for w in _close_controls(ctx) if ctx.window_of(w) is window]
    close = closes[0] if closes else _screen_corner_close(ctx, window)
    actions = {"close": control(ctx, close)} if close is not None else {}
    countdown = None
    if close is None:
        for w in window.widgets():
            match = COUNTDOWN.match(ctx.own_form(w)) if w.label and not w.clickable \
                and not ctx.in_status_bar(w) else None
            if match and w.area <= ctx.screen_area * 0.02:
                countdown = int(match.group(1))
                break
    return Scene(kind="ad_popup", popup="ad", ad_sdk=sdk.id, package=window.package, actions=actions,
                 countdown=countdown, confidence=0.9, dialog_bounds=tuple(window.bounds))


def _in_list(w: Widget) -> bool:
    return any(a.scrollable or a.cls.endswith(("RecyclerView", "ListView", "GridView", "ViewPager"))
               for a in w.ancestors())


def _floating(ctx: ScreenContext, card: Widget, order: dict[int, int], nodes: list[Widget]) -> bool:
    """Drawn over other content: a node drawn before it, neither its ancestor nor inside it, lies under at least half
    of it (the page below a pop-up, or the dimmed backdrop); and nothing drawn after it covers it."""
    ca = max(1, card.area)
    ancestors = {id(a) for a in card.ancestors()}
    inside = {id(n) for n in card.walk()}
    mine = order[id(card)]
    under = False
    for n in nodes:
        if id(n) in ancestors or id(n) in inside or n.area <= 0:
            continue
        overlap = area(intersect(n.bounds, card.bounds))
        if order[id(n)] < mine:
            under = under or overlap >= ca * 0.5
        elif overlap >= ca * 0.3 and not _square_small(ctx, n):
            return False  # something large is drawn over it: not the top layer
    return under


def _modal_containers(ctx: ScreenContext) -> list[tuple[Widget, Window]]:
    """Pop-up candidates, top window first: a dialog window standing free of the screen edges, else a centred card
    drawn over the page in a full-screen window."""
    window = _top_window(ctx)
    if window is None:
        return []
    share = area(window.bounds) / ctx.screen_area
    if share < 0.85:
        ok = 0.05 <= share and centred_card(ctx, window.bounds)
        return [(window.root, window)] if ok else []
    nodes = list(window.widgets())
    if len(nodes) > 3000:
        return []
    order = {id(n): i for i, n in enumerate(nodes)}
    found = []
    for n in nodes:
        s = area(n.bounds) / ctx.screen_area
        if not (0.08 <= s <= 0.85) or not centred_card(ctx, n.bounds) or _in_list(n):
            continue
        if any(c is n or id(c) in {id(a) for a in n.ancestors()} for c, _ in found):
            continue
        if _floating(ctx, n, order, nodes):
            found.append((n, window))
            if len(found) >= 4:
                break
    return found


def _close_of(ctx: ScreenContext, card: Widget, window: Window) -> Widget | None:
    """The card's way out: an X-like control inside it, at its corner or just below it."""
    x1, y1, x2, y2 = card.bounds
    ch = y2 - y1
    zone = (x1 - (x2 - x1) * 0.1, y1 - ch * 0.25, x2 + (x2 - x1) * 0.1, y2 + ch * 0.5)
    for w in _close_controls(ctx):
        if ctx.window_of(w) is not window:
            continue
        mx, my = (w.bounds[0] + w.bounds[2]) / 2, (w.bounds[1] + w.bounds[3]) / 2
        if zone[0] <= mx <= zone[2] and zone[1] <= my <= zone[3]:
            return w
    return _corner_close(ctx, card)


def _popup_kind(ctx: ScreenContext, card: Widget) -> str:
    lex = ad_lexicon()
    forms = [ctx.own_form(w) for w in card.walk() if w.label]
    registry = ad_sdk_registry()
    if any(lex.ad_cues.search(f) for f in forms) or any(registry.by_view_id(w.id_name) for w in card.walk()
                                                        if w.resource_id):
        return "ad"
    for prompt in lex.prompts:
        if any(prompt.cues.search(f) for f in forms):
            return prompt.name
    if any(lex.promotion_cues.search(f) for f in forms):
        return "promotion"
    return "unknown"


def _modal(ctx: ScreenContext) -> Scene | None:
    """A pop-up known by its structure, whatever its words: a window or card smaller than the screen, over the page,
    with a close control. Its words only say what kind it is; an unknown modal with a way out is never the app."""
    for card, window in _modal_containers(ctx):
        close = _close_of(ctx, card, window)
        if close is None:
            continue
        actions = {"close": control(ctx, close)}
        inside = {id(n) for n in card.walk()}
        cta = [w for w in ctx.targets(window) if id(w) in inside and w is not close and w is not card
               and ctx.button_like(w) and not ad_lexicon().close_texts.matches(ctx.form(w))]
        if len(cta) == 1:
            actions["cta"] = control(ctx, cta[0])
        kind = _popup_kind(ctx, card)
        return Scene(kind="ad_popup", popup=kind, package=window.package, actions=actions,
                     confidence=0.6 if kind == "unknown" else 0.75, dialog_bounds=tuple(card.bounds))
    return None


def detect(ctx: ScreenContext) -> Scene | None:
    # Pixel cues last: a hierarchy (or the OCR window over it) that says "ad" in its structure wins.
    return _sdk_in_front(ctx) or _prompt(ctx) or _ad(ctx) or _modal(ctx) or pixel_ads.detect(ctx)


# -- for a session stuck on a screen it cannot read -------------------------------------------------------------------

def structural_close(hierarchy) -> Control | None:
    """A close control found by its words, id or shape on any screen (an X, ×, 关闭, an id with "close", a small square
    at a card's corner or a top corner of the screen), for a session stuck on a modal nobody named."""
    ctx = ScreenContext.of(hierarchy)
    window = _top_window(ctx)
    if window is None:
        return None
    closes = [w for w in _close_controls(ctx) if ctx.window_of(w) is window]
    if closes:
        return control(ctx, closes[0])
    for card, win in _modal_containers(ctx):
        found = _corner_close(ctx, card)
        if found is not None:
            return control(ctx, found)
    found = _screen_corner_close(ctx, window)
    return control(ctx, found) if found is not None else None


def outside_point(hierarchy, dialog: tuple[int, int, int, int] | None) -> tuple[int, int] | None:
    """A point outside the dialog (its bounds, else the top window when it is smaller than the screen), on the dimmed
    page: above it if there is room, else below it. None when nothing modal is known."""
    ctx = ScreenContext.of(hierarchy)
    if dialog is None:
        window = _top_window(ctx)
        if window is None or area(window.bounds) >= ctx.screen_area * 0.85:
            return None
        dialog = tuple(window.bounds)
    sx1, sy1, sx2, sy2 = ctx.screen
    margin = (sy2 - sy1) * 0.08
    x = (sx1 + sx2) // 2
    if dialog[1] - sy1 >= 2 * margin:
        return x, int(sy1 + max(margin, (dialog[1] - sy1) / 2))
    if sy2 - dialog[3] >= 2 * margin:
        return x, int(dialog[3] + (sy2 - dialog[3]) / 2)
    return None


def textless_close(ctx: ScreenContext, parts: list[Widget]) -> Widget | None:
    """A dialog's way out that says nothing: an X-like control (id, desc, glyph) in the dialog's window, else a small
    unlabelled square at the corner of (or just below) the card holding `parts`. For consent dialogs whose only
    refusal is an icon."""
    window = ctx.window_of(parts[0]) if parts else None
    if window is None:
        return None
    closes = [w for w in _close_controls(ctx) if ctx.window_of(w) is window]
    if closes:
        return closes[0]
    card = common_ancestor(parts)
    if card is None or area(card.bounds) >= ctx.screen_area * 0.9:
        card = window.root if area(window.bounds) < ctx.screen_area * 0.85 else None
    return _corner_close(ctx, card) if card is not None else None
