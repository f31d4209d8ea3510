"""Reproduce a finding: replay the shortest way from a cold start to it on a fresh app state, and judge again.

    plan = plan_reproduction(trace, finding)      # pure: from the recorded trace and its graph, no device
    report = reproduce(run_dir, "quit_on_refusal-10", serial="emulator-5554", runs=3)
    report.reproduced, report.runs[0].run         # 3, Path("runs/20261128-...")

Planning. The finding's own actions (its steps, up to how far its kind needs: crawler/reproduce.yaml) are the
waypoints, together with every earlier refusal of the same permission: the permission state they leave behind
(USER_SET, USER_FIXED) decides which dialog comes next, so a re-ask after two denials needs both. Between waypoints
the plan takes the shortest path in the run's state graph (crawler.graph, plus "time" edges where the screen changed
with no action), using only transitions the run saw before the waypoint it leads to (what came later may depend on
state the run built up later). Transitions that happen by themselves (time passing, a wait, the session's relaunch)
are waited for; the strategy's actions are replayed by widget identity (strategies.replay.PlannedReplay).

Execution. Each attempt is a normal crawl session (crawler.session: force-stop, `pm clear`, which also resets
runtime permissions, logcat, cold launch, the refusal watch, recoveries) driven by the planned replay, recorded as a
normal run whose run_start carries `reproduces: {run, path, finding, kind, attempt, of}`. The detectors then run on
the new run: the finding is reproduced when one of the same kind appears with the same metrics named in
reproduce.yaml (the permission group, for most kinds).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from crawler.crawl import CrawlOptions, run_crawl
from crawler.detectors.finding import Finding
from crawler.errors import UserError
from crawler.graph import build_graph
from crawler.session import REFUSAL_ROLES
from crawler.store import RunStore
from crawler.trace import Act, ActedBy, ActionType, Obs, SceneKind, Step, StepKind, Trace
from strategies.replay import PlannedReplay, PlannedStep

RULES_FILE = Path(__file__).with_name("reproduce.yaml")
UNTIL = ("trigger", "key", "last")
# the session's own bookkeeping, never a way to a state
SKIPPED_ACTIONS = (ActionType.CLEAR_DATA, ActionType.KILL_BACKGROUND)
TIME_EDGE = "time"  # a graph edge where the screen changed with no action
AUTO_TYPES = (TIME_EDGE, ActionType.WAIT, ActionType.LAUNCH, ActionType.RELAUNCH)
ID_LIMIT = 80
# known by kind + permission, any ROM
DIALOG_SCENES = (SceneKind.PERMISSION_DIALOG, SceneKind.RATIONALE_DIALOG, SceneKind.CONSENT_DIALOG)


class NoFindings(UserError):
    """The run has no findings to reproduce."""


class UnknownFinding(UserError):
    """The finding id is not one of the run's findings."""


class CannotPlan(UserError):
    """The run's trace does not show a way from a cold start to the finding."""


class BadOutput(UserError):
    """--out is not a folder the new runs can go in."""


# -- rules (reproduce.yaml) ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KindRule:
    until: str = "last"
    match: tuple[str, ...] = ()
    idle: bool = False


@dataclass(frozen=True)
class Rules:
    kinds: dict[str, KindRule]
    default: KindRule
    dismiss_roles: tuple[str, ...]
    always_dismiss: tuple[tuple[str, str, str], ...]
    factor: float
    slack: float
    poll: float
    min_budget: float

    def of(self, kind: str) -> KindRule:
        return self.kinds.get(kind, self.default)


def _rule(entry: dict[str, Any], base: KindRule) -> KindRule:
    until = str(entry.get("until", base.until))
    if until not in UNTIL:
        raise ValueError(f"{RULES_FILE.name}: until {until!r} is not one of {', '.join(UNTIL)}")
    return KindRule(until, tuple(str(m) for m in entry.get("match", base.match)), bool(entry.get("idle", base.idle)))


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    default = _rule(data.get("default") or {}, KindRule())
    timing = data.get("timing") or {}
    return Rules(kinds={str(k): _rule(v or {}, default) for k, v in (data.get("kinds") or {}).items()},
                 default=default, dismiss_roles=tuple(data.get("dismiss_roles") or ()),
                 always_dismiss=tuple((str(d["scene"]), str(d["role"]), "") for d in data.get("always_dismiss") or ()),
                 factor=float(timing.get("factor", 2.0)), slack=float(timing.get("slack", 10.0)),
                 poll=float(timing.get("poll", 1.0)), min_budget=float(timing.get("min_budget", 60.0)))


