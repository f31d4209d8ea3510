"""The privacy-consent gate: permissions before consent, exit on refusal, no refuse option, pre-checked boxes."""

from __future__ import annotations

import itertools

from crawler.detectors.context import DetectorContext
from crawler.detectors.finding import Finding
from crawler.detectors.timeline import Timeline
from crawler.trace import Act, Obs, SceneKind

REFUSE_LIKE_ROLES = frozenset({"refuse", "browse", "close", "exit", "not_now"})
TEXT_LIMIT = 80


def _epochs(tl: Timeline) -> list[tuple[int, int]]:
    """Seq ranges between clear_data actions: consent given before a clear_data no longer holds after it."""
    cuts = [a.seq for a in tl.actions if a.type == "clear_data"]
    bounds = [-1] + cuts + [tl.seqs[-1] + 1 if tl.seqs else 0]
    return list(itertools.pairwise(bounds))


def _episodes(tl: Timeline, kind: str) -> list[list[Obs]]:
    """Runs of consecutive observations of one dialog kind (our answers inside a run do not split it)."""
    episodes: list[list[Obs]] = []
    previous: Obs | None = None
    for obs in tl.observations:
        if obs.kind == kind:
            if previous is not None and previous.kind == kind and previous.signature() == obs.signature():
                episodes[-1].append(obs)
            else:
                episodes.append([obs])
        previous = obs
    return episodes


def permission_before_consent(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "permission_before_consent"
    for first, last in _epochs(tl):
        consent_seen = [o for o in tl.obs_between(first, last) if o.kind == SceneKind.CONSENT_DIALOG]
        if not consent_seen:
            continue  # no consent dialog seen at all: perception may have missed it; not reported here
        accept = next((a for a in tl.actions_between(first, last)
                       if a.scene == SceneKind.CONSENT_DIALOG and a.role == "accept"), None)
        limit = accept.seq if accept else last
        asks = [a for a in tl.asks if first < a.seq < limit and a.how == "dialog" and not a.user_triggered]
        if not asks:
            continue
        groups = list(dict.fromkeys(a.group for a in asks))
        seconds = round(accept.t - asks[0].t, 1) if accept else "never accepted"
        steps = [a.seq for a in asks] + [consent_seen[0].seq] + ([accept.seq] if accept else [])
        metrics = {"groups": groups, "seconds_before_consent": seconds, "consent_seen": True}
        return [ctx.finding(kind, asks[0].seq, steps, metrics, 0.9)]
    return []


def consent_refusal_exit(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "consent_refusal_exit"
    window = ctx.threshold(kind, "window_s")
    findings, covered = [], set()
    for act in tl.actions:
        if act.scene != SceneKind.CONSENT_DIALOG or act.role != "refuse" or act.seq in covered:
            continue
        gone = tl.exit_after(act.seq, window,
                             pass_through=lambda a: a.scene == SceneKind.CONSENT_DIALOG
                             and a.role in ("refuse", "consent_checkbox"))
        if gone is None:
            continue
        covered.update(gone.via)
        dialog_before = tl.obs_before(act.seq)
        chain = ([dialog_before] if dialog_before and dialog_before.kind == SceneKind.CONSENT_DIALOG else []) + [
            o for o in tl.obs_between(act.seq, gone.seq + 1) if o.kind == SceneKind.CONSENT_DIALOG]
        browse = sorted({str(o.actions["browse"].get("text", ""))[:TEXT_LIMIT] or "browse"
                         for o in chain if "browse" in o.actions})
        if browse:
            continue  # a browse-only / guest mode was offered: refusing it was our choice
        refusals = 1 + sum(1 for s in gone.via if Act.of(tl.step(s)).role == "refuse")
        steps = [o.seq for o in chain] + [act.seq] + list(gone.via) + list(gone.evidence)
        metrics = {"steps_to_exit": refusals, "seconds_to_exit": round(max(0.0, gone.t - act.t), 1),
                   "exit_type": gone.type, "modes_offered": []}
        findings.append(ctx.finding(kind, act.seq, steps, metrics, 0.85 if gone.type == "backgrounded" else 0.9))
    return findings


def consent_no_refuse_option(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "consent_no_refuse_option"
    for episode in _episodes(tl, SceneKind.CONSENT_DIALOG):
        roles = set().union(*(set(o.actions) for o in episode))
        if "accept" not in roles or roles & REFUSE_LIKE_ROLES:
            continue
        buttons = sorted({f"{str(c.get('text', ''))[:TEXT_LIMIT]}" for o in episode for c in o.actions.values()})
        confidence = 0.85 * min(min(o.confidence for o in episode), 1.0)
        return [ctx.finding(kind, episode[0].seq, [o.seq for o in episode], {"buttons": buttons}, confidence)]
    return []


def consent_prechecked(ctx: DetectorContext) -> list[Finding]:
    tl, kind = ctx.timeline, "consent_prechecked"
    vocab = tl.vocab
    for episode in _episodes(tl, SceneKind.CONSENT_DIALOG):
        first = episode[0]
        boxes = [b for b in first.scene.get("checkboxes") or [] if isinstance(b, dict) and b.get("checked")]
        if not boxes:
            continue
        box = next((b for b in boxes if vocab.is_consent_checkbox(str(b.get("text", "")))), boxes[0])
        text = " ".join(str(box.get("text", "")).split())[:TEXT_LIMIT]
        confidence = 0.9 if vocab.is_consent_checkbox(text) else 0.6
        return [ctx.finding(kind, first.seq, [first.seq], {"widget": text or "(unlabelled checkbox)"}, confidence)]
    return []
