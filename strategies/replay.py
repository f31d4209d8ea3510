"""Replay recorded decisions on a fresh device, matching widgets by identity, not coordinates.

Two strategies share one matcher (`match_recorded`):
- `ReplayStrategy` (`naysayer crawl --strategy replay`) repeats every strategy decision of a run, in order.
- `PlannedReplay` (`naysayer reproduce`) follows a plan built from a run's graph (crawler.reproduce): the shortest
  way from a cold start to a finding, waiting (bounded, in device time) for the recorded state before each step and
  dismissing the interruptions the original run dismissed.

Only the strategy's own decisions are replayed; launches, relaunches and the refusal watch are the session's and
happen again by themselves. A recorded action is matched by its dialog role, then its widget identity
(resource-id | class | label), then its target's resource-id or text; its recorded bounds are used only when the
action carries no identity at all, and the decision says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.perceive.scene import Control
from crawler.trace import ActedBy, ActionType
from strategies.base import Decision, StrategyContext

MAX_MISSES = 5
REFUSAL_ROLES = ("deny", "deny_dont_ask", "refuse")
# replayed as they are: nothing on screen to match
PLAIN_TYPES = (ActionType.BACK, ActionType.HOME, ActionType.WAIT, ActionType.SWIPE)


@dataclass(frozen=True)
class Match:
    decision: Decision
    how: str  # role | widget | resource_id | text | bounds | plain


def _plain(a: dict, reason: str) -> Decision:
    return Decision(a.get("type", "wait"), role=a.get("role", "") or "", seconds=float(a.get("seconds", 0) or 0),
                    direction=a.get("direction", "") or "", reason=reason, user_like=bool(a.get("user_like", True)))


def match_recorded(a: dict, ctx: StrategyContext, reason: str = "") -> Match | None:
    """The decision that repeats recorded action `a` on the current screen, or None if its target is not there."""
    kind, role = a.get("type", ""), a.get("role", "") or ""
    reason = reason or f"replay of step {a.get('seq', '?')}"
    text = str(a.get("text", "") or "")
    if kind in PLAIN_TYPES:
        return Match(_plain(a, reason), "plain")
    if role and role in ctx.scene.actions:
        return Match(Decision(kind, role=role, control=ctx.scene.actions[role], reason=reason, text=text), "role")
    if role == "consent_checkbox" and ctx.scene.checkboxes:
        box = ctx.scene.checkboxes[0]
        return Match(Decision(ActionType.TAP, role=role, control=Control(box.bounds, box.text), reason=reason), "role")
    widget_id = a.get("widget", "") or ""
    if widget_id:
        exact = next((w for w in ctx.widgets if w.identity == widget_id), None)
        base = widget_id.rsplit("#", 1)[0]
        loose = exact or next((w for w in ctx.widgets if w.identity.rsplit("#", 1)[0] == base), None)
        if loose is not None:
            return Match(Decision(kind, control=loose.control, widget=loose.identity, text=text, reason=reason),
                         "widget")
    target = a.get("target") if isinstance(a.get("target"), dict) else {}
    rid, label = str(target.get("resource_id", "") or ""), str(target.get("text", "") or "")
    for how, wanted, of in (("resource_id", rid, lambda w: w.control.resource_id),
                            ("text", label, lambda w: w.control.text)):
        if wanted:
            found = next((w for w in ctx.widgets if of(w) == wanted), None)
            if found is not None:
                return Match(Decision(kind, control=found.control, widget=found.identity, text=text, reason=reason),
                             how)
    if role or widget_id or rid or label:
        return None  # it has an identity and that identity is not on screen: never guess by position
    bounds = target.get("bounds")
    if isinstance(bounds, list | tuple) and len(bounds) == 4 and all(isinstance(v, int | float) for v in bounds):
        control = Control(tuple(int(v) for v in bounds), label)
        return Match(Decision(kind, control=control, text=text, reason=reason + " (matched by bounds: no identity)"),
                     "bounds")
    return None


class ReplayStrategy:
    name = "replay"

    def __init__(self, actions: list[dict]):
        self.actions = [a for a in actions if a.get("by") == ActedBy.STRATEGY]
        self.position = 0
        self.misses = 0

    def choose(self, ctx: StrategyContext) -> Decision:
        if self.position >= len(self.actions):
            return Decision(ActionType.STOP, reason="replay finished")
        recorded = self.actions[self.position]
        match = match_recorded(recorded, ctx)
        if match is None:
            self.misses += 1
            if self.misses > MAX_MISSES:
                what = recorded.get("role") or recorded.get("widget")
                return Decision(ActionType.STOP,
                                reason=f"replay: step {recorded.get('seq', '?')} ({what}) not found on screen")
            return Decision(ActionType.WAIT, seconds=1.0, reason="replay: waiting for the recorded target")
        self.position += 1
        self.misses = 0
        return match.decision


# -- following a plan (naysayer reproduce) -------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedStep:
    """One step of the way to a finding, as the original run took it."""

    seq: int  # the recorded step: an action's seq, or the observation reached by time passing
    action: dict[str, Any]  # the recorded action's data ({} when time passed with no action)
    expect: str  # the state key the recording was in before it
    then: str  # the state key the recording reached after it
    auto: bool  # it happens by itself (time passing, a wait, the session's relaunch): only wait for `then`
    essential: bool = False  # part of the finding (a trigger), not only the way there
    offset: float = 0.0  # recorded device seconds from the previous essential step (or the start) to `expect`
    settled: tuple[str, ...] = ()  # states `expect` moved on to by itself in the recording (a toast that went away)


@dataclass
class PlanProgress:
    """What the planned replay did, for the report: a reader of the new run sees it in the decisions' reasons."""

    done: int = 0  # planned steps acted on or passed
    by_bounds: list[int] = field(default_factory=list)  # recorded seqs matched by position only
    off_state: list[int] = field(default_factory=list)  # recorded seqs done although the state key differed
    dismissed: int = 0
    effect_seen: bool = False
    stopped: str = ""