# -- finding the finding ------------------------------------------------------------------------------------------
def load_finding(run: Path, finding_id: str) -> tuple[Trace, Finding]:
    """The run's trace and one of its stored findings. Raises NotARun, NoFindings, UnknownFinding."""
    with RunStore.open(Path(run)) as store:
        stored = store.findings()
        if not stored:
            raise NoFindings(f"{run}: the run has no findings to reproduce "
                             "(a clean run, or findings not derived yet: try `naysayer analyze RUN`)")
        wanted = next((f for f in stored if f.get("id") == finding_id), None)
        if wanted is None:
            ids = [str(f.get("id", ""))[:ID_LIMIT] for f in stored]
            shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            raise UnknownFinding(f"{run}: no finding {str(finding_id)[:ID_LIMIT]!r} in this run (its findings: {shown})")
        return store.trace(), Finding.from_json(wanted)


# -- planning -----------------------------------------------------------------------------------------------------
@dataclass
class ReproductionPlan:
    finding: Finding
    package: str
    steps: list[PlannedStep]
    effect: str  # the state key the replay waits for after the last step ("" = only watch)
    effect_offset: float
    effect_seq: int | None
    effect_dialog: tuple[str, str] | None  # (scene kind, permission) when the finding's state is a dialog
    dismissals: tuple[tuple[str, str, str], ...]
    match: dict[str, Any]  # metrics the new finding must share
    budget: float
    idle: float
    quit_window: float
    rules: Rules = field(repr=False, default_factory=load_rules)

    @property
    def waypoints(self) -> list[int]:
        return [s.seq for s in self.steps if s.essential]

    def strategy(self) -> PlannedReplay:
        return PlannedReplay(self.steps, effect=self.effect, effect_offset=self.effect_offset,
                             dismissals=self.dismissals, watch=self.quit_window, factor=self.rules.factor,
                             slack=self.rules.slack, poll=self.rules.poll, effect_dialog=self.effect_dialog)

    def describe(self) -> list[str]:
        """One line per planned step, for people (app text in widget identities is bounded, never markup)."""
        lines = []
        for s in self.steps:
            a = s.action
            what = "time passes" if not a else " ".join(str(x) for x in (a.get("type"), a.get("role") or "",
                                                                        a.get("widget") or "") if x)
            mark = "*" if s.essential else ("~" if s.auto else "-")
            lines.append(f"{mark} #{s.seq} {what[:100]}")
        if self.effect:
            lines.append(f"= #{self.effect_seq} the finding's state")
        return lines


def transition_graph(trace: Trace) -> nx.MultiDiGraph:
    """The run's state graph (crawler.graph) plus a "time" edge wherever the screen changed with no action between
    two observations (a splash that moves on, a dialog on a timer), keyed by the later observation's seq."""
    graph = build_graph(trace)
    previous: Obs | None = None
    acted = False
    for step in trace.steps:
        if step.kind == StepKind.ACTION:
            acted = True
        elif step.kind == StepKind.OBSERVATION:
            obs = Obs.of(step)
            if previous is not None and not acted and previous.state != obs.state:
                graph.add_edge(previous.state, obs.state, key=obs.seq, seq=obs.seq, t=obs.t, type=TIME_EDGE)
            previous, acted = obs, False
    return graph


def _is_way(step: Step | None, data: dict[str, Any]) -> bool:
    """An edge a replay can take: time passing, or an action other than the session's own bookkeeping."""
    if data.get("type") == TIME_EDGE:
        return True
    if step is None or step.kind != StepKind.ACTION:
        return False
    act = Act.of(step)
    if act.type in SKIPPED_ACTIONS:
        return False
    return not (act.by == ActedBy.SESSION and act.type == ActionType.HOME)  # the idle watch


def _shortest(graph: nx.MultiDiGraph, by_seq: dict[int, Step], source: str, target: str,
              limit: int | None) -> list[tuple[str, str, int]] | None:
    """Edges (u, v, seq) of the fewest-steps path; among parallel edges the earliest (closest to a fresh state)."""
    if source == target:
        return []
    simple = nx.DiGraph()
    for u, v, key, data in sorted(graph.edges(keys=True, data=True), key=lambda e: e[2]):
        if u == v or (limit is not None and key > limit) or not _is_way(by_seq.get(key), data):
            continue
        if not simple.has_edge(u, v):
            simple.add_edge(u, v, seq=key)
    try:
        nodes = nx.shortest_path(simple, source, target)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None
    return [(a, b, simple[a][b]["seq"]) for a, b in itertools.pairwise(nodes)]


