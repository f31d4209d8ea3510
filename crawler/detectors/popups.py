"""Pop-ups and ads: too many or returning, no working close control, a countdown before closing, a close that opens
something else."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.detectors.context import DetectorContext
from crawler.detectors.finding import Finding
from crawler.detectors.timeline import Timeline
from crawler.trace import Act, ActionType, Event, EventType, Obs, SceneKind, StepKind

AD_KINDS = (SceneKind.SPLASH_AD, SceneKind.AD_POPUP)
CLOSE_ROLES = ("close", "skip")
NAVIGATION_TYPES = (ActionType.LAUNCH, ActionType.RELAUNCH, ActionType.FORCE_STOP, ActionType.CLEAR_DATA,
                    ActionType.HOME, ActionType.KILL_BACKGROUND)
RATE_WINDOW_S = 60.0
TEXT_LIMIT = 60
EVIDENCE_LIMIT = 40


UNLABELLED_HOLD_S = 2.0  # an unlabelled wait for the close control counts from this long
SHORT_LINE = 6  # characters: a close label or a countdown, not what the ad says


def _controls(obs: Obs) -> list[dict]:
    return [obs.actions[r] for r in CLOSE_ROLES if r in obs.actions]


def _ad_identity(obs: Obs) -> tuple:
    """The same ad across observations: its text with the countdown digits blanked, leaving out the short lines
    where a countdown turns into its close control ("5s" -> "关闭", "跳过 3" -> "跳过")."""
    lines = (re.sub(r"\d+", "#", line) for line in obs.text[:16])
    return obs.kind, obs.package, tuple(sorted(line for line in lines if len(line) > SHORT_LINE))


# -- popup_harassment --------------------------------------------------------------------------------------------

def _appearances(tl: Timeline) -> list[Obs]:
    """Each time an app pop-up comes up: a new one, or the same one again after we answered it."""
    shown, previous = [], None
    for obs in tl.observations:
        if obs.kind == SceneKind.AD_POPUP and not tl.is_away(obs):
            answered = previous is not None and any(
                a.role or a.type == ActionType.BACK for a in tl.actions_between(previous.seq, obs.seq)
                if a.type != ActionType.WAIT)
            if previous is None or previous.kind != SceneKind.AD_POPUP or previous.signature() != obs.signature() \
                    or answered:
                shown.append(obs)
        previous = obs
    return shown


def _returned(tl: Timeline, close: Act, popup: Obs, later: list[Obs]) -> Obs | None:
    """The same pop-up shown again on the same screen after we closed it, with no navigation in between."""
    again = next((o for o in later if o.seq > close.seq and o.signature() == popup.signature()), None)
    if again is None:
        return None
    if any(a.type in NAVIGATION_TYPES or a.type == ActionType.BACK and a.scene != SceneKind.AD_POPUP
           for a in tl.actions_between(close.seq, again.seq)):
        return None
    screens = [o for o in tl.obs_between(close.seq, again.seq) if o.kind != SceneKind.AD_POPUP]
    if any(tl.is_away(o) for o in screens):
        return None
    states = {o.state or o.activity for o in screens}
    return again if len(states) <= 1 else None


def popup_harassment(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "popup_harassment"
    shown = _appearances(tl)
    if not shown:
        return []
    times = [o.t for o in shown]
    per_minute = max(sum(1 for t in times if start <= t < start + RATE_WINDOW_S) for start in times)
    returns: list[tuple[Act, Obs]] = []
    for popup in shown:
        close = tl.action_after(popup.seq)
        if close is None or close.scene != SceneKind.AD_POPUP or close.role not in CLOSE_ROLES:
            continue
        again = _returned(tl, close, popup, [o for o in shown if o.seq > close.seq])
        if again is not None:
            returns.append((close, again))
    too_many = per_minute > ctx.threshold(kind, "max_per_minute")
    if not too_many and len(returns) <= ctx.threshold(kind, "max_returns"):
        return []
    steps = [o.seq for o in shown[:EVIDENCE_LIMIT]] + [s for c, a in returns[:EVIDENCE_LIMIT] for s in (c.seq, a.seq)]
    metrics = {"popups": len(shown), "popups_per_minute": per_minute, "returns_after_close": len(returns)}
    key = returns[0][1].seq if returns and not too_many else shown[0].seq
    return [ctx.finding(kind, key, steps, metrics, 0.9 if returns else 0.8)]


# -- ad episodes: splash_ad_no_skip, close_countdown ---------------------------------------------------------------

@dataclass
class AdEpisode:
    kind: str
    shown: list[Obs] = field(default_factory=list)
    taps: list[Act] = field(default_factory=list)  # our taps on its close / skip control
    effective: Act | None = None  # the tap after which it was gone
    end_t: float = 0.0
    end_seq: int = 0

    @property
    def failed_taps(self) -> list[Act]:
        return [t for t in self.taps if t is not self.effective]


def _ad_episodes(tl: Timeline) -> list[AdEpisode]:
    episodes: list[AdEpisode] = []
    current: AdEpisode | None = None
    for obs in tl.observations:
        between = tl.actions_between(current.shown[-1].seq, obs.seq) if current else []
        continues = current is not None and _ad_identity(obs) == _ad_identity(current.shown[-1]) and all(
            a.type == "wait" or (a.role in CLOSE_ROLES and a.scene == current.kind) for a in between)
        if current is not None and continues:
            current.taps += [a for a in between if a.role in CLOSE_ROLES]
            current.shown.append(obs)
            continue
        if current is not None:
            taps = [a for a in between if a.role in CLOSE_ROLES and a.scene == current.kind]
            current.taps += taps
            current.effective = taps[-1] if taps else None
            current.end_t, current.end_seq = obs.t, obs.seq
            episodes.append(current)
            current = None
        if obs.kind in AD_KINDS and not tl.is_away(obs):
            current = AdEpisode(obs.kind, [obs])
    if current is not None:
        current.end_t, current.end_seq = current.shown[-1].t, current.shown[-1].seq
        episodes.append(current)
    return episodes


def _gated(episode: AdEpisode) -> list[Obs]:
    """Observations where a close/skip control was shown but did not work yet (disabled, or our tap failed)."""
    failed_after = {tap.seq for tap in episode.failed_taps}
    gated = []
    for i, obs in enumerate(episode.shown):
        controls = _controls(obs)
        if not controls:
            # Only a countdown where the control will be, or no control at all (an X that shows up seconds later
            # with no label), and the control comes later in the same pop-up: held until then.
            held = (obs.countdown or 0) > 0 or obs.kind == "ad_popup"
            if held and any(_controls(o) for o in episode.shown[i + 1:]):
                gated.append(obs)
            continue
        disabled = all(c.get("enabled", True) is False for c in controls)
        tapped_in_vain = i + 1 < len(episode.shown) and any(obs.seq < s < episode.shown[i + 1].seq for s in failed_after)
        if disabled or (tapped_in_vain and (obs.countdown or 0) > 0):
            gated.append(obs)
    return gated


def close_countdown(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "close_countdown"
    found: list[tuple[AdEpisode, dict]] = []
    for episode in _ad_episodes(tl):
        gated = _gated(episode)
        if not gated:
            continue
        start = episode.shown[0].t
        usable = next((o for o in episode.shown if o.seq > gated[-1].seq and _controls(o)), None)
        closable_t = usable.t if usable else (episode.effective.t if episode.effective else episode.end_t)
        shown = [o.countdown for o in gated if o.countdown]
        countdown = float(max(shown)) if shown else round(closable_t - start, 1)
        if not shown and all(_controls(o) == [] for o in gated) and countdown < UNLABELLED_HOLD_S:
            continue  # a close drawn a moment after the pop-up (layout, an image loading) is no countdown
        if countdown > ctx.threshold(kind, "max_countdown_s"):
            found.append((episode, {"countdown_s": countdown, "seconds_until_closable": round(closable_t - start, 1),
                                    "taps_without_effect": len(episode.failed_taps), "ad_kind": episode.kind}))
    if not found:
        return []
    episode, metrics = found[0]
    metrics["episodes"] = len(found)
    steps = [o.seq for o in episode.shown[:EVIDENCE_LIMIT]] + [t.seq for t in episode.taps[:EVIDENCE_LIMIT]]
    return [ctx.finding(kind, episode.shown[0].seq, steps, metrics, 0.85)]


def splash_ad_no_skip(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "splash_ad_no_skip"
    found: list[tuple[AdEpisode, float]] = []
    for episode in _ad_episodes(tl):
        if _gated(episode):
            continue  # a control that works after a countdown: close_countdown
        if not any(_controls(o) for o in episode.shown):
            # perception may miss a control drawn in pixels only; with text read from pixels it had its chance
            confidence = 0.7 if any(o.scene.get("source", "") != "hierarchy" for o in episode.shown) else 0.6
        elif episode.effective is None and episode.failed_taps:
            confidence = 0.85  # we tapped the control, the ad stayed, and it went away only by other means
        else:
            continue
        found.append((episode, confidence))
    if not found:
        return []
    episode, confidence = found[0]
    metrics = {"ad_kind": episode.kind, "seconds_held": round(episode.end_t - episode.shown[0].t, 1),
               "control_seen": any(_controls(o) for o in episode.shown),
               "taps_without_effect": len(episode.failed_taps), "episodes": len(found)}
    steps = [o.seq for o in episode.shown[:EVIDENCE_LIMIT]] + [t.seq for t in episode.taps[:EVIDENCE_LIMIT]]
    if episode.end_seq and episode.end_seq not in steps:
        steps.append(episode.end_seq)
    return [ctx.finding(kind, episode.shown[0].seq, steps, metrics, confidence)]


# -- deceptive_close ---------------------------------------------------------------------------------------------

def _opened_by(tl: Timeline, tap: Act, ad: Obs, window_s: float) -> tuple[str, int, float] | None:
    """What came up after our close tap, before our next action: (what, step seq, confidence)."""
    for s in tl.steps[tl.seqs.index(tap.seq) + 1:]:
        if s.kind == StepKind.ACTION and Act.of(s).type != ActionType.WAIT or s.kind == StepKind.RUN_END \
                or s.t - tap.t > window_s:
            break
        if s.kind == StepKind.EVENT:
            event = Event.of(s)
            if event.type == EventType.ACTIVITY_START and tl.is_caller_app(event.data) \
                    and tl.is_third_party(event.package):
                return (event.component or event.package)[:TEXT_LIMIT * 2], s.seq, 0.85
        if s.kind != StepKind.OBSERVATION:
            continue
        obs = tl.obs_after(s.seq - 1)
        if tl.is_away(obs) and tl.is_third_party(obs.package):
            return obs.package, obs.seq, 0.9
        if tl.is_app(obs.package) and obs.kind == SceneKind.APP and obs.activity != ad.activity \
                and tl.vocab.is_landing_activity(obs.activity):
            return obs.activity[:TEXT_LIMIT * 2], obs.seq, 0.65
    return None


def deceptive_close(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "deceptive_close"
    window = ctx.threshold(kind, "window_s")
    findings = []
    for tap in tl.actions:
        if tap.role not in CLOSE_ROLES or tap.scene not in AD_KINDS or tap.type != "tap":
            continue
        ad = tl.obs_before(tap.seq)
        if ad is None or ad.kind not in AD_KINDS:
            continue
        opened = _opened_by(tl, tap, ad, window)
        if opened is None:
            continue
        what, seq, confidence = opened
        metrics = {"what_opened": what, "ad_kind": ad.kind, "control_text": tap.target_text[:TEXT_LIMIT]}
        findings.append(ctx.finding(kind, tap.seq, [ad.seq, tap.seq, seq], metrics, confidence))
    return findings
