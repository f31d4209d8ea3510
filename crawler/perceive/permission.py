"""The system runtime-permission dialog, on any ROM: resource-ids and package first, text second."""

from __future__ import annotations

from crawler.perceive.context import ScreenContext, checkbox, control, dialog_bounds
from crawler.perceive.lexicon import PermissionLexicon, permission_lexicon
from crawler.perceive.matching import match_form
from crawler.perceive.scene import Scene
from crawler.screen import Widget, Window

DENY_ROLES = ("deny", "deny_dont_ask")
ALLOW_ROLES = ("allow", "allow_foreground", "allow_once", "allow_always")
SYSTEM_ONLY_ROLES = ("allow_foreground", "allow_once", "allow_always", "deny_dont_ask")  # choices only the system dialog offers


def group_of(form: str, lex: PermissionLexicon | None = None) -> str | None:
    """The permission group a message names. The app name is cut off first where the message format shows it
    ('Allow <app> to ...', '要允许"<app>"...'), so an app called "Camera Notes" asking for location says location."""
    lex = lex or permission_lexicon()
    if not form or lex.special_access.search(form):
        return None
    tail = form
    first = form.find('"')
    if first >= 0:
        second = form.find('"', first + 1)
        if second > first:
            tail = form[second + 1:] or form
    elif form.startswith("allow ") and " to " in form:
        tail = form.split(" to ", 1)[1]
    best: tuple[int, int, str] | None = None
    for group, phrases in lex.groups:
        m = phrases.search(tail)
        if m is not None:
            key = (m.start(), -(m.end() - m.start()), group)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def _text_role(ctx: ScreenContext, w: Widget, lex: PermissionLexicon) -> str | None:
    form = ctx.form(w)
    if not form or len(form) > 60:
        return None
    if w.checkable and lex.dont_ask.matches(form):
        return "dont_ask_checkbox"
    role = lex.buttons.role_of(form)
    if role == "deny" and lex.dont_ask.matches(form):
        role = "deny_dont_ask"
    return role


def _title(ctx: ScreenContext, window: Window, lex: PermissionLexicon) -> Widget | None:
    labels = [w for w in window.widgets() if w.label and not w.clickable]
    for w in labels:
        if lex.titles.search(ctx.form(w)):
            return w
    # Read from pixels, the question wraps over lines that come back one by one ("Allow X to access" / "photos,
    # media, and files on" / "your device?"): try each line with the next two.
    if any(w.source != "hierarchy" for w in labels):
        for i, w in enumerate(labels):
            if lex.titles.search(" ".join(ctx.form(x) for x in labels[i:i + 3])):
                return w
    return None


def _message(ctx: ScreenContext, window: Window) -> Widget | None:
    for w in window.widgets():
        if w.id_name in ("permission_message", "alertTitle", "messagecontent", "message") and w.label:
            return w
    return None


def _candidate(ctx: ScreenContext, window: Window, lex: PermissionLexicon) -> bool:
    """Cheap test before the full look: a permission package, a known id, or lines read from pixels (no package or id
    to go by there: the full look decides by the choices offered)."""
    if window.package in lex.packages or lex.is_system_package(window.package):
        return True
    if any(w.source != "hierarchy" for w in window.root.walk()):
        return True
    return any(w.resource_id and (w.id_name.casefold() in lex.id_roles) for w in window.widgets())


def detect(ctx: ScreenContext) -> Scene | None:
    lex = permission_lexicon()
    for window in reversed(ctx.windows):  # the top-most dialog wins
        if not _candidate(ctx, window, lex):
            continue
        scene = _detect_window(ctx, window, lex)
        if scene is not None:
            return scene
    return None


def _detect_window(ctx: ScreenContext, window: Window, lex: PermissionLexicon) -> Scene | None:
    widgets = list(window.widgets())
    from_pixels = any(w.source != "hierarchy" for w in widgets[:3])
    in_package = window.package in lex.packages or any(w.package in lex.packages for w in widgets[:3])
    by_id: dict[str, Widget] = {}
    has_dialog_id = False
    for w in widgets:
        name = w.id_name.casefold()
        if not name:
            continue
        if name in lex.dialog_ids:
            has_dialog_id = True
        role = lex.id_roles.get(name)
        if role is None or (name in lex.generic_ids and not in_package):
            continue
        if w.area > 0 and w.enabled:
            by_id.setdefault(role, w)
    id_dialog = any(r in by_id for r in DENY_ROLES + ALLOW_ROLES)

    title = _title(ctx, window, lex)
    by_text: dict[str, Widget] = {}
    checkables: list[Widget] = []
    for w in widgets:
        if w.checkable and w.area > 0:
            checkables.append(w)
        if not (ctx.tappable(w) and w.area > 0) or w in by_id.values():
            continue
        role = _text_role(ctx, w, lex)
        if role is not None:
            by_text.setdefault(role, w)
    text_dialog = any(r in by_text for r in DENY_ROLES) and any(r in by_text for r in ALLOW_ROLES)
    # Android 10's "designed for an older version" follow-up offers CANCEL / DENY ANYWAY only.
    followup = in_package and "deny" in by_text and lex.deny_only_followup.matches(ctx.form(by_text["deny"]))

    if id_dialog:
        confidence = 1.0 if in_package else 0.9
    elif text_dialog and in_package and (title is not None or has_dialog_id):
        confidence = 0.95
    elif followup:
        confidence = 0.9
    elif text_dialog and title is not None and lex.is_system_package(window.package):
        confidence = 0.85
    elif text_dialog and from_pixels and (title is not None or any(r in by_text for r in SYSTEM_ONLY_ROLES)):
        # Read from pixels there is no package to trust, but these choices ("仅在使用中允许", "本次运行允许",
        # "Only this time", "拒绝且不再询问") are the system dialog's own, and so is its question ("Allow X to
        # access...?") above an allow / deny pair.
        confidence = 0.8 if title is None else 0.75
    else:
        return None

    actions = {**{r: w for r, w in by_text.items()}, **by_id}  # ids win over texts
    boxes = []
    for w in checkables:
        if w is actions.get("dont_ask_checkbox") or lex.dont_ask.matches(ctx.form(w)):
            actions.setdefault("dont_ask_checkbox", w)
            boxes.append(checkbox(ctx, w))
    message = _message(ctx, window) or title
    group = group_of(ctx.form(message), lex) if message is not None else None
    if group is None and message is not None and from_pixels:  # a question read over several lines
        labels = [w for w in widgets if w.label and not w.clickable]
        start = labels.index(message) if message in labels else 0
        group = group_of(" ".join(ctx.form(w) for w in labels[start:start + 3]), lex)
    if group is None and message is None:
        for w in widgets:
            if w.label and not w.clickable:
                group = group_of(match_form(w.label), lex)
                if group:
                    break
    parts = list(actions.values()) + ([message] if message is not None else [])
    return Scene(
        kind="permission_dialog",
        package=window.package,
        permission=group,
        actions={role: control(ctx, w) for role, w in actions.items()},
        checkboxes=boxes,
        confidence=confidence,
        dialog_bounds=dialog_bounds(ctx, parts),
    )