def _settled(graph: nx.MultiDiGraph, state: str) -> tuple[str, ...]:
    """The states `state` moved on to with no action (time edges, followed on), sorted."""
    seen, todo = set(), [state]
    while todo:
        for _, v, data in graph.out_edges(todo.pop(), data=True):
            if data.get("type") == TIME_EDGE and v != state and v not in seen:
                seen.add(v)
                todo.append(v)
    return tuple(sorted(seen))


def _next_obs(trace: Trace, seq: int) -> Obs | None:
    return next((Obs.of(s) for s in trace.after(seq) if s.kind == StepKind.OBSERVATION), None)


def _obs_before(trace: Trace, seq: int) -> Obs | None:
    before = [s for s in trace.steps if s.seq < seq and s.kind == StepKind.OBSERVATION]
    return Obs.of(before[-1]) if before else None


def _is_strategy_action(step: Step | None) -> bool:
    if step is None or step.kind != StepKind.ACTION:
        return False
    act = Act.of(step)
    return act.by == ActedBy.STRATEGY and act.type != ActionType.WAIT


def _start_observation(trace: Trace) -> Obs:
    launch = next((a for a in trace.actions() if a.type == ActionType.LAUNCH), None)
    first = _next_obs(trace, launch.seq) if launch else next(trace.observations(), None)
    if first is None:
        raise CannotPlan("the run has no observation after its first launch: nothing to start from")
    return first


def _waypoints(trace: Trace, by_seq: dict[int, Step], finding: Finding, rule: KindRule) -> tuple[list[int], int]:
    """The essential actions (sorted seqs) and the cut: the finding step the replay must reach."""
    steps = sorted(s for s in finding.steps if s in by_seq)
    actions = [s for s in steps if _is_strategy_action(by_seq[s])]
    if rule.until == "trigger":
        cut = actions[-1] if actions else finding.key_step
    elif rule.until == "key":
        cut = finding.key_step
    else:
        cut = max(steps, default=finding.key_step)
    essential = {s for s in actions if s <= cut}
    group = finding.metrics.get("permission") or finding.metrics.get("denied")
    if group:
        # the refusals of this permission before the finding set the permission state the finding needs
        cleared = max((a.seq for a in trace.actions() if a.type == ActionType.CLEAR_DATA and a.seq < cut),
                      default=-1)
        essential |= {a.seq for a in trace.actions()
                      if cleared < a.seq < cut and a.by == ActedBy.STRATEGY and a.type != ActionType.WAIT
                      and a.role in REFUSAL_ROLES and a.permission == group}
    return sorted(essential), cut


def _effect(trace: Trace, by_seq: dict[int, Step], cut: int, last_waypoint: int) -> Obs | None:
    """The observation the replay waits for: the cut itself, or the first look after an event/recovery cut."""
    step = by_seq.get(cut)
    if step is None or step.kind == StepKind.ACTION or cut <= last_waypoint:
        return None
    return Obs.of(step) if step.kind == StepKind.OBSERVATION else _next_obs(trace, cut)


def _duration(trace: Trace, by_seq: dict[int, Step], seq: int, quit_window: float) -> float:
    """How long the recorded transition took (plus the refusal watch the session adds after a refusal)."""
    step = by_seq[seq]
    if step.kind == StepKind.OBSERVATION:  # a time edge: from the look before
        before = _obs_before(trace, seq)
        return max(0.0, step.t - before.t) if before else 0.0
    after = _next_obs(trace, seq)
    took = max(0.0, after.t - step.t) if after else 0.0
    return took + (quit_window if Act.of(step).role in REFUSAL_ROLES else 0.0)


