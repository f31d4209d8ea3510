"""Replay a recorded run's strategy decisions on a fresh device, matching widgets by identity, not coordinates.

Only the strategy's own decisions are replayed (action steps with by="strategy"); launches, relaunches and the
refusal watch are the session's and happen again by themselves. A decision whose widget or role is not on screen yet
is retried after a short wait; after MAX_MISSES the replay stops and says which step it could not match.
"""

from __future__ import annotations

from crawler.perceive.scene import Control
from strategies.base import Context, Decision

MAX_MISSES = 5


class ReplayStrategy:
    name = "replay"

    def __init__(self, actions: list[dict]):
        self.actions = [a for a in actions if a.get("by") == "strategy"]
        self.position = 0
        self.misses = 0

    def choose(self, ctx: Context) -> Decision:
        if self.position >= len(self.actions):
            return Decision("stop", reason="replay finished")
        recorded = self.actions[self.position]
        decision = self._match(recorded, ctx)
        if decision is None:
            self.misses += 1
            if self.misses > MAX_MISSES:
                return Decision("stop", reason=f"replay: step {recorded.get('seq', '?')} ({recorded.get('role') or recorded.get('widget')}) not found on screen")
            return Decision("wait", seconds=1.0, reason="replay: waiting for the recorded target")
        self.position += 1
        self.misses = 0
        return decision

    def _match(self, a: dict, ctx: Context) -> Decision | None:
        kind, role, reason = a.get("type", ""), a.get("role", ""), f"replay of step {a.get('seq', '?')}"
        if kind in ("back", "home", "wait", "swipe"):
            return Decision(kind, role=role, seconds=float(a.get("seconds", 0) or 0), direction=a.get("direction", ""),
                            reason=reason, user_like=bool(a.get("user_like", True)))
        if role and role in ctx.scene.actions:
            return Decision(kind, role=role, control=ctx.scene.actions[role], reason=reason, text=a.get("text", ""))
        widget_id = a.get("widget", "")
        if widget_id:
            exact = next((w for w in ctx.widgets if w.identity == widget_id), None)
            base = widget_id.rsplit("#", 1)[0]
            loose = exact or next((w for w in ctx.widgets if w.identity.rsplit("#", 1)[0] == base), None)
            if loose is not None:
                return Decision(kind, control=loose.control, widget=loose.identity, text=a.get("text", ""), reason=reason)
        if role == "consent_checkbox" and ctx.scene.checkboxes:
            box = ctx.scene.checkboxes[0]
            return Decision("tap", role=role, control=Control(box.bounds, box.text), reason=reason)
        return None
