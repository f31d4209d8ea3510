"""What the app does after a permission is denied: quits, blocks use, asks again, or asks for something else."""

from __future__ import annotations

import itertools
from collections import Counter

from crawler.detectors.context import DetectorContext
from crawler.detectors.finding import Finding
from crawler.detectors.timeline import Ask, Denial, Timeline, is_feature
from crawler.trace import Act, Obs, SceneKind

BLOCKING_ROLES = frozenset({"grant", "settings", "exit", "ok"})  # a nag offering only these blocks use
NOTICE_ROLES = frozenset({"exit", "ok"})  # "no permission, the app will close [OK]": tapping it is not our choice
LINE_LIMIT, LINES = 120, 8
EVIDENCE_LIMIT = 60


def _lines(obs: Obs) -> list[str]:
    """What the dialog says: the lines perception read inside the dialog's bounds (traces recorded before it knew
    them: the first lines of the screen)."""
    inside = obs.scene.get("dialog_text") if isinstance(obs.scene, dict) else None
    lines = inside if isinstance(inside, list) and inside else obs.text
    return [" ".join(str(line).split())[:LINE_LIMIT] for line in lines[:LINES]]


def _options(obs: Obs) -> list[str]:
    return [f"{role}: {str(c.get('text', ''))[:40]}".rstrip(": ") for role, c in sorted(obs.actions.items())]


def forced_notice_tap(tl: Timeline, act: Act) -> bool:
    """Our tap on the only button of an app dialog that offers nothing but exit / OK."""
    if act.scene != SceneKind.RATIONALE_DIALOG or act.role not in NOTICE_ROLES:
        return False
    before = tl.obs_before(act.seq)
    return before is not None and bool(before.actions) and set(before.actions) <= NOTICE_ROLES