def plan_reproduction(trace: Trace, finding: Finding, rules: Rules | None = None) -> ReproductionPlan:
    """The way from a cold start to the finding, as planned steps. Pure: reads the trace only."""
    rules = rules or load_rules()
    rule = rules.of(finding.kind)
    by_seq = {s.seq: s for s in trace.steps}
    settings = trace.start.get("settings") or {}
    quit_window = float(settings.get("quit_window", CrawlOptions.quit_window) or CrawlOptions.quit_window)
    graph = transition_graph(trace)
    edge_of = {key: (u, v) for u, v, key in graph.edges(keys=True)}
    start = _start_observation(trace)
    waypoints, cut = _waypoints(trace, by_seq, finding, rule)
    effect = _effect(trace, by_seq, cut, waypoints[-1] if waypoints else -1)
    if not waypoints and effect is None:
        raise CannotPlan(f"finding {finding.id}: its steps hold no action of ours and no state to reach")

    planned: list[PlannedStep] = []
    here, elapsed = start.state, 0.0
    anchor_t = start.t  # recorded time of the last essential step (or the cold start)

    def offset(t: float) -> float:
        # the path's own recorded durations, or the time the recording took to get there, whichever is longer:
        # pop-ups and re-asks on timers come when they come, however directly the replay walks
        return max(elapsed, t - anchor_t)

    def add_path(target: str, limit: int, what: str) -> None:
        nonlocal elapsed
        path = _shortest(graph, by_seq, here, target, limit) or _shortest(graph, by_seq, here, target, None)
        if path is None:
            raise CannotPlan(f"finding {finding.id}: no recorded way from the cold start to {what}")
        for u, v, seq in path:
            step = by_seq[seq]
            time_edge = step.kind == StepKind.OBSERVATION
            act = None if time_edge else Act.of(step)
            data = {} if time_edge else dict(step.data)  # the recorded action, as the replay strategy reads it
            auto = act is None or act.type in AUTO_TYPES or act.by == ActedBy.SESSION
            planned.append(PlannedStep(seq=seq, action=data, expect=u, then=v, auto=auto, offset=offset(step.t),
                                       settled=() if auto else _settled(graph, u)))
            elapsed += _duration(trace, by_seq, seq, quit_window)

    for seq in waypoints:
        action = by_seq[seq]
        before, after = edge_of.get(seq, (Act.of(action).state, ""))
        add_path(before, seq - 1, f"step {seq}")
        planned.append(PlannedStep(seq=seq, action=dict(action.data), expect=before, then=after, auto=False,
                                   essential=True, offset=offset(action.t), settled=_settled(graph, before)))
        elapsed, anchor_t = _duration(trace, by_seq, seq, quit_window), action.t
        here = after
        if not here and (effect is not None or seq != waypoints[-1]):
            raise CannotPlan(f"finding {finding.id}: the run ended right after step {seq}; nothing follows it")
    effect_state, effect_offset = "", 0.0
    if effect is not None:
        effect_state = effect.state
        add_path(effect_state, effect.seq, f"the finding's state (step {effect.seq})")
        effect_offset = offset(effect.t)

    final = effect if effect is not None else by_seq[waypoints[-1]]
    recorded = max(0.0, final.t - start.t) + quit_window
    idle = float(settings.get("idle", 0.0) or 0.0) if rule.idle else 0.0
    return ReproductionPlan(
        finding=finding, package=trace.package, steps=planned, effect=effect_state, effect_offset=effect_offset,
        effect_seq=effect.seq if effect is not None else None, effect_dialog=_dialog_of(effect), dismissals=_dismissals(trace, rules),
        match={name: finding.metrics.get(name) for name in rule.match},
        budget=max(rules.min_budget, rules.factor * recorded + rules.slack), idle=idle, quit_window=quit_window,
        rules=rules)


def _dialog_of(obs: Obs | None) -> tuple[str, str] | None:
    if obs is None or obs.scene.get("kind") not in DIALOG_SCENES:
        return None
    return obs.kind, obs.permission or ""


def _dismissals(trace: Trace, rules: Rules) -> tuple[tuple[str, str, str], ...]:
    seen: dict[tuple[str, str, str], None] = {}
    for act in trace.actions():
        if act.by == ActedBy.STRATEGY and act.role in rules.dismiss_roles:
            seen[(act.scene, act.role, act.permission or "")] = None
    seen.update(dict.fromkeys(rules.always_dismiss))
    return tuple(seen)


def same_finding(plan: ReproductionPlan, findings: list[Finding]) -> Finding | None:
    """The first new finding of the same kind whose matched metrics (reproduce.yaml) are equal."""
    for candidate in findings:
        if candidate.kind == plan.finding.kind and all(candidate.metrics.get(k) == v for k, v in plan.match.items()):
            return candidate
    return None


