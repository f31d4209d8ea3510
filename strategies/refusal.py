"""How naysayer answers every dialog: no.

- System permission dialog: deny; on the second request of the same group use deny-and-don't-ask where the dialog
  offers it (Android 10 button, Android 6-9 checkbox then deny), as a user fed up with the question would.
- Consent: refuse (again on a second-chance dialog). If refusing closed the app, accept on the next launch so the
  rest of the app can be explored; both are recorded. With no refuse option at all, accept (recorded as forced).
- Rationale / nag: an explanation before the first request of its permission is followed through to the system
  dialog (refused there); a nag is dismissed with not-now; one that offers only settings or exit is a refusal loop:
  try back, then settings (and come back), then exit.
- Ads: the real close control; skip on splash ads; wait while a countdown holds the control; back as a last resort.
- System dialogs (app stopped / not responding): close the app.
"""

from __future__ import annotations

from crawler.perceive.scene import Control
from crawler.trace import ActionType
from strategies.base import Decision, StrategyContext

WAIT_STEP = 1.0  # seconds of device time per wait while a countdown holds a close/skip control
MAX_WAITS = 30  # then give up on the control and press back


def _tap(ctx: StrategyContext, role: str, reason: str) -> Decision:
    return Decision(ActionType.TAP, role=role, control=ctx.scene.actions[role], reason=reason)


def _first(ctx: StrategyContext, *roles: str) -> str | None:
    return next((r for r in roles if r in ctx.scene.actions and ctx.scene.actions[r].enabled), None)


def _wait_or_back(ctx: StrategyContext, why: str) -> Decision:
    ctx.history.waits_in_state[ctx.state] += 1
    if ctx.history.waits_in_state[ctx.state] > MAX_WAITS:
        return Decision(ActionType.BACK, reason=f"{why}; no usable control after {MAX_WAITS} s", user_like=True)
    return Decision(ActionType.WAIT, seconds=WAIT_STEP, reason=why)


def permission(ctx: StrategyContext) -> Decision:
    group = ctx.scene.permission or "unknown"
    seen = ctx.history.requests[group]  # counted by the session, this request included
    if seen >= 2:
        if role := _first(ctx, "deny_dont_ask"):
            return _tap(ctx, role, f"second {group} request: deny and don't ask again")
        box = next((c for c in ctx.scene.checkboxes if not c.checked), None)
        if "dont_ask_checkbox" in ctx.scene.actions and box is not None:
            return _tap(ctx, "dont_ask_checkbox", f"second {group} request: tick don't ask again")
    if role := _first(ctx, "deny", "deny_dont_ask"):
        return _tap(ctx, role, f"deny {group}")
    return Decision(ActionType.BACK, reason=f"deny {group}: no deny button found, back denies", role="deny")


def consent(ctx: StrategyContext) -> Decision:
    history = ctx.history
    if history.consent_refusal_exited and (role := _first(ctx, "accept")):
        unchecked = next((c for c in ctx.scene.checkboxes if not c.checked), None)
        if unchecked is not None and history.dialog_attempts[ctx.state] == 0:
            history.dialog_attempts[ctx.state] += 1
            return Decision(ActionType.TAP, role="consent_checkbox", control=Control(unchecked.bounds, unchecked.text),
                            reason="tick the agreement box before accepting")
        return _tap(ctx, role, "refusing consent closed the app: accept this time to explore the rest")
    if role := _first(ctx, "refuse"):
        history.consent_refusals += 1
        return _tap(ctx, role, "refuse the privacy policy")
    if role := _first(ctx, "browse"):
        return _tap(ctx, role, "choose browse-only mode")
    if role := _first(ctx, "accept"):
        return _tap(ctx, role, "no refuse option offered: accepting is the only way on")
    return Decision(ActionType.BACK, reason="consent dialog without recognisable buttons")


def rationale(ctx: StrategyContext) -> Decision:
    attempts = ctx.history.dialog_attempts
    attempts[ctx.state] += 1
    group = ctx.scene.permission
    if group and ctx.history.requests[group] == 0 and attempts[ctx.state] == 1 and (role := _first(ctx, "grant")):
        # An explanation before the first request: go on to the system dialog and refuse there, which is what
        # tests how the app takes a refusal.
        return _tap(ctx, role, f"the app explains {group} before asking: continue, to refuse the system dialog")
    if role := _first(ctx, "not_now", "close"):
        return _tap(ctx, role, "dismiss the app's permission nag")
    if attempts[ctx.state] == 1:
        return Decision(ActionType.BACK, reason="permission nag without a dismiss option: try back")
    if attempts[ctx.state] == 2 and (role := _first(ctx, "settings")):
        return _tap(ctx, role, "permission nag offers only settings or exit: open settings (and come back)")
    if role := _first(ctx, "exit"):
        return _tap(ctx, role, "permission nag offers only settings or exit: exit")
    if role := _first(ctx, "grant"):
        return _tap(ctx, role, "continue to the system dialog (which will be denied)")
    return Decision(ActionType.BACK, reason="permission nag: back")


def advert(ctx: StrategyContext) -> Decision:
    if role := _first(ctx, "skip", "close"):
        return _tap(ctx, role, f"{ctx.scene.kind}: {role}")
    if any(r in ctx.scene.actions for r in ("skip", "close")) or ctx.scene.countdown:
        return _wait_or_back(ctx, f"{ctx.scene.kind}: close control not yet usable (countdown)")
    if ctx.scene.kind == "splash_ad":
        return _wait_or_back(ctx, "splash ad without a skip control: wait for it to end")
    return _wait_or_back(ctx, "ad without a close control: wait")


def system_dialog(ctx: StrategyContext) -> Decision:
    if role := _first(ctx, "close_app", "ok", "wait"):
        return _tap(ctx, role, "dismiss the system dialog")
    return Decision(ActionType.BACK, reason="system dialog: back")


HANDLERS = {
    "permission_dialog": permission,
    "consent_dialog": consent,
    "rationale_dialog": rationale,
    "ad_popup": advert,
    "splash_ad": advert,
    "system_dialog": system_dialog,
}


def answer(ctx: StrategyContext) -> Decision | None:
    """The refusal policy's decision for a dialog scene, or None for an app screen."""
    handler = HANDLERS.get(ctx.scene.kind)
    return handler(ctx) if handler else None
