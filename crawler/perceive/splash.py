"""Launch-screen ads: a skip control ("跳过 3", "5s 跳过", "Skip", or a skip-like id with no text) and its countdown."""

from __future__ import annotations

from crawler.perceive.context import ScreenContext, control
from crawler.perceive.lexicon import ad_lexicon
from crawler.perceive.scene import Scene
from crawler.screen import Widget

MAX_SKIP_CHARS = 12


def _countdown(ctx: ScreenContext, w: Widget) -> int | None:
    """Seconds on the skip control: in its own label, or in a digit-only label inside / beside it."""
    lex = ad_lexicon()
    m = lex.skip_text.match(ctx.form(w))
    if m:
        digits = m.group(1) or m.group(2)
        if digits:
            return int(digits)
    near = list(w.walk())[1:] + (list(w.parent.children) if w.parent is not None else [])
    for other in near:
        if ctx.in_status_bar(other):
            continue  # the clock or the battery level, not a countdown
        form = ctx.own_form(other).removesuffix("s").strip()
        if form.isdigit() and len(form) <= 2:
            return int(form)
    return None


def _small(ctx: ScreenContext, w: Widget) -> bool:
    sw, sh = ctx.screen[2] - ctx.screen[0], ctx.screen[3] - ctx.screen[1]
    x1, y1, x2, y2 = w.bounds
    return 0 < x2 - x1 < sw * 0.45 and 0 < y2 - y1 < sh * 0.15


def _excluded_id(id_name: str) -> bool:
    name = id_name.casefold()
    return any(bad in name for bad in ad_lexicon().skip_excluded_ids)


SPLASH_MIN_SHARE = 0.6  # a launch ad covers most of the screen


def detect(ctx: ScreenContext) -> Scene | None:
    lex = ad_lexicon()
    widgets = ctx.widgets()
    by_id: Widget | None = None
    by_text: Widget | None = None
    for w in widgets:
        if w.area <= 0:
            continue
        if by_id is None and lex.skip_ids.matches(w.id_name) and not _excluded_id(w.id_name) and _small(ctx, w) \
                and not lex.skip_excluded_words.search(ctx.own_form(w)):
            by_id = w
        form = ctx.own_form(w)
        if by_text is None and form and len(form) <= MAX_SKIP_CHARS and lex.skip_text.match(form) \
                and not lex.skip_excluded_words.search(form) and _small(ctx, w):
            by_text = w
    if by_id is None and by_text is None:
        return _without_skip(ctx)
    screen_forms = [ctx.own_form(w) for w in widgets if w.label]
    if by_id is None:
        # Text alone is weaker: a search history chip can read "跳过广告". Ask for a countdown or an ad context, and
        # refuse pages that are search / history lists.
        if any(lex.splash_excluded.search(f) for f in screen_forms):
            return None
        target = ctx.target_of(by_text)
        countdown = _countdown(ctx, by_text)
        ad_context = any(lex.splash_cues.search(f) for f in screen_forms if f != ctx.own_form(by_text)) or any(
            lex.splash_ids.matches(w.id_name) for w in widgets)
        if countdown is None and not ad_context:
            return None
        confidence = 0.85
    else:
        target = ctx.target_of(by_id)
        countdown = _countdown(ctx, by_text or by_id) if (by_text or by_id) else None
        confidence = 1.0
        if countdown is None and _form_page(ctx, widgets) and not _ad_context(ctx, widgets, screen_forms, by_id):
            return None  # a sign-up or onboarding page's own Skip, known by its id alone, is no launch ad
    return Scene(
        kind="splash_ad",
        package=target.package,
        actions={"skip": control(ctx, target)},
        countdown=countdown,
        confidence=confidence,
        dialog_bounds=None,  # a splash covers the screen
    )


def _form_page(ctx: ScreenContext, widgets: list[Widget]) -> bool:
    """A page asking the user for something: input fields, or sign-up / log-in words."""
    lex = ad_lexicon()
    return any("EditText" in w.cls for w in widgets) or any(
        w.label and lex.splash_not_with.search(ctx.own_form(w)) for w in widgets)


def _ad_context(ctx: ScreenContext, widgets: list[Widget], forms: list[str], skip: Widget) -> bool:
    lex = ad_lexicon()
    from crawler.perceive.ad_sdks import ad_sdk_registry

    if ad_sdk_registry().by_view_id(skip.id_name) is not None:
        return True
    return any(lex.splash_cues.search(f) for f in forms) or any(
        lex.splash_ids.matches(w.id_name) for w in widgets if w is not skip)


def _without_skip(ctx: ScreenContext) -> Scene | None:
    """A launch ad that offers no skip at all: a splash container covering the screen that carries an ad label."""
    lex = ad_lexicon()
    for w in ctx.widgets():
        if "splash" not in w.id_name.lower() or w.area < ctx.screen_area * SPLASH_MIN_SHARE:
            continue
        labels = [ctx.own_form(x) for x in w.walk() if x.label]
        if any(lex.ad_cues.search(f) or lex.splash_cues.search(f) for f in labels if len(f) <= 8):
            return Scene(kind="splash_ad", package=w.package, actions={}, confidence=0.7, dialog_bounds=None)
    return None
