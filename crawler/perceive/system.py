"""System dialogs that are not permission requests: app stopped, not responding, chooser, home-app picker."""

from __future__ import annotations

from crawler.perceive.context import ScreenContext, choices, control, dialog_bounds
from crawler.perceive.lexicon import system_lexicon
from crawler.perceive.scene import Scene
from crawler.screen import Widget


def detect(ctx: ScreenContext) -> Scene | None:
    lex = system_lexicon()
    for window in reversed(ctx.windows):
        system_package = window.package in lex.packages
        if not system_package:
            continue
        widgets = list(window.widgets())
        cue = next((w for w in widgets if w.label and not w.clickable and lex.cues.search(ctx.own_form(w))), None)
        # Only the android:id/... dialog ids, or ids in the window's own package, mark a system AlertDialog.
        dialog_id = next((w for w in widgets if w.id_name.casefold() in lex.dialog_ids
                          and (w.resource_id.startswith("android:id/")
                               or w.resource_id.startswith(window.package + ":id/"))), None)
        if not system_package or (cue is None and dialog_id is None):
            continue
        targets = ctx.targets(window)
        actions: dict[str, Widget] = {}
        for w in targets:
            role = (lex.id_roles or {}).get(w.id_name.casefold())
            if role is not None:
                actions.setdefault(role, w)
        for role, w in choices(ctx, targets, lex.buttons, 30).items():
            if w not in actions.values():
                actions.setdefault(role, w)
        parts = list(actions.values()) + [w for w in (cue, dialog_id) if w is not None]
        return Scene(
            kind="system_dialog",
            package=window.package,
            actions={role: control(ctx, w) for role, w in actions.items()},
            confidence=1.0 if cue is not None else 0.9,
            dialog_bounds=dialog_bounds(ctx, parts),
        )
    return None
