"""The state-transition graph, computed from a trace (never held by the explorer).

Nodes are state keys seen in observations (package, activity, scene kind, first step, visits, a representative
screenshot); edges are actions, from the state observed before the action to the state observed after it, with the
action's type, role, target text and what came of it (same_state, new_state, left_app, app_died, crashed).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx

from crawler.trace import Step, Trace

LABEL_LIMIT = 80


def _outcome(between: list[Step], before: Step, after: Step | None) -> str:
    if any(s.kind == "event" and s.data.get("type") == "crash" for s in between):
        return "crashed"
    if any(s.kind == "event" and s.data.get("type") in ("app_died", "proc_died") for s in between):
        return "app_died"
    if after is None:
        return "unknown"
    if not after.data.get("app_in_front", True):
        return "left_app"
    return "same_state" if after.data.get("state") == before.data.get("state") else "new_state"


def build_graph(trace: Trace) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(package=trace.package)
    last_obs: Step | None = None
    pending: list[tuple[Step, Step, list[Step]]] = []  # (action, observation before it, steps since the action)
    for step in trace.steps:
        if step.kind == "observation":
            state = step.data.get("state", "")
            if state not in graph:
                scene = step.data.get("scene", {}) or {}
                graph.add_node(state, package=step.data.get("package", ""), activity=step.data.get("activity", ""),
                               scene=scene.get("kind", ""), first_seq=step.seq, visits=0, png=step.data.get("png") or "")
            node = graph.nodes[state]
            node["visits"] += 1
            if not node["png"] and step.data.get("png"):
                node["png"] = step.data["png"]
            for action, before, between in pending:
                target = action.data.get("target") or {}
                graph.add_edge(before.data.get("state", ""), state, key=action.seq, seq=action.seq, t=action.t,
                               type=action.data.get("type", ""), role=action.data.get("role", ""),
                               text=str(target.get("text", ""))[:LABEL_LIMIT], reason=action.data.get("reason", ""),
                               outcome=_outcome(between, before, step))
            pending = []
            last_obs = step
        elif step.kind == "action" and last_obs is not None:
            pending.append((step, last_obs, []))
        else:
            for _, _, between in pending:
                between.append(step)
    return graph


def _dot_quote(text: object) -> str:
    value = str(text)[:LABEL_LIMIT]
    value = "".join(ch if ch.isprintable() else " " for ch in value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: nx.MultiDiGraph) -> str:
    lines = ["digraph naysayer {", "  node [shape=box, fontname=\"Noto Sans CJK SC\"];"]
    for node, data in graph.nodes(data=True):
        label = f"{data.get('scene', '')}\\n{data.get('activity', '').rsplit('.', 1)[-1]}"
        lines.append(f"  {_dot_quote(node)} [label={_dot_quote(label)}];")
    for u, v, data in graph.edges(data=True):
        label = " ".join(x for x in (data.get("type", ""), data.get("role", ""), data.get("text", "")) if x)
        lines.append(f"  {_dot_quote(u)} -> {_dot_quote(v)} [label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_graph(graph: nx.MultiDiGraph, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(nx.node_link_data(graph, edges="links"), ensure_ascii=False, indent=1, default=str)
    if fmt == "graphml":
        buffer = io.BytesIO()
        nx.write_graphml(graph, buffer, encoding="utf-8")
        return buffer.getvalue().decode("utf-8")
    if fmt == "dot":
        return to_dot(graph)
    raise ValueError(f"{fmt!r}: unknown graph format (graphml, json, dot)")


def graph_command(run: Path, fmt: str) -> str:
    from crawler.store import RunStore

    with RunStore.open(run) as store:
        return export_graph(build_graph(store.trace()), fmt)
