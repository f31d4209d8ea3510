"""The app's own permission explanation or nag: "需要位置权限", "去设置", "Permission denied", "Go to Settings"."""

from __future__ import annotations

from crawler.perceive.context import ScreenContext, choices, control, dialog_bounds
from crawler.perceive.lexicon import permission_lexicon, rationale_lexicon
from crawler.perceive.permission import group_of
from crawler.perceive.scene import Scene
from crawler.screen import Widget


def cue_widget(ctx: ScreenContext) -> Widget | None:
    lex = rationale_lexicon()
    perm = permission_lexicon()
    if not ctx.mentions(lex.cues, lex.cue_patterns, perm.titles):
        return None
    for w in ctx.widgets():
        form = ctx.own_form(w)
        if not form:
            continue
        if lex.cues.search(form) or lex.cue_patterns.search(form):
            return w
        # An app-drawn copy of the system question ("Allow X to access your location?") is a pre-permission nag.
        if not w.clickable and perm.titles.search(form) and group_of(form, perm):
            return w
    return None


def detect(ctx: ScreenContext) -> Scene | None:
    lex = rationale_lexicon()
    cue = cue_widget(ctx)
    if cue is None:
        return None
    window = ctx.window_of(cue)
    targets = ctx.targets(window) if window is not None else ctx.targets()
    actions = choices(ctx, targets, lex.buttons, lex.max_button_chars)
    if not actions:
        return None
    group = group_of(ctx.own_form(cue))
    if group is None:
        for w in (window.widgets() if window is not None else ctx.widgets()):
            if w.label and not w.clickable:
                group = group_of(ctx.own_form(w))
                if group:
                    break
    return Scene(
        kind="rationale_dialog",
        package=cue.package,
        permission=group,
        actions={role: control(ctx, w) for role, w in actions.items()},
        confidence=0.85 if len(actions) > 1 else 0.7,
        dialog_bounds=dialog_bounds(ctx, [cue, *actions.values()]),
    )
