"""Launches the user did not ask for: another app brought up by the app, the app's process starting by itself."""

from __future__ import annotations

from collections import Counter

from crawler.detectors.context import DetectorContext
from crawler.detectors.finding import Finding
from crawler.detectors.timeline import Timeline, is_feature
from crawler.trace import Act, ActionType, Event, EventType, StepKind

# Our actions after which something else in front is our doing (or is judged by another detector).
CRAWLER_CAUSED_TYPES = (ActionType.HOME, ActionType.BACK, ActionType.FORCE_STOP, ActionType.KILL_BACKGROUND,
                        ActionType.CLEAR_DATA)
CRAWLER_CAUSED_ROLES = ("cta", "settings", "close", "skip")  # close/skip that open something: deceptive_close
EVIDENCE_LIMIT = 60


def _caused_by_crawler(tl: Timeline, act: Act | None, t: float) -> bool:
    if act is None:
        return False
    if act.type in CRAWLER_CAUSED_TYPES or act.role in CRAWLER_CAUSED_ROLES or not act.user_like:
        return True
    # A recent tap explains the other app only if what was tapped asks to leave ("打开微信", "Install"); a switch or
    # a list row followed by an app store is the app's doing.
    return is_feature(act) and t - act.t <= tl.user_trigger_window_s and tl.vocab.asks_to_leave(act.target_text)


TIMER_S = 2.0  # a launch this long after our last action, with the app's screen settled in between, came by itself


def _trigger(tl: Timeline, act: Act | None, seq: int, t: float) -> str:
    """What set the launch off, from what happened: our last action, or time passing after it (a timer)."""
    if act is None:
        return "no action"
    if act.type in (ActionType.LAUNCH, ActionType.RELAUNCH):
        return "at " + ("cold " if act.cold else "") + "launch"
    if act.type == ActionType.WAIT:
        return "while idle"
    settled = [o for o in tl.obs_between(act.seq, seq) if not tl.is_away(o)]
    if t - act.t >= TIMER_S and settled:
        return f"by itself, {t - act.t:.0f} s after the last action ({act.describe()})"
    return "after " + act.describe()


def associated_launch(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "associated_launch"
    hits: dict[str, list[tuple[int, str, Act | None]]] = {}
    previous = None
    for s in tl.steps:
        target, source = "", ""
        if s.kind == StepKind.OBSERVATION:
            obs = tl.obs_after(s.seq - 1)
            if tl.is_away(obs) and tl.is_third_party(obs.package) and (previous is None or previous.package != obs.package):
                target, source = obs.package, "screen"
            previous = obs
        elif s.kind == StepKind.EVENT:
            event = Event.of(s)
            if event.type == EventType.ACTIVITY_START and tl.is_caller_app(event.data) \
                    and tl.is_third_party(event.package):
                target, source = event.package, "logcat"
        if not target:
            continue
        act = tl.action_before(s.seq)
        if _caused_by_crawler(tl, act, s.t):
            continue
        hits.setdefault(target, []).append((s.seq, source, act))
    findings = []
    for target, seen in sorted(hits.items(), key=lambda kv: kv[1][0][0]):
        sources = Counter(source for _, source, _ in seen)
        first_seq, _, act = seen[0]
        confidence = 0.95 if len(sources) == 2 else 0.85 if "logcat" in sources else 0.8
        trigger_t = next(st.t for st in tl.steps if st.seq == first_seq)
        metrics = {"target_package": target, "trigger": _trigger(tl, act, first_seq, trigger_t),
                   "count": max(sources.values()),
                   "evidence": sorted(sources)}
        steps = ([act.seq] if act else []) + [seq for seq, _, _ in seen[:EVIDENCE_LIMIT]]
        findings.append(ctx.finding(kind, first_seq, steps, metrics, confidence))
    return findings


def self_start(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "self_start"
    starts = [launch for launch in tl.launches if launch.by == "self" and not tl.in_use_at(launch.seq)]
    if len(starts) < max(1.0, ctx.threshold(kind, "min_starts")):
        return []
    hours = max(tl.run_end_t - tl.run_start_t, 60.0) / 3600.0  # at least a minute, so one start is not "3600/h"
    reasons = dict(sorted(Counter(s.reason for s in starts).items()))
    metrics = {"starts": len(starts), "starts_per_hour": round(len(starts) / hours, 2), "reasons": reasons,
               "observed_hours": round(hours, 3)}
    # a start for an activity with no launch of ours may be another app opening it: weaker than a broadcast/service
    confidence = 0.9 if any(s.reason != "activity" for s in starts) else 0.6
    return [ctx.finding(kind, starts[0].seq, [s.seq for s in starts[:EVIDENCE_LIMIT]], metrics, confidence)]
