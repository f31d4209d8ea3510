"""How permissions are requested: all at once at start-up, or without saying what for."""

from __future__ import annotations

from crawler.detectors.context import DetectorContext
from crawler.detectors.finding import Finding
from crawler.detectors.timeline import Ask, Timeline, is_feature
from crawler.trace import Obs, SceneKind

LINE_LIMIT, LINES = 80, 8


def upfront_permission_burst(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "upfront_permission_burst"
    window, needed = ctx.threshold(kind, "window_s"), ctx.threshold(kind, "min_groups")
    bursts: list[tuple[int, list[Ask]]] = []
    launches = [a for a in tl.launch_actions if a.cold]
    for launch in launches:
        later = [a for a in tl.launch_actions if a.seq > launch.seq]
        feature = next((a for a in tl.actions if a.seq > launch.seq and is_feature(a)), None)
        end = min([a.seq for a in later[:1]] + ([feature.seq] if feature else []) + [tl.seqs[-1] + 1])
        asks = [a for a in tl.asks if launch.seq < a.seq < end and a.how == "dialog" and not a.user_triggered
                and a.group != "unknown" and a.t - launch.t <= window]
        first_by_group: dict[str, Ask] = {}
        for ask in asks:
            first_by_group.setdefault(ask.group, ask)
        if len(first_by_group) >= needed:
            bursts.append((launch.seq, list(first_by_group.values())))
    if not bursts:
        return []
    launch_seq, asks = bursts[0]
    launch_t = tl.step(launch_seq).t
    metrics = {"groups": [a.group for a in asks], "count": len(asks),
               "seconds_from_launch": {a.group: round(a.t - launch_t, 1) for a in asks},
               "launches_with_burst": len(bursts)}
    return [ctx.finding(kind, asks[0].seq, [launch_seq] + [a.seq for a in asks], metrics, 0.9)]


def _context_screen(tl: Timeline, seq: int) -> Obs | None:
    """The screen shown just before a permission dialog (skipping the other dialogs of the same burst)."""
    obs = tl.obs_before(seq)
    while obs is not None and tl.is_permission_ui(obs):
        obs = tl.obs_before(obs.seq)
    return obs


def _explains(tl: Timeline, obs: Obs | None, group: str) -> bool:
    if obs is None:
        return False
    if obs.kind == SceneKind.RATIONALE_DIALOG \
            and (obs.permission == group or group in tl.vocab.groups_named(" ".join(obs.text))):
        return True
    return any(group in tl.vocab.groups_named(line) and tl.vocab.states_purpose(line) for line in obs.text)


def no_purpose_explained(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "no_purpose_explained"
    dialogs = {o.seq: o for o in tl.observations if o.kind == SceneKind.PERMISSION_DIALOG}
    findings, reported = [], set()
    for ask in tl.asks:
        if ask.how != "dialog" or ask.user_triggered or ask.group in ("unknown", *reported):
            continue
        dialog = dialogs[ask.seq]
        before = _context_screen(tl, ask.seq)
        launch = next((a for a in reversed(tl.launch_actions) if a.seq < ask.seq), None)
        if before is not None and (tl.is_away(before) or (launch is not None and before.seq < launch.seq)):
            before = None  # the screen before belongs to another app or an earlier launch: the app showed nothing
        if _explains(tl, dialog, ask.group) or _explains(tl, before, ask.group):
            continue
        reported.add(ask.group)
        seen = (before.text if before else [])[:LINES] + dialog.text[:LINES]
        text_seen = [" ".join(line.split())[:LINE_LIMIT] for line in seen]
        # the dialog as the app's first screen: nothing explained it. A previous screen with no text at all may be
        # drawn in pixels only: what it says is unknown, so that case stays below the default confidence floor
        confidence = 0.7 if before is None else 0.8 if before.text else 0.45
        steps = ([before.seq] if before else []) + [ask.seq]
        findings.append(ctx.finding(kind, ask.seq, steps, {"permission": ask.group, "text_seen": text_seen},
                                    confidence))
    return findings
