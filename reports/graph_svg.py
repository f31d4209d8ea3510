"""The state-transition graph as an SVG picture: states as screenshot thumbnails, edges labelled with the actions
taken, and a finding's path highlighted.

The SVG is written here by hand, not by a plotting library, so that every piece of text (activity names, button
labels: hostile app data) goes through one escape function. Layout: states in columns by breadth-first distance from
the first state seen (networkx `bfs_layers`), each column in order of first appearance, so the picture reads left
to right in the order the crawl found things. Parallel actions between two states are merged into one curve whose
label lists the distinct actions (each with its count), so a long crawl stays legible.

Thumbnails are defined once per page (`GraphPicture.defs()`, hidden) and placed with <use>, so drawing the same graph
once per finding costs text, not images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from crawler.text_safety import export_text

MAX_STATES = 60  # states drawn; beyond this, the most visited ones and the highlighted ones
NODE_W = 60  # px of a thumbnail on the picture
NODE_H_MAX = 140
COL_W = 250
ROW_H = 205
MARGIN = 40
CAPTION_LINES = 2
LABEL_LINES = 3  # action lines per edge label; more become "+N"
LABEL_CHARS = 28
CAPTION_CHARS = 22
CURVE = 28  # px a curve bows out, so that a->b and b->a do not overlap


@dataclass(frozen=True)
class Highlight:
    states: frozenset[str] = frozenset()
    seqs: frozenset[int] = frozenset()  # action seqs (edge keys)


@dataclass(frozen=True)
class Thumb:
    uri: str  # data: URI
    width: int  # the original screenshot's size, for the aspect ratio
    height: int


@dataclass
class _EdgeGroup:
    u: str
    v: str
    labels: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (ours, app text) -> action seqs
    outcomes: set[str] = field(default_factory=set)


def esc(value: Any, limit: int = 200) -> str:
    """Text safe inside an SVG/HTML element or a double- or single-quoted attribute."""
    text = export_text(value, limit)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(x: float) -> str:
    return format(x, ".1f")


def default_edge_label(data: dict[str, Any]) -> tuple[str, str]:
    """(our words: the action and its role, the app's words: the tapped control's text when there is no role)."""
    role = data.get("role")
    return " ".join(str(x) for x in (data.get("type"), role) if x), "" if role else str(data.get("text") or "")


def default_node_caption(state: str, data: dict[str, Any]) -> list[str]:
    return [str(data.get("scene", "")), str(data.get("activity", "")).rsplit(".", 1)[-1]]


class GraphPicture:
    """A run's graph laid out once; `svg(highlight)` draws it, any number of times, with a path highlighted."""

    def __init__(self, graph: nx.MultiDiGraph, thumbs: dict[str, Thumb] | None = None, *,
                 edge_label: Callable[[dict[str, Any]], str] = default_edge_label,
                 node_caption: Callable[[str, dict[str, Any]], list[str]] = default_node_caption,
                 keep: set[str] | frozenset[str] = frozenset(), max_states: int = MAX_STATES, prefix: str = "g"):
        self.prefix = prefix
        self.total = graph.number_of_nodes()
        nodes = self.choose(graph, keep, max_states)
        self.graph = graph.subgraph(nodes)
        self.thumbs = {s: t for s, t in (thumbs or {}).items() if s in self.graph}
        self.ids = {state: i for i, state in enumerate(sorted(self.graph, key=lambda s: self.graph.nodes[s]["first_seq"]))}
        self.pos = self._layout()
        self.groups = self._group_edges(edge_label)
        self.captions = {s: [_short(c, CAPTION_CHARS) for c in node_caption(s, d) if c][:CAPTION_LINES]
                         for s, d in self.graph.nodes(data=True)}
        cols = max((x for x, _ in self.pos.values()), default=0)
        rows = max((y for _, y in self.pos.values()), default=0)
        self.width = int(cols + NODE_W + COL_W + MARGIN)  # room for the last column's loop labels
        self.height = int(rows + NODE_H_MAX + 40 + MARGIN)

    @property
    def shown(self) -> int:
        return self.graph.number_of_nodes()

    # -- choosing and placing states -------------------------------------------------------------------------
    @staticmethod
    def choose(graph: nx.MultiDiGraph, keep: set[str] | frozenset[str] = frozenset(),
               max_states: int = MAX_STATES) -> list[str]:
        """The states drawn: all of them, or the kept ones (a finding's) and then the most visited."""
        if graph.number_of_nodes() <= max_states:
            return list(graph)
        kept = [s for s in keep if s in graph][:max_states]
        rest = sorted((s for s in graph if s not in keep),
                      key=lambda s: (-graph.nodes[s].get("visits", 0), graph.nodes[s].get("first_seq", 0)))
        return kept + rest[: max(0, max_states - len(kept))]

    def _node_h(self, state: str) -> float:
        thumb = self.thumbs.get(state)
        if thumb is None or thumb.width <= 0:
            return NODE_W * 16 / 9
        return min(NODE_H_MAX, NODE_W * thumb.height / thumb.width)

    def _layout(self) -> dict[str, tuple[float, float]]:
        """Top-left corner of each state's thumbnail: columns by BFS distance from the first state seen (each
        weakly connected part after the previous one), rows by first appearance, columns centred vertically."""
        by_seq = sorted(self.graph, key=lambda s: self.graph.nodes[s]["first_seq"])
        undirected = self.graph.to_undirected(as_view=True)
        columns: list[list[str]] = []
        placed: set[str] = set()
        for root in by_seq:
            if root in placed:
                continue
            for layer in nx.bfs_layers(undirected, [root]):
                columns.append(sorted(layer, key=lambda s: self.graph.nodes[s]["first_seq"]))
                placed.update(layer)
        tallest = max((len(c) for c in columns), default=0)
        pos = {}
        for col, states in enumerate(columns):
            top = MARGIN + (tallest - len(states)) * ROW_H / 2
            for row, state in enumerate(states):
                pos[state] = (MARGIN + col * COL_W, top + row * ROW_H)
        return pos

    def _group_edges(self, edge_label: Callable[[dict[str, Any]], str | tuple[str, str]]) -> list[_EdgeGroup]:
        groups: dict[tuple[str, str], _EdgeGroup] = {}
        for u, v, key, data in sorted(self.graph.edges(keys=True, data=True), key=lambda e: e[3].get("seq", 0)):
            group = groups.setdefault((u, v), _EdgeGroup(u, v))
            said = edge_label(data)
            ours, app = (said, "") if isinstance(said, str) else said  # (our words, the app's: a button's text)
            ours = _short(ours, LABEL_CHARS)
            label = (ours or ("" if app else "?"), _short(app, max(8, LABEL_CHARS - len(ours) - 1)) if app else "")
            group.labels.setdefault(label, []).append(int(data.get("seq", key)))
            group.outcomes.add(str(data.get("outcome", "")))
        return list(groups.values())

    # -- drawing ---------------------------------------------------------------------------------------------
    def defs(self) -> str:
        """A hidden SVG defining each state's thumbnail once, for every `svg()` of the page to <use>."""
        images = []
        for state, thumb in self.thumbs.items():
            if state in self.ids and thumb.uri.startswith("data:image/"):
                images.append(f'<image id="{self.prefix}-t{self.ids[state]}" href="{esc(thumb.uri, len(thumb.uri))}" '
                              f'width="{NODE_W}" height="{_num(self._node_h(state))}" preserveAspectRatio="none"/>')
        return ('<svg class="graph-defs" width="0" height="0" aria-hidden="true" focusable="false">'
                f'<defs>{"".join(images)}</defs></svg>')

    def svg(self, highlight: Highlight | None = None, svg_id: str = "graph", title: str = "") -> str:
        highlight = highlight or Highlight()
        sid = esc(svg_id, 80)
        parts = [(f'<svg class="graph" id="{sid}" xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
                  f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" role="img">')]
        if title:
            parts.append(f"<title>{esc(title)}</title>")
        parts.append("<defs>" + "".join(
            f'<marker id="{sid}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path class="{name}" d="M0,0 L10,5 L0,10 z"/></marker>'
            for name in ("arrow", "arrow-hl")) + "</defs>")
        edges = sorted(self.groups, key=lambda g: self._lit(g, highlight))  # highlighted ones drawn last, on top
        parts.extend(self._edge(g, highlight, sid) for g in edges)
        parts.extend(self._node(state, state in highlight.states) for state in self.graph)
        parts.append("</svg>")
        return "".join(parts)

    @staticmethod
    def _lit(group: _EdgeGroup, highlight: Highlight) -> bool:
        return any(seq in highlight.seqs for seqs in group.labels.values() for seq in seqs)

    def _center(self, state: str) -> tuple[float, float, float, float]:
        x, y = self.pos[state]
        h = self._node_h(state)
        return x + NODE_W / 2, y + h / 2, NODE_W / 2 + 3, h / 2 + 3

    def _edge(self, group: _EdgeGroup, highlight: Highlight, sid: str) -> str:
        lit = self._lit(group, highlight)
        lines = sorted(group.labels.items(), key=lambda item: not any(s in highlight.seqs for s in item[1]))
        shown = [esc(ours) + (f'{" " if ours else ""}<tspan class="app-text">{esc(app)}</tspan>' if app else "")
                 + (f" ×{len(seqs)}" if len(seqs) > 1 else "") for (ours, app), seqs in lines[:LABEL_LINES]]
        if len(lines) > LABEL_LINES:
            shown.append(f"+{len(lines) - LABEL_LINES}")
        classes = "edge" + (" hl" if lit else "") + ("" if group.outcomes <= {"same_state", "new_state"} else " exit")
        marker = f"url(#{sid}-{'arrow-hl' if lit else 'arrow'})"
        cx, cy, hw, hh = self._center(group.u)
        if group.u == group.v:  # a loop on the state's right side
            x0, y0 = cx + hw, cy - hh / 3
            path = (f"M{_num(x0)},{_num(y0)} C{_num(x0 + 55)},{_num(y0 - 45)} {_num(x0 + 55)},{_num(y0 + 45)} "
                    f"{_num(x0)},{_num(y0 + 12)}")
            lx, ly = x0 + 48, y0 - 8 - 12 * (len(shown) - 1) / 2
            anchor = "start"
        else:
            tx, ty, thw, thh = self._center(group.v)
            x0, y0 = _border(cx, cy, hw, hh, tx - cx, ty - cy)
            x1, y1 = _border(tx, ty, thw, thh, cx - tx, cy - ty)
            dx, dy = x1 - x0, y1 - y0
            length = math.hypot(dx, dy) or 1.0
            qx, qy = (x0 + x1) / 2 + CURVE * dy / length, (y0 + y1) / 2 - CURVE * dx / length  # bow to the left
            path = f"M{_num(x0)},{_num(y0)} Q{_num(qx)},{_num(qy)} {_num(x1)},{_num(y1)}"
            lx, ly = 0.25 * x0 + 0.5 * qx + 0.25 * x1, 0.25 * y0 + 0.5 * qy + 0.25 * y1 - 12 * (len(shown) - 1) / 2
            anchor = "middle"
        text = "".join(f'<tspan x="{_num(lx)}" dy="{0 if i == 0 else 12}">{line}</tspan>'  # escaped above
                       for i, line in enumerate(shown))
        seqs = ", ".join(f"#{s}" for _, seq_list in lines for s in seq_list[:20])
        return (f'<g class="{classes}"><title>{esc(seqs, 400)}</title>'
                f'<path d="{path}" marker-end="{marker}"/>'
                f'<text x="{_num(lx)}" y="{_num(ly)}" text-anchor="{anchor}">{text}</text></g>')

    def _node(self, state: str, lit: bool) -> str:
        x, y = self.pos[state]
        h = self._node_h(state)
        data = self.graph.nodes[state]
        tip = f"{state} · {data.get('package', '')} {data.get('activity', '')} · ×{data.get('visits', 0)}"
        if state in self.thumbs and self.thumbs[state].uri:
            picture = f'<use href="#{self.prefix}-t{self.ids[state]}" x="{_num(x)}" y="{_num(y)}"/>'
        else:
            picture = f'<rect class="blank" x="{_num(x)}" y="{_num(y)}" width="{NODE_W}" height="{_num(h)}"/>'
        frame = (f'<rect class="frame" x="{_num(x - 2)}" y="{_num(y - 2)}" width="{NODE_W + 4}" '
                 f'height="{_num(h + 4)}" rx="3"/>')
        caption = "".join(f'<text class="caption{" app-text" if i else ""}" x="{_num(x + NODE_W / 2)}" '
                          f'y="{_num(y + h + 14 + 12 * i)}" text-anchor="middle">{esc(line)}</text>'
                          for i, line in enumerate(self.captions[state]))  # line 1 is ours, the rest the app's
        return (f'<g class="node{" hl" if lit else ""}"><title>{esc(tip, 400)}</title>{picture}{frame}'
                f"{caption}</g>")


def _border(cx: float, cy: float, hw: float, hh: float, dx: float, dy: float) -> tuple[float, float]:
    """Where a ray from a rectangle's centre in direction (dx, dy) leaves it."""
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale
