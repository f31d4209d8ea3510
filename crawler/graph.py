"""The state-transition graph, computed from a trace (never held by the explorer).

Nodes are the state keys seen in observations, with: package, activity, scene (kind), first_seq, last_seq, visits,
png (the first screenshot seen in that state, a blob sha256, "" if none). Edges are actions, from the state observed
before the action to the state of the next observation, keyed by the action's seq, with: seq, t, type, role, scene
(the scene kind acted on), permission, text (the target's text), reason, user_like, and outcome, one of OUTCOMES:
crashed / app_died / left_app when the events and recoveries between the action and the next observation (or that
observation) say so, else same_state / new_state. Actions with no observation after them (the run ended) have no edge.

Every attribute is a scalar (str, int, float, bool; never None) and every string is bounded and stripped of
characters XML cannot carry, so the graph exports to GraphML, node-link JSON and DOT whatever the app displayed.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import networkx as nx

from crawler.errors import UserError
from crawler.text_safety import export_text
from crawler.trace import Act, Event, EventType, Obs, Recovery, RecoveryType, Step, StepKind, Trace

FORMATS = ("graphml", "json", "dot")
OUTCOMES = ("same_state", "new_state", "left_app", "app_died", "crashed")
LABEL_LIMIT = 60  # characters of a DOT label line
CRASH_EVENTS = (EventType.CRASH,)
DEATH_EVENTS = (EventType.APP_DIED, EventType.PROC_DIED)
CRASH_RECOVERIES = (RecoveryType.CRASHED,)
DEATH_RECOVERIES = (RecoveryType.DIED,)
LEFT_RECOVERIES = (RecoveryType.LEFT_APP,)


class UnknownGraphFormat(UserError, ValueError):
    pass


def _scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else 0.0
    return export_text(value)


def _ours(event: Event, package: str) -> bool:
    """An event about the app under test (events name their package; others' deaths are not our outcome)."""
    return not package or not event.package or event.package == package


def _outcome(between: list[Step], before: Obs, after: Obs, package: str) -> str:
    events = [Event.of(s) for s in between if s.kind == StepKind.EVENT]
    recoveries = [Recovery.of(s).type for s in between if s.kind == StepKind.RECOVERY]

    def seen(event_types: tuple[str, ...], recovery_types: tuple[str, ...]) -> bool:
        return any(e.type in event_types and _ours(e, package) for e in events) \
            or any(r in recovery_types for r in recoveries)

    if seen(CRASH_EVENTS, CRASH_RECOVERIES):
        return "crashed"
    if seen(DEATH_EVENTS, DEATH_RECOVERIES):
        return "app_died"
    if seen((), LEFT_RECOVERIES) or after.app_in_front is False:
        return "left_app"
    return "same_state" if after.state == before.state else "new_state"


def _add_state(graph: nx.MultiDiGraph, obs: Obs) -> str:
    state = export_text(obs.state)
    png = obs.png or ""
    if state not in graph:
        graph.add_node(state, package=export_text(obs.package), activity=export_text(obs.activity),
                       scene=export_text(obs.scene.get("kind")), first_seq=obs.seq, last_seq=obs.seq, visits=0,
                       png=export_text(png))
    node = graph.nodes[state]
    node["visits"] += 1
    node["last_seq"] = obs.seq
    if not node["png"] and png:
        node["png"] = export_text(png)
    return state


def _add_transition(graph: nx.MultiDiGraph, action: Act, before: Obs, after: Obs, between: list[Step],
                    package: str) -> None:
    attrs = {"seq": action.seq, "t": action.t, "type": action.type, "role": action.role, "scene": action.scene,
             "permission": action.permission, "text": action.target.get("text"), "reason": action.reason,
             "user_like": action.user_like, "outcome": _outcome(between, before, after, package)}
    graph.add_edge(export_text(before.state), export_text(after.state), key=action.seq,
                   **{k: _scalar(v) for k, v in attrs.items()})


def build_graph(trace: Trace) -> nx.MultiDiGraph:
    package = trace.package
    graph = nx.MultiDiGraph(package=export_text(package))
    last_obs: Obs | None = None
    pending: list[Act] = []  # actions since the last observation
    between: list[Step] = []  # events and recoveries since the first pending action
    for step in trace.steps:
        if step.kind == StepKind.OBSERVATION:
            obs = Obs.of(step)
            _add_state(graph, obs)
            if last_obs is not None:
                for action in pending:
                    later = [s for s in between if s.seq > action.seq]
                    _add_transition(graph, action, last_obs, obs, later, package)
            pending, between, last_obs = [], [], obs
        elif step.kind == StepKind.ACTION:
            if last_obs is not None:
                pending.append(Act.of(step))
        elif pending:
            between.append(step)
    return graph


# -- export -------------------------------------------------------------------------------------------------------
def _dot_id(text: Any) -> str:
    """A DOT quoted string. In DOT only \\" is an escape inside quotes, and a backslash pair is read as a pair, so
    escaping backslashes then quotes means app text can neither end the string nor form a Graphviz escape (\\N, \\l)."""
    value = export_text(text)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(*lines: Any) -> str:
    """Several lines, each escaped, joined with DOT's own line break (a raw \\n only we write)."""
    kept = [export_text(line, LABEL_LIMIT) for line in lines if line not in (None, "")]
    return '"' + "\\n".join(x.replace("\\", "\\\\").replace('"', '\\"') for x in kept) + '"'


def to_dot(graph: nx.MultiDiGraph) -> str:
    lines = ["digraph naysayer {", '  node [shape=box, fontname="Noto Sans CJK SC"];',
             '  edge [fontname="Noto Sans CJK SC", fontsize=10];']
    for node, data in graph.nodes(data=True):
        activity = str(data.get("activity", "")).rsplit(".", 1)[-1]
        label = _dot_label(data.get("scene", ""), activity, f"{node} x{data.get('visits', 0)}")
        lines.append(f"  {_dot_id(node)} [label={label}];")
    for u, v, data in graph.edges(data=True):
        head = " ".join(str(x) for x in (data.get("type"), data.get("role")) if x)
        label = _dot_label(f"#{data.get('seq', '')} {head}", data.get("text", ""), data.get("outcome", ""))
        lines.append(f"  {_dot_id(u)} -> {_dot_id(v)} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(graph: nx.MultiDiGraph) -> str:
    try:
        data = nx.node_link_data(graph, edges="links")
    except TypeError:  # networkx < 3.4 names the keyword `link`
        data = nx.node_link_data(graph, link="links")
    return json.dumps(data, ensure_ascii=False, indent=1, default=str, allow_nan=False)


def to_graphml(graph: nx.MultiDiGraph) -> str:
    buffer = io.BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


def export_graph(graph: nx.MultiDiGraph, fmt: str) -> str:
    if fmt == "json":
        return to_json(graph)
    if fmt == "graphml":
        return to_graphml(graph)
    if fmt == "dot":
        return to_dot(graph)
    raise UnknownGraphFormat(f"{str(fmt)[:40]!r}: unknown graph format ({', '.join(FORMATS)})")


def graph_command(run_path: Path | str, fmt: str) -> str:
    """`naysayer graph RUN --format F`: the run's graph as text. Raises NotARun, NewerSchema, UnknownGraphFormat."""
    from crawler.store import RunStore

    if fmt not in FORMATS:
        raise UnknownGraphFormat(f"{str(fmt)[:40]!r}: unknown graph format ({', '.join(FORMATS)})")
    with RunStore.open(Path(run_path)) as store:
        return export_graph(build_graph(store.trace()), fmt)