class PlannedReplay:
    """Follow planned steps; wait for the recorded state before each; stop after the finding's trigger and effect.

    Waiting is bounded in device time: a step must be reached within `factor` x the recorded time since the last
    essential step (or the start) plus `slack` seconds. Past that, an action whose target is on screen is done
    anyway (recorded as off-state); otherwise the replay stops and says which step it could not reach."""

    name = "reproduce"

    def __init__(self, steps: list[PlannedStep], effect: str = "", effect_offset: float = 0.0,
                 dismissals: tuple[tuple[str, str, str], ...] = (), watch: float = 10.0, factor: float = 2.0,
                 slack: float = 10.0, poll: float = 1.0, effect_dialog: tuple[str, str] | None = None):
        self.steps = list(steps)
        self.effect, self.effect_offset = effect, effect_offset
        # a dialog is known by its kind and permission: another ROM draws the same request with another state key
        self.effect_dialog = effect_dialog
        self.dismissals = tuple(dismissals)  # (scene kind, role, permission group or "")
        self.watch, self.factor, self.slack, self.poll = watch, factor, slack, poll
        self.position = 0
        self.anchor_t: float | None = None  # device time of the last essential step done (or of the first look)
        self.done_t: float | None = None  # device time the last planned action was done
        self.progress = PlanProgress()

    # -- the loop ---------------------------------------------------------------------------------------------
    def choose(self, ctx: StrategyContext) -> Decision:
        if self.anchor_t is None:
            self.anchor_t = ctx.t
        self._pass_auto_steps(ctx)
        if self.position < len(self.steps):
            return self._next_action(ctx, self.steps[self.position])
        return self._after_plan(ctx)

    def _pass_auto_steps(self, ctx: StrategyContext) -> None:
        """Steps that happen by themselves are passed once the screen shows where they lead (or a later one), or
        once the dialog the next step of ours answers is on screen."""
        reached = None
        for index in range(self.position, len(self.steps)):
            step = self.steps[index]
            if not step.auto:
                if index > self.position and step.action.get("role") in ctx.scene.actions \
                        and self._same_dialog(step, ctx):
                    reached = index - 1
                break
            if ctx.state == step.then:
                reached = index
        else:  # only steps that happen by themselves are left: the finding's dialog may already be on screen
            if self._effect_dialog_shown(ctx):
                reached = len(self.steps) - 1
        if reached is not None:
            self.progress.done += reached + 1 - self.position
            self.position = reached + 1

    def _deadline(self, offset: float) -> float:
        return (self.anchor_t or 0.0) + self.factor * max(0.0, offset) + self.slack

    def _next_action(self, ctx: StrategyContext, step: PlannedStep) -> Decision:
        target = self._next_target()
        late = ctx.t > self._deadline(target.offset)
        if step.auto:
            if late:
                what = f"step {target.seq}" if target.seq >= 0 else "the finding's state"
                return self._stop(f"reproduce: the recorded state before {what} did not appear")
            on_plan = ctx.state in {s.expect for s in self.steps[self.position:]}
            dismissal = None if on_plan else self._dismissal(ctx)
            return dismissal or self._wait(f"reproduce: waiting for the state after step {step.seq}")
        reason = f"reproduce: step {step.seq}" + (" (the finding's trigger)" if step.essential else "")
        match = match_recorded(dict(step.action, seq=step.seq), ctx, reason)
        in_state = ctx.state == step.expect or ctx.state in step.settled or (
            match is not None and match.how == "role" and self._same_dialog(step, ctx))
        if match is not None and (in_state or late):
            return self._act(ctx, step, match, in_state)
        dismissal = self._dismissal(ctx)
        if dismissal is not None:
            return dismissal
        if late:
            return self._stop(f"reproduce: step {step.seq} ({self._describe(step)}) not reached in time")
        return self._wait(f"reproduce: waiting for the state of step {step.seq}")

    def _next_target(self) -> PlannedStep:
        """The next step that is ours to do (its deadline bounds the waits before it), or a stand-in for the effect."""
        for step in self.steps[self.position:]:
            if not step.auto:
                return step
        return PlannedStep(seq=-1, action={}, expect=self.effect, then=self.effect, auto=True,
                           offset=self.effect_offset)

    @staticmethod
    def _same_dialog(step: PlannedStep, ctx: StrategyContext) -> bool:
        """A dialog button is identified by its role: the same kind of dialog for the same permission will do."""
        recorded_scene = step.action.get("scene", "")
        same_permission = (step.action.get("permission") or None) == (ctx.scene.permission or None)
        return recorded_scene == ctx.scene.kind and (same_permission or recorded_scene != "permission_dialog")

    def _act(self, ctx: StrategyContext, step: PlannedStep, match: Match, in_state: bool) -> Decision:
        decision = match.decision
        if match.how == "bounds":
            self.progress.by_bounds.append(step.seq)
        if not in_state:
            self.progress.off_state.append(step.seq)
            decision.reason += " (the screen differs from the recording)"
        self.position += 1
        self.progress.done += 1
        self.done_t = ctx.t
        if step.essential:
            self.anchor_t = ctx.t
        return decision

    def _after_plan(self, ctx: StrategyContext) -> Decision:
        if self.effect:
            if ctx.state == self.effect or self._effect_dialog_shown(ctx):
                self.progress.effect_seen = True
                return self._stop("reproduce: reached the finding's recorded state")
            if ctx.t > self._deadline(self.effect_offset):
                return self._stop("reproduce: the finding's recorded state did not appear in time")
            return self._dismissal(ctx) or self._wait("reproduce: waiting for the finding's recorded state")
        last = self.steps[-1].action if self.steps else {}
        done_t = self.done_t if self.done_t is not None else ctx.t
        if last.get("role") in REFUSAL_ROLES or ctx.t - done_t >= self.watch:
            return self._stop("reproduce: plan done (the session watched after the last refusal)"
                              if last.get("role") in REFUSAL_ROLES else "reproduce: plan done, watched")
        return self._wait("reproduce: watching after the last step")

    def _effect_dialog_shown(self, ctx: StrategyContext) -> bool:
        if self.effect_dialog is None:
            return False
        kind, permission = self.effect_dialog
        return ctx.scene.kind == kind and (ctx.scene.permission or "") == permission

    def _dismissal(self, ctx: StrategyContext) -> Decision | None:
        """Close an interruption (ad, nag, another permission dialog) the way the original run closed it."""
        permission = ctx.scene.permission or ""
        for kind, role, group in self.dismissals:
            if kind == ctx.scene.kind and role in ctx.scene.actions and group in ("", permission):
                self.progress.dismissed += 1
                return Decision(ActionType.TAP, role=role, control=ctx.scene.actions[role],
                                reason=f"reproduce: dismiss {kind} with {role}, as the original run did")
        return None

    def _wait(self, reason: str) -> Decision:
        return Decision(ActionType.WAIT, seconds=self.poll, reason=reason)

    def _stop(self, reason: str) -> Decision:
        self.progress.stopped = reason
        return Decision(ActionType.STOP, reason=reason)

    @staticmethod
    def _describe(step: PlannedStep) -> str:
        a = step.action
        return str(a.get("role") or a.get("widget") or a.get("type") or "time")[:80]
