"""From a run directory to the report's view-model (reports.html.view): read the store once, verify it, and turn
steps, findings and the state graph into plain data. No HTML here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.apk import Signer, apk_signers, sha256_file
from crawler.detectors.taxonomy import load_taxonomy
from crawler.errors import UserError
from crawler.graph import build_graph
from crawler.store import DamagedRun, NewerSchema, NotARun, RunStore
from crawler.text_safety import export_text
from crawler.trace import (
    Act,
    ActionType,
    Event,
    EventType,
    Obs,
    Permissions,
    Recovery,
    RunEnd,
    Step,
    StepKind,
    Trace,
)
from reports.graph_svg import GraphPicture, Highlight, Thumb
from reports.html.images import THUMB_WIDTH, ImageCache
from reports.html.localize import end_detail, summary_segments, value_segments
from reports.html.strings import Strings
from reports.html.view import (
    AppView,
    Basis,
    ChainView,
    DeviceView,
    FindingView,
    IndexRow,
    Mark,
    RunView,
    Shot,
    ThresholdView,
    TimelineEntry,
)

MAX_TIMELINE = 30  # steps listed per finding
MAX_SHOTS = 10  # screenshots per finding's timeline
SCREEN_LINES = 4  # lines of screen text shown per observation
LINE_CHARS = 80
METRIC_CHARS = 300
DETAIL_CHARS = 200
MARKED_ACTIONS = (ActionType.TAP, ActionType.LONG_TAP, ActionType.TEXT, ActionType.SWIPE)


class ReportError(UserError):
    """The report cannot be made from this input (no such run, not a run, APK that is not the run's): one line."""


def _text(value: Any, limit: int = LINE_CHARS) -> str:
    return " ".join(export_text(value, limit * 2).split())[:limit]


def _utc(t: Any) -> str:
    try:
        return datetime.fromtimestamp(float(t), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def open_run(run_dir: Path) -> RunStore:
    path = Path(run_dir)
    if not path.exists():
        raise ReportError(f"{path}: no such run directory")
    try:
        return RunStore.open(path)
    except (NotARun, NewerSchema) as exc:
        raise ReportError(str(exc)) from None


# -- app, device, run ---------------------------------------------------------------------------------------------
def _app(start: dict[str, Any], apk: Path | None) -> AppView:
    app = _dict(start.get("app"))
    view = AppView(package=_text(app.get("package"), 200), label=_text(app.get("label"), 120),
                   version_name=_text(app.get("version_name"), 60), version_code=_text(app.get("version_code"), 30),
                   apk_sha256=_text(app.get("apk_sha256"), 64), apk_source=_text(app.get("apk_source"), 20),
                   apk_problem=_text(app.get("apk_problem"), 300))
    raw_version = app.get("version_name")
    view.version_truncated = app.get("version_name_truncated") is True or (
        isinstance(raw_version, str) and len(" ".join(raw_version.split())) > 60)
    view.sdks = _recorded_sdks(app.get("sdks"))
    if apk is None:
        view.signers = _recorded_signers(app.get("signers"))
        if not view.signers:
            view.signer_note = "apk_not_given" if view.apk_sha256 else "apk_not_recorded"
        return view
    if not apk.is_file():
        raise ReportError(f"{apk}: no such APK file")
    actual = sha256_file(apk)
    if not view.apk_sha256:
        raise ReportError(f"{apk}: the run recorded no APK (it was crawled without --apk), so this file cannot be "
                          "tied to it")
    if actual != view.apk_sha256:
        raise ReportError(f"{apk}: sha256 {actual[:12]} is not the run's APK ({view.apk_sha256[:12]})")
    try:
        view.signers = apk_signers(apk)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    view.signer_note = "" if view.signers else "apk_unsigned"
    return view


def _recorded_sdks(value: Any) -> list[str] | None:
    """The ad SDKs the crawl found in the APK's dex, by their registry names (hostile ids: bounded, unknown kept)."""
    if not isinstance(value, list):
        return None
    from crawler.perceive.ad_sdks import ad_sdk_registry

    names = {s.id: s.name for s in ad_sdk_registry().sdks}
    return [names.get(item, _text(item, 60)) for item in value[:64] if isinstance(item, str)]


def _recorded_signers(value: Any) -> list[Signer]:
    """The signing certificates the crawl read from the APK it installed (hostile text: bounded like the rest)."""
    if not isinstance(value, list):
        return []
    fields = Signer.__dataclass_fields__
    return [Signer(**{name: _text(item.get(name), 300) for name in fields}) for item in value[:8] if isinstance(item, dict)]


def _device(start: dict[str, Any]) -> DeviceView:
    d = _dict(start.get("device"))
    return DeviceView(**{name: _text(d.get(name), 160) for name in DeviceView.__dataclass_fields__})


def _chain(store: RunStore) -> ChainView:
    report = store.verify()
    findings = report.findings
    return ChainView(ok=report.ok, chain_ok=report.chain_ok, steps=report.steps, head=report.head,
                     first_bad_seq=report.first_bad_seq, reason=_text(report.reason, 300),
                     blob_problems=[_text(p, 200) for p in report.blob_problems[:20]],
                     findings_state=findings.state, findings_problems=[_text(p, 200) for p in findings.problems[:20]],
                     findings_count=findings.count, detectors=_text(findings.detectors, 60),
                     findings_seq=findings.head_seq)


def _stored_findings(store: RunStore, chain: ChainView) -> list[dict[str, Any]]:
    """The stored findings, shown even when tampered (under the banner that says so); none when never derived."""
    if chain.findings_state == "pending":
        return []
    try:
        return [f for f in store.findings() if isinstance(f, dict)]
    except DamagedRun as exc:
        chain.findings_state = "tampered"
        chain.findings_problems.append(_text(str(exc).removeprefix(f"{store.path}: "), 200))
        return []


def _metrics(trace: Trace, graph) -> list[tuple[str, int]]:
    package = trace.package
    actions = list(trace.actions())
    events = list(trace.events())
    ours = [e for e in events if e.package in ("", package)]
    observations = list(trace.observations())
    return [
        ("steps", len(trace.steps)),
        ("observations", len(observations)),
        ("actions", len(actions)),
        ("taps", sum(a.type in (ActionType.TAP, ActionType.LONG_TAP) for a in actions)),
        ("denials", sum(a.role.startswith("deny") or a.role == "refuse" for a in actions)),
        ("launches", sum(a.type == ActionType.LAUNCH for a in actions)),
        ("states", graph.number_of_nodes()),
        ("transitions", graph.number_of_edges()),
        ("permission_requests", sum(e.type == EventType.PERMISSION_REQUEST for e in events)),
        ("proc_starts", sum(e.type == EventType.PROC_START for e in ours)),
        ("deaths", sum(e.type == EventType.PROC_DIED for e in ours)),
        ("crashes", sum(e.type == EventType.CRASH for e in ours)),
        ("recoveries", sum(1 for _ in trace.of(StepKind.RECOVERY))),
        ("screenshots", len({o.png for o in observations if o.png})),
    ]


# -- findings -----------------------------------------------------------------------------------------------------
def _metric_text(value: Any) -> str:
    if isinstance(value, float):
        value = f"{value:g}"
    elif isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = ", ".join(f"{k}: {v}" for k, v in value.items())
    return _text(value, METRIC_CHARS)


def _mark(bounds: Any, shot: Shot) -> Mark | None:
    if not shot.uri or shot.width <= 0 or shot.height <= 0:
        return None
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 4:
        return None
    try:
        x1, y1, x2, y2 = (float(b) for b in bounds)
    except (TypeError, ValueError):
        return None

    def pct(v: float, whole: int) -> float:
        return round(max(0.0, min(100.0, v * 100.0 / whole)), 2)

    left, top, right, bottom = pct(x1, shot.width), pct(y1, shot.height), pct(x2, shot.width), pct(y2, shot.height)
    if right <= left or bottom <= top:
        return None
    return Mark(left, top, round(right - left, 2), round(bottom - top, 2))


def _permissions_detail(step: Permissions, strings: Strings) -> str:
    """Each permission's state in the page's language (the permission's own name is Android's, shown as is)."""
    perms = step.permissions
    sep = strings.get("value", "list_sep")
    parts = []
    for name, state in list(perms.items())[:6]:
        state = _dict(state)
        flags = [strings.get("value", f) for f in state.get("flags") or [] if f in ("USER_SET", "USER_FIXED")]
        parts.append(f"{str(name).rsplit('.', 1)[-1]}: {strings.get('value', 'granted' if state.get('granted') else 'denied')}"
                     + (f" ({sep.join(flags)})" if flags else ""))
    return _text(sep.join(parts) + (f"{sep}+{len(perms) - 6}" if len(perms) > 6 else ""), DETAIL_CHARS)


def _entry(step: Step, t0: float, key_step: int, strings: Strings) -> TimelineEntry:
    entry = TimelineEntry(seq=step.seq, offset_s=round(step.t - t0, 1), kind=step.kind, key=step.seq == key_step)
    if step.kind == StepKind.OBSERVATION:
        obs = Obs.of(step)
        entry.type = _text(obs.scene.get("kind"), 40)
        entry.permission = _text(obs.permission, 40)
        entry.package, entry.activity = _text(obs.package, 120), _text(obs.activity, 160)
        entry.texts = [_text(line) for line in obs.text[:SCREEN_LINES] if line.strip()]
    elif step.kind == StepKind.ACTION:
        act = Act.of(step)
        entry.type, entry.role = _text(act.type, 40), _text(act.role, 40)
        entry.permission = _text(act.permission, 40)
        entry.texts = [_text(act.target.get("text"))] if act.target.get("text") else []
        entry.detail = _text(act.reason, DETAIL_CHARS) if strings.lang == "en" else ""  # our words, English only
        entry.user_like = act.user_like
    elif step.kind == StepKind.EVENT:
        event = Event.of(step)
        entry.type, entry.package = _text(event.type, 40), _text(event.package, 120)
        entry.device_text = _text(" ".join(x for x in (event.reason, event.component) if x), DETAIL_CHARS)
    elif step.kind == StepKind.RECOVERY:
        recovery = Recovery.of(step)
        entry.type = _text(recovery.type, 40)
        entry.detail = _text(recovery.detail, DETAIL_CHARS) if strings.lang == "en" else ""
    elif step.kind == StepKind.PERMISSIONS:
        entry.device_text = _permissions_detail(Permissions.of(step), strings)
    elif step.kind == StepKind.RUN_END:
        end = RunEnd.of(step)
        entry.type = _text(end.reason, 40)
        entry.detail, raw = end_detail(entry.type, _text(end.detail, DETAIL_CHARS), strings)
        if raw:
            entry.detail, entry.raw_detail = "", entry.detail
    return entry


def _timeline(seqs: list[int], by_seq: dict[int, Step], obs_seqs: list[int], t0: float, key_step: int,
              images: ImageCache, strings: Strings) -> list[TimelineEntry]:
    entries: dict[int, TimelineEntry] = {}
    shots_left = MAX_SHOTS

    def take_shot(obs: Step) -> Shot:
        nonlocal shots_left
        if shots_left <= 0:
            return Shot(missing="omitted")
        shots_left -= 1
        return images.shot(Obs.of(obs).png or "")

    for seq in seqs:
        step = by_seq.get(seq)
        if step is None:
            continue
        entry = entries[seq] = _entry(step, t0, key_step, strings)
        if step.kind == StepKind.OBSERVATION:
            entry.shot = take_shot(step)
        elif step.kind == StepKind.ACTION and (act := Act.of(step)).type in MARKED_ACTIONS:
            bounds = act.target.get("bounds")
            at = bisect.bisect_left(obs_seqs, seq) - 1  # the observation the action was decided on
            if bounds is None or at < 0:
                continue
            before = by_seq[obs_seqs[at]]
            shown = entries.get(before.seq)
            if shown is not None and shown.shot is not None and shown.shot.uri and shown.mark is None:
                shown.mark = _mark(bounds, shown.shot)
            else:
                entry.shot = take_shot(before)
                entry.mark = _mark(bounds, entry.shot)
    return list(entries.values())


def _finding(raw: dict[str, Any], strings: Strings, by_seq: dict[int, Step], obs_seqs: list[int], t0: float,
             images: ImageCache, package: str = "") -> FindingView:
    kind = _text(raw.get("kind"), 60)
    spec = load_taxonomy().kinds.get(kind)
    lang = strings.lang
    title = _dict(raw.get("title")).get(lang) or (spec.title.get(lang) if spec else "") or kind
    summary = raw.get("summary_zh") if strings.is_zh else raw.get("summary")
    steps = sorted({int(s) for s in raw.get("steps") or [] if isinstance(s, int) and not isinstance(s, bool)})
    key_step = raw.get("key_step") if isinstance(raw.get("key_step"), int) else 0
    basis = [Basis(_text(b.get("document"), 200), _text(b.get("item"), 200), _text(b.get("quote"), 600),
                   _text(b.get("status"), 10), _text(b.get("note"), 300))
             for b in (raw.get("basis") or []) if isinstance(b, dict)]
    thresholds = [ThresholdView(t.name, t.default, t.unit, t.source, strings.get("threshold", t.name),
                                strings.get("unit", t.unit), strings.get("threshold_source", t.source))
                  for t in (spec.thresholds if spec else ())]
    metrics = _dict(raw.get("metrics"))
    confidence = raw.get("confidence")
    offset = raw.get("offset_s")
    return FindingView(
        id=_text(raw.get("id"), 120), kind=kind, title=_text(title, 200),
        statement=_text(spec.statement.get(lang, "") if spec else "", 600),
        severity=_text(raw.get("severity") or (spec.severity if spec else "medium"), 10),
        summary=_text(summary, 400),
        summary_parts=[(_text(text, 400), app) for text, app in
                       summary_segments(spec, metrics, package, strings, _text(summary, 400))],
        confidence=float(confidence) if isinstance(confidence, (int, float)) else 0.0,
        offset_s=float(offset) if isinstance(offset, (int, float)) else 0.0, key_step=key_step,
        metrics=[(_text(k, 60), _metric_text(v)) for k, v in list(metrics.items())[:20]],
        metric_parts=[(strings.get("finding_metric", _text(k, 60)),
                       [(_text(text, METRIC_CHARS), app) for text, app in value_segments(str(k), v, strings)])
                      for k, v in list(metrics.items())[:20]],
        basis=basis, thresholds=thresholds,
        timeline=_timeline(steps[:MAX_TIMELINE], by_seq, obs_seqs, t0, key_step, images, strings),
        steps_omitted=max(0, len(steps) - MAX_TIMELINE))


def _highlight(raw: dict[str, Any], by_seq: dict[int, Step]) -> Highlight:
    seqs = {s for s in raw.get("steps") or [] if isinstance(s, int)}
    states = {export_text(Obs.of(by_seq[s]).state) for s in seqs
              if s in by_seq and by_seq[s].kind == StepKind.OBSERVATION}
    return Highlight(frozenset(states), frozenset(seqs))


# -- the whole run ------------------------------------------------------------------------------------------------
def gather_run(run_dir: Path, strings: Strings, apk: Path | None = None) -> RunView:
    with open_run(run_dir) as store:
        try:
            meta = store.meta()
        except DamagedRun:
            meta = {}
        chain = _chain(store)
        trace = store.trace(stop_at_damage=True)  # a damaged run still has its report, the damage named
        chain.damage = _text(store.damage, 200)
        raw_findings = _stored_findings(store, chain)
        images = ImageCache(store.blob)
        start = trace.start
        end = trace.end
        first, last = (trace.steps[0].t, trace.steps[-1].t) if trace.steps else (0.0, 0.0)
        by_seq = {s.seq: s for s in trace.steps}
        obs_seqs = [s.seq for s in trace.steps if s.kind == StepKind.OBSERVATION]
        graph = build_graph(trace)
        highlights = [_highlight(f, by_seq) for f in raw_findings]
        picture = _picture(graph, highlights, images, strings)
        findings = [_finding(f, strings, by_seq, obs_seqs, first, images, _text(trace.package, 200))
                    for f in raw_findings]
        for i, (view, highlight) in enumerate(zip(findings, highlights, strict=True)):
            if picture.shown:
                view.graph_svg = picture.svg(highlight, svg_id=f"graph-f{i}")
        tool = _dict(meta.get("tool")) or _dict(start.get("tool"))
        return RunView(
            run_id=_text(store.path.name, 160), app=_app(start, apk), device=_device(start),
            tool=_text(f"{tool.get('name', 'naysayer')} {tool.get('version', '')}".strip(), 80),
            strategy=_text(start.get("strategy"), 40), seed=_text(start.get("seed"), 20),
            started=_utc(first), ended=_utc(last), duration_s=round(last - first, 1), created=_utc(meta.get("created")),
            end_reason=_text(end.reason if end else "", 40),
            end_detail=_text(end.detail if end else "", DETAIL_CHARS),
            end_detail_shown=end_detail(_text(end.reason if end else "", 40),
                                        _text(end.detail if end else "", DETAIL_CHARS), strings),
            chain=chain, findings=findings, metrics=_metrics(trace, graph),
            graph_svg=picture.svg(None, svg_id="graph-run") if picture.shown else "",
            graph_defs=picture.defs() if picture.shown else "", graph_states=picture.total, graph_shown=picture.shown,
            graph=graph)


def _picture(graph, highlights: list[Highlight], images: ImageCache, strings: Strings) -> GraphPicture:
    keep: set[str] = set().union(*(h.states for h in highlights)) if highlights else set()
    chosen = GraphPicture.choose(graph, keep)
    thumbs = {}
    for state in chosen:
        shot = images.shot(str(graph.nodes[state].get("png") or ""), THUMB_WIDTH)
        if shot.uri:
            thumbs[state] = Thumb(shot.uri, shot.width, shot.height)

    def edge_label(data: dict[str, Any]) -> tuple[str, str]:
        """(the action and its role in the page's language, the tapped control's own text when it has no role)."""
        what = strings.get("action", data.get("type", ""))
        role = data.get("role")
        if role:
            return f"{what} {strings.get('role', role)}".strip(), ""
        return what, str(data.get("text") or "")

    def node_caption(state: str, data: dict[str, Any]) -> list[str]:
        return [strings.get("scene", data.get("scene", "")), str(data.get("activity", "")).rsplit(".", 1)[-1]]

    return GraphPicture(graph, thumbs, edge_label=edge_label, node_caption=node_caption, keep=keep, prefix="g")


def gather_index_row(run_dir: Path, href: str = "") -> IndexRow:
    """One run's line in the lab index; a run that cannot be read becomes a line saying why, not an error."""
    row = IndexRow(run_id=_text(Path(run_dir).name, 160), href=href)
    try:
        store = open_run(run_dir)
    except ReportError as exc:
        row.error, row.href = _text(exc, 300), ""
        return row
    with store:
        start: dict[str, Any] = {}
        first = last = 0.0
        end: RunEnd | None = None
        try:
            for step in store.steps():
                if step.kind == StepKind.RUN_START and not start:
                    start, first = step.data, step.t
                if step.kind == StepKind.RUN_END:
                    end = RunEnd.of(step)
                last = step.t
            status = store.findings_status()
            findings = [f for f in store.findings() if isinstance(f, dict)] if status.derived else []
        except DamagedRun as exc:
            row.error, row.href = _text(exc, 300), ""
            return row
    row.findings_derived = status.derived
    app, device = _dict(start.get("app")), _dict(start.get("device"))
    row.package, row.label = _text(app.get("package"), 200), _text(app.get("label"), 120)
    row.version = _text(app.get("version_name"), 60)
    row.apk_sha256 = _text(app.get("apk_sha256"), 64)
    row.serial = _text(device.get("serial"), 80)
    row.started_t = float(first)
    row.device = _text(" ".join(str(device.get(k) or "") for k in ("model", "rom", "android")), 120)
    row.started, row.duration_s = _utc(first), round(last - first, 1)
    row.end_reason = _text(end.reason if end else "", 40)
    row.findings = len(findings)
    row.by_severity = dict(Counter(_text(f.get("severity"), 10) for f in findings))
    row.kinds = sorted({_text(f.get("kind"), 60) for f in findings})
    return row