# -- running ------------------------------------------------------------------------------------------------------
@dataclass
class AttemptResult:
    attempt: int
    run: Path
    reproduced: bool
    finding: str  # the new finding's id ("" if none)
    end: str  # the session's end reason
    detail: str
    app_version: str
    by_bounds: list[int] = field(default_factory=list)
    off_state: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "run": str(self.run), "reproduced": self.reproduced, "finding": self.finding,
                "end": self.end, "detail": self.detail, "app_version": self.app_version,
                "matched_by_bounds": self.by_bounds, "done_off_state": self.off_state}


@dataclass
class ReproductionReport:
    run: Path
    finding: Finding
    plan: ReproductionPlan
    attempts: list[AttemptResult] = field(default_factory=list)

    @property
    def reproduced(self) -> int:
        return sum(1 for a in self.attempts if a.reproduced)

    @property
    def rate(self) -> float:
        return self.reproduced / len(self.attempts) if self.attempts else 0.0

    def verdict(self) -> str:
        n, k = len(self.attempts), self.reproduced
        return f"reproduced {k}/{n} ({self.rate:.0%})" if k else f"not reproduced 0/{n}"

    def to_json(self) -> dict[str, Any]:
        return {"original": {"run": str(self.run), "finding": self.finding.id, "kind": self.finding.kind,
                             "package": self.finding.package, "app_version": self.finding.app_version},
                "plan": self.plan.describe(), "runs": [a.to_json() for a in self.attempts],
                "reproduced": self.reproduced, "attempts": len(self.attempts), "rate": round(self.rate, 3),
                "verdict": self.verdict()}


def reproduce(run: Path, finding_id: str, *, serial: str, runs: int = 1, out: Path | None = None,
              adb_port: int | None = None, options: CrawlOptions | None = None, device=None,
              on_attempt: Callable[[AttemptResult], None] | None = None) -> ReproductionReport:
    """Replay the way to `finding_id` of `run` on `serial`, `runs` times, each a new run linked to the original.
    `options` gives ocr and the thresholds the new runs are judged with; budget, idle, steps and the quit window
    come from the plan. User errors (NotARun, NoFindings, UnknownFinding, CannotPlan, BadOutput, DeviceError) raise
    before any run is created."""
    from crawler.device import AndroidDevice, adb_client
    from crawler.session import preflight

    if runs < 1:
        raise ValueError(f"--runs {runs}: need at least one run")
    options = options or CrawlOptions()
    options.thresholds()  # a bad --set fails now, before the device is touched
    run = Path(run)
    trace, finding = load_finding(run, finding_id)
    plan = plan_reproduction(trace, finding)
    out = _output_folder(Path(out) if out is not None else run.resolve().parent)
    device = device or AndroidDevice(serial, adb_client(adb_port))
    apk = preflight(device, plan.package)  # the installed APK, recorded in every new run as a crawl records it
    report = ReproductionReport(run, finding, plan)
    # every wait is a step: allow one per poll over the whole budget, besides the planned actions
    steps = int(plan.budget / plan.rules.poll) + 2 * len(plan.steps) + 50
    options = replace(options, strategy="replay", budget=plan.budget, steps=steps, idle=plan.idle,
                      quit_window=plan.quit_window, keep_data=False)
    for attempt in range(1, runs + 1):
        strategy = plan.strategy()
        link = {"run": run.resolve().name, "path": str(run.resolve()), "finding": finding.id, "kind": finding.kind,
                "attempt": attempt, "of": runs}
        crawl = run_crawl(options, device, plan.package, out, apk=apk, strategy=strategy,
                          start_links={"reproduces": link})
        found = same_finding(plan, crawl.findings)
        with RunStore.open(crawl.run) as store:
            version = str(store.trace().app.get("version_name", ""))
        result = AttemptResult(attempt, crawl.run, found is not None, found.id if found else "", crawl.reason,
                               strategy.progress.stopped or crawl.detail, version, list(strategy.progress.by_bounds),
                               list(strategy.progress.off_state))
        report.attempts.append(result)
        if on_attempt is not None:
            on_attempt(result)
    return report


def _output_folder(out: Path) -> Path:
    """The folder the new runs go in, made now: a wrong --out is one line before the device is touched."""
    if out.exists() and not out.is_dir():
        raise BadOutput(f"{out}: is a file; --out names the folder the new runs go in")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadOutput(f"{out}: cannot create the folder for the new runs ({exc.strerror})") from None
    return out