def quit_on_refusal(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "quit_on_refusal"
    window = ctx.threshold(kind, "window_s")
    findings = []
    for denial in tl.denials:
        gone = tl.exit_after(denial.seq, window, pass_through=lambda a: forced_notice_tap(tl, a))
        if gone is None:
            continue
        shown = [o.seq for o in tl.obs_between(denial.seq, gone.seq + 1)]
        steps = [s for s in (denial.dialog_seq, denial.seq) if s is not None] + shown + list(gone.via) \
            + list(gone.evidence)
        confidence = {"crashed": 0.95, "died": 0.95, "backgrounded": 0.85}[gone.type] - (0.1 if gone.via else 0.0)
        metrics = {"seconds_to_exit": round(max(0.0, gone.t - denial.t), 1), "exit_type": gone.type,
                   "permission": denial.group, "front_package": gone.front_package, "via_dialog": bool(gone.via)}
        findings.append(ctx.finding(kind, denial.seq, steps, metrics, confidence))
    return findings


def _latest(items: list, seq: int):
    before = [i for i in items if i.seq < seq]
    return before[-1] if before else None


def _denial_in_force(tl: Timeline, group: str, seq: int) -> Denial | None:
    """The latest denial of group before seq that no clear_data has wiped since."""
    denial = _latest([d for d in tl.denials if d.group == group], seq)
    if denial is None:
        return None
    if any(a.type == "clear_data" for a in tl.actions_between(denial.seq, seq)):
        return None
    return denial


def refusal_loop(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "refusal_loop"
    blocking: dict[str, list[tuple[Obs, Denial]]] = {}
    nags = {o.seq: o for o in tl.observations if o.kind == SceneKind.RATIONALE_DIALOG}
    for ask in tl.asks:
        if ask.how != "nag" or ask.user_triggered:
            continue
        obs = nags[ask.seq]
        if not obs.actions or not set(obs.actions) <= BLOCKING_ROLES:
            continue
        denial = _denial_in_force(tl, ask.group, ask.seq) if ask.group != "unknown" else _latest(tl.denials, ask.seq)
        if denial is None:
            continue
        since = max([denial.seq] + [a.seq for a in tl.launch_actions if a.seq < ask.seq])
        if any(is_feature(a) for a in tl.actions_between(since, ask.seq)):
            continue  # the user went for a feature: a dialog blocking that feature is not blocking the app
        blocking.setdefault(ask.group, []).append((obs, denial))
    findings = []
    for group, shown in sorted(blocking.items(), key=lambda kv: kv[1][0][0].seq):
        first, denial = shown[0]
        steps = [s for s in (denial.dialog_seq, denial.seq) if s is not None] + [o.seq for o, _ in shown[:EVIDENCE_LIMIT]]
        metrics = {"permission": group, "dialog_text": _lines(first), "options": _options(first),
                   "times_shown": len(shown)}
        findings.append(ctx.finding(kind, first.seq, steps, metrics, 0.85 * min(1.0, first.confidence)))
    return findings


def reprompt_after_refusal(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "reprompt_after_refusal"
    store_window = ctx.threshold(kind, "store_window_h") * 3600
    counted: dict[str, list[tuple[Ask, Denial]]] = {}
    triggered: Counter = Counter()
    for ask in tl.asks:
        if ask.group == "unknown":
            continue
        denial = _denial_in_force(tl, ask.group, ask.seq)
        if denial is None:
            continue
        if ask.user_triggered:
            triggered[ask.group] += 1
            continue
        counted.setdefault(ask.group, []).append((ask, denial))
    findings = []
    for group, pairs in sorted(counted.items(), key=lambda kv: kv[1][0][1].seq):
        if len(pairs) < ctx.threshold(kind, "min_count"):
            continue
        asks = [a for a, _ in pairs]
        first_denial = pairs[0][1]
        times = [first_denial.t] + [a.t for a in asks]
        intervals = [b - a for a, b in itertools.pairwise(times)]
        hows = Counter(a.how for a in asks)
        per_launch = Counter(str(a.launch) for a in asks)
        denials = sorted({d.seq for _, d in pairs} | {d.dialog_seq for _, d in pairs if d.dialog_seq is not None})
        steps = denials[:EVIDENCE_LIMIT] + [a.seq for a in asks[:EVIDENCE_LIMIT]]
        metrics = {
            "permission": group, "count": len(asks), "system_dialogs": hows["dialog"], "suppressed": hows["suppressed"],
            "nags": hows["nag"], "min_interval_s": round(min(intervals), 1),
            "per_launch": dict(sorted(per_launch.items(), key=lambda kv: int(kv[0]))),
            "within_48h": sum(1 for a, d in pairs if a.t - d.t <= store_window),
            "after_user_action": triggered[group],
        }
        confidence = 0.9 if hows["dialog"] or hows["nag"] else 0.75
        findings.append(ctx.finding(kind, asks[0].seq, steps, metrics, confidence))
    return findings


def unrelated_prompt_after_refusal(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "unrelated_prompt_after_refusal"
    window = ctx.threshold(kind, "window_s")
    reported: set[str] = set()
    findings = []
    for denial in tl.denials:
        hits: dict[str, Ask] = {}
        relaunched = False
        for ask in tl.asks:
            if ask.seq <= denial.seq or ask.t - denial.t > window:
                continue
            if ask.how == "suppressed" or ask.user_triggered or ask.group in (denial.group, "unknown"):
                continue
            if ask.group in reported or ask.group in hits:
                continue
            launched = any(a.seq < ask.seq for a in tl.launch_actions if a.seq > denial.seq)
            app_back = any(o.kind != SceneKind.PERMISSION_DIALOG and not tl.is_away(o)
                           for o in tl.obs_between(denial.seq, ask.seq))
            if not (launched or app_back):
                continue  # the next dialog of the same request batch, not a new request after the denial
            hits[ask.group] = ask
            relaunched = relaunched or launched
        if not hits:
            continue
        reported.update(hits)
        asks = sorted(hits.values(), key=lambda a: a.seq)
        steps = [s for s in (denial.dialog_seq, denial.seq) if s is not None] + [a.seq for a in asks]
        metrics = {"denied": denial.group, "permissions": [a.group for a in asks],
                   "seconds_after_denial": {a.group: round(a.t - denial.t, 1) for a in asks}}
        findings.append(ctx.finding(kind, asks[0].seq, steps, metrics, 0.7 if relaunched else 0.8))
    return findings
