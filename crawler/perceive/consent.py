"""The app's own privacy-policy consent dialog: accept / refuse / browse-only, and its checkboxes."""

from __future__ import annotations

from crawler.perceive.context import ScreenContext, checkbox, choices, control, dialog_bounds
from crawler.perceive.lexicon import consent_lexicon
from crawler.perceive.scene import Scene
from crawler.screen import Widget

TITLE_CHARS = 40  # a cue in a line this short is a title ("用户协议和隐私政策概要"), not a passing mention


def cue_widget(ctx: ScreenContext) -> tuple[Widget | None, bool]:
    """The first widget naming the privacy policy / terms, and whether it reads as a title."""
    lex = consent_lexicon()
    if not ctx.mentions(lex.cues):
        return None, False
    first = None
    for w in ctx.widgets():
        form = ctx.own_form(w)
        if form and lex.cues.search(form):
            if len(form) <= TITLE_CHARS and not w.clickable:
                return w, True
            first = first or w
    return first, False


def detect(ctx: ScreenContext) -> Scene | None:
    lex = consent_lexicon()
    cue, titled = cue_widget(ctx)
    if cue is None:
        return None
    window = ctx.window_of(cue)
    targets = ctx.targets(window) if window is not None else ctx.targets()
    actions = choices(ctx, targets, lex.buttons, lex.max_button_chars)
    if "accept" not in actions:
        return None
    modal = window is not None and ctx.is_dialog_window(window)
    if not (titled or modal or "refuse" in actions or "browse" in actions):
        return None
    parts: list[Widget] = [cue, *actions.values()]
    if "refuse" not in actions and "browse" not in actions:
        from crawler.perceive.ads import textless_close  # ads reads the same lexicons; imported late to keep it light

        closer = textless_close(ctx, parts)
        if closer is not None and closer not in parts:
            actions["refuse"] = closer  # an icon-only X: declining by closing
            parts.append(closer)
    bounds = dialog_bounds(ctx, parts)
    boxes = [checkbox(ctx, w) for w in (window.widgets() if window is not None else ctx.widgets())
             if w.checkable and w.area > 0]
    confidence = 0.9 if ("refuse" in actions or "browse" in actions) else 0.8
    return Scene(
        kind="consent_dialog",
        package=cue.package,
        actions={role: control(ctx, w) for role, w in actions.items()},
        checkboxes=boxes,
        confidence=confidence,
        dialog_bounds=bounds,
    )
